"""How fast the content judge runs: seconds per utterance on this machine's CPU cores.

    python bench/content_judge_speed.py [--utterances 6] [--repeats 2]
        [--out results/benchmarks/content]

Times PocketSphinx transcription (chainer_vc.judging.content.transcribe: a fresh decoder per
utterance, then the decoding) on English sentences of a few seconds synthesised with flite
and the loading of the decoder on its own. Word agreement with the text
spoken is a check that the speech was heard, not a measure of accuracy. Prints one JSON
object; with ``--out`` also writes content.json and README.md there.
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import chainer_vc  # noqa: E402,F401  (patches chainer for numpy 2)
import numpy as np  # noqa: E402
import pocketsphinx  # noqa: E402

from chainer_vc.judging import content  # noqa: E402

import machine  # noqa: E402
from judge_speed import _best  # noqa: E402

UTTERANCES = 6
REPEATS = 2
# Simple words, about 3 s each when spoken; voices taken in turn.
SENTENCES = ('please call me back tomorrow morning at nine',
             'one two three four five six seven eight',
             'the weather is very nice in the city today',
             'we will send the letter to your office next week')
VOICES = ('slt', 'awb', 'rms')


def utterances(count: int) -> list:
    """(text, 16 kHz audio) for ``count`` sentences, cycling through texts and voices."""
    return [(SENTENCES[i % len(SENTENCES)],
             content.synthesise(SENTENCES[i % len(SENTENCES)], VOICES[i % len(VOICES)]))
            for i in range(count)]


def measure(count: int = UTTERANCES, repeats: int = REPEATS) -> dict:
    spoken = utterances(count)
    rate = content.SAMPLE_RATE
    audio_s = sum(len(audio) for _, audio in spoken) / rate
    transcribe = _best(lambda: [content.transcribe(audio, rate) for _, audio in spoken], repeats)
    load = _best(lambda: [pocketsphinx.Decoder(**content.DECODER_SETTINGS) for _ in spoken],
                 repeats)
    heard = [content.transcribe(audio, rate) for _, audio in spoken]
    per_utterance = {'transcribe': round(transcribe / count, 4),
                     'decoder_load': round(load / count, 4)}
    return {
        'benchmark': 'content_judge_speed', 'utterances': count,
        'utterance_s': round(audio_s / count, 3), 'repeats': repeats,
        'seconds_per_utterance': per_utterance,
        'real_time_factor': round(transcribe / audio_s, 4),
        'word_agreement_with_text': round(float(np.mean(
            [content.agreement(h, text)['word'] for h, (text, _) in zip(heard, spoken)])), 3),
        'transcripts': [{'text': text, 'heard': h} for h, (text, _) in zip(heard, spoken)],
        'decoder_settings': content.DECODER_SETTINGS,
        'pocketsphinx': metadata.version('pocketsphinx'),
        'machine': machine.describe(),
    }


def readme(result: dict, command: str) -> str:
    per = result['seconds_per_utterance']
    cpus = result['machine']['usable_cpus']
    return '\n'.join([
        '# Content judge speed', '', '```sh', command, '```', '',
        f'{result["utterances"]} English sentences synthesised with flite, '
        f'{result["utterance_s"]:g} s each on average, transcribed by PocketSphinx '
        f'{result["pocketsphinx"]} on {cpus} usable CPU core(s) ({result["machine"]["cpu"]}); '
        f'best of {result["repeats"]} runs after one warm-up.', '',
        '| step | seconds per utterance | real-time factor |', '|---|---|---|',
        f'| transcription (fresh decoder + decoding) | {per["transcribe"]:.3f} | '
        f'{result["real_time_factor"]:.3f} |',
        f'| of which loading the decoder | {per["decoder_load"]:.3f} | '
        f'{per["decoder_load"] / result["utterance_s"]:.3f} |', '',
        'A conversion judged costs two transcriptions (its own and its source\'s; a source '
        'shared by several conversions is transcribed once). Word agreement of the '
        f'transcripts with the text spoken: {result["word_agreement_with_text"]:.2f}.', ''])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--utterances', type=int, default=UTTERANCES, help='utterances timed')
    parser.add_argument('--repeats', type=int, default=REPEATS,
                        help='timed runs after one warm-up; the best is reported')
    parser.add_argument('--out', type=Path, help='folder for content.json and README.md')
    args = parser.parse_args(argv)
    result = measure(args.utterances, args.repeats)
    print(json.dumps(result['seconds_per_utterance']))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        command = shlex.join(['python', 'bench/content_judge_speed.py', *sys.argv[1:]])
        (args.out / 'content.json').write_text(json.dumps(result, indent=1) + '\n')
        (args.out / 'README.md').write_text(readme(result, command))


if __name__ == '__main__':
    main()
