"""Converting whole recordings with a trained Generator, and getting a waveform back.

The seed converts fixed 64-frame patches of |FFT| bins 1..256 and never turns them back into
sound. Conversion here works on whole utterances:

1. Peak-normalise the whole utterance into [-1, 1], as the dataset does per training segment.
2. Pad the samples so that every input sample lies under ``fft_size // hop`` frames and the
   frame count is a multiple of the Generator's stride (:data:`FRAME_MULTIPLE`).
3. Analyse with the model's own :class:`~chainer_vc.features.SpectrogramConfig`, run the
   Generator once over all frames (or over overlapping windows, cross-faded, when the
   utterance is longer than ``window_frames``), and undo the [0, 1] mapping.
4. Rebuild the complex spectrum (Griffin-Lim from the source phase, or the source phase as
   it is), keep or drop the band the model never sees, inverse STFT, crop to the input's
   length and restore the source's loudness (RMS).
"""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Mapping, Optional, Sequence, Tuple, Union

import chainer
import numpy as np
import soundfile

from chainer_vc import audio, dynamics, feature_kinds, features
from chainer_vc.errors import InputError, warnings_about
from chainer_vc.features import SpectrogramConfig
from chainer_vc.models import Generator
from chainer_vc.run_directory import ModelConfig, load_generator

PathLike = Union[str, Path]

# The Generator halves the frame axis three times (down2..down4) and doubles it back (up1..up3).
FRAME_MULTIPLE = 2 ** 3
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
# Whole utterances up to this many frames (16.4 s) go through the Generator in one call;
# longer ones in windows of this size. Both are multiples of FRAME_MULTIPLE.
WINDOW_FRAMES = 1024
# Overlap of two windows, cross-faded linearly; wider than the Generator's receptive field
# reaches in either direction, so the faded-out edge of a window barely shows.
OVERLAP_FRAMES = 256
# A recording whose peak is below -60 dBFS holds nothing to convert.
SILENCE_PEAK = 10 ** (-60 / 20)
_EPSILON = 1e-8
# What a folder's audio files may be called: what libsndfile reads, less headerless raw.
AUDIO_SUFFIXES = frozenset(
    {'.' + name.lower() for name in soundfile.available_formats()} - {'.raw'}
    | {'.aif', '.wave'})


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


# ----------------------------------------------------------------------- reconstruction

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
    weight = features.istft_weight(len(magnitude), config, xp)
    rebuilt = xp.zeros_like(angles)
    for _ in range(iterations):
        previous = rebuilt
        rebuilt = features.stft(features.istft(magnitude * angles, config, weight=weight), config)
        angles = _unit_phase(rebuilt - (momentum / (1 + momentum)) * previous)
    return features.istft(magnitude * angles, config, weight=weight)


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
    band_magnitude = features.to_magnitude(to_cpu(unit), config)
    if options.subtract_floor:
        band_magnitude = np.maximum(band_magnitude - config.magnitude_floor, 0)
    band_magnitude = xp.asarray(band_magnitude)
    magnitude = full_magnitude(band_magnitude, source_spectrum, config, options.high_band)
    if options.phase == PHASE_SOURCE:
        return features.istft(magnitude * _unit_phase(source_spectrum), config)
    return griffin_lim(magnitude, config, source_spectrum, options.iterations, options.momentum)


def log_spectral_distance(reference: np.ndarray, estimate: np.ndarray,
                          config: SpectrogramConfig) -> float:
    """Mean over frames of the RMS over the model's bins of the dB difference of magnitudes.

    Both magnitudes are clipped at the config's floor first: below it the features hold
    nothing, so differences there cannot count. Signals are compared over the shorter length.
    """
    length = min(len(reference), len(estimate))
    spectra = [np.abs(features.band(features.stft(np.asarray(x)[:length], config), config))
               for x in (reference, estimate)]
    reference_db, estimate_db = (20 * np.log10(np.maximum(m, config.magnitude_floor))
                                 for m in spectra)
    return float(np.mean(np.sqrt(np.mean((reference_db - estimate_db) ** 2, axis=-1))))


# ------------------------------------------------------------------------- utterances

def check_utterance(samples: np.ndarray, config: SpectrogramConfig) -> None:
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


