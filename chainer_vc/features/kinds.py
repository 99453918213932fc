"""Feature kinds: what G sees, and how it becomes sound again. One object per kind.

- ``spectrogram`` (the seed's, the default): |FFT| bins 1..256 in [0, 1]; sound by
  Griffin-Lim from the source's phase (:mod:`.spectrogram`, :mod:`.griffin_lim`).
- ``world``: the WORLD vocoder's spectral envelope on 256 bins; F0 converted outside G
  by the log-Gaussian transform; the source's aperiodicity (:mod:`chainer_vc.features.world`).

Everything that turns audio into G's tensor or back (training data, conversion, the
judges' vocoder row, training samples) asks :func:`build` for the kind of its model's
config, and calls the same four methods: ``dataset``, ``fit``, ``encode``, ``decode``.
"""
from __future__ import annotations

import dataclasses
import sys
import warnings
from typing import Any, Callable, Optional, Sequence, Tuple, Union

import numpy as np

from chainer_vc.common import audio
from chainer_vc.common import devices
from chainer_vc.features import framing
from chainer_vc.features import griffin_lim
from chainer_vc.common import audio
from chainer_vc.features import dataset as datasets, spectrogram, world
from chainer_vc.common.errors import InputError, InputWarning
from chainer_vc.features.spectrogram import SpectrogramConfig
from chainer_vc.features.world import WorldConfig

KINDS = ('spectrogram', world.KIND)
FeatureConfig = Union[SpectrogramConfig, WorldConfig]


def kind_name(config: FeatureConfig) -> str:
    return getattr(config, 'kind', 'spectrogram')


@dataclasses.dataclass
class Encoded:
    """An utterance ready for G: ``unit`` (frames, bins) in [0, 1], frames a multiple of
    8, and what the kind needs to turn G's output back into sound."""
    unit: np.ndarray
    state: Any


def _warn(message: str) -> None:
    print(message, file=sys.stderr)


class SpectrogramKind:
    """The seed's features; conversion as :mod:`chainer_vc.conversion` describes it."""

    def __init__(self, config: SpectrogramConfig,
                 options: 'griffin_lim.ReconstructionOptions' = None, device=None):
        self.config = config
        self.options = options or griffin_lim.ReconstructionOptions()
        self.device = device

    def fit(self, paths: Sequence, codes: np.ndarray, schema, warn=_warn) -> SpectrogramConfig:
        """Nothing to fit: the [0, 1] mapping is fixed."""
        return self.config

    def dataset(self, paths, codes, schema, seed=None, warn=_warn):
        return datasets.SpectrogramDataset(paths, codes, schema, self.config, seed, warn=warn)

    @property
    def distance_config(self) -> SpectrogramConfig:
        """The spectrogram log-spectral distances are measured on."""
        return self.config

    def check(self, samples: np.ndarray) -> None:
        framing.check_utterance(samples, self.config)

    def check_target(self, codes) -> None:
        """Every class of the schema can be converted to: nothing to check."""

    def encode(self, samples: np.ndarray) -> Encoded:
        config = self.config
        self.check(samples)
        left, right, _ = framing.padding(len(samples), config)
        # The seed peak-normalises each 17152-sample segment; a whole utterance, once.
        padded = np.pad(audio.peak_normalize(samples), (left, right))
        spectrum = spectrogram.stft(padded, config)
        unit = spectrogram.to_unit(np.abs(spectrogram.band(spectrum, config)), config)
        return Encoded(unit, (spectrum, left, samples))

    def decode(self, unit: np.ndarray, encoded: Encoded, target_codes=None,
               source_codes=None) -> np.ndarray:
        spectrum, left, samples = encoded.state
        if self.device is not None:
            spectrum = self.device.send(spectrum)
        waveform = griffin_lim.reconstruct(unit, spectrum, self.config, self.options)
        return audio.restore_loudness(
            devices.to_cpu(waveform)[left:left + len(samples)], samples)

    def window_sample(self, segment: np.ndarray) -> Tuple[np.ndarray, Callable]:
        """A training window's unit, and ``to_audio(unit, target_codes)`` for samples/."""
        spectrum = spectrogram.stft(segment, self.config)
        unit = spectrogram.to_unit(np.abs(spectrogram.band(spectrum, self.config)), self.config)
        options = griffin_lim.ReconstructionOptions(phase=griffin_lim.PHASE_SOURCE)

        def to_audio(patch, target_codes=None):
            return devices.to_cpu(griffin_lim.reconstruct(patch, spectrum, self.config,
                                                            options))
        return unit, to_audio


