"""Training examples: random spectrogram windows of a corpus's utterances, with labels."""
from __future__ import annotations

import sys
from typing import Callable, Optional, Sequence

import chainer
import numpy as np

from chainer_vc.common import audio
from chainer_vc.features import spectrogram
from chainer_vc.common.errors import InputError
from chainer_vc.features.spectrogram import SpectrogramConfig
from chainer_vc.common.labels import LabelSchema

# A file whose peak is below -80 dBFS holds nothing to learn from.
SILENT_FILE_PEAK = 1e-4
# The seed's rule ("discard if RMS exceeds 0.5 (silence)") is garbled. Ours: a window is
# silent when its RMS is below 1/10 (-20 dB) of its utterance's RMS; such a window is
# redrawn, at most MAX_REDRAWS times, after which the loudest draw is kept.
SILENT_WINDOW_RATIO = 0.1
MAX_REDRAWS = 10


class SpectrogramDataset(chainer.dataset.DatasetMixin):
    """One item per usable utterance: (spectrogram (1, frames, bins) float32 in [0, 1],
    generator-input labels (input_size,) float32, classification target (class_size,) int32).

    Each access draws a random window of ``config.segment_samples`` samples, peak-normalised
    into [-1, 1]; utterances shorter than a window are zero-padded. Audio is decoded and
    resampled once, when the dataset is built; unreadable or silent files are reported once
    and skipped, and a corpus with no usable file is an InputError.
    """

    def __init__(self, paths: Sequence, codes: np.ndarray, schema: LabelSchema,
                 config: Optional[SpectrogramConfig] = None, seed: Optional[int] = None,
                 warn: Callable[[str], None] = lambda message: print(message, file=sys.stderr)):
        self.config = config or SpectrogramConfig()
        self.schema = schema
        self._rng = np.random.default_rng(seed)
        self.paths, self.signals, kept = [], [], []
        for index, path in enumerate(paths):
            samples = _load_usable(path, self.config.sample_rate, warn)
            if samples is not None:
                self.paths.append(path)
                self.signals.append(samples)
                kept.append(index)
        if not self.signals:
            raise InputError(f'none of the corpus\'s {len(paths)} audio files is usable '
                             '(all unreadable or silent)')
        self.codes = np.asarray(codes, dtype=np.int32)[kept]
        self._rms = [float(np.sqrt(np.mean(np.square(s, dtype=np.float64)))) for s in self.signals]
        self._inputs = schema.generator_input(self.codes)
        self._targets = schema.classification_target(self.codes)

    @classmethod
    def from_corpus(cls, corpus, schema: LabelSchema, config=None, seed=None, **kwargs):
        return cls([u.path for u in corpus.utterances], corpus.codes(schema), schema,
                   config, seed, **kwargs)

    def __len__(self) -> int:
        return len(self.signals)

    def label_combinations(self) -> np.ndarray:
        """The distinct label codes of the corpus (n, n_groups): targets are drawn from these."""
        return np.unique(self.codes, axis=0)

    def segment(self, i: int) -> np.ndarray:
        """A random non-silent window of utterance ``i``, peak-normalised into [-1, 1]."""
        signal, length = self.signals[i], self.config.segment_samples
        if len(signal) <= length:
            return audio.peak_normalize(np.pad(signal, (0, length - len(signal))))
        threshold = SILENT_WINDOW_RATIO * self._rms[i]
        best, best_rms = None, -1.0
        for _ in range(MAX_REDRAWS):
            start = int(self._rng.integers(0, len(signal) - length + 1))
            window = signal[start:start + length]
            rms = float(np.sqrt(np.mean(np.square(window, dtype=np.float64))))
            if rms > best_rms:
                best, best_rms = window, rms
            if rms >= threshold:
                break
        return audio.peak_normalize(best)

    def get_example(self, i: int):
        analysed = spectrogram.analyze(self.segment(i), self.config.sample_rate, self.config)
        return analysed[None], self._inputs[i], self._targets[i]


def _load_usable(path, sample_rate: int, warn) -> Optional[np.ndarray]:
    try:
        samples, _ = audio.load(path, sample_rate)
    except InputError as error:
        warn(f'skipped: {error}')
        return None
    if float(np.max(np.abs(samples))) < SILENT_FILE_PEAK:
        warn(f'skipped: {path}: the audio is silent')
        return None
    return samples


class EnvelopeDataset(chainer.dataset.DatasetMixin):
    """The ``world`` kind's training examples: random windows of ``config.frames`` frames of
    each utterance's mapped envelope (analysed once, from the cache), with labels as
    :class:`SpectrogramDataset` gives them.

    A window with fewer than half its frames speech (within 40 dB of the utterance's
    loudest frame) is redrawn, at most MAX_REDRAWS times, after which the draw with the most
    speech is kept; utterances shorter than a window are padded with their last frame.
    """

    def __init__(self, paths: Sequence, units: Sequence[np.ndarray],
                 speech: Sequence[np.ndarray], codes: np.ndarray, schema: LabelSchema,
                 config, seed: Optional[int] = None, kind=None):
        self.paths = list(paths)
        self.units = list(units)
        self.speech = list(speech)
        self.config = config
        self.schema = schema
        self.kind = kind
        self._rng = np.random.default_rng(seed)
        self.codes = np.asarray(codes, dtype=np.int32)
        self._inputs = schema.generator_input(self.codes)
        self._targets = schema.classification_target(self.codes)

    def __len__(self) -> int:
        return len(self.units)

    def label_combinations(self) -> np.ndarray:
        return np.unique(self.codes, axis=0)

    def window(self, i: int) -> np.ndarray:
        unit, speech, frames = self.units[i], self.speech[i], self.config.frames
        if len(unit) <= frames:
            return np.pad(unit, ((0, frames - len(unit)), (0, 0)), mode='edge')
        best, best_speech = 0, -1.0
        for _ in range(MAX_REDRAWS):
            start = int(self._rng.integers(0, len(unit) - frames + 1))
            share = float(np.mean(speech[start:start + frames]))
            if share > best_speech:
                best, best_speech = start, share
            if share >= 0.5:
                break
        return unit[best:best + frames]

    def segment(self, i: int) -> np.ndarray:
        """A random window of utterance ``i``'s audio (peak-normalised), for samples/."""
        samples = audio.peak_normalize(audio.load(self.paths[i], self.config.sample_rate)[0])
        length = self.config.segment_samples
        if len(samples) <= length:
            return np.pad(samples, (0, length - len(samples)))
        start = int(self._rng.integers(0, len(samples) - length + 1))
        return samples[start:start + length]

    def get_example(self, i: int):
        return self.window(i)[None], self._inputs[i], self._targets[i]
