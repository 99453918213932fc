"""Faster exact CPU kernels for the training step, behind ``chainer.config.vc_fast``.

Chainer's CPU convolution builds an im2col array, then ``numpy.tensordot`` transposes and
copies it a second time before the matrix product, and returns a non-contiguous result;
its RMSprop allocates five temporaries per parameter. Profiling one cfcefd21 iteration
put half of its time there. The replacements below compute the same sums with one copy
(a strided view of the padded input, laid out so that a single GEMM does the work) and
in-place updates. Only the ``forward`` of Chainer's own FunctionNodes is replaced, so the
graphs, and with them every backward and double backward (the gradient penalty), stay
Chainer's. They apply on CPU arrays, without dilation, groups or ``cover_all``;
everything else runs Chainer's code. ``chainer_vc.networks.gpu_kernels`` does the same for CuPy.

``with chainer.using_config('vc_fast', False):`` gives the plain Chainer step (benchmarks
compare the two in one run). Importing ``chainer_vc`` installs the kernels.
"""
from __future__ import annotations

import chainer
import numpy
from chainer.functions.connection import convolution_2d, deconvolution_2d
from chainer.optimizers import rmsprop
from numpy.lib.stride_tricks import as_strided

chainer.global_config.vc_fast = True


def enabled() -> bool:
    return bool(getattr(chainer.config, 'vc_fast', False))


def im2col(x, kh: int, kw: int, sy: int, sx: int, ph: int, pw: int,
           out_h: int, out_w: int):
    """(N, C, H, W) -> (C * kh * kw, N * out_h * out_w), the layout one GEMM needs
    (numpy or CuPy: one copy of a strided view of the padded input)."""
    n, c = x.shape[:2]
    xp = chainer.backend.get_array_module(x)
    padded = xp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    s_n, s_c, s_h, s_w = padded.strides
    shape, strides = (c, kh, kw, n, out_h, out_w), (s_c, s_h, s_w, s_n, s_h * sy, s_w * sx)
    if xp is numpy:
        view = as_strided(padded, shape, strides, writeable=False)
    else:
        from cupy.lib import stride_tricks  # reached with CuPy arrays only
        view = stride_tricks.as_strided(padded, shape, strides)
    return view.reshape(c * kh * kw, n * out_h * out_w)


def conv2d(x, W, b, sy, sx, ph, pw, out_h, out_w) -> numpy.ndarray:
    """y[n, o] = sum over c, i, j of W[o, c, i, j] x_pad[n, c, sy * y + i, sx * x + j] + b[o]."""
    n, out_c = x.shape[0], W.shape[0]
    col = im2col(x, W.shape[2], W.shape[3], sy, sx, ph, pw, out_h, out_w)
    y = W.reshape(out_c, -1) @ col
    y = numpy.ascontiguousarray(y.reshape(out_c, n, out_h, out_w).transpose(1, 0, 2, 3))
    if b is not None:
        y += b[None, :, None, None]
    return y


def conv2d_grad_w(x, gy, kh, kw, sy, sx, ph, pw):
    """The filter gradient of :func:`conv2d`: (out_c, C, kh, kw) (numpy or CuPy)."""
    n, out_c, out_h, out_w = gy.shape
    xp = chainer.backend.get_array_module(x)
    col = im2col(x, kh, kw, sy, sx, ph, pw, out_h, out_w)
    gy_rows = xp.ascontiguousarray(gy.transpose(1, 0, 2, 3)).reshape(out_c, -1)
    return (gy_rows @ col.T).reshape(out_c, x.shape[1], kh, kw)


