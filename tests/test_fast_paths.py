"""Each fast path (chainer.config.vc_fast) computes what the plain Chainer path computes."""
import chainer
import chainer.functions as F
import numpy as np
import pytest

from chainer_vc.common.labels import seed_schema
from chainer_vc.networks.models import Generator, tap_masks
from test_updater import make_updater


def _both(compute):
    """compute() under the plain path, then under the fast path."""
    with chainer.using_config('vc_fast', False):
        plain = compute()
    with chainer.using_config('vc_fast', True):
        fast = compute()
    return plain, fast


def _assert_close(plain, fast, rtol):
    for a, b in zip(plain, fast):
        scale = max(float(np.abs(a).max()), 1e-30)
        assert float(np.abs(a - b).max()) <= rtol * scale


CONVOLUTIONS = [  # (x shape, W shape, stride, pad): the seed's kinds of layer
    ((2, 3, 16, 32), (4, 3, 4, 4), (2, 2), (1, 1)),   # down / D conv1-4
    ((2, 3, 8, 16), (4, 3, 3, 4), (1, 2), (1, 1)),    # D conv5-6
    ((2, 3, 4, 4), (5, 3, 4, 4), (1, 1), (0, 0)),     # D classification head
    ((2, 2, 16, 32), (3, 2, 7, 7), (1, 1), (3, 3)),   # down1
    ((2, 3, 8, 16), (3, 3, 3, 3), (1, 1), (1, 1)),    # merge / ResBlock
]


def _second_order(function, x, W, b, device='@numpy'):
    """Forward, first-order gradients, and the gradient of ||dy/dx||^2 w.r.t. W and b
    (what the gradient penalty differentiates), computed on ``device``, returned on CPU."""
    device = chainer.get_device(device)
    x, W, b = (chainer.Variable(device.send(a)) for a in (x, W, b))
    y = function(x, W, b)
    gy = device.send(np.random.default_rng(1).standard_normal(y.shape))
    gx, gW, gb = chainer.grad([y], [x, W, b], [gy], enable_double_backprop=True)
    penalty = F.sum(F.square(gx)) + F.sum(F.tanh(gW))
    ggW, ggb = chainer.grad([penalty], [W, b])
    ggb = device.xp.zeros_like(b.array) if ggb is None else ggb.array
    return [chainer.backend.CpuDevice().send(a)
            for a in (y.array, gx.array, gW.array, gb.array, ggW.array, ggb)]


@pytest.mark.parametrize('x_shape,w_shape,stride,pad', CONVOLUTIONS)
def test_convolution_forward_gradients_and_double_backprop(x_shape, w_shape, stride, pad):
    rng = np.random.default_rng(0)
    x, W = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0])

    def conv(x, W, b):
        return F.convolution_2d(x, W, b, stride, pad)
    _assert_close(*_both(lambda: _second_order(conv, x, W, b)), rtol=1e-12)


@pytest.mark.parametrize('x_shape,w_shape,stride,pad', CONVOLUTIONS)
def test_deconvolution_forward_gradients_and_double_backprop(x_shape, w_shape, stride, pad):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape[:1] + (w_shape[0],) + x_shape[2:])
    W = rng.standard_normal((w_shape[0], w_shape[1]) + w_shape[2:])
    b = rng.standard_normal(w_shape[1])

    def deconv(x, W, b):
        return F.deconvolution_2d(x, W, b, stride, pad)
    _assert_close(*_both(lambda: _second_order(deconv, x, W, b)), rtol=1e-12)


def test_float32_convolution_matches_to_float_tolerance():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 8, 16, 32), dtype=np.float32)
    W = rng.standard_normal((16, 8, 4, 4), dtype=np.float32)
    plain, fast = _both(lambda: [F.convolution_2d(x, W, None, 2, 1).array])
    assert fast[0].dtype == np.float32
    _assert_close(plain, fast, rtol=1e-5)


def test_rmsprop_is_bitwise_the_same():
    rng = np.random.default_rng(0)
    weights = rng.standard_normal((70000,), dtype=np.float32)  # more than one block
    grads = [rng.standard_normal(weights.shape, dtype=np.float32) for _ in range(3)]

    def train():
        link = chainer.Link()
        with link.init_scope():
            link.w = chainer.Parameter(weights.copy())
        optimizer = chainer.optimizers.RMSprop(lr=1e-3)
        optimizer.setup(link)
        for grad in grads:
            link.w.grad = grad.copy()
            optimizer.update()
        return [link.w.array, optimizer.target.w.update_rule.state['ms']]
    plain, fast = _both(train)
    for a, b in zip(plain, fast):
        np.testing.assert_array_equal(a, b)


def test_tap_masks_by_hand():
    masks = tap_masks((3, 3), (1, 1), (2, 3)).reshape(3, 3, 2, 3)
    # Tap (0, 0) reads (y - 1, x - 1): inside only at y = 1, x >= 1.
    np.testing.assert_array_equal(masks[0, 0], [[0, 0, 0], [0, 1, 1]])
    np.testing.assert_array_equal(masks[1, 1], np.ones((2, 3)))
    np.testing.assert_array_equal(masks[2, 1], [[1, 1, 1], [0, 0, 0]])


