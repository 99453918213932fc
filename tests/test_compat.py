"""Each of compat.py's fixes, with a test that fails without it."""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import chainer
import chainer.functions as F
import chainer.links as L
import numpy as np
import pytest

from chainer_vc.common import compat
from chainer_vc.training.updater import gradient_penalty

REPO = Path(__file__).resolve().parents[1]


def test_chainer_imports_on_numpy_2_after_chainer_vc():
    code = 'import chainer_vc, chainer.functions as F, numpy; print(numpy.__version__)'
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert np.float32 in np.sctypes['float'] and np.int64 in np.sctypes['int']


def test_numpy_2_really_lacks_sctypes_without_the_fix():
    """Guards the test above: on numpy 2 plain Chainer cannot be imported."""
    code = 'import chainer'
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    if int(np.__version__.split('.')[0]) >= 2:
        assert result.returncode != 0 and 'sctypes' in result.stderr
    else:
        assert result.returncode == 0


def test_gradient_penalty_double_backprop_through_convolution_matches_numerical():
    """The critic's last layer is a convolution whose output gradient is constant, so
    dGP/dW runs Deconvolution2DFunction.backward for the filter alone: the patched path."""
    rng = np.random.default_rng(0)
    conv = L.Convolution2D(1, 2, 3, 2, 1, initialW=rng.normal(size=(2, 1, 3, 3)) * 0.5)
    conv.to_device('@numpy')
    x = rng.random((2, 1, 6, 6)).astype(np.float32)
    conv.W.array = conv.W.array.astype(np.float64)
    conv.b.array = conv.b.array.astype(np.float64)
    x = x.astype(np.float64)
    conv.cleargrads()
    penalty = gradient_penalty(lambda h: (None, None, conv(F.tanh(h))), x)
    penalty.backward()
    analytic = conv.W.grad.copy()
    w0, numeric, step = conv.W.array.copy(), np.zeros_like(conv.W.array), 1e-6
    for index in np.ndindex(w0.shape):
        values = []
        for sign in (1, -1):
            w = w0.copy()
            w[index] += sign * step
            conv.W.array = w
            values.append(float(gradient_penalty(
                lambda h: (None, None, conv(F.tanh(h))), x).array))
        numeric[index] = (values[0] - values[1]) / (2 * step)
    conv.W.array = w0
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-8)


def test_filter_gradient_of_input_gradient():
    """A convolution's input gradient is a deconvolution; differentiating that w.r.t. the
    filter alone makes the unpatched backward call _set_cover_all(Variable, Variable)."""
    rng = np.random.default_rng(1)
    x = chainer.Variable(rng.random((1, 2, 4, 4)).astype(np.float32))
    W = chainer.Variable(rng.random((3, 2, 4, 4)).astype(np.float32))
    y = F.convolution_2d(x, W, stride=2, pad=1)
    gx, = chainer.grad([F.sum(y)], [x], enable_double_backprop=True)
    gW, = chainer.grad([F.sum(gx)], [W])
    assert gW.shape == W.shape and np.all(np.isfinite(gW.array))


def test_chainer_imports_where_setuptools_no_longer_ships_pkg_resources(tmp_path):
    """setuptools >= 81 has no pkg_resources, which Chainer's environment check imports."""
    (tmp_path / 'pkg_resources.py').write_text(
        "raise ImportError('no pkg_resources (setuptools >= 81)')\n")
    code = 'import chainer_vc, chainer.functions as F, sys; print(sys.modules.get("pkg_resources"))'
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                            env={**os.environ, 'PYTHONPATH': os.pathsep.join(
                                [str(tmp_path), str(REPO)])}, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert 'stand-in' not in result.stdout  # the stand-in is gone once chainer is imported


def test_chainer_fails_without_pkg_resources_and_the_fix(tmp_path):
    """Guards the test above: the same environment breaks a plain `import chainer`."""
    (tmp_path / 'pkg_resources.py').write_text(
        "raise ImportError('no pkg_resources (setuptools >= 81)')\n")
    code = ('import numpy; numpy.sctypes = {"int": [], "uint": [], "float": [], "complex": [], '
            '"others": []}; import chainer')
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                            env={**os.environ, 'PYTHONPATH': str(tmp_path)}, cwd=tmp_path)
    assert result.returncode != 0 and 'no pkg_resources' in result.stderr


def test_pkg_resources_standin_answers_as_pkg_resources_would():
    standin = compat.pkg_resources_standin()
    standin.require(f'numpy=={np.__version__}')
    assert standin.get_distribution('numpy').version == np.__version__
    with pytest.raises(standin.VersionConflict):
        standin.require('numpy<1')
    with pytest.raises(standin.DistributionNotFound):
        standin.require('no-such-distribution-chainer-vc>=1')


def test_cudnn_is_switched_off_only_where_cupy_lacks_it():
    code = 'import os, chainer_vc; print(os.environ.get("CHAINER_CUDNN"))'
    for given, expected in ((None, None if not _cupy_installed() else
                             ('None' if compat.cupy_has_cudnn() else '0')), ('1', '1')):
        env = {k: v for k, v in os.environ.items() if k != 'CHAINER_CUDNN'}
        if given is not None:
            env['CHAINER_CUDNN'] = given
        result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                                env=env, cwd=REPO)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == str(expected)


def _cupy_installed() -> bool:
    return importlib.util.find_spec('cupy') is not None
