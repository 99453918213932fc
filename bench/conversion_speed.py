"""How fast conversion runs: real-time factor for a synthetic utterance, Griffin-Lim included.

Random weights are enough for speed: the work does not depend on their values. The default
is the seed's network (cfcefd21) with the seed's label sizes (1479 generator inputs).

    python bench/conversion_speed.py [--seconds 10] [--preset cfcefd21] [--gpu -1]

prints one JSON object: wall time and real-time factor (seconds of work per second of audio)
for the whole-utterance pass and for windowed passes, the time in Griffin-Lim alone, and the
peak memory numpy allocated on the host (tracemalloc) for each.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import chainer_vc  # noqa: E402,F401  (patches chainer for numpy 2)
import chainer  # noqa: E402
import numpy as np  # noqa: E402

from chainer_vc.conversion.converter import Converter, WINDOW_FRAMES
from chainer_vc.features import framing
from chainer_vc.features import griffin_lim
from chainer_vc.features import spectrogram  # noqa: E402
from chainer_vc.common.labels import seed_schema  # noqa: E402
from chainer_vc.networks.presets import PRESETS  # noqa: E402
from chainer_vc.networks.run_directory import ModelConfig  # noqa: E402

SECONDS = 10.0
PRESET = 'cfcefd21'
REPEATS = 2
# A second pass in windows shorter than the utterance, to compare with the single pass.
BENCH_WINDOW_FRAMES = 256
BENCH_OVERLAP_FRAMES = 64
_SEED = 0


def speech_like(seconds: float, sample_rate: int) -> np.ndarray:
    """A harmonic tone with vibrato and a syllable-rate envelope, plus a little noise."""
    rng = np.random.default_rng(_SEED)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    f0 = 140 * (1 + 0.08 * np.sin(2 * np.pi * 4 * t))
    phase = 2 * np.pi * np.cumsum(f0) / sample_rate
    voiced = sum(np.sin(k * phase) / k for k in range(1, 25))
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)
    signal = voiced * envelope + 0.05 * rng.standard_normal(len(t))
    return (0.5 * signal / np.max(np.abs(signal))).astype(np.float32)


def _timed(function, repeats: int) -> tuple:
    """(best wall time over ``repeats``, peak traced bytes of the first run)."""
    tracemalloc.start()
    function()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    best = float('inf')
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best, peak


def measure_conversion_speed(seconds: float = SECONDS, preset: str = PRESET, gpu: int = -1,
                             iterations: int = griffin_lim.GRIFFIN_LIM_ITERATIONS,
                             repeats: int = REPEATS) -> dict:
    """Time Converter.convert on ``seconds`` of audio: whole pass, windowed pass, Griffin-Lim."""
    chosen = PRESETS[preset]
    config = ModelConfig(chosen, chosen.spectrogram_config(), seed_schema())
    generator = config.build_generator()
    options = griffin_lim.ReconstructionOptions(iterations=iterations)
    samples = speech_like(seconds, config.features.sample_rate)
    target = {group.name: group.classes[0] for group in config.labels.groups}
    n_frames = framing.padding(len(samples), config.features)[2]
    whole = Converter(generator, config, device=gpu, options=options,
                                 window_frames=max(WINDOW_FRAMES, n_frames))
    windowed = Converter(generator, config, device=gpu, options=options,
                                    window_frames=BENCH_WINDOW_FRAMES,
                                    overlap_frames=BENCH_OVERLAP_FRAMES)
    spectrum = whole.device.send(spectrogram.stft(
        np.pad(samples, framing.padding(len(samples), config.features)[:2]),
        config.features))
    magnitude = whole.device.xp.abs(spectrum)
    results = {}
    for name, run in (('whole', lambda: whole.convert(samples, target)),
                      ('windowed', lambda: windowed.convert(samples, target)),
                      ('griffin_lim', lambda: _synchronize(griffin_lim.griffin_lim(
                          magnitude, config.features, spectrum, iterations)))):
        wall, peak = _timed(run, repeats)
        results[name] = {'wall_s': round(wall, 3), 'real_time_factor': round(wall / seconds, 3),
                         'peak_host_mib': round(peak / 2 ** 20, 1)}
    return {
        'benchmark': 'conversion_speed', 'preset': preset, 'label_size': config.labels.input_size,
        'audio_s': seconds, 'frames': n_frames, 'griffin_lim_iterations': iterations,
        'window_frames': BENCH_WINDOW_FRAMES, 'overlap_frames': BENCH_OVERLAP_FRAMES,
        'device': str(whole.device), 'cpu_count': os.cpu_count(),
        'threads': os.environ.get('OMP_NUM_THREADS'), 'machine': platform.machine(),
        'chainer': chainer.__version__, 'numpy': np.__version__, **results,
    }


def _synchronize(array):
    return chainer.backend.CpuDevice().send(array)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seconds', type=float, default=SECONDS,
                        help='length of the synthetic utterance')
    parser.add_argument('--preset', default=PRESET, choices=sorted(PRESETS),
                        help='network sizes (the seed is cfcefd21)')
    parser.add_argument('--gpu', type=int, default=-1, help='GPU id (negative: CPU)')
    parser.add_argument('--iterations', type=int, default=griffin_lim.GRIFFIN_LIM_ITERATIONS,
                        help='Griffin-Lim iterations')
    parser.add_argument('--repeats', type=int, default=REPEATS,
                        help='timed runs after one warm-up; the best is reported')
    args = parser.parse_args(argv)
    print(json.dumps(measure_conversion_speed(args.seconds, args.preset, args.gpu,
                                              args.iterations, args.repeats), indent=2))


if __name__ == '__main__':
    main()
