"""Faster exact convolutions for CuPy without cuDNN, behind ``chainer.config.vc_fast``.

CuPy 14 has no cuDNN, so Chainer convolves with im2col and ``cupy.tensordot``, which copies
the column array into a transposed layout before the matrix product and returns a strided
result; the filter gradient transposes the column array the same way, and the
deconvolution (every convolution's input gradient) multiplies transposed copies and hands
col2im a strided column array. The replacements lay the operands out so that cuBLAS
multiplies them where they lie:

- convolution: Chainer's im2col array (N, C, kh, kw, oh, ow) is N matrices (C kh kw, oh ow);
  one batched GEMM ``W (O, C kh kw) @ col[n]`` gives y as (N, O, oh, ow), contiguous.
- filter gradient: ``chainer_vc.networks.kernels.conv2d_grad_w``, the CPU kernel, whose column array
  (C kh kw, N oh ow) is one copy of a strided view of the padded input, so that a single
  GEMM with the transposed gradient (O, N oh ow) sums over batch and positions.
- deconvolution: one batched GEMM ``W^T (C_out kh kw, C_in) @ x[n]`` gives the column array
  (N, C_out, kh, kw, h, w) contiguous, which Chainer's col2im sums into the image.

As on CPU, only the ``forward`` of Chainer's FunctionNodes is replaced, so backward and double
backward (the gradient penalty) stay Chainer's graphs; the sums are the same, in cuBLAS's
order. Layers with dilation, groups or ``cover_all``, mixed dtypes, and anything cuDNN would
run are left to Chainer.
"""
from __future__ import annotations

import chainer
from chainer.backends import cuda
from chainer.functions.connection import convolution_2d, deconvolution_2d
from chainer.utils import conv

from chainer_vc.networks import kernels


def conv2d(x, W, b, sy, sx, ph, pw, out_h, out_w):
    """y[n, o] = sum over c, i, j of W[o, c, i, j] x_pad[n, c, sy * y + i, sx * x + j] + b[o]."""
    n, out_c, kh, kw = x.shape[0], W.shape[0], W.shape[2], W.shape[3]
    col = conv.im2col_gpu(x, kh, kw, sy, sx, ph, pw, out_h=out_h, out_w=out_w)
    y = cuda.cupy.matmul(W.reshape(out_c, -1), col.reshape(n, -1, out_h * out_w))
    y = y.reshape(n, out_c, out_h, out_w)
    if b is not None:
        y += b.reshape(1, out_c, 1, 1)
    return y


def deconv2d(x, W, b, sy, sx, ph, pw, out_h, out_w):
    """Transposed convolution, W (C_in, C_out, kh, kw): col2im of the batched W^T x."""
    n, in_c, h, w = x.shape
    _, out_c, kh, kw = W.shape
    gcol = cuda.cupy.matmul(W.reshape(in_c, -1).T, x.reshape(n, in_c, h * w))
    y = conv.col2im_gpu(gcol.reshape(n, out_c, kh, kw, h, w), sy, sx, ph, pw, out_h, out_w)
    if b is not None:
        y += b.reshape(1, out_c, 1, 1)
    return y


# Off by default: the layouts are checked against Chainer's sums on CPU
# (tests/test_fast_paths.py), but equality and speed on a device (tests/test_gpu.py,
# `bench/run.py --gpu`) have not been measured yet. `chainer.global_config.vc_fast_gpu = True`
# turns them on.
chainer.global_config.vc_fast_gpu = False


def _plain(function) -> bool:
    return (not kernels.enabled() or not getattr(chainer.config, 'vc_fast_gpu', False)
            or function.cover_all or function.dy != 1
            or function.dx != 1 or function.groups != 1)


def _convolution_forward(original):
    def forward(self, x, W, b):
        if _plain(self) or x.dtype != W.dtype:
            return original(self, x, W, b)
        out_h, out_w = self._get_out_size(x.shape, W.shape)
        return conv2d(x, W, b, self.sy, self.sx, self.ph, self.pw, out_h, out_w),
    return forward


def _grad_w_forward(original):
    def forward(self, x, gy):
        if _plain(self) or x.dtype != gy.dtype:
            return original(self, x, gy)
        gW = kernels.conv2d_grad_w(x, gy, self.kh, self.kw, self.sy, self.sx, self.ph, self.pw)
        return gW.astype(self.W_dtype, copy=False),
    return forward


def _deconvolution_forward(original):
    def forward(self, x, W, b):
        if _plain(self) or x.dtype != W.dtype:
            return original(self, x, W, b)
        return deconv2d(x, W, b, self.sy, self.sx, self.ph, self.pw, self.outh, self.outw),
    return forward


kernels.install(convolution_2d.Convolution2DFunction, '_forward_gpu_core', _convolution_forward)
kernels.install(convolution_2d.Convolution2DGradW, '_forward_gpu_core', _grad_w_forward)
kernels.install(deconvolution_2d.Deconvolution2DFunction, '_forward_gpu_core',
                _deconvolution_forward)
