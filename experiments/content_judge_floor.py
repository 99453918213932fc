"""The content judge's own floor: what PocketSphinx hears in real English speech, before
any conversion.

    python experiments/content_judge_floor.py --manifest data/voices/manifest.csv \
        --speaker allison --out results/content_judge/README.md

On one speaker's utterances: agreement with the known words (the Asterisk ``digits/``
prompts, :func:`chainer_vc.corpus.asterisk.known_words`); transcribing the same audio twice;
and, against the transcript of the original, the same speech after the world kind's vocoder
path (WORLD analysis, the envelope on 256 mel bins, synthesis), after a band limit to 4 kHz
(resampled through 8 kHz), and after 20 dB of white noise. Seconds per utterance too.
"""
import argparse
import shlex
import sys
import time
from pathlib import Path

import numpy as np

from chainer_vc.common import audio
from chainer_vc.judging import content
from chainer_vc.features import world
from chainer_vc.corpus import read_manifest
from chainer_vc.corpus.asterisk import known_words
from chainer_vc.common.files import write_text_atomic

RATE = 16000


def vocoded(samples: np.ndarray) -> np.ndarray:
    config = world.WorldConfig()
    analysis = world.analyze(samples, config)
    return world.synthesize(analysis.f0, analysis.log_envelope, analysis.aperiodicity, config)


def band_limited(samples: np.ndarray) -> np.ndarray:
    return audio.resample(audio.resample(samples, RATE, 8000), 8000, RATE)


def noisy(samples: np.ndarray, snr_db: float = 20.0) -> np.ndarray:
    noise = np.random.default_rng(0).standard_normal(len(samples)).astype(np.float32)
    scale = np.sqrt(np.mean(samples ** 2) / np.mean(noise ** 2) / 10 ** (snr_db / 10))
    return samples + scale * noise


CHANGES = {'the vocoder path (WORLD, 16 ms, 256 mel bins)': vocoded,
           'band limited to 4 kHz': band_limited, 'white noise at 20 dB SNR': noisy}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--manifest', type=Path, required=True)
    parser.add_argument('--speaker', default='allison')
    parser.add_argument('--prompts', type=int, default=40, help='utterances without known words')
    parser.add_argument('--out', type=Path, required=True)
    args = parser.parse_args(argv)
    utterances = [u for u in read_manifest(args.manifest).utterances
                  if u.labels['speaker'] == args.speaker]
    digits = [u for u in utterances if known_words(u.path)]
    prompts = [u for u in utterances if not known_words(u.path)][::7][:args.prompts]
    started = time.perf_counter()
    rows = {}
    for name, chosen in (('digits/ (words known)', digits), ('other prompts', prompts)):
        speech = [audio.load(u.path, RATE)[0] for u in chosen]
        heard = [content.transcribe(s, RATE) for s in speech]
        row = {'n': len(chosen), 'seconds': float(np.mean([len(s) / RATE for s in speech]))}
        if name.startswith('digits'):
            row['truth'] = content.mean_agreement(
                zip(heard, [known_words(u.path) for u in chosen]))
        row['again'] = content.mean_agreement(
            zip([content.transcribe(s, RATE) for s in speech], heard))
        for change, apply in CHANGES.items():
            row[change] = content.mean_agreement(
                zip([content.transcribe(apply(s), RATE) for s in speech], heard))
        rows[name] = row
    transcribed = sum(row['n'] * (3 + len(CHANGES)) for row in rows.values())
    elapsed = time.perf_counter() - started
    write_text_atomic(args.out, report(rows, args, elapsed, transcribed))
    print(args.out.read_text())


def report(rows: dict, args, elapsed: float, transcribed: int) -> str:
    command = shlex.join(['python', 'experiments/content_judge_floor.py'] + sys.argv[1:])
    columns = ['known words'] + ['the same audio again'] + list(CHANGES)
    keys = ['truth', 'again'] + list(CHANGES)
    lines = ['# The content judge on real English speech, before any conversion', '',
             '```sh', command, '```', '',
             f'Speaker `{args.speaker}` ({args.manifest.name}). Word (character) agreement, '
             '1 - error rate clipped at 0; except for "known words", against the transcript '
             'of the original recording.', '',
             '| utterances | n | mean length | ' + ' | '.join(columns) + ' |',
             '|---' * (3 + len(columns)) + '|']
    for name, row in rows.items():
        cells = [f'{100 * row[k]["word"]:.0f} % ({100 * row[k]["character"]:.0f} %)'
                 if k in row else '-' for k in keys]
        lines.append(f'| {name} | {row["n"]} | {row["seconds"]:.2f} s | ' + ' | '.join(cells)
                     + ' |')
    lines += ['', f'{transcribed} transcriptions in {elapsed:.0f} s of wall time on this '
              'machine (analysis and synthesis included).', '']
    return '\n'.join(lines)


if __name__ == '__main__':
    main()
