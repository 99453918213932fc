"""What a crash, a full disk or a bad copy leaves: truncated snapshots and weights.

Found by looking (the newest snapshot in --out), a damaged snapshot is skipped with a warning
naming it; given explicitly (--resume, convert.py --model/--snapshot), it is one line naming
the file, exit 2, nothing written."""
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from chainer_vc.training import snapshots
from chainer_vc.common.errors import InputError
from conftest import TRAINED_ITERATIONS
from test_conversion import speech_like, write_wav

REPO = Path(__file__).resolve().parents[1]
FAST = ['--gpu', '-1', '--preset', 'tiny', '--batchsize', '2', '--no-progress',
        '--log-interval', '2i', '--snapshot-interval', '1i', '--plot-interval', '1000i',
        '--sample-interval', '1000i']


def run(script, *args):
    return subprocess.run([sys.executable, str(REPO / script), *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=300)


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])


def contents(folder: Path) -> dict:
    """Every file under ``folder`` with a hash of its bytes and its modification time."""
    return {str(p.relative_to(folder)): (hashlib.sha256(p.read_bytes()).hexdigest(),
                                         p.stat().st_mtime_ns)
            for p in sorted(folder.rglob('*')) if p.is_file()}


def one_error_line(result) -> str:
    assert 'Traceback' not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if 'error:' in line]
    assert len(errors) == 1, result.stderr
    return errors[0]


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """A run of 4 iterations, snapshots after 3 and 4 (the two kept), and its manifest."""
    from conftest import make_corpus
    root = tmp_path_factory.mktemp('damaged')
    manifest = make_corpus(root / 'corpus')
    out = root / 'run'
    result = run('train.py', *FAST, '--manifest', manifest, '--iterations', 4, '--out', out)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.glob('snapshot_iter_*')) == [
        'snapshot_iter_3', 'snapshot_iter_4']
    return manifest, out


def copy_run(trained, tmp_path) -> Path:
    out = tmp_path / 'run'
    shutil.copytree(trained[1], out)
    return out


def test_resume_falls_back_to_the_newest_snapshot_that_loads(trained, tmp_path):
    manifest, out = trained[0], copy_run(trained, tmp_path)
    logged_before = json.loads((out / 'log').read_text())
    truncate(out / 'snapshot_iter_4')
    result = run('train.py', *FAST, '--manifest', manifest, '--iterations', 6, '--out', out)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if 'snapshot_iter' in line]
    assert len(warnings) == 2, result.stderr
    assert 'skipped' in warnings[0] and 'snapshot_iter_4' in warnings[0]
    assert 'damaged or truncated (BadZipFile' in warnings[0]
    assert 'resumed from' in warnings[1] and warnings[1].endswith('snapshot_iter_3')
    log = json.loads((out / 'log').read_text())
    assert [entry['iteration'] for entry in log] == [2, 4, 6]
    assert log[0] == logged_before[0]
    with np.load(out / 'snapshot_iter_6') as snapshot:
        assert int(snapshot['updater/optimizer:gen/t']) == 6
        assert int(snapshot['updater/optimizer:dis/t']) == 30
    # The damaged file was replaced by the resumed run's own snapshot 4, then retired.
    assert sorted(p.name for p in out.glob('snapshot_iter_*')) == [
        'snapshot_iter_5', 'snapshot_iter_6']
    assert sorted(p.name for p in out.glob('gen_iter_*')) == [
        f'gen_iter_{i}.npz' for i in range(1, 7)]


def test_a_run_whose_snapshots_are_all_damaged_is_left_alone(trained, tmp_path):
    manifest, out = trained[0], copy_run(trained, tmp_path)
    for path in out.glob('snapshot_iter_*'):
        truncate(path)
    before = contents(out)
    result = run('train.py', *FAST, '--manifest', manifest, '--iterations', 6, '--out', out)
    assert result.returncode == 2
    line = one_error_line(result)
    assert 'no snapshot loads' in line and str(out) in line
    assert contents(out) == before


