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

import chainer
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
        return signal_length(self.frames, self)

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


def signal_length(n_frames: int, config: SpectrogramConfig) -> int:
    """Samples spanned by ``n_frames`` frames (the inverse of :func:`frame_count`)."""
    return config.fft_size + (n_frames - 1) * config.hop


def frame_count(n_samples: int, config: SpectrogramConfig) -> int:
    """Frames of a signal without padding (0 when shorter than one FFT)."""
    if n_samples < config.fft_size:
        return 0
    return 1 + (n_samples - config.fft_size) // config.hop


def stft(samples, config: SpectrogramConfig):
    """Complex spectrum (frames, fft_size // 2 + 1) of the windowed frames, scaled by
    1/fft_size; numpy or CuPy in, the same out."""
    xp = chainer.backend.get_array_module(samples)
    samples = xp.asarray(samples, dtype=xp.float32)
    n_frames = frame_count(len(samples), config)
    if n_frames == 0:
        raise ValueError(
            f'{len(samples)} samples is shorter than one FFT frame ({config.fft_size})')
    index = (xp.arange(n_frames)[:, None] * config.hop
             + xp.arange(config.fft_size)[None, :])
    frames = samples[index] * xp.asarray(window(config))
    return (xp.fft.rfft(frames, axis=-1) / config.fft_size).astype(xp.complex64)


def overlap_add(frames, config: SpectrogramConfig):
    """Sum frames (n, fft_size) placed ``hop`` apart: a loop over fft_size / hop chunks only."""
    xp = chainer.backend.get_array_module(frames)
    n_frames, size = frames.shape
    chunks = -(-size // config.hop)
    padded = xp.zeros((n_frames, chunks * config.hop), dtype=frames.dtype)
    padded[:, :size] = frames
    padded = padded.reshape(n_frames, chunks, config.hop)
    out = xp.zeros((n_frames + chunks - 1, config.hop), dtype=frames.dtype)
    for chunk in range(chunks):
        out[chunk:chunk + n_frames] += padded[:, chunk]
    return out.reshape(-1)[:signal_length(n_frames, config)]


def istft_weight(n_frames: int, config: SpectrogramConfig, xp=np):
    """1 / the overlap-added squared window: the least-squares inverse's normalisation."""
    squared = xp.asarray(window(config)) ** 2
    weight = overlap_add(xp.broadcast_to(squared, (n_frames, config.fft_size)), config)
    return 1 / xp.maximum(weight, 1e-8)


def istft(spectrum, config: SpectrogramConfig, length: Optional[int] = None,
          weight=None):
    """Inverse of :func:`stft` by weighted overlap-add (least squares for the window);
    ``weight`` is :func:`istft_weight`, for callers that invert many spectra of one size."""
    xp = chainer.backend.get_array_module(spectrum)
    if weight is None:
        weight = istft_weight(len(spectrum), config, xp)
    frames = xp.fft.irfft(spectrum * config.fft_size, n=config.fft_size, axis=-1)
    signal = overlap_add(frames * xp.asarray(window(config)), config) * weight
    if length is not None:
        signal = xp.pad(signal, (0, max(0, length - len(signal))))[:length]
    return signal.astype(xp.float32)


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
            '(chainer_vc.common.audio.load resamples)')
    return to_unit(np.abs(band(stft(samples, config), config)), config)


def log_spectral_distance(reference: np.ndarray, estimate: np.ndarray,
                          config: SpectrogramConfig) -> float:
    """Mean over frames of the RMS over the model's bins of the dB difference of magnitudes.

    Both magnitudes are clipped at the config's floor first: below it the features hold
    nothing, so differences there cannot count. Signals are compared over the shorter length.
    """
    length = min(len(reference), len(estimate))
    spectra = [np.abs(band(stft(np.asarray(x)[:length], config), config))
               for x in (reference, estimate)]
    reference_db, estimate_db = (20 * np.log10(np.maximum(m, config.magnitude_floor))
                                 for m in spectra)
    return float(np.mean(np.sqrt(np.mean((reference_db - estimate_db) ** 2, axis=-1))))
