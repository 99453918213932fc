"""The seed's spectrogram back to a waveform: Griffin-Lim from the source's phase, or the
source's phase as it is, with the band the model never sees kept from the source or dropped.

The seed never turns its magnitudes back into sound; the spectrogram feature kind
(:mod:`chainer_vc.features.kinds`) does it with these.
"""
from __future__ import annotations

import dataclasses

import chainer
import numpy as np

from chainer_vc.common.devices import to_cpu
from chainer_vc.features import spectrogram
from chainer_vc.features.spectrogram import SpectrogramConfig

PHASE_GRIFFIN_LIM = 'griffin-lim'
PHASE_SOURCE = 'source'
PHASE_METHODS = (PHASE_GRIFFIN_LIM, PHASE_SOURCE)
HIGH_BAND_SOURCE = 'source'
HIGH_BAND_DROP = 'drop'
HIGH_BAND_CHOICES = (HIGH_BAND_SOURCE, HIGH_BAND_DROP)
GRIFFIN_LIM_ITERATIONS = 32
# "Fast Griffin-Lim" (Perraudin et al. 2013); 0 gives the classic algorithm.
GRIFFIN_LIM_MOMENTUM = 0.99
GRIFFIN_LIM_SEED = 0
_EPSILON = 1e-8


@dataclasses.dataclass(frozen=True)
class ReconstructionOptions:
    """How magnitudes become a waveform.

    ``high_band``: what fills the bins the model never sees (DC and 4-8 kHz for the seed's
    config): ``'source'`` keeps the source's magnitudes there (natural-sounding, but those
    bins still carry the source speaker), ``'drop'`` leaves them empty (band-limited output).

    ``subtract_floor``: the [0, 1] mapping clips magnitudes below ``magnitude_floor``, so its
    inverse gives the floor, not silence, for 0: left in, that floor is a steady hiss (about
    -29 dBFS) in every pause. Subtracting it maps 0 back to silence and changes magnitudes
    10x above the floor by under 1 dB.
    """
    phase: str = PHASE_GRIFFIN_LIM
    iterations: int = GRIFFIN_LIM_ITERATIONS
    momentum: float = GRIFFIN_LIM_MOMENTUM
    high_band: str = HIGH_BAND_SOURCE
    subtract_floor: bool = True

    def __post_init__(self):
        if self.phase not in PHASE_METHODS:
            raise ValueError(f'phase must be one of {PHASE_METHODS}, not {self.phase!r}')
        if self.high_band not in HIGH_BAND_CHOICES:
            raise ValueError(
                f'high_band must be one of {HIGH_BAND_CHOICES}, not {self.high_band!r}')
        if self.iterations < 0:
            raise ValueError(f'iterations must be >= 0, not {self.iterations}')



def _unit_phase(spectrum):
    xp = chainer.backend.get_array_module(spectrum)
    return spectrum / (xp.abs(spectrum) + _EPSILON)


def griffin_lim(magnitude, config: SpectrogramConfig, phase=None,
                iterations: int = GRIFFIN_LIM_ITERATIONS,
                momentum: float = GRIFFIN_LIM_MOMENTUM):
    """A waveform whose STFT magnitude approaches ``magnitude`` (frames, fft_size // 2 + 1).

    ``phase``: a complex spectrum (or angles) to start from, e.g. the source's; ``None``
    starts from random phase (seeded). Works on numpy or CuPy arrays.
    """
    xp = chainer.backend.get_array_module(magnitude)
    magnitude = xp.asarray(magnitude, dtype=xp.float32)
    if phase is None:
        rng = np.random.default_rng(GRIFFIN_LIM_SEED)
        angles = xp.asarray(np.exp(2j * np.pi * rng.random(magnitude.shape)))
    elif xp.iscomplexobj(phase):
        angles = _unit_phase(phase)
    else:
        angles = xp.exp(1j * xp.asarray(phase))
    angles = angles.astype(xp.complex64)
    weight = spectrogram.istft_weight(len(magnitude), config, xp)
    rebuilt = xp.zeros_like(angles)
    for _ in range(iterations):
        previous = rebuilt
        rebuilt = spectrogram.stft(spectrogram.istft(magnitude * angles, config, weight=weight), config)
        angles = _unit_phase(rebuilt - (momentum / (1 + momentum)) * previous)
    return spectrogram.istft(magnitude * angles, config, weight=weight)


def full_magnitude(band_magnitude, source_spectrum, config: SpectrogramConfig,
                   high_band: str = HIGH_BAND_SOURCE):
    """Band magnitudes (frames, bins) -> all rfft bins, the rest from the source or empty."""
    xp = chainer.backend.get_array_module(source_spectrum)
    if high_band == HIGH_BAND_SOURCE:
        magnitude = xp.abs(source_spectrum).astype(xp.float32)
    else:
        magnitude = xp.zeros(source_spectrum.shape, dtype=xp.float32)
    magnitude[:, config.first_bin:config.first_bin + config.bins] = xp.asarray(band_magnitude)
    return magnitude


def reconstruct(unit, source_spectrum, config: SpectrogramConfig,
                options: ReconstructionOptions = ReconstructionOptions()):
    """Model output in [0, 1] (frames, bins) + the source's complex spectrum -> waveform.

    The waveform spans ``fft_size + (frames - 1) * hop`` samples, like the analysed signal.
    """
    xp = chainer.backend.get_array_module(source_spectrum)
    band_magnitude = spectrogram.to_magnitude(to_cpu(unit), config)
    if options.subtract_floor:
        band_magnitude = np.maximum(band_magnitude - config.magnitude_floor, 0)
    band_magnitude = xp.asarray(band_magnitude)
    magnitude = full_magnitude(band_magnitude, source_spectrum, config, options.high_band)
    if options.phase == PHASE_SOURCE:
        return spectrogram.istft(magnitude * _unit_phase(source_spectrum), config)
    return griffin_lim(magnitude, config, source_spectrum, options.iterations, options.momentum)


