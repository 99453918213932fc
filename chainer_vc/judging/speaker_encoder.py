"""The GE2E speaker encoder of resemblyzer (Wan et al. 2018), in numpy.

A pretrained speaker-verification network that never trained with our Generator: the judge of
whose voice a conversion carries. Its trained weights ship inside the ``resemblyzer`` wheel
(Apache-2.0, ``resemblyzer/pretrained.pt``); they are read with
:mod:`chainer_vc.judging.torch_checkpoint`, never through torch or the resemblyzer package (which
imports torch). The computation follows resemblyzer 0.1.4 step by step:

- ``normalize_volume``: raise the utterance to -30 dBFS RMS (never lower it);
- ``wav_to_mel_spectrogram``: librosa's ``melspectrogram`` at 16 kHz: centred STFT
  (zero-padded), periodic Hann window of 400 samples (25 ms), hop 160 (10 ms), power
  spectrum, 40 Slaney-scale mel bands with Slaney area normalisation; not a log;
- ``embed_utterance``: 160-frame partials (1.6 s) every ~0.77 s (rate 1.3 per second), the
  last kept when it is at least 75 % covered, each through a 3-layer LSTM (256) whose last
  hidden state goes through Linear(256) and ReLU and is L2-normalised; the mean of the
  partials' embeddings, L2-normalised.

One deviation: resemblyzer's ``preprocess_wav`` also cuts pauses longer than ~0.2 s with
webrtcvad (a C library, not ported). The judge embeds whole utterances instead; every
utterance it compares (real, vocoded, converted) goes the same way, so none gains from it.
Resampling to 16 kHz is :func:`chainer_vc.common.audio.load`'s, not librosa's.
"""
from __future__ import annotations

import functools
import importlib.metadata
import math
from pathlib import Path
from typing import Dict, Optional, Sequence, Union

import numpy as np
import threadpoolctl

from chainer_vc.judging import torch_checkpoint
from chainer_vc.common.errors import InputError

SAMPLE_RATE = 16000
WINDOW = 400          # 25 ms
HOP = 160             # 10 ms
MEL_BANDS = 40
PARTIAL_FRAMES = 160  # 1.6 s
PARTIAL_RATE = 1.3    # partials per second
MIN_COVERAGE = 0.75
TARGET_DBFS = -30.0
INT16_MAX = 2 ** 15 - 1
HIDDEN = 256
LAYERS = 3
EMBEDDING_SIZE = 256
WEIGHTS_DISTRIBUTION = 'resemblyzer'
WEIGHTS_FILE = 'resemblyzer/pretrained.pt'


# ------------------------------------------------------------------------ mel features

def _hz_to_mel(hz):
    """Slaney's mel scale (librosa's default, htk=False): linear below 1 kHz, log above."""
    hz = np.asarray(hz, dtype=np.float64)
    linear = hz / (200.0 / 3)
    log_step = math.log(6.4) / 27.0
    min_log_mel = 1000.0 / (200.0 / 3)
    return np.where(hz >= 1000.0,
                    min_log_mel + np.log(np.maximum(hz, 1e-10) / 1000.0) / log_step, linear)


def _mel_to_hz(mel):
    mel = np.asarray(mel, dtype=np.float64)
    log_step = math.log(6.4) / 27.0
    min_log_mel = 1000.0 / (200.0 / 3)
    return np.where(mel >= min_log_mel, 1000.0 * np.exp(log_step * (mel - min_log_mel)),
                    mel * (200.0 / 3))


