"""Fixes that make Chainer 7.8.1 (the last release) work with today's stack.

Imported first by ``chainer_vc/__init__.py``, before anything imports Chainer.

1. ``np.sctypes`` was removed in numpy 2, but ``chainer.functions.array.as_strided``
   reads ``np.sctypes['int']`` and ``np.sctypes['float']`` at import time. We restore
   the attribute with numpy 1's contents.
2. ``Deconvolution2DFunction.backward`` calls ``self._set_cover_all(x, W)`` with
   Variables where shapes are expected (chainer/functions/connection/deconvolution_2d.py).
   That branch runs on CPU whenever a deconvolution is differentiated w.r.t. its filter in
   a second-order graph, which is exactly what the WGAN gradient penalty does through
   every Convolution2D (its input gradient is a deconvolution). We make ``_set_cover_all``
   accept anything with a ``.shape``.
3. ``import chainer`` runs an environment check that imports ``numpy.distutils``, which
   numpy 2 no longer ships on Python 3.12 and later. The check only uses it on macOS (to
   detect Accelerate); where it is missing we provide an empty ``system_info``.
4. CuPy 14 removed cuDNN, and Chainer then warns "cuDNN is not enabled" on every start, a
   warning whose advice (reinstall CuPy with cuDNN) cannot be followed. Where CuPy is
   installed without ``cupy.cudnn`` and the user has not set ``CHAINER_CUDNN``, we set it
   to 0: Chainer takes the same cuDNN-less code paths, it just knows it was told to.
5. ``import chainer`` runs an environment check that imports ``pkg_resources`` to ask whether
   an optional package (CuPy, iDeep) is installed at a version it supports. setuptools
   deprecates ``pkg_resources`` (a warning on every start) and removes it from version 81 on,
   where ``import chainer`` would fail. For the duration of ``import chainer`` we give the
   check a stand-in that answers its two questions from ``importlib.metadata`` with the same
   outcomes (not found, version conflict, found); the real module, if any, is untouched.
"""
import importlib.metadata
import importlib.util
import os
import sys
import types

import numpy


def _restore_numpy_sctypes() -> None:
    if 'sctypes' in vars(numpy):
        return
    numpy.sctypes = {
        'int': [numpy.int8, numpy.int16, numpy.int32, numpy.int64],
        'uint': [numpy.uint8, numpy.uint16, numpy.uint32, numpy.uint64],
        'float': [numpy.float16, numpy.float32, numpy.float64, numpy.longdouble],
        'complex': [numpy.complex64, numpy.complex128, numpy.clongdouble],
        'others': [bool, object, bytes, str, numpy.void],
    }


def _patch_deconvolution_cover_all() -> None:
    from chainer.functions.connection import deconvolution_2d

    function = deconvolution_2d.Deconvolution2DFunction
    original = function._set_cover_all
    if getattr(original, '_chainer_vc_patched', False):
        return

    def _set_cover_all(self, x_shape, w_shape):
        return original(self, getattr(x_shape, 'shape', x_shape),
                        getattr(w_shape, 'shape', w_shape))

    _set_cover_all._chainer_vc_patched = True
    function._set_cover_all = _set_cover_all


def _provide_numpy_distutils() -> None:
    if importlib.util.find_spec('numpy.distutils') is None:
        system_info = types.ModuleType('numpy.distutils.system_info')
        system_info.get_info = lambda name, notfound_action=0: {}
        distutils = types.ModuleType('numpy.distutils')
        distutils.system_info = system_info
        sys.modules.setdefault('numpy.distutils', distutils)
        sys.modules.setdefault('numpy.distutils.system_info', system_info)


def cupy_has_cudnn() -> bool:
    """Whether CuPy is installed with its cuDNN module (CuPy 13 and earlier)."""
    if importlib.util.find_spec('cupy') is None:
        return False
    try:
        import cupy.cudnn  # noqa: F401
    except Exception:  # ImportError, or CUDA libraries CuPy could not load
        return False
    return True


def _disable_cudnn_where_cupy_has_none() -> None:
    if 'CHAINER_CUDNN' in os.environ or importlib.util.find_spec('cupy') is None:
        return
    if not cupy_has_cudnn():
        os.environ['CHAINER_CUDNN'] = '0'


class DistributionNotFound(Exception):
    """An optional package is not installed (pkg_resources' exception of that name)."""


class VersionConflict(Exception):
    """An optional package is installed at a version outside the specifier."""


def require(requirement: str) -> None:
    """``pkg_resources.require`` for one requirement without extras or markers."""
    from packaging.requirements import Requirement
    parsed = Requirement(requirement)
    version = get_distribution(parsed.name).version
    if not parsed.specifier.contains(version, prereleases=True):
        raise VersionConflict(f'{parsed.name} {version} does not satisfy {requirement}')


def get_distribution(name: str) -> types.SimpleNamespace:
    try:
        return types.SimpleNamespace(project_name=name, version=importlib.metadata.version(name))
    except importlib.metadata.PackageNotFoundError:
        raise DistributionNotFound(name) from None


def pkg_resources_standin() -> types.ModuleType:
    """What Chainer's environment check uses of ``pkg_resources``, and nothing else."""
    module = types.ModuleType('pkg_resources')
    module.__doc__ = 'chainer_vc.common.compat: a stand-in for the duration of `import chainer`'
    for name in ('require', 'get_distribution', 'DistributionNotFound', 'VersionConflict'):
        setattr(module, name, globals()[name])
    return module


def _import_chainer_with_pkg_resources_standin() -> None:
    if 'chainer' in sys.modules:
        return
    real = sys.modules.get('pkg_resources')
    standin = sys.modules['pkg_resources'] = pkg_resources_standin()
    try:
        import chainer  # noqa: F401
    finally:
        if sys.modules.get('pkg_resources') is standin:
            if real is None:
                del sys.modules['pkg_resources']
            else:
                sys.modules['pkg_resources'] = real


_restore_numpy_sctypes()
_provide_numpy_distutils()
_disable_cudnn_where_cupy_has_none()
_import_chainer_with_pkg_resources_standin()
_patch_deconvolution_cover_all()
