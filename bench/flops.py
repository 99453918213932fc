"""Floating-point operations of one training iteration, counted from the layer shapes, and
this machine's measured matrix-multiply peak.

Only convolutions and deconvolutions count (2 flops per multiply-add); BatchNorm, activations,
losses and the optimizers are left out (under 1% of the work). The count is the model's: the
label part of the merge convolution counts as a convolution over the tiled labels, whatever
shortcut an implementation takes.

Per sample, a layer's backward costs its forward once for the weight gradient and once more for
the input gradient, which Chainer skips where the input is a plain array (the first layer of a
network fed data) and where no loss reaches (a head a loss does not use). With G the Generator's
forward, D = F + C + A the Discriminator's (feature layers F, classification head C,
adversarial head A), g1 and d1 the first layer of each, one iteration costs, per sample:

- each of the ``n_dis`` D updates: G(x_real, c_fake) forward, G; D(x_real), every head
  used, 3 D - d1; D(fake), adversarial head only, D + 2 (F + A) - d1; the gradient penalty:
  D forward, its input gradient through F + A, then the gradient of that gradient's norm,
  a weight and an input gradient for each of those layers, D + 3 (F + A).
- the G update: D(fake), whose input is a Variable, 3 D; D's features of x_orig, F; the cycle
  G(fake, c_real), 3 G; backward through the last D update's G(x_real, c_fake), 2 G - g1.

This is exactly what Chainer's plain step executes (tests/test_bench.py checks it against the
count of every convolution Chainer runs in one iteration).
"""
from __future__ import annotations

import math
import statistics
import time
from typing import Callable, Mapping

import chainer_vc  # noqa: F401  (patches chainer for numpy 2)
import chainer
import chainer.links as L
from chainer.functions.connection import convolution_2d, deconvolution_2d
from chainer.utils import conv as conv_utils
import numpy as np

# The Discriminator's head that the adversarial losses and the gradient penalty use.
ADVERSARIAL_HEAD = 'discriminate'


class ConvolutionCounter(chainer.LinkHook):
    """Adds up 2 x multiply-adds of every (de)convolution link called while it is active,
    by link name."""

    name = 'ConvolutionCounter'

    def __init__(self, root: chainer.Link):
        self.names = {id(link): name.lstrip('/') for name, link in root.namedlinks(skipself=True)}
        self.flops = {}

    def forward_postprocess(self, args) -> None:
        link = args.link
        if isinstance(link, L.Convolution2D):
            # Each output value sums in_channels/groups x kh x kw products.
            macs = args.out.size * math.prod(link.W.shape[1:])
        elif isinstance(link, L.Deconvolution2D):
            # Each input value is scattered to out_channels/groups x kh x kw outputs.
            macs = args.args[0].size * math.prod(link.W.shape[1:])
        else:
            return
        name = self.names.get(id(link), type(link).__name__)
        self.flops[name] = self.flops.get(name, 0) + 2 * macs


class ExecutedCounter(chainer.FunctionHook):
    """Adds up 2 x multiply-adds of every convolution-shaped function Chainer runs while it is
    active, forward and backward alike: convolutions, deconvolutions (input gradients) and
    filter gradients. What an iteration really computes, by its own shapes."""

    name = 'ExecutedCounter'

    def __init__(self):
        self.flops = 0

    def forward_postprocess(self, function, in_data) -> None:
        if isinstance(function, convolution_2d.Convolution2DFunction):
            x, W = in_data[:2]
            out_h, out_w = (conv_utils.get_conv_outsize(size, k, s, p, function.cover_all, d)
                            for size, k, s, p, d in zip(
                                x.shape[2:], W.shape[2:], (function.sy, function.sx),
                                (function.ph, function.pw), (function.dy, function.dx)))
            macs = x.shape[0] * W.shape[0] * out_h * out_w * math.prod(W.shape[1:])
        elif isinstance(function, deconvolution_2d.Deconvolution2DFunction):
            x, W = in_data[:2]
            macs = x.size * math.prod(W.shape[1:])
        elif isinstance(function, convolution_2d.Convolution2DGradW):
            x, gy = in_data
            macs = gy.size * x.shape[1] // function.groups * function.kh * function.kw
        else:
            return
        self.flops += 2 * macs


def forward_flops_by_layer(network: chainer.Link, call: Callable) -> dict:
    """``{link name: flops}`` of one plain, inference-mode forward ``call()`` of ``network``."""
    counter = ConvolutionCounter(network)
    with chainer.using_config('vc_fast', False), chainer.using_config('train', False), \
            chainer.no_backprop_mode(), counter:
        call()
    return counter.flops


def model_flops_by_layer(gen, dis, frames: int, label_size: int) -> dict:
    """Per-sample forward flops of each layer: ``{'gen': {...}, 'dis': {...},
    'dis_features': {...}}``, from one forward at batch 1 on zeros."""
    xp = gen.xp
    x = xp.zeros((1, 1, frames, 256), dtype=np.float32)
    c = xp.zeros((1, label_size), dtype=np.float32)
    return {'gen': forward_flops_by_layer(gen, lambda: gen(x, c)),
            'dis': forward_flops_by_layer(dis, lambda: dis(x)),
            'dis_features': forward_flops_by_layer(dis, lambda: dis.features(x))}


def iteration_flops(per_sample: Mapping[str, Mapping[str, int]], batchsize: int,
                    n_dis: int) -> int:
    """Flops of one iteration from per-sample, per-layer forward flops (module docstring)."""
    gen_layers, dis_layers = per_sample['gen'], per_sample['dis']
    gen, dis, features = (sum(per_sample[key].values())
                          for key in ('gen', 'dis', 'dis_features'))
    g1, d1 = next(iter(gen_layers.values())), next(iter(dis_layers.values()))
    adversarial = features + dis_layers[ADVERSARIAL_HEAD]
    per_d_update = gen + (3 * dis - d1) + (dis + 2 * adversarial - d1) + (dis + 3 * adversarial)
    g_update = 3 * dis + features + 3 * gen + (2 * gen - g1)
    return batchsize * (n_dis * per_d_update + g_update)


def matmul_peak(size: int = 4096, repeats: int = 5, xp=np) -> float:
    """Flops per second of a ``size`` x ``size`` float32 matrix product (median of
    ``repeats`` after one warm-up), on the threads the BLAS would use for training."""
    rng = np.random.default_rng(0)
    a, b = (xp.asarray(rng.standard_normal((size, size), dtype=np.float32)) for _ in range(2))
    times = []
    for _ in range(repeats + 1):
        _synchronize(xp)
        start = time.perf_counter()
        a @ b
        _synchronize(xp)
        times.append(time.perf_counter() - start)
    return 2 * size ** 3 / statistics.median(times[1:])


def add_fraction_of_peak(result: dict, peak: float) -> None:
    """Adds the matmul peak and the achieved fraction of it to a configuration's result."""
    if 'flops_per_second' in result:
        result['matmul_peak_flops_per_second'] = peak
        result['fraction_of_peak'] = result['flops_per_second'] / peak


def _synchronize(xp) -> None:
    if xp is not np:
        xp.cuda.Device().synchronize()
