"""Reading and writing audio: any file libsndfile reads, as 16 kHz mono float32."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Tuple, Union

import numpy as np
import scipy.signal
import soundfile

from chainer_vc.common.errors import InputError
from chainer_vc.common.files import atomic_path

SAMPLE_RATE = 16000
_EPSILON = 1e-8


def resample(samples: np.ndarray, source_rate: int, target_rate: int) -> np.ndarray:
    """Polyphase resampling (scipy's Kaiser-windowed FIR), exact rational ratio."""
    if source_rate == target_rate:
        return samples.astype(np.float32, copy=False)
    divisor = math.gcd(source_rate, target_rate)
    resampled = scipy.signal.resample_poly(
        samples, target_rate // divisor, source_rate // divisor, axis=0)
    return resampled.astype(np.float32)


def load(path: Union[str, Path], sample_rate: int = SAMPLE_RATE) -> Tuple[np.ndarray, int]:
    """Decode ``path``, downmix to mono and resample: (float32 samples, sample_rate).

    Raises InputError (one line naming the file) for a missing, unreadable or empty file.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f'{path}: no such file')
    try:
        data, source_rate = soundfile.read(str(path), dtype='float32', always_2d=True)
    except (RuntimeError, soundfile.LibsndfileError, OSError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        # libsndfile says "Error opening '<path>': <reason>": the path is already named.
        reason = reason.split("': ", 1)[-1]
        raise InputError(f'{path}: cannot decode audio ({reason})') from None
    if data.size == 0:
        raise InputError(f'{path}: the file holds no audio samples')
    mono = data.mean(axis=1)
    if not np.all(np.isfinite(mono)):
        raise InputError(f'{path}: the audio holds NaN or infinite samples')
    return resample(mono, source_rate, sample_rate), sample_rate


def save(path: Union[str, Path], samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> None:
    """Write 16-bit PCM WAV atomically (a temporary file in the same folder, then rename)."""
    clipped = np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0)
    with atomic_path(path, suffix='.wav') as temporary:
        soundfile.write(str(temporary), clipped, sample_rate, subtype='PCM_16', format='WAV')


def peak_normalize(samples: np.ndarray) -> np.ndarray:
    """Scale into [-1, 1] so that the largest magnitude is 1 (silence stays silence)."""
    peak = float(np.max(np.abs(samples))) if len(samples) else 0.0
    return samples / peak if peak > 0 else samples


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if len(samples) else 0.0


def restore_loudness(samples: np.ndarray, source: np.ndarray) -> np.ndarray:
    """Scale to the source's RMS; never past full scale (the WAV would clip)."""
    gain = rms(source) / max(rms(samples), _EPSILON)
    peak = float(np.max(np.abs(samples))) * gain
    if peak > 1:
        gain /= peak
    return (samples * gain).astype(np.float32)