@pytest.mark.parametrize('damage', ['truncated', 'missing', 'not a snapshot'])
def test_a_damaged_snapshot_given_with_resume_is_one_line_and_nothing_changes(
        trained, tmp_path, damage):
    manifest, out = trained[0], copy_run(trained, tmp_path)
    named = out / 'snapshot_iter_4'
    if damage == 'truncated':
        truncate(named)
    elif damage == 'missing':
        named = out / 'snapshot_iter_99'
    else:
        named.write_bytes(b'PK\x03\x04 not really a zip')
    before = contents(out)
    result = run('train.py', *FAST, '--manifest', manifest, '--iterations', 6, '--out', out,
                 '--resume', named)
    assert result.returncode == 2
    line = one_error_line(result)
    assert str(named) in line
    assert contents(out) == before


def test_newest_means_the_highest_iteration(tmp_path):
    for iteration in (2, 9, 10):
        with open(tmp_path / f'snapshot_iter_{iteration}', 'wb') as file:
            np.savez(file, iteration=np.int64(iteration))
    (tmp_path / 'snapshot_iter_10').write_bytes(b'')
    warned = []
    path, arrays = snapshots.newest_intact(tmp_path, warned.append)
    assert path.name == 'snapshot_iter_9' and int(arrays['iteration']) == 9
    assert len(warned) == 1 and 'snapshot_iter_10' in warned[0]
    assert snapshots.newest_intact(tmp_path / 'empty', warned.append) is None
    with pytest.raises(InputError, match='snapshot_iter_3'):
        (tmp_path / 'snapshot_iter_3').write_bytes(b'\x00' * 10)
        snapshots.read(tmp_path / 'snapshot_iter_3')


@pytest.fixture
def damaged_model(tiny_run, tmp_path):
    """A copy of the trained model whose newest weights are truncated."""
    model = tmp_path / 'model'
    model.mkdir()
    for path in tiny_run.iterdir():
        if path.name == 'model.json' or path.name.startswith('gen_iter_'):
            shutil.copy(path, model)
    truncate(model / f'gen_iter_{TRAINED_ITERATIONS}.npz')
    return model


@pytest.mark.parametrize('how', ['newest in --model', 'named by --snapshot'])
def test_convert_with_damaged_weights_is_one_line_and_writes_nothing(damaged_model, tmp_path,
                                                                      how):
    weights = damaged_model / f'gen_iter_{TRAINED_ITERATIONS}.npz'
    source = write_wav(tmp_path / 'speech.wav', speech_like())
    output = tmp_path / 'out.wav'
    extra = [] if how == 'newest in --model' else ['--snapshot', weights]
    result = run('convert.py', '--model', damaged_model, '--input', source, '--output', output,
                 '--target', 'speaker=alice', *extra)
    assert result.returncode == 2
    line = one_error_line(result)
    assert str(weights) in line and 'damaged or truncated' in line
    assert '--snapshot 1, 2' in line  # the weights that do load
    assert not output.exists()


def test_what_interrupted_writes_left_is_removed_and_nothing_else(tmp_path):
    left = [tmp_path / 'tmpsnapshot_iter_6k4fblda4', tmp_path / 'tmpdis_iter_6.npzk4fblda4',
            tmp_path / '.model.json.x1_y2z3.tmp', tmp_path / 'tmpgen_raw_iter_6.npzq8w2e']
    left[0].mkdir()
    (left[0] / 'snapshot_iter_6').write_bytes(b'half')
    left[1].mkdir()
    left[2].write_text('{')
    left[3].mkdir()
    kept = [tmp_path / 'snapshot_iter_6', tmp_path / 'gen_iter_6.npz', tmp_path / 'log',
            tmp_path / 'gen_raw_iter_6.npz',
            tmp_path / 'tmp_notes.txt', tmp_path / 'heldout.csv']
    for path in kept:
        path.write_bytes(b'')
    assert sorted(snapshots.remove_interrupted_writes(tmp_path)) == sorted(left)
    assert sorted(tmp_path.iterdir()) == sorted(kept)
    assert snapshots.remove_interrupted_writes(tmp_path / 'absent') == []