@dataclasses.dataclass
class _WorldState:
    analysis: world.Analysis
    frames: int
    samples: np.ndarray
    # The (mean, std) G's input was standardised by; None: the corpus's.
    scale: Optional[tuple] = None


class WorldKind:
    """WORLD's envelope for G; F0 by the log-Gaussian transform; aperiodicity kept."""

    def __init__(self, config: WorldConfig, schema=None, options=None, device=None):
        self.config = config
        self.schema = schema
        # What fit read, kept for dataset: each file is read (and a bad one reported) once.
        self._fitted_on = {}

    # ------------------------------------------------------------------ training

    def analyses(self, paths: Sequence, warn=_warn) -> list:
        """Cached F0 and envelope of each file; None for unusable files (reported)."""
        return [self._fitted_on.pop(str(path)) if str(path) in self._fitted_on
                else self._analysis(path, warn) for path in paths]

    def _analysis(self, path, warn) -> Optional[world.Analysis]:
        try:
            return world.cached_analysis(path, self.config, self._load, warn)
        except InputError as error:
            warn(f'skipped: {error}')
            return None

    def _load(self, path) -> np.ndarray:
        samples, _ = audio.load(path, self.config.sample_rate)
        if float(np.max(np.abs(samples))) < datasets.SILENT_FILE_PEAK:
            raise InputError(f'{path}: the audio is silent')
        return audio.peak_normalize(samples)

    def fit(self, paths: Sequence, codes: np.ndarray, schema, warn=_warn) -> WorldConfig:
        """The config with the training corpus's statistics (itself when it has them); this
        kind converts with it from now on, and its ``dataset`` of the same files reads none
        of them again."""
        if self.config.fitted:
            return self.config
        analyses = self.analyses(paths, warn)
        kept = [i for i, a in enumerate(analyses) if a is not None]
        if not kept:
            raise InputError(f'none of the corpus\'s {len(paths)} audio files is usable')
        self.config = world.fit_statistics(self.config, [analyses[i] for i in kept],
                                           np.asarray(codes)[kept], schema)
        self._fitted_on = {str(path): analysis for path, analysis in zip(paths, analyses)}
        return self.config

    def dataset(self, paths, codes, schema, seed=None, warn=_warn):
        analyses = self.analyses(paths, warn)
        kept = [i for i, a in enumerate(analyses) if a is not None]
        if not kept:
            raise InputError(f'none of the corpus\'s {len(paths)} audio files is usable '
                             '(all unreadable or silent)')
        return datasets.EnvelopeDataset(
            [paths[i] for i in kept], [self.unit_of(analyses[i]) for i in kept],
            [analyses[i].speech_frames for i in kept], np.asarray(codes)[kept], schema,
            self.config, seed, self)

    # ------------------------------------------------------------- normalisation

    def source_scale(self, analysis: world.Analysis) -> Optional[tuple]:
        """What G's input is standardised by: the utterance's own voiced (mean, std) with
        ``normalisation='utterance'``, else None (the corpus's)."""
        if self.config.normalisation == 'utterance':
            return world.envelope_scale(analysis)
        return None

    def unit_of(self, analysis: world.Analysis) -> np.ndarray:
        return self.config.to_unit(analysis.log_envelope, self.source_scale(analysis))

    def target_scale(self, source_scale: Optional[tuple], target_codes=None) -> Optional[tuple]:
        """What G's output is put back with: the corpus's (None) for corpus-normalised
        features; else the target class's voiced mean and std (:func:`world.spread_to` of
        the source's), or the source's own when nothing is converted."""
        if source_scale is None or target_codes is None:
            return source_scale
        return (np.asarray(self.statistics_of(target_codes)['envelope'], dtype=np.float32),
                world.spread_to(source_scale[1], self.envelope_spread(target_codes)))

    def envelope_spread(self, codes) -> np.ndarray:
        """The class's per-bin std of the ln envelope over voiced frames (training
        statistics); InputError for statistics fitted before it was kept."""
        statistics = self.statistics_of(codes)
        if 'envelope_std' not in statistics:
            raise InputError('these statistics hold no envelope spread (fitted before it was '
                             'kept); fit them again')
        return np.asarray(statistics['envelope_std'], dtype=np.float32)

    # ---------------------------------------------------------------- conversion

    @property
    def distance_config(self) -> SpectrogramConfig:
        """Log-spectral distances on the seed's spectrogram (0-4 kHz), whatever the kind,
        so that they compare across kinds."""
        return SpectrogramConfig(sample_rate=self.config.sample_rate)

    def check(self, samples: np.ndarray) -> None:
        framing.check_utterance(samples, self.config)

    def encode(self, samples: np.ndarray) -> Encoded:
        self.check(samples)
        analysis = world.analyze(audio.peak_normalize(samples), self.config)
        frames = len(analysis.f0)
        multiple = framing.FRAME_MULTIPLE
        padded = -(-frames // multiple) * multiple
        scale = self.source_scale(analysis)
        unit = self.config.to_unit(analysis.log_envelope, scale)
        unit = np.pad(unit, ((0, padded - frames), (0, 0)), mode='edge')
        return Encoded(unit, _WorldState(analysis, frames, samples, scale))

    def decode(self, unit: np.ndarray, encoded: Encoded, target_codes=None,
               source_codes=None) -> np.ndarray:
        """G's envelope, the source's F0 moved to the target's statistics (unchanged when
        ``target_codes`` is None), the source's aperiodicity."""
        state = encoded.state
        log_envelope = self.config.to_log_envelope(np.asarray(unit)[:state.frames],
                                                   self.target_scale(state.scale, target_codes))
        return self.decode_envelope(log_envelope, encoded, target_codes, source_codes)

    def decode_envelope(self, log_envelope: np.ndarray, encoded: Encoded, target_codes=None,
                        source_codes=None) -> np.ndarray:
        """:meth:`decode` from an ln envelope (frames, bins) rather than G's [0, 1]."""
        state = encoded.state
        f0 = self.target_f0(state.analysis.f0, target_codes, source_codes,
                            state.analysis.speech_frames)
        waveform = world.synthesize(f0, log_envelope, state.analysis.aperiodicity, self.config)
        waveform = np.pad(waveform, (0, max(0, len(state.samples) - len(waveform))))
        return audio.restore_loudness(waveform[:len(state.samples)], state.samples)

    def target_f0(self, f0: np.ndarray, target_codes, source_codes=None,
                  speech: Optional[np.ndarray] = None) -> np.ndarray:
        """F0 moved to the target's statistics from the named source class's, else from
        ``f0``'s own (voiced frames; ``speech``: which frames are speech, not silence)."""
        if target_codes is None:
            return f0
        target = self.statistics_of(target_codes)
        if source_codes is not None:
            named = self.statistics_of(source_codes)
            source = (named['log_f0_mean'], named['log_f0_std'])
        else:
            source = world.log_f0_statistics(f0, speech)
        if source is None:
            warnings.warn(InputWarning('no voiced frames (whispered or unvoiced): its F0 is '
                                       'left as it is; the envelope is converted'))
            return f0
        return world.convert_f0(f0, source, (target['log_f0_mean'], target['log_f0_std']))

    def statistics_of(self, codes) -> dict:
        """The statistics of the most specific labelled group of ``codes`` (the schema's
        order: speaker before sex, ...); InputError when the corpus had none for it."""
        schema = self.schema
        described = schema.describe(codes)
        for group in schema.groups:
            if group.name in described:
                entry = self.config.class_statistics(group.name, described[group.name])
                if entry is None:
                    raise InputError(f'{group.name}={described[group.name]}: the training '
                                     'corpus gave no F0 statistics for it (too little voiced '
                                     'speech)')
                return entry
        raise InputError('the target names no label class (give e.g. speaker=NAME)')

    def check_target(self, codes) -> None:
        """InputError now for a target the corpus gave no statistics for."""
        self.statistics_of(codes)

    # ------------------------------------------------------------------- samples

    def window_sample(self, segment: np.ndarray) -> Tuple[np.ndarray, Callable]:
        analysis = world.analyze(segment, self.config)
        frames = min(len(analysis.f0), self.config.frames)
        scale = self.source_scale(analysis)
        unit = self.config.to_unit(analysis.log_envelope[:frames], scale)
        unit = np.pad(unit, ((0, self.config.frames - frames), (0, 0)), mode='edge')

        def to_audio(patch, target_codes=None):
            f0 = analysis.f0
            if target_codes is not None:
                f0 = self.target_f0(f0, target_codes, speech=analysis.speech_frames)
            envelope = self.config.to_log_envelope(np.asarray(patch),
                                                   self.target_scale(scale, target_codes))
            envelope = np.pad(envelope, ((0, max(0, len(f0) - len(envelope))), (0, 0)),
                              mode='edge')[:len(f0)]
            return world.synthesize(f0, envelope, analysis.aperiodicity, self.config)
        return unit, to_audio


def build(config: FeatureConfig, schema=None, options=None, device=None):
    """The kind object of a feature config (``schema``: the model's labels, for targets)."""
    if kind_name(config) == world.KIND:
        return WorldKind(config, schema, options, device)
    return SpectrogramKind(config, options, device)
