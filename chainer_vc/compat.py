"""Two fixes that make Chainer 7.8.1 (the last release) work with today's stack.

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
"""
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


_restore_numpy_sctypes()
_patch_deconvolution_cover_all()