def test_factored_merge_equals_the_tiled_concatenation():
    schema = seed_schema()
    gen = Generator(schema.input_size)
    gen.merge.to_device('@numpy')
    for param in gen.merge.conv.params():
        param.array = param.array.astype(np.float64)
    rng = np.random.default_rng(0)
    h = rng.standard_normal((3, 256, 8, 32))
    c = schema.generator_input(np.array([[5, 3, 1], [7, -1, 0], [9, 2, -1]])).astype(np.float64)
    gy = rng.standard_normal((3, 256, 8, 32))

    def merged():
        gen.cleargrads()
        hv = chainer.Variable(h)
        if chainer.config.vc_fast:
            y = gen._factored_merge(hv, c)
        else:
            tiled = F.broadcast_to(c[:, :, None, None], (3, schema.input_size, 8, 32))
            y = gen.merge.conv(F.concat((hv, tiled), axis=1))
        F.sum(y * gy).backward()
        return [y.array, hv.grad, gen.merge.conv.W.grad, gen.merge.conv.b.grad]
    _assert_close(*_both(merged), rtol=1e-12)


def _to_float64(link):
    for param in link.params():
        param.array = param.array.astype(np.float64)
    for bn in link.links():
        if isinstance(bn, chainer.links.BatchNormalization):
            bn.avg_mean, bn.avg_var = bn.avg_mean.astype(np.float64), bn.avg_var.astype(np.float64)


def test_generator_output_and_gradients_match():
    """In float64, where rounding cannot hide a wrong sum: the whole Generator, every layer's
    gradients (BatchNorm in training mode couples the batch, so this checks them all)."""
    schema = seed_schema()
    np.random.seed(0)
    gen = Generator(schema.input_size, channels=(4, 8, 16, 32))
    _to_float64(gen)
    rng = np.random.default_rng(0)
    x = rng.random((3, 1, 64, 256))
    c = schema.generator_input(np.array([[5, 3, 1], [7, -1, 0], [9, 2, -1]])).astype(np.float64)

    def run():
        gen.cleargrads()
        y = gen(x, c)
        F.sum(F.square(y)).backward()
        # Conv biases followed by BatchNorm get zero gradient in exact arithmetic: skip them.
        grads = [p.grad for name, p in sorted(gen.namedparams())
                 if not (name.endswith('conv/b') and not name.startswith('/up4'))]
        return [y.array] + grads
    _assert_close(*_both(run), rtol=1e-9)


def _step_gradients(network: str):
    """Loss terms and gradients of one D (or G) update, in float64 (float32 rounding in
    sums taken in another order is amplified by BatchNorm over a batch of 3), with the
    learning rate 0 so that nothing moves."""
    np.random.seed(0)
    updater, reporter = make_updater(batchsize=3, dtype=np.float64)
    for optimizer in updater.get_all_optimizers().values():
        optimizer.lr = 0.0
    batch = updater._next_batches()
    fake = updater.gen(batch['x_real'], batch['c_fake'])
    observation = {}
    with reporter.scope(observation):
        if network == 'dis':
            updater.update_discriminator(batch, fake.array)
        else:
            updater.update_generator(batch, fake)
    link = updater.dis if network == 'dis' else updater.gen
    return observation, {name: p.grad.copy() for name, p in link.namedparams()}


def _value(reported) -> float:
    return float(getattr(reported, 'array', reported))


@pytest.mark.parametrize('network', ['dis', 'gen'])
def test_one_update_matches(network):
    (obs_plain, grads_plain), (obs_fast, grads_fast) = _both(lambda: _step_gradients(network))
    assert set(obs_plain) == set(obs_fast)
    for key in obs_plain:
        assert _value(obs_fast[key]) == pytest.approx(_value(obs_plain[key]), rel=1e-10,
                                                      abs=1e-14), key
    plain = np.concatenate([g.ravel() for g in grads_plain.values()])
    fast = np.concatenate([grads_fast[name].ravel() for name in grads_plain])
    assert fast.dtype == np.float64
    assert np.linalg.norm(fast - plain) <= 1e-10 * np.linalg.norm(plain)


@pytest.fixture
def gpu_kernels_on_numpy(monkeypatch):
    """chainer_vc.networks.gpu_kernels with numpy in CuPy's place and Chainer's CPU im2col/col2im in
    place of their GPU twins (same layouts): the GPU kernels' arithmetic, checked anywhere."""
    from chainer.backends import cuda
    from chainer.utils import conv
    from chainer_vc.networks import gpu_kernels
    monkeypatch.setattr(cuda, 'cupy', np, raising=False)
    monkeypatch.setattr(conv, 'im2col_gpu', conv.im2col_cpu)
    monkeypatch.setattr(conv, 'col2im_gpu', conv.col2im_cpu)
    return gpu_kernels


@pytest.mark.parametrize('x_shape,w_shape,stride,pad', CONVOLUTIONS)
def test_gpu_kernel_layouts_compute_chainers_sums(gpu_kernels_on_numpy, x_shape, w_shape,
                                                  stride, pad):
    rng = np.random.default_rng(0)
    (sy, sx), (ph, pw) = stride, pad
    x, W, b = (rng.standard_normal(s) for s in (x_shape, w_shape, w_shape[:1]))
    with chainer.using_config('vc_fast', False):
        y = F.convolution_2d(x, W, b, stride, pad).array
        gy = rng.standard_normal(y.shape)
        deconv = F.deconvolution_2d(gy, W, None, stride, pad, outsize=x_shape[2:]).array
    out_h, out_w = y.shape[2:]
    fast = gpu_kernels_on_numpy.conv2d(x, W, b, sy, sx, ph, pw, out_h, out_w)
    assert fast.flags.c_contiguous
    _assert_close([y], [fast], rtol=1e-12)
    fast_deconv = gpu_kernels_on_numpy.deconv2d(gy, W, None, sy, sx, ph, pw, *x_shape[2:])
    _assert_close([deconv], [fast_deconv], rtol=1e-12)