def deconv2d(x, W, b, sy, sx, ph, pw, out_h, out_w) -> numpy.ndarray:
    """Transposed convolution, W (C_in, C_out, kh, kw): scatter-add of W^T x by stride."""
    n, in_c, h, w = x.shape
    _, out_c, kh, kw = W.shape
    rows = numpy.ascontiguousarray(x.transpose(1, 0, 2, 3)).reshape(in_c, -1)
    gcol = (W.reshape(in_c, -1).T @ rows).reshape(out_c, kh, kw, n, h, w)
    image = numpy.zeros((out_c, n, out_h + 2 * ph + sy - 1, out_w + 2 * pw + sx - 1),
                        dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            image[:, :, i:i + sy * h:sy, j:j + sx * w:sx] += gcol[:, i, j]
    y = numpy.ascontiguousarray(
        image[:, :, ph:ph + out_h, pw:pw + out_w].transpose(1, 0, 2, 3))
    if b is not None:
        y += b[None, :, None, None]
    return y


def _plain(function) -> bool:
    return (not enabled() or function._use_ideep or function.cover_all
            or function.dy != 1 or function.dx != 1)


def _convolution_forward(original):
    def forward(self, x, W, b):
        if _plain(self) or x.dtype != W.dtype:
            return original(self, x, W, b)
        out_h, out_w = self._get_out_size(x.shape, W.shape)
        return conv2d(x, W, b, self.sy, self.sx, self.ph, self.pw, out_h, out_w),
    return forward


def _grad_w_forward(original):
    def forward(self, x, gy):
        if _plain(self):
            return original(self, x, gy)
        gW = conv2d_grad_w(x, gy, self.kh, self.kw, self.sy, self.sx, self.ph, self.pw)
        return gW.astype(self.W_dtype, copy=False),
    return forward


def _deconvolution_forward(original):
    def forward(self, x, W, b):
        if _plain(self) or x.dtype != W.dtype:
            return original(self, x, W, b)
        return deconv2d(x, W, b, self.sy, self.sx, self.ph, self.pw, self.outh, self.outw),
    return forward


# Elements per RMSprop block: the block's temporaries stay in cache, so each of the 30M
# discriminator weights crosses the memory bus once per update instead of seven times.
RMSPROP_BLOCK = 1 << 15


def rmsprop_step(param: numpy.ndarray, grad: numpy.ndarray, ms: numpy.ndarray,
                 lr: float, alpha: float, eps) -> None:
    """Chainer's RMSprop arithmetic, in the same order, in place and block by block:
    ms = alpha ms + ((1 - alpha) g) g;  param -= (lr g) / (sqrt(ms) + eps)."""
    flat_param, flat_grad, flat_ms = param.reshape(-1), grad.reshape(-1), ms.reshape(-1)
    step = numpy.empty(min(RMSPROP_BLOCK, flat_param.size), dtype=param.dtype)
    scaled = numpy.empty_like(step)
    for start in range(0, flat_param.size, RMSPROP_BLOCK):
        block = slice(start, start + RMSPROP_BLOCK)
        g, m, p = flat_grad[block], flat_ms[block], flat_param[block]
        s, t = step[:len(g)], scaled[:len(g)]
        m *= alpha
        numpy.multiply(g, 1 - alpha, out=s)
        s *= g
        m += s
        numpy.sqrt(m, out=s)
        s += eps
        numpy.multiply(g, lr, out=t)
        numpy.divide(t, s, out=t)
        p -= t


def _rmsprop_update(original):
    def update(self, param):
        grad, hp = param.grad, self.hyperparam
        contiguous = grad is not None and grad.flags.c_contiguous and param.data.flags.c_contiguous
        if not enabled() or not contiguous or hp.eps_inside_sqrt:
            return original(self, param)
        eps = grad.dtype.type(hp.eps)
        if hp.eps != 0 and eps == 0:
            return original(self, param)  # Chainer raises its own error for this
        rmsprop_step(param.data, grad, self.state['ms'], hp.lr, hp.alpha, eps)
    return update


def install(cls, name: str, wrap) -> None:
    """Replaces ``cls.name`` by ``wrap(original)``, once."""
    original = getattr(cls, name)
    if getattr(original, '_vc_fast', False):
        return
    replacement = wrap(original)
    replacement._vc_fast = True
    setattr(cls, name, replacement)


install(convolution_2d.Convolution2DFunction, '_forward_cpu_core', _convolution_forward)
install(convolution_2d.Convolution2DGradW, '_forward_cpu_core', _grad_w_forward)
install(deconvolution_2d.Deconvolution2DFunction, '_forward_cpu_core', _deconvolution_forward)
install(rmsprop.RMSpropRule, 'update_core_cpu', _rmsprop_update)
