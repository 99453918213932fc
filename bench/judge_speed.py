"""How fast the judges run: seconds per utterance on this machine's CPU cores.

    python bench/judge_speed.py [--utterances 16] [--seconds 3] [--out results/benchmarks/judge]

Times, on synthetic utterances, the GE2E speaker embedding (batched, as the judges call it;
mel features and the 3-layer LSTM over 1.6 s partials), the vocoder path (the conversion path
without the Generator: what every real utterance the judges hear goes through) and judge 2's
classifier. Prints one JSON object; with ``--out`` also writes judge.json and README.md there.
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import chainer_vc  # noqa: E402,F401  (patches chainer for numpy 2)
import numpy as np  # noqa: E402

from chainer_vc.judging import scoring, speaker_encoder  # noqa: E402
from chainer_vc.conversion.converter import Converter  # noqa: E402
from chainer_vc.judging.judge import LabelJudge  # noqa: E402
from chainer_vc.networks.presets import PRESETS  # noqa: E402
from chainer_vc.networks.run_directory import ModelConfig  # noqa: E402
from chainer_vc.common.labels import LabelSchema  # noqa: E402

import machine  # noqa: E402
from conversion_speed import speech_like  # noqa: E402

UTTERANCES = 16
SECONDS = 3.0
REPEATS = 2


def _best(function, repeats: int) -> float:
    function()  # warm-up: weights loaded, caches filled
    best = float('inf')
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def measure(utterances: int = UTTERANCES, seconds: float = SECONDS,
            repeats: int = REPEATS) -> dict:
    rate = speaker_encoder.SAMPLE_RATE
    signal = speech_like(seconds, rate)
    # Different circular shifts: the same amount of work, not the same input.
    batch = [np.roll(signal, 997 * i) for i in range(utterances)]
    encoder = speaker_encoder.pretrained()
    preset = PRESETS['tiny']
    schema = LabelSchema.from_rows(['speaker'], [{'speaker': 'a'}, {'speaker': 'b'}])
    config = ModelConfig(preset, preset.spectrogram_config(), schema)
    vocoder = scoring.VocoderOnly.like(Converter(config.build_generator(), config))
    embedded = encoder.embed_utterances(batch)
    labels = [{'speaker': 'ab'[i % 2]} for i in range(utterances)]
    timings = {
        'embed': _best(lambda: encoder.embed_utterances(batch), repeats),
        'embed_one_by_one': _best(lambda: [encoder.embed_utterance(s) for s in batch], repeats),
        'vocoder': _best(lambda: [vocoder.convert_codes(s, None) for s in batch], repeats),
        'classifier_train': _best(lambda: LabelJudge.train(embedded, labels,
                                                           {'speaker': ['a', 'b']}), repeats),
    }
    per_utterance = {name: round(wall / utterances, 4) for name, wall in timings.items()
                     if name != 'classifier_train'}
    return {
        'benchmark': 'judge_speed', 'utterances': utterances, 'utterance_s': seconds,
        'partials_per_utterance': len(speaker_encoder.partial_starts(len(signal))),
        'seconds_per_utterance': per_utterance,
        'real_time_factor': {name: round(value / seconds, 4)
                             for name, value in per_utterance.items()},
        'classifier_train_s': round(timings['classifier_train'], 3),
        'judged_utterance_s': round(per_utterance['embed'] + per_utterance['vocoder'], 4),
        'machine': machine.describe(),
    }


def readme(result: dict, command: str) -> str:
    per = result['seconds_per_utterance']
    cpus = result['machine']['usable_cpus']
    return '\n'.join([
        '# Judge speed', '', '```sh', command, '```', '',
        f'{result["utterances"]} synthetic utterances of {result["utterance_s"]:g} s '
        f'({result["partials_per_utterance"]} GE2E partials each) on {cpus} usable CPU core(s) '
        f'({result["machine"]["cpu"]}).', '',
        '| step | seconds per utterance | real-time factor |', '|---|---|---|',
        f'| GE2E embedding, batched | {per["embed"]:.3f} | '
        f'{result["real_time_factor"]["embed"]:.3f} |',
        f'| GE2E embedding, one at a time | {per["embed_one_by_one"]:.3f} | '
        f'{result["real_time_factor"]["embed_one_by_one"]:.3f} |',
        f'| vocoder path (Griffin-Lim) | {per["vocoder"]:.3f} | '
        f'{result["real_time_factor"]["vocoder"]:.3f} |',
        f'| a real utterance judged (vocoder + embedding) | {result["judged_utterance_s"]:.3f} | '
        f'{result["judged_utterance_s"] / result["utterance_s"]:.3f} |', '',
        f'Judge 2 trains in {result["classifier_train_s"]:.2f} s on {result["utterances"]} '
        'embeddings. The Generator\'s own conversion time is in the conversion benchmark.', ''])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--utterances', type=int, default=UTTERANCES, help='utterances timed')
    parser.add_argument('--seconds', type=float, default=SECONDS, help='length of each')
    parser.add_argument('--repeats', type=int, default=REPEATS,
                        help='timed runs after one warm-up; the best is reported')
    parser.add_argument('--out', type=Path, help='folder for judge.json and README.md')
    args = parser.parse_args(argv)
    result = measure(args.utterances, args.seconds, args.repeats)
    print(json.dumps(result['seconds_per_utterance']))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        command = shlex.join(['python', 'bench/judge_speed.py', *sys.argv[1:]])
        (args.out / 'judge.json').write_text(json.dumps(result, indent=1) + '\n')
        (args.out / 'README.md').write_text(readme(result, command))


if __name__ == '__main__':
    main()
