"""Exporting a trained model for shipping: float16 weights that load and convert like the
float32 ones, and refusals that leave everything as it was."""
import subprocess
import sys
from pathlib import Path

import chainer
import numpy as np
import pytest

from chainer_vc.conversion import export
from chainer_vc.common.errors import InputError
from chainer_vc.networks.run_directory import load_generator
from conftest import TRAINED_ITERATIONS

REPO = Path(__file__).resolve().parents[1]


def generated(run_dir, x, label_index=0):
    gen, config = load_generator(run_dir)
    labels = np.zeros((len(x), config.labels.input_size), np.float32)
    labels[:, label_index] = 1
    with chainer.using_config('train', False), chainer.no_backprop_mode():
        return gen(x, labels).array


def test_float16_weights_convert_like_the_float32_ones(tiny_run, tmp_path):
    out = tmp_path / 'shipped'
    written = export.export_model(tiny_run, out, with_dis=True)
    names = sorted(p.name for p in written)
    assert names == sorted(['model.json', 'heldout.csv', 'log',
                            f'gen_iter_{TRAINED_ITERATIONS}.npz',
                            f'dis_iter_{TRAINED_ITERATIONS}.npz'])
    original = np.load(tiny_run / f'gen_iter_{TRAINED_ITERATIONS}.npz')
    exported = np.load(out / f'gen_iter_{TRAINED_ITERATIONS}.npz')
    assert sorted(original.files) == sorted(exported.files)
    for key in original.files:
        if np.issubdtype(original[key].dtype, np.floating):
            assert exported[key].dtype == np.float16
            np.testing.assert_allclose(exported[key], original[key], rtol=1e-3, atol=1e-4)
        else:
            np.testing.assert_array_equal(exported[key], original[key])
    assert ((out / f'gen_iter_{TRAINED_ITERATIONS}.npz').stat().st_size
            < 0.6 * (tiny_run / f'gen_iter_{TRAINED_ITERATIONS}.npz').stat().st_size)
    x = np.random.RandomState(0).uniform(0, 0.2, (2, 1, 64, 256)).astype(np.float32)
    np.testing.assert_allclose(generated(out, x), generated(tiny_run, x), atol=5e-3)


def test_a_chosen_iteration_and_its_critic(tiny_run, tmp_path):
    written = export.export_model(tiny_run, tmp_path / 'one', snapshot='1', with_dis=True)
    assert {p.name for p in written} >= {'gen_iter_1.npz', 'dis_iter_1.npz'}


@pytest.mark.parametrize('problem', ['not empty', 'same folder', 'no weights'])
def test_refusals_are_one_line_exit_2_and_change_nothing(tiny_run, tmp_path, problem):
    out = tmp_path / 'out'
    source = tiny_run
    if problem == 'not empty':
        out.mkdir()
        (out / 'keep.txt').write_text('mine')
    elif problem == 'same folder':
        out = tiny_run
    else:
        source = tmp_path / 'empty_run'
        source.mkdir()
        (source / 'model.json').write_bytes((tiny_run / 'model.json').read_bytes())
    before = sorted(p.name for p in out.iterdir()) if out.exists() else None
    result = subprocess.run([sys.executable, '-m', 'chainer_vc.conversion.export', str(source), str(out)],
                            cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.count('\n') == 1 and result.stderr.startswith('error: ')
    assert (sorted(p.name for p in out.iterdir()) if out.exists() else None) == before
    with pytest.raises(InputError):
        export.export_model(source, out)
