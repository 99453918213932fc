"""Training-step benchmarks: one configuration, or the whole report (`make bench`).

    python bench/run.py --preset cfcefd21 --batchsize 5 --iterations 3 [--gpu 0] [--plain] --json
    python bench/run.py --all --out results/benchmarks [--memory-budget 8GiB 11GiB] [--gpu 0]

On a GPU, ``--deferred-checks`` measures the step with one host synchronisation per iteration
(``chainer.config.vc_eager_checks = False``) and ``CUPY_TF32=1`` in the environment its TF32
matrix products; ``--all --gpu N`` measures both next to the default step.

One configuration prints one JSON object (``--json``) or a summary line: median seconds per
iteration (5 D + 1 G updates) and per sample, peak memory, FLOPs per iteration and the
fraction of the measured matrix-multiply peak. ``--all`` runs every configuration in its own
process and writes results.json, README.md and plots into ``--out``.
"""
from __future__ import annotations

import argparse
import json
import re
import shlex
import sys
from pathlib import Path

import chainer_vc  # noqa: F401  (patches chainer for numpy 2)
import chainer

from chainer_vc.networks.presets import PRESETS

import flops
import step_speed

DEFAULT_OUT = Path('results/benchmarks')
UNITS = {'': 1, 'b': 1, 'k': 2 ** 10, 'kib': 2 ** 10, 'm': 2 ** 20, 'mib': 2 ** 20,
         'g': 2 ** 30, 'gib': 2 ** 30, 'kb': 10 ** 3, 'mb': 10 ** 6, 'gb': 10 ** 9}


def parse_bytes(text: str) -> int:
    """'8GiB', '8G', '512MiB', '8e9' or '8589934592' -> bytes (K, M, G are binary)."""
    match = re.fullmatch(r'\s*([0-9.eE+]+)\s*([a-zA-Z]*)\s*', text)
    if not match or match.group(2).lower() not in UNITS:
        raise argparse.ArgumentTypeError(f'{text!r} is not a size (e.g. 8GiB, 512MiB)')
    try:
        return int(float(match.group(1)) * UNITS[match.group(2).lower()])
    except ValueError:
        raise argparse.ArgumentTypeError(f'{text!r} is not a size (e.g. 8GiB, 512MiB)') from None


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f'{text} is not a positive integer')
    return value


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--all', action='store_true',
                        help='run the whole report: every preset and batch size, memory search, '
                             'conversion speed, optimised vs plain step')
    parser.add_argument('--preset', choices=sorted(PRESETS),
                        help='network sizes (one configuration)')
    parser.add_argument('--batchsize', type=positive_int, help='batch size (one configuration)')
    parser.add_argument('--iterations', type=positive_int, default=3,
                        help='timed iterations after the warm-up (with --all: the most per '
                             'configuration)')
    parser.add_argument('--warmup', type=int, default=1, help='untimed iterations first')
    parser.add_argument('--gpu', type=int, default=-1, help='GPU id for CuPy (negative: CPU)')
    parser.add_argument('--plain', action='store_true',
                        help='measure the plain Chainer step (chainer.config.vc_fast = False)')
    parser.add_argument('--deferred-checks', action='store_true',
                        help='check losses and accuracy once per iteration, on the device '
                             '(chainer.config.vc_eager_checks = False)')
    parser.add_argument('--gpu-kernels', action='store_true',
                        help="on a GPU, chainer_vc.networks.gpu_kernels' convolutions "
                             '(chainer.config.vc_fast_gpu = True; off by default)')
    parser.add_argument('--json', action='store_true', help='print one JSON object')
    parser.add_argument('--peak-size', type=int, default=4096,
                        help='matrix size of the float32 matmul that measures the peak rate '
                             '(0: do not measure)')
    parser.add_argument('--out', type=Path, default=DEFAULT_OUT,
                        help='with --all: folder for results.json, README.md and plots')
    parser.add_argument('--presets', nargs='+', choices=sorted(PRESETS),
                        default=['cfcefd21', '9ada9179'], help='with --all: presets to run')
    parser.add_argument('--batches', nargs='+', type=positive_int, default=[1, 2, 5],
                        help='with --all: batch sizes to run for every preset')
    parser.add_argument('--configuration-seconds', type=float, default=60,
                        help='with --all: timed work per configuration above which fewer '
                             'iterations are timed')
    parser.add_argument('--memory-budget', type=parse_bytes, nargs='+', default=[8 * 2 ** 30],
                        help='with --all: the budgets whose largest batch is searched '
                             '(e.g. 8GiB 11GiB)')
    parser.add_argument('--search-seconds', type=float, default=200,
                        help='with --all: wall time the memory search may spend per preset')
    parser.add_argument('--time-limit', type=float, default=840,
                        help='with --all: seconds the whole run should stay under; the memory '
                             'search gets what the other measurements leave')
    parser.add_argument('--conversion-seconds', type=float, default=10,
                        help='with --all: length of the utterance whose conversion is timed')
    return parser


def run_one(args) -> None:
    result = step_speed.measure_step(args.preset, args.batchsize, args.iterations, args.warmup,
                                     args.gpu)
    # After the step, so that the matmul's matrices stay out of the step's peak memory.
    peak = None
    if args.peak_size > 0:
        peak = flops.matmul_peak(args.peak_size, xp=step_speed.use_device(args.gpu).xp)
        flops.add_fraction_of_peak(result, peak)
    if args.json:
        print(json.dumps(result))
        return
    fraction = f', {result["fraction_of_peak"]:.1%} of peak' if peak else ''
    print(f'{args.preset} @{args.batchsize} ({result["step"]}, {result["device"]}): '
          f'{result["seconds_per_iteration"]:.3f} s/iteration, '
          f'{result["seconds_per_sample"]:.3f} s/sample, '
          f'peak {result["peak_memory_bytes"] / 2 ** 30:.2f} GiB, '
          f'{result["flops_per_iteration"] / 1e9:.1f} GFLOP/iteration{fraction}')


def run_all(args) -> None:
    # Imported here: one configuration's process stays free of matplotlib and the conversion
    # code, whose memory would count in its peak.
    import report
    import suite
    options = suite.SuiteOptions(
        tuple(args.presets), tuple(args.batches), args.iterations, args.configuration_seconds,
        tuple(args.memory_budget), args.search_seconds, args.conversion_seconds,
        args.peak_size or 4096, args.time_limit, args.gpu)
    command = shlex.join([_relative(Path(sys.executable)), *sys.argv])
    results = suite.run_all(options, command)
    for path in report.write(results, args.out):
        print(path)


def _relative(path: Path) -> str:
    """``path`` relative to the working directory where it lies under it (.venv/bin/python)."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def main(argv=None) -> None:
    parser = make_parser()
    args = parser.parse_args(argv)
    if not args.all and (args.preset is None or args.batchsize is None):
        parser.error('give --preset and --batchsize for one configuration, or --all')
    if args.gpu >= 0 and not chainer.backends.cuda.available:
        parser.error(f'--gpu {args.gpu}: CuPy is not available (pip install -e .[gpu])')
    if args.plain:
        # Before any model is built: the plain Chainer step for this whole process.
        chainer.global_config.vc_fast = False
    if args.deferred_checks:
        chainer.global_config.vc_eager_checks = False
    if args.gpu_kernels:
        chainer.global_config.vc_fast_gpu = True
    if args.all:
        if args.plain or args.deferred_checks or args.gpu_kernels:
            parser.error('--all measures every step; --plain and --deferred-checks are for '
                         'one configuration')
        run_all(args)
    else:
        run_one(args)


if __name__ == '__main__':
    main()
