import numpy as np
import pytest
from chainer import gradient_check

from chainer_vc.features.dynamics import dynamics_distance, scale_motion, utterance_distance


def _band_motion_by_hand(x, band):
    levels = x.reshape(*x.shape[:3], x.shape[3] // band, band).mean(axis=4)
    return levels - levels.mean(axis=2, keepdims=True)


def test_dynamics_distance_by_hand():
    rng = np.random.default_rng(4)
    x, y = (rng.random((2, 1, 6, 12)).astype(np.float32) for _ in range(2))
    expected = np.abs(_band_motion_by_hand(x, 4) - _band_motion_by_hand(y, 4)).mean()
    assert float(dynamics_distance(x, y, band=4).array) == pytest.approx(expected, rel=1e-5)


def test_dynamics_distance_ignores_band_levels_held_over_the_window_and_sees_motion():
    rng = np.random.default_rng(5)
    x = rng.random((1, 1, 8, 16)).astype(np.float32)
    held = np.repeat(rng.normal(size=4), 4).astype(np.float32)  # one level per 4-bin band
    assert float(dynamics_distance(x + held, x, band=4).array) == pytest.approx(0, abs=1e-6)
    # Within a band, bins may trade level with each other (a spectral change finer than a band).
    swapped = x[..., [1, 0, 2, 3, 5, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]]
    assert float(dynamics_distance(swapped, x, band=4).array) == pytest.approx(0, abs=1e-6)
    moved = x.copy()
    moved[0, 0, 3, :4] += 0.4  # band 0 rises in frame 3 only
    # Frame 3 leaves the band's mean by 0.4 (1 - 1/8); the others by 0.4/8.
    expected = (0.4 * 7 / 8 + 7 * 0.4 / 8) / (8 * 4)
    assert float(dynamics_distance(moved, x, band=4).array) == pytest.approx(expected, rel=1e-5)


def test_dynamics_distance_gradient_is_checked_numerically():
    rng = np.random.default_rng(6)
    x = rng.random((2, 1, 4, 8))
    y = rng.random((2, 1, 4, 8))
    gradient_check.check_backward(lambda a: dynamics_distance(a, y, band=2), x,
                                          np.ones((), dtype=np.float64), eps=1e-6, atol=1e-6)


def test_scale_motion_keeps_each_bins_mean_change_and_scales_how_the_envelope_moves():
    rng = np.random.default_rng(7)
    source, converted = (rng.random((12, 16)) for _ in range(2))
    np.testing.assert_allclose(scale_motion(source, converted, 1.0), converted)
    distance = utterance_distance(converted, source)
    assert distance > 0.05
    for scale in (0.0, 0.25, 0.5):
        scaled = scale_motion(source, converted, scale)
        # Each bin's mean over the frames is the converted one's, whatever the scale.
        np.testing.assert_allclose(scaled.mean(axis=0), converted.mean(axis=0))
        # Frame 0 by hand: the source's deviation from its mean, plus the scaled change of it.
        own = source[0] - source.mean(axis=0)
        expected = converted.mean(axis=0) + own + scale * (
            converted[0] - converted.mean(axis=0) - own)
        np.testing.assert_allclose(scaled[0], expected)
        # The dynamics distance from the source scales with it (0: the source's motion).
        assert utterance_distance(scaled, source) == pytest.approx(scale * distance, abs=1e-9)