def padding(n_samples: int, config: SpectrogramConfig) -> Tuple[int, int, int]:
    """(left, right, frames): zeros around ``n_samples`` so that every sample lies under
    ``fft_size // hop`` frames and ``frames`` is a multiple of :data:`FRAME_MULTIPLE`."""
    left = config.fft_size - config.hop
    needed = left + n_samples + left
    frames = 1 + -(-(needed - config.fft_size) // config.hop)
    frames = -(-frames // FRAME_MULTIPLE) * FRAME_MULTIPLE
    return left, features.signal_length(frames, config) - left - n_samples, frames


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if len(samples) else 0.0


def restore_loudness(samples: np.ndarray, source: np.ndarray) -> np.ndarray:
    """Scale to the source's RMS; never past full scale (the WAV would clip)."""
    gain = rms(source) / max(rms(samples), _EPSILON)
    peak = float(np.max(np.abs(samples))) * gain
    if peak > 1:
        gain /= peak
    return (samples * gain).astype(np.float32)


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

    The model's feature kind (:mod:`chainer_vc.feature_kinds`) turns samples into G's input
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
        self.device = _device(device)
        self.generator = generator
        if generator is not None:
            self.generator.to_device(self.device)
        self.kind = feature_kinds.build(config.features, config.labels, options, self.device)
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


def to_cpu(array) -> np.ndarray:
    """A numpy copy of a numpy or CuPy array (the array itself when it is numpy)."""
    return chainer.backend.CpuDevice().send(array)


def _device(gpu: Union[int, str]):
    if isinstance(gpu, str):
        return chainer.get_device(gpu)
    if gpu < 0:
        return chainer.get_device('@numpy')
    if not chainer.backends.cuda.available:
        raise InputError(f'GPU {gpu}: CuPy is not available (pip install cupy-cuda12x)')
    return chainer.get_device(f'@cupy:{gpu}')


# ------------------------------------------------------------------------------- files

def audio_files(folder: Path) -> list:
    """The audio files directly in ``folder``, by name."""
    return sorted(path for path in folder.iterdir()
                  if path.is_file() and path.suffix.lower() in AUDIO_SUFFIXES)


def plan(input_path: PathLike, output_path: PathLike, overwrite: bool = False) -> list:
    """``[(input file, output file)]``: a file to a file, or a folder to a folder (same
    names, as ``.wav``). Raises InputError before anything is written."""
    source, target = Path(input_path), Path(output_path)
    if not source.exists():
        raise InputError(f'{source}: no such file or folder')
    if source.resolve() == target.resolve():
        raise InputError(f'{target}: the output is the input; choose another output')
    if source.is_dir():
        if target.exists() and not target.is_dir():
            raise InputError(f'{target}: the input is a folder, so the output must be one')
        inputs = audio_files(source)
        if not inputs:
            raise InputError(f'{source}: no audio files '
                             f'({", ".join(sorted(AUDIO_SUFFIXES)[:6])}, ...)')
        jobs = [(path, target / (path.stem + '.wav')) for path in inputs]
    else:
        if target.is_dir():
            raise InputError(f'{target}: is a folder; the input is one file, so give a file')
        jobs = [(source, target)]
    _check_outputs(jobs, overwrite)
    return jobs


def _check_outputs(jobs: Sequence[Tuple[Path, Path]], overwrite: bool) -> None:
    seen = {}
    inputs = {source.resolve() for source, _ in jobs}
    for source, output in jobs:
        if output.resolve() in inputs:
            raise InputError(f'{output}: the output would replace an input')
        if output in seen:
            raise InputError(f'{output}: both {seen[output]} and {source} would be written here')
        seen[output] = source
        if output.exists() and not overwrite:
            raise InputError(f'{output}: already exists (pass --overwrite to replace it)')


def load_utterance(path: PathLike, config) -> np.ndarray:
    """Decode at the model's rate and check it can be converted (InputError naming it)."""
    samples, _ = audio.load(path, config.sample_rate)
    try:
        check_utterance(samples, config)
    except InputError as error:
        raise InputError(f'{path}: {error}') from None
    return samples


def convert_file(converter: Converter, source: PathLike, output: PathLike,
                 target: Mapping[str, Optional[str]], keep_rate: bool = False) -> Path:
    """Convert one file; writes a mono WAV at the model's rate (or the input's)."""
    rate = converter.features.sample_rate
    converted = converter.convert(load_utterance(source, converter.features), target)
    if keep_rate:
        rate = soundfile.info(str(source)).samplerate
        converted = audio.resample(converted, converter.features.sample_rate, rate)
    audio.save(output, converted, rate)
    return Path(output)


def convert_files(converter: Converter, jobs: Sequence[Tuple[Path, Path]],
                  target: Mapping[str, Optional[str]], keep_rate: bool = False,
                  log=None) -> list:
    """Check the target and every input first, then convert: a bad input writes nothing."""
    converter.check_target(target)
    for source, _ in jobs:
        load_utterance(source, converter.features)
    written = []
    for source, output in jobs:
        with warnings_about(source):
            written.append(convert_file(converter, source, output, target, keep_rate))
        if log is not None:
            log(f'{source} -> {output}')
    return written


def parse_targets(items: Sequence[str]) -> dict:
    """``['speaker=alice', 'sex=female']`` -> ``{'speaker': 'alice', 'sex': 'female'}``."""
    target = {}
    for item in items:
        group, separator, name = item.partition('=')
        if not separator or not group or not name:
            raise InputError(f'--target {item!r}: expected GROUP=NAME, e.g. speaker=alice')
        if group in target:
            raise InputError(f'--target {item!r}: group {group!r} given twice')
        target[group] = name
    return target


def describe_targets(converter: Converter) -> str:
    """One line per group: ``group (n): class, class, ...``."""
    return '\n'.join(f'{name} ({len(classes)}): {", ".join(classes)}'
                     for name, classes in converter.targets().items())
