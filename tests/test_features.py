import math

import numpy as np
import pytest

from chainer_vc.features import spectrogram
from chainer_vc.features.spectrogram import SpectrogramConfig


def test_seed_numbers():
    config = SpectrogramConfig()
    assert config.segment_samples == 17152
    assert SpectrogramConfig(frames=256).segment_samples == 66304
    assert config.band_hz == (15.625, 4000.0)


def test_analyze_shape_range_and_dtype():
    config = SpectrogramConfig()
    x = np.random.default_rng(0).uniform(-1, 1, config.segment_samples).astype(np.float32)
    patch = spectrogram.analyze(x, 16000)
    assert patch.shape == (64, 256) and patch.dtype == np.float32
    assert 0.0 <= patch.min() and patch.max() <= 1.0


def test_analyze_matches_hand_computation_for_a_sinusoid():
    """A full-scale sinusoid on bin 64: |FFT|/1024 = sum(window)/2/1024 there."""
    config = SpectrogramConfig()
    n = np.arange(config.segment_samples)
    x = np.cos(2 * np.pi * 64 * n / config.fft_size).astype(np.float32)
    patch = spectrogram.analyze(x, 16000)
    magnitude = np.hamming(1024).sum() / 2 / 1024
    expected = (math.log(magnitude) - math.log(1e-3)) / -math.log(1e-3)
    # Bin 64 is column 63 (bin 0, DC, is dropped).
    np.testing.assert_allclose(patch[:, 63], expected, rtol=1e-4)
    assert patch[:, 63].min() > patch[:, 200].max()


def test_value_mapping_clips_and_inverts_exactly():
    config = SpectrogramConfig()
    magnitude = np.array([1e-5, 1e-3, 0.01, 0.5, 1.0], dtype=np.float32)
    unit = spectrogram.to_unit(magnitude, config)
    np.testing.assert_allclose(unit, [0, 0, 1 / 3, 1 + math.log(0.5) / 3 / math.log(10), 1],
                               atol=1e-6)
    np.testing.assert_allclose(spectrogram.to_magnitude(unit, config)[1:], magnitude[1:], rtol=1e-5)
    assert spectrogram.to_magnitude(unit, config)[0] == pytest.approx(1e-3)


def test_stft_istft_round_trip():
    config = SpectrogramConfig()
    x = np.random.default_rng(1).standard_normal(5000).astype(np.float32)
    frames = spectrogram.frame_count(len(x), config)
    used = config.fft_size + (frames - 1) * config.hop
    y = spectrogram.istft(spectrogram.stft(x, config), config, length=len(x))
    np.testing.assert_allclose(y[:used], x[:used], atol=1e-5)


def test_wrong_rate_and_too_short_are_errors():
    with pytest.raises(ValueError, match='22050 Hz'):
        spectrogram.analyze(np.zeros(20000, np.float32), 22050)
    with pytest.raises(ValueError, match='shorter than one FFT frame'):
        spectrogram.analyze(np.zeros(1000, np.float32), 16000)


def test_config_round_trips_through_dict():
    config = SpectrogramConfig(frames=256)
    assert SpectrogramConfig.from_dict(config.to_dict()) == config