@functools.lru_cache(maxsize=None)
def mel_filterbank(sample_rate: int = SAMPLE_RATE, fft_size: int = WINDOW,
                   bands: int = MEL_BANDS) -> np.ndarray:
    """(bands, fft_size // 2 + 1) float32 triangles from 0 Hz to Nyquist, each scaled to unit
    area on the mel axis (librosa.filters.mel with norm='slaney')."""
    fft_hz = np.fft.rfftfreq(fft_size, 1.0 / sample_rate)
    edges_hz = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(sample_rate / 2), bands + 2))
    widths = np.diff(edges_hz)
    ramps = edges_hz[:, None] - fft_hz[None, :]
    rising = -ramps[:-2] / widths[:-1, None]
    falling = ramps[2:] / widths[1:, None]
    weights = np.maximum(0, np.minimum(rising, falling))
    weights *= (2.0 / (edges_hz[2:] - edges_hz[:-2]))[:, None]
    return weights.astype(np.float32)


def _hann(size: int) -> np.ndarray:
    """The periodic Hann window (scipy.signal.get_window('hann', size), as librosa uses)."""
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(size) / size)).astype(np.float32)


def mel_spectrogram(samples: np.ndarray) -> np.ndarray:
    """(frames, 40) float32 mel power spectrogram; frames = 1 + len // 160."""
    samples = np.asarray(samples, dtype=np.float32)
    padded = np.pad(samples, WINDOW // 2)
    n_frames = 1 + (len(padded) - WINDOW) // HOP
    frames = np.lib.stride_tricks.sliding_window_view(padded, WINDOW)[::HOP][:n_frames]
    power = np.abs(np.fft.rfft(frames * _hann(WINDOW), axis=-1)) ** 2
    return (power.astype(np.float32) @ mel_filterbank().T).astype(np.float32)


def normalize_volume(samples: np.ndarray, target_dbfs: float = TARGET_DBFS) -> np.ndarray:
    """Raise the RMS to ``target_dbfs`` (resemblyzer's increase_only); silence stays silence."""
    samples = np.asarray(samples, dtype=np.float32)
    rms = float(np.sqrt(np.mean((samples.astype(np.float64) * INT16_MAX) ** 2)))
    if rms == 0:
        return samples
    change = target_dbfs - 20 * math.log10(rms / INT16_MAX)
    if change < 0:
        return samples
    return (samples * 10 ** (change / 20)).astype(np.float32)


def partial_starts(n_samples: int) -> list:
    """First mel frame of each 160-frame partial (resemblyzer's compute_partial_slices)."""
    n_frames = int(math.ceil((n_samples + 1) / HOP))
    step = int(round(SAMPLE_RATE / PARTIAL_RATE / HOP))
    starts = list(range(0, max(1, n_frames - PARTIAL_FRAMES + step + 1), step))
    last = starts[-1] * HOP
    coverage = (n_samples - last) / (PARTIAL_FRAMES * HOP)
    if coverage < MIN_COVERAGE and len(starts) > 1:
        starts = starts[:-1]
    return starts


def partials(samples: np.ndarray) -> np.ndarray:
    """(n_partials, 160, 40) mel windows of one volume-normalised utterance."""
    starts = partial_starts(len(samples))
    needed = (starts[-1] + PARTIAL_FRAMES) * HOP
    # resemblyzer pads to the last partial's end when that reaches the signal's length.
    if needed >= len(samples):
        samples = np.pad(samples, (0, needed - len(samples)))
    mel = mel_spectrogram(samples)
    return np.stack([mel[start:start + PARTIAL_FRAMES] for start in starts])


# -------------------------------------------------------------------------- network

def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (np.tanh(0.5 * x) + 1)


def _l2_normalize(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


class SpeakerEncoder:
    """GE2E: 3-layer LSTM (40 -> 256), last hidden state -> Linear(256) -> ReLU -> L2 norm."""

    def __init__(self, weights: Dict[str, np.ndarray]):
        try:
            self.layers = [
                (weights[f'lstm.weight_ih_l{i}'].T.copy(), weights[f'lstm.weight_hh_l{i}'].T.copy(),
                 weights[f'lstm.bias_ih_l{i}'] + weights[f'lstm.bias_hh_l{i}'])
                for i in range(LAYERS)]
            self.linear = (weights['linear.weight'].T.copy(), weights['linear.bias'])
        except KeyError as error:
            raise InputError(f'GE2E weights lack {error.args[0]}') from None

    @classmethod
    def load(cls, path: Optional[Union[str, Path]] = None) -> 'SpeakerEncoder':
        """The pretrained encoder from ``path`` (default: the installed resemblyzer wheel's)."""
        path = Path(path) if path is not None else weights_path()
        try:
            checkpoint = torch_checkpoint.load(path)
        except (OSError, torch_checkpoint.CheckpointError) as error:
            raise InputError(f'{path}: cannot read GE2E weights ({error})') from None
        return cls(checkpoint['model_state'])

    def forward(self, mels: np.ndarray) -> np.ndarray:
        """(batch, frames, 40) mel windows -> (batch, 256) L2-normalised embeddings."""
        x = np.asarray(mels, dtype=np.float32)
        # Each time step's GEMM is small: BLAS threads would spend more time waiting for each
        # other (10-30x slower on a busy 2-core machine) than computing.
        with threadpoolctl.threadpool_limits(1, user_api='blas'):
            for w_input, w_hidden, bias in self.layers:
                x = self._lstm_layer(x, w_input, w_hidden, bias)
        w, b = self.linear
        return _l2_normalize(np.maximum(x[:, -1] @ w + b, 0))

    @staticmethod
    def _lstm_layer(x, w_input, w_hidden, bias):
        """torch.nn.LSTM's layer: gates in the order input, forget, cell, output."""
        batch, steps, _ = x.shape
        gates_in = np.ascontiguousarray((x @ w_input + bias).transpose(1, 0, 2))
        h = np.zeros((batch, HIDDEN), dtype=np.float32)
        c = np.zeros((batch, HIDDEN), dtype=np.float32)
        out = np.empty((batch, steps, HIDDEN), dtype=np.float32)
        for t in range(steps):
            gates = gates_in[t] + h @ w_hidden
            i, f, g, o = np.split(gates, 4, axis=1)
            c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
            h = _sigmoid(o) * np.tanh(c)
            out[:, t] = h
        return out

    def embed_utterance(self, samples: np.ndarray) -> np.ndarray:
        """(256,) embedding of one 16 kHz utterance."""
        return self.embed_utterances([samples])[0]

    def embed_utterances(self, utterances: Sequence[np.ndarray],
                         batch_partials: int = 64) -> np.ndarray:
        """(n, 256) embeddings; partials of many utterances go through the LSTM together."""
        windows = [partials(normalize_volume(samples)) for samples in utterances]
        owners = np.repeat(np.arange(len(windows)), [len(w) for w in windows])
        stacked = np.concatenate(windows) if windows else np.zeros((0, PARTIAL_FRAMES, MEL_BANDS))
        embedded = np.concatenate([self.forward(stacked[i:i + batch_partials])
                                   for i in range(0, len(stacked), batch_partials)]
                                  or [np.zeros((0, EMBEDDING_SIZE), np.float32)])
        sums = np.zeros((len(windows), EMBEDDING_SIZE), dtype=np.float64)
        np.add.at(sums, owners, embedded)
        means = sums / np.maximum(np.bincount(owners, minlength=len(windows)), 1)[:, None]
        return _l2_normalize(means).astype(np.float32)


def weights_path() -> Path:
    """``pretrained.pt`` of the installed resemblyzer distribution (the package is never
    imported: it imports torch)."""
    try:
        path = Path(importlib.metadata.distribution(WEIGHTS_DISTRIBUTION)
                    .locate_file(WEIGHTS_FILE))
    except importlib.metadata.PackageNotFoundError:
        path = None
    if path is None or not path.is_file():
        raise InputError(f'{WEIGHTS_FILE}: GE2E weights not installed '
                         f'(pip install --no-deps {WEIGHTS_DISTRIBUTION}==0.1.4, or make install)')
    return path


@functools.lru_cache(maxsize=1)
def pretrained() -> SpeakerEncoder:
    """The pretrained encoder, loaded once per process."""
    return SpeakerEncoder.load()
