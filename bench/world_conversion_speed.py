"""How fast the world kind converts: real-time factor of each stage, and of the baseline.

Random weights are enough for speed. Statistics are fitted on the utterance itself.

    python bench/world_conversion_speed.py [--seconds 10] --out results/benchmarks/world

writes results.json and README.md: seconds of work per second of audio for WORLD's analysis
(dio or harvest, with D4C), G (tiny and the seed's cfcefd21), WORLD's synthesis, the whole
conversion, and the signal-processing baseline; and each stage's share of the whole, which
compares across machines where the seconds do not.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import chainer_vc  # noqa: E402,F401  (patches chainer for numpy 2)
import chainer  # noqa: E402
import numpy as np  # noqa: E402

from chainer_vc.conversion.converter import Converter
from chainer_vc.conversion import baseline
from chainer_vc.features import world  # noqa: E402
from chainer_vc.common.files import write_text_atomic  # noqa: E402
from chainer_vc.common.labels import LabelGroup, LabelSchema  # noqa: E402
from chainer_vc.networks.presets import PRESETS  # noqa: E402
from chainer_vc.networks.run_directory import ModelConfig  # noqa: E402
from conversion_speed import speech_like  # noqa: E402
from judge_speed import _best  # noqa: E402

REPEATS = 3


def best_of(function) -> float:
    return _best(function, REPEATS)


def fitted_config(samples: np.ndarray, preset: str, f0_method: str) -> ModelConfig:
    schema = LabelSchema((LabelGroup('speaker', ('a', 'b')),))
    settings = world.WorldConfig(f0_method=f0_method)
    analysis = world.analyze(samples, settings, aperiodicity=False)
    features = world.fit_statistics(settings, [analysis, analysis], np.array([[0], [1]]), schema)
    return ModelConfig(PRESETS[preset], features, schema)


def measure(seconds: float, f0_method: str = 'dio') -> dict:
    samples = speech_like(seconds, 16000)
    stages = {}
    config = fitted_config(samples, 'tiny', f0_method)
    stages['analysis'] = best_of(lambda: world.analyze(samples, config.features))
    analysis = world.analyze(samples, config.features)
    stages['synthesis'] = best_of(lambda: world.synthesize(
        analysis.f0, analysis.log_envelope, analysis.aperiodicity, config.features))
    for preset in ('tiny', 'cfcefd21'):
        preset_config = dataclasses.replace(config, preset=PRESETS[preset])
        converter = Converter(preset_config.build_generator(), preset_config)
        unit = converter.kind.encode(samples).unit
        codes = converter.target_codes({'speaker': 'b'})
        stages[f'generator_{preset}'] = best_of(lambda: converter.generate(unit, codes))
        stages[f'whole_{preset}'] = best_of(lambda: converter.convert(samples, {'speaker': 'b'}))
    signal_processing = baseline.BaselineConverter(config)
    stages['baseline'] = best_of(lambda: signal_processing.convert(samples, {'speaker': 'b'}))
    return {'f0_method': f0_method,
            'real_time_factor': {k: round(v / seconds, 4) for k, v in stages.items()},
            'share_of_whole_tiny': {k: round(stages[k] / stages['whole_tiny'], 3)
                                    for k in ('analysis', 'generator_tiny', 'synthesis')}}


def markdown(result: dict, command: str) -> str:
    lines = ['# WORLD conversion speed', '', '```sh', command, '```', '',
             f"{result['audio_s']:g} s of synthetic speech; best of {REPEATS} runs after one "
             f"warm-up; {result['cpu_count']} CPU cores. Seconds of work per second of audio:",
             '', '| stage | ' + ' | '.join(r['f0_method'] for r in result['runs']) + ' |',
             '|---|' + '---|' * len(result['runs'])]
    for stage in result['runs'][0]['real_time_factor']:
        lines.append(f'| {stage} | ' + ' | '.join(
            f"{r['real_time_factor'][stage]:.4f}" for r in result['runs']) + ' |')
    return '\n'.join(lines) + '\n'


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seconds', type=float, default=10.0)
    parser.add_argument('--out', type=Path)
    args = parser.parse_args(argv)
    result = {'benchmark': 'world_conversion_speed', 'audio_s': args.seconds,
              'cpu_count': os.cpu_count(), 'machine': platform.machine(),
              'chainer': chainer.__version__, 'numpy': np.__version__,
              'runs': [measure(args.seconds, method) for method in world.F0_METHODS]}
    print(json.dumps(result, indent=2))
    if args.out:
        command = ' '.join(['python', 'bench/world_conversion_speed.py']
                           + list(sys.argv[1:] if argv is None else argv))
        args.out.mkdir(parents=True, exist_ok=True)
        write_text_atomic(args.out / 'results.json', json.dumps(result, indent=2) + '\n')
        write_text_atomic(args.out / 'README.md', markdown(result, command))


if __name__ == '__main__':
    main()
