"""Every intermediate shape of both presets against SPEC.md's tables (1479 in, 1476 out)."""
import chainer
import chainer.functions as F
import numpy as np
import pytest

from chainer_vc.common.labels import seed_schema
from chainer_vc.networks.models import Discriminator, Generator
from chainer_vc.networks.presets import PRESETS

SCHEMA = seed_schema()


def _labels(batch):
    codes = np.array([[i, i % 53, i % 2] for i in range(batch)], dtype=np.int32)
    return SCHEMA.generator_input(codes)


def generator_shapes(frames):
    h = frames
    return {
        'down1': (32, h, 256), 'down2': (64, h // 2, 128), 'down3': (128, h // 4, 64),
        'down4': (256, h // 8, 32), 'concat': (1735, h // 8, 32), 'merge': (256, h // 8, 32),
        'res6': (256, h // 8, 32), 'up1': (128, h // 4, 64), 'up2': (64, h // 2, 128),
        'up3': (32, h, 256), 'up4': (1, h, 256),
    }


@pytest.mark.parametrize('preset', ['cfcefd21', '9ada9179'])
def test_generator_every_layer(preset):
    frames = PRESETS[preset].frames
    gen = Generator(SCHEMA.input_size)
    x = np.random.default_rng(0).random((1, 1, frames, 256), dtype=np.float32)
    c = _labels(1)
    seen = {}
    with chainer.no_backprop_mode():
        h = x
        for name in ('down1', 'down2', 'down3', 'down4'):
            h = getattr(gen, name)(h)
            seen[name] = h.shape[1:]
        tiled = F.broadcast_to(c[:, :, None, None], (1, SCHEMA.input_size) + h.shape[2:])
        seen['concat'] = F.concat((h, tiled), axis=1).shape[1:]
        h = gen.condition(h, c)
        seen['merge'] = h.shape[1:]
        for i in range(1, 7):
            h = getattr(gen, f'res{i}')(h)
        seen['res6'] = h.shape[1:]
        for name in ('up1', 'up2', 'up3', 'up4'):
            h = getattr(gen, name)(h)
            seen[name] = h.shape[1:]
        y = gen(x, c)
    assert seen == generator_shapes(frames)
    assert y.shape == (1, 1, frames, 256)
    # A sigmoid: (0, 1) mathematically; float32 may round a saturated unit to exactly 0 or 1.
    assert 0.0 <= float(y.array.min()) and float(y.array.max()) <= 1.0
    np.testing.assert_array_equal(y.array, h.array)


@pytest.mark.parametrize('preset,heights', [
    ('cfcefd21', [32, 16, 8, 4, 4, 4]),
    ('9ada9179', [128, 64, 32, 16, 8, 4]),
])
def test_discriminator_every_layer(preset, heights):
    frames = PRESETS[preset].frames
    dis = Discriminator(SCHEMA.class_size, frames=frames)
    x = np.random.default_rng(0).random((2, 1, frames, 256), dtype=np.float32)
    widths = [128, 64, 32, 16, 8, 4]
    channels = [32, 64, 128, 256, 512, 1024]
    with chainer.no_backprop_mode():
        h = x
        for i, expected in enumerate(zip(channels, heights, widths), start=1):
            h = getattr(dis, f'conv{i}')(h)
            assert h.shape[1:] == expected, f'conv{i}'
        feature, classification, adversarial = dis(x)
    assert feature.shape == (2, 1024, 4, 4)
    assert classification.shape == (2, 1476)
    assert adversarial.shape == (2, 1, 4, 4)
    np.testing.assert_array_equal(feature.array, h.array)


def test_cfcefd21_discriminator_kernels_follow_the_log():
    dis = Discriminator(SCHEMA.class_size, frames=64)
    assert [getattr(dis, f'conv{i}').conv.W.shape[2:] for i in range(1, 7)] == \
        [(4, 4)] * 4 + [(3, 4)] * 2
    assert [getattr(dis, f'conv{i}').conv.stride for i in range(1, 7)] == \
        [(2, 2)] * 4 + [(1, 2)] * 2
    assert dis.clazz.W.shape == (1476, 1024, 4, 4) and dis.clazz.pad == (0, 0)
    assert dis.discriminate.W.shape == (1, 1024, 3, 3) and dis.discriminate.pad == (1, 1)


def test_generator_is_fully_convolutional_in_time():
    gen = Generator(5, channels=(4, 8, 16, 32))
    with chainer.using_config('train', False), chainer.no_backprop_mode():
        y = gen(np.zeros((1, 1, 40, 256), np.float32), np.zeros((1, 5), np.float32))
    assert y.shape == (1, 1, 40, 256)


def test_generator_output_depends_on_labels():
    gen = Generator(SCHEMA.input_size, channels=(4, 8, 16, 32))
    x = np.random.default_rng(0).random((2, 1, 64, 256), dtype=np.float32)
    c = _labels(2)
    with chainer.using_config('train', False), chainer.no_backprop_mode():
        a = gen(x, c).array
        b = gen(x, c[::-1]).array
    assert np.abs(a - b).max() > 1e-4
