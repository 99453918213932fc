"""The seed's spectrogram: analysis, the [0, 1] value mapping, and its exact inverse.

Pipeline (47c97768, "almost the same" in cfcefd21), every number a field of
:class:`SpectrogramConfig`: 16 kHz mono; Hamming window of 1024 samples, hop 256;
|FFT| / 1024; keep bins 1..256 (drop DC, keep 1/4 of the 1024 bins); clip below 1e-3,
take ln and map [ln 1e-3, 0] linearly onto [0, 1].

Peak normalisation of a segment belongs to whoever cuts the segment (dataset, conversion).
"""
from __future__ import annotations

import dataclasses
import math
from typing import Mapping, Optional

import numpy as np


@dataclasses.dataclass(frozen=True)
class SpectrogramConfig:
    sample_rate: int = 16000
    fft_size: int = 1024
    hop: int = 256
    frames: int = 64
    first_bin: int = 1
    bins: int = 256
    magnitude_floor: float = 1e-3

    @property
    def segment_samples(self) -> int:
        """Samples in one training segment: 17152 for 64 frames, 66304 for 256."""
        return self.fft_size + (self.frames - 1) * self.hop

    @property
    def band_hz(self) -> tuple:
        """Lowest and highest frequency the model sees (15.6 Hz - 4.0 kHz)."""
        resolution = self.sample_rate / self.fft_size
        return self.first_bin * resolution, (self.first_bin + self.bins - 1) * resolution

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping) -> 'SpectrogramConfig':
        return cls(**data)


def window(config: SpectrogramConfig) -> np.ndarray:
    return np.hamming(config.fft_size).astype(np.float32)


def frame_count(n_samples: int, config: SpectrogramConfig) -> int:
    """Frames of a signal without padding (0 when shorter than one FFT)."""
    if n_samples < config.fft_size:
        return 0
    return 1 + (n_samples - config.fft_size) // config.hop


def stft(samples: np.ndarray, config: SpectrogramConfig) -> np.ndarray:
    """Complex spectrum (frames, fft_size // 2 + 1) of the windowed frames, scaled by 1/fft_size."""
    samples = np.asarray(samples, dtype=np.float32)
    n_frames = frame_count(len(samples), config)
    if n_frames == 0:
        raise ValueError(
            f'{len(samples)} samples is shorter than one FFT frame ({config.fft_size})')
    frames = np.lib.stride_tricks.sliding_window_view(samples, config.fft_size)[::config.hop]
    spectrum = np.fft.rfft(frames[:n_frames] * window(config), axis=-1) / config.fft_size
    return spectrum.astype(np.complex64)


def istft(spectrum: np.ndarray, config: SpectrogramConfig,
          length: Optional[int] = None) -> np.ndarray:
    """Inverse of :func:`stft` by weighted overlap-add (least squares for the window)."""
    spectrum = np.asarray(spectrum)
    frames = np.fft.irfft(spectrum * config.fft_size, n=config.fft_size, axis=-1)
    win = window(config).astype(np.float64)
    n_samples = config.fft_size + (len(frames) - 1) * config.hop
    signal = np.zeros(n_samples)
    weight = np.zeros(n_samples)
    for i, frame in enumerate(frames):
        start = i * config.hop
        signal[start:start + config.fft_size] += frame * win
        weight[start:start + config.fft_size] += win ** 2
    signal /= np.maximum(weight, 1e-8)
    if length is not None:
        signal = np.pad(signal, (0, max(0, length - n_samples)))[:length]
    return signal.astype(np.float32)


def band(spectrum: np.ndarray, config: SpectrogramConfig) -> np.ndarray:
    """The bins the model sees (1..256 by default)."""
    return spectrum[..., config.first_bin:config.first_bin + config.bins]


def to_unit(magnitude: np.ndarray, config: SpectrogramConfig) -> np.ndarray:
    """Magnitude -> [0, 1]: clip below the floor, ln, map [ln floor, 0] onto [0, 1]."""
    log_floor = math.log(config.magnitude_floor)
    clipped = np.maximum(magnitude, config.magnitude_floor)
    unit = (np.log(clipped) - log_floor) / -log_floor
    return np.clip(unit, 0.0, 1.0).astype(np.float32)


def to_magnitude(unit: np.ndarray, config: SpectrogramConfig) -> np.ndarray:
    """The exact inverse of :func:`to_unit` on (0, 1]: floor ** (1 - unit)."""
    log_floor = math.log(config.magnitude_floor)
    return np.exp(log_floor * (1.0 - np.asarray(unit, dtype=np.float64))).astype(np.float32)


def analyze(samples: np.ndarray, sample_rate: int,
            config: Optional[SpectrogramConfig] = None) -> np.ndarray:
    """Samples -> float32 (frames, bins) in [0, 1]: STFT, magnitude, band, value mapping."""
    config = config or SpectrogramConfig()
    if sample_rate != config.sample_rate:
        raise ValueError(
            f'samples are at {sample_rate} Hz, the config expects {config.sample_rate} Hz '
            '(chainer_vc.audio.load resamples)')
    return to_unit(np.abs(band(stft(samples, config), config)), config)
