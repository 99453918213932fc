"""Converting whole recordings with a trained Generator, and getting a waveform back.

The seed converts fixed 64-frame patches of |FFT| bins 1..256 and never turns them back into
sound. Conversion here works on whole utterances:

1. The model's feature kind (:mod:`chainer_vc.features.kinds`) encodes the samples: for the
   seed's spectrogram, peak-normalised, padded to the Generator's stride
   (:mod:`chainer_vc.features.framing`) and analysed with the model's own config.
2. The Generator runs once over all frames, or over overlapping windows, cross-faded, when
   the utterance is longer than ``window_frames``.
3. The kind decodes G's output back into samples of the input's length and loudness
   (:mod:`chainer_vc.features.griffin_lim` for the spectrogram).
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Optional, Union

import chainer
import numpy as np

from chainer_vc.common import devices
from chainer_vc.common.devices import to_cpu
from chainer_vc.common.errors import InputError
from chainer_vc.features import dynamics, kinds
from chainer_vc.features.framing import FRAME_MULTIPLE
from chainer_vc.features.griffin_lim import ReconstructionOptions
from chainer_vc.features.spectrogram import SpectrogramConfig
from chainer_vc.networks.models import Generator
from chainer_vc.networks.run_directory import ModelConfig, load_generator

PathLike = Union[str, Path]

# Whole utterances up to this many frames (16.4 s) go through the Generator in one call;
# longer ones in windows of this size. Both are multiples of FRAME_MULTIPLE.
WINDOW_FRAMES = 1024
# Overlap of two windows, cross-faded linearly; wider than the Generator's receptive field
# reaches in either direction, so the faded-out edge of a window barely shows.
OVERLAP_FRAMES = 256


def crossfade_weights(length: int, overlap: int, fade_in: bool, fade_out: bool) -> np.ndarray:
    """A window's weight: linear ramps over ``overlap`` frames where it meets a neighbour."""
    weights = np.ones(length, dtype=np.float32)
    ramp = (np.arange(overlap, dtype=np.float32) + 0.5) / overlap
    if fade_in:
        weights[:overlap] = ramp
    if fade_out:
        weights[length - overlap:] = ramp[::-1]
    return weights


def window_starts(n_frames: int, window_frames: int, overlap: int) -> list:
    """Starts of windows of ``window_frames`` covering ``n_frames``; the last ends at the end."""
    if n_frames <= window_frames:
        return [0]
    step = window_frames - overlap
    return list(range(0, n_frames - window_frames, step)) + [n_frames - window_frames]


def check_window(window_frames: int, overlap_frames: int) -> None:
    if window_frames % FRAME_MULTIPLE or not 0 < overlap_frames < window_frames:
        raise ValueError(f'window frames ({window_frames}) must be a multiple of '
                         f'{FRAME_MULTIPLE} larger than the overlap ({overlap_frames})')



