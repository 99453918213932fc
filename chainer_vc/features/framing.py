"""How many samples and frames a recording takes: padding to the Generator's stride, and
what cannot be converted at all (empty, shorter than a hop, silent)."""
from __future__ import annotations

import math
from typing import Tuple

import numpy as np

from chainer_vc.common.errors import InputError
from chainer_vc.features import spectrogram

# The Generator halves the frame axis three times (down2..down4) and doubles it back (up1..up3).
FRAME_MULTIPLE = 2 ** 3
# A recording whose peak is below -60 dBFS holds nothing to convert.
SILENCE_PEAK = 10 ** (-60 / 20)


def check_utterance(samples: np.ndarray, config: spectrogram.SpectrogramConfig) -> None:
    """Raise InputError (no file name: the caller adds it) for what cannot be converted."""
    if len(samples) == 0:
        raise InputError('the recording is empty')
    if len(samples) < config.hop:
        raise InputError(f'the recording is {len(samples)} samples long, shorter than one '
                         f'hop ({config.hop} samples at {config.sample_rate} Hz)')
    peak = float(np.max(np.abs(samples)))
    if peak < SILENCE_PEAK:
        raise InputError(f'the recording is silent (its peak is below '
                         f'{20 * math.log10(SILENCE_PEAK):.0f} dBFS)')


def padding(n_samples: int, config: spectrogram.SpectrogramConfig) -> Tuple[int, int, int]:
    """(left, right, frames): zeros around ``n_samples`` so that every sample lies under
    ``fft_size // hop`` frames and ``frames`` is a multiple of :data:`FRAME_MULTIPLE`."""
    left = config.fft_size - config.hop
    needed = left + n_samples + left
    frames = 1 + -(-(needed - config.fft_size) // config.hop)
    frames = -(-frames // FRAME_MULTIPLE) * FRAME_MULTIPLE
    return left, spectrogram.signal_length(frames, config) - left - n_samples, frames