class Converter:
    """A trained Generator and its run directory's configs: samples in, samples out.

    The model's feature kind (:mod:`chainer_vc.features.kinds`) turns samples into G's input
    and G's output into samples; ``source`` (``{group: class}``) names the source's
    training class where the kind uses source statistics (the world kind's F0), else they
    come from each input."""

    def __init__(self, generator: Optional[Generator], config: ModelConfig, name: str = 'model',
                 *, device: Union[int, str] = -1,
                 options: ReconstructionOptions = ReconstructionOptions(),
                 window_frames: int = WINDOW_FRAMES, overlap_frames: int = OVERLAP_FRAMES,
                 source: Optional[Mapping[str, Optional[str]]] = None,
                 motion_scale: float = 1.0):
        check_window(window_frames, overlap_frames)
        if motion_scale < 0:
            raise InputError(f'motion scale {motion_scale}: must be >= 0')
        self.config = config
        self.motion_scale = motion_scale
        self.name = name
        self.options = options
        self.window_frames = window_frames
        self.overlap_frames = overlap_frames
        self.device = devices.resolve(device)
        self.generator = generator
        if generator is not None:
            self.generator.to_device(self.device)
        self.kind = kinds.build(config.features, config.labels, options, self.device)
        self.set_source(source)

    def set_source(self, source: Optional[Mapping[str, Optional[str]]]) -> None:
        """Name the source's training class (``{group: class}``; None: each input's own
        statistics)."""
        self.source = source
        self.source_codes = self.target_codes(source) if source else None

    @classmethod
    def from_run_directory(cls, path: PathLike, snapshot: Optional[str] = None,
                           gpu: int = -1, **kwargs) -> 'Converter':
        """The newest weights of ``path`` (or ``snapshot``: an iteration or a file)."""
        generator, config = load_generator(path, snapshot)
        return cls(generator, config, str(path), device=gpu, **kwargs)

    @property
    def features(self):
        return self.config.features

    @property
    def distance_config(self) -> SpectrogramConfig:
        """The spectrogram log-spectral distances are measured on."""
        return self.kind.distance_config

    def targets(self) -> dict:
        """``{group name: class names}`` a target may be given with."""
        return {group.name: group.classes for group in self.config.labels.groups}

    def target_codes(self, target: Mapping[str, Optional[str]]) -> np.ndarray:
        """Codes for ``{group: class name}``; a group left out is unlabelled (flag 0)."""
        try:
            return self.config.labels.codes(target)
        except InputError as error:
            raise InputError(f'{self.name}: {error}') from None

    def generate(self, unit: np.ndarray, codes: np.ndarray):
        """G's input (frames, bins) in [0, 1], frames a multiple of :data:`FRAME_MULTIPLE`
        -> the Generator's output (frames, bins) on the converter's device; windowed and
        cross-faded when longer than ``window_frames``. A ``motion_scale`` below 1 scales G's
        change in how the envelope moves over the utterance (:func:`.dynamics.scale_motion`).
        """
        xp = self.device.xp
        unit = xp.asarray(unit, dtype=xp.float32)
        out = self._windowed(unit, xp.asarray(self.config.labels.generator_input(codes)[None]))
        if self.motion_scale == 1:
            return out
        # Not the seed's, whose conversion is G's output as it is: an option (convert.py's
        # --motion-scale) for what was said, off by default.
        return dynamics.scale_motion(unit, out, self.motion_scale)

    def _windowed(self, unit, labels):
        xp = self.device.xp
        n_frames = len(unit)
        starts = window_starts(n_frames, self.window_frames, self.overlap_frames)
        if len(starts) == 1:
            return self._run(unit, labels)
        out = xp.zeros_like(unit)
        total = xp.zeros((n_frames, 1), dtype=xp.float32)
        for start in starts:
            stop = start + self.window_frames
            weights = xp.asarray(crossfade_weights(
                self.window_frames, self.overlap_frames, start > 0, stop < n_frames))[:, None]
            out[start:stop] += weights * self._run(unit[start:stop], labels)
            total[start:stop] += weights
        return out / total

    def _run(self, unit, labels):
        with chainer.using_config('train', False), chainer.no_backprop_mode():
            return self.generator(unit[None, None], labels).array[0, 0]

    def convert(self, samples: np.ndarray, target: Mapping[str, Optional[str]]) -> np.ndarray:
        """Samples at the model's rate -> converted samples, same length and loudness."""
        codes = self.target_codes(target)
        return self.convert_codes(samples, codes)

    def check_target(self, target: Mapping[str, Optional[str]]) -> None:
        """InputError now for a target that cannot be converted to (unknown class, or one
        the kind has no statistics for)."""
        codes = self.target_codes(target)
        try:
            self.kind.check_target(codes)
        except InputError as error:
            raise InputError(f'{self.name}: {error}') from None

    def convert_codes(self, samples: np.ndarray, codes: Optional[np.ndarray]) -> np.ndarray:
        encoded = self.kind.encode(np.asarray(samples, dtype=np.float32))
        converted = to_cpu(self.generate(encoded.unit, codes))
        return self.kind.decode(converted, encoded, codes, self.source_codes)
