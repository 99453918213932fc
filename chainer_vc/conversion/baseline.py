"""A voice changer with no training: signal processing on WORLD's features.

The learned models have this to beat. Per conversion:

- F0: the log-Gaussian transform, from the source's ln F0 mean and std (measured on the
  input utterance, or a named training class's) to the target's;
- spectral envelope: the frequency axis scaled by one factor, the one that best maps the
  source's mean ln envelope (voiced frames) onto the target's up to a constant, then the
  remaining difference of the means added to every frame (``shift``);
- aperiodicity: the source's.

The statistics are a world feature config's (:func:`chainer_vc.features.world.fit_statistics`): a
trained world model's own, or fitted on any corpus by :func:`fit_model_config`.

``mode='f0'`` converts F0 alone (the envelope is left as it is): a row of every table,
to show how much of a conversion the pitch alone makes. ``mode='shift'`` converts F0 and
adds the difference of the mean envelopes to every frame, with no warp: the voice's colour
changed while how the envelope moves in time (:mod:`chainer_vc.features.dynamics`) is the source's.
``mode='spread'`` also scales each bin's deviation from its mean by the target's spread over
the source's (std over voiced frames): a bin moves as much as the target's does, in the same
way as the source's.
"""
from __future__ import annotations

import dataclasses
from typing import Mapping, Optional, Sequence

import numpy as np

from chainer_vc.common import audio
from chainer_vc.features import world
from chainer_vc.conversion.converter import Converter
from chainer_vc.common.errors import InputError
from chainer_vc.features.kinds import WorldKind
from chainer_vc.corpus import read_manifest
from chainer_vc.networks.presets import PRESETS
from chainer_vc.networks.run_directory import ModelConfig

MODES = ('warp', 'f0', 'shift', 'spread')
# Warp factors tried: 0.5x to 2x in steps of about 0.6 %.
WARP_FACTORS = np.exp(np.linspace(np.log(0.5), np.log(2.0), 241))
# The warp is fitted on the envelope below this fraction of the band: above it, a factor
# above 1 has nothing of the source's to bring in.
FIT_BAND = 0.75


def fit_warp(source_mean: np.ndarray, target_mean: np.ndarray,
             config: world.WorldConfig) -> float:
    """The factor whose warp of ``source_mean`` differs least from ``target_mean`` up to a
    constant (least variance of the difference over the fitted band)."""
    frequencies = world.axis_frequencies(config)
    band = frequencies <= FIT_BAND * frequencies[-1]
    warped = np.stack([world.warp_envelope(source_mean[None], factor, config)[0]
                       for factor in WARP_FACTORS])
    costs = np.var((target_mean[None] - warped)[:, band], axis=1)
    return float(WARP_FACTORS[int(np.argmin(costs))])


class BaselineConverter(Converter):
    """:class:`~chainer_vc.conversion.Converter` with signal processing in place of G (see
    the module); needs a fitted world feature config."""

    def __init__(self, config: ModelConfig, name: str = 'baseline', mode: str = 'warp',
                 shift: bool = True, source: Optional[Mapping[str, Optional[str]]] = None):
        if mode not in MODES:
            raise ValueError(f'mode must be one of {MODES}, not {mode!r}')
        if not isinstance(config.features, world.WorldConfig) or not config.features.fitted:
            raise InputError(f'{name}: the baseline needs world features with corpus '
                             'statistics (a world model, or a manifest to fit them on)')
        super().__init__(None, config, name, source=source)
        self.mode = mode
        self.shift = shift

    def convert_codes(self, samples: np.ndarray, codes: Optional[np.ndarray]) -> np.ndarray:
        kind: WorldKind = self.kind
        encoded = kind.encode(np.asarray(samples, dtype=np.float32))
        analysis = encoded.state.analysis
        envelope = analysis.log_envelope
        if codes is not None and self.mode != 'f0':
            envelope = self.convert_envelope(analysis, codes)
        return kind.decode_envelope(envelope, encoded, codes, self.source_codes)

    def convert_envelope(self, analysis: world.Analysis, codes: np.ndarray) -> np.ndarray:
        if self.mode == 'shift':
            return analysis.log_envelope + (self.target_envelope(codes)
                                            - self.source_envelope(analysis))
        if self.mode == 'spread':
            return self.spread_envelope(analysis, codes)
        config = self.features
        factor, source, target = self.fitted_warp(analysis, codes)
        warped = world.warp_envelope(analysis.log_envelope, factor, config)
        if not self.shift:
            return warped
        return warped + (target - world.warp_envelope(source[None], factor, config)[0])

    def source_envelope(self, analysis: world.Analysis) -> np.ndarray:
        """The source's mean ln envelope over voiced frames: the named class's, else the
        input's own (its speech frames when nothing is voiced)."""
        if self.source_codes is not None:
            return np.asarray(self.kind.statistics_of(self.source_codes)['envelope'],
                              dtype=np.float32)
        return world.voiced_envelope(analysis).mean(axis=0)

    def spread_envelope(self, analysis: world.Analysis, codes: np.ndarray) -> np.ndarray:
        """mode='spread': each bin's deviation from the source's mean, scaled by the target's
        spread over the source's (within world.SPREAD_LIMIT), about the target's mean."""
        source_mean, source_std = self.source_scale(analysis)
        ratio = world.spread_to(source_std, self.class_spread(codes)) / source_std
        return (self.target_envelope(codes)
                + (analysis.log_envelope - source_mean) * ratio).astype(np.float32)

    def source_scale(self, analysis: world.Analysis) -> tuple:
        """The source's per-bin (mean, std) over voiced frames: the named class's, else the
        input's own (its speech frames when nothing is voiced)."""
        if self.source_codes is not None:
            return self.source_envelope(analysis), self.class_spread(self.source_codes)
        return world.envelope_scale(analysis)

    def class_spread(self, codes: np.ndarray) -> np.ndarray:
        """A class's per-bin std of the ln envelope over voiced frames (training statistics)."""
        try:
            return self.kind.envelope_spread(codes)
        except InputError as error:
            raise InputError(f'{self.name}: {error} for mode spread') from None

    def target_envelope(self, codes: np.ndarray) -> np.ndarray:
        """The target class's mean ln envelope over voiced frames (training statistics)."""
        return np.asarray(self.kind.statistics_of(codes)['envelope'], dtype=np.float32)

    def fitted_warp(self, analysis: world.Analysis, codes: np.ndarray) -> tuple:
        """(factor, source mean envelope, target mean envelope) of a conversion to ``codes``."""
        target = self.target_envelope(codes)
        source = self.source_envelope(analysis)
        return fit_warp(source, target, self.features), source, target

    def warp_factor(self, samples: np.ndarray, codes: np.ndarray) -> float:
        """The factor a conversion of ``samples`` to ``codes`` uses (for reports)."""
        analysis = world.analyze(audio.peak_normalize(samples), self.features,
                                 aperiodicity=False)
        return self.fitted_warp(analysis, codes)[0]


def fit_model_config(config: ModelConfig, paths: Sequence, codes: np.ndarray,
                     settings: Optional[world.WorldConfig] = None) -> ModelConfig:
    """``config`` with world features fitted on ``paths`` (labelled by ``codes`` in the
    config's schema): what the baseline needs next to a model of another kind. A world
    model's config is returned as it is."""
    if isinstance(config.features, world.WorldConfig) and config.features.fitted:
        return config
    settings = settings or world.WorldConfig(sample_rate=config.features.sample_rate)
    fitted = WorldKind(settings).fit(list(paths), np.asarray(codes), config.labels)
    return dataclasses.replace(config, features=fitted)


def with_spread(config: ModelConfig, paths: Sequence, codes: np.ndarray) -> ModelConfig:
    """``config`` (fitted world features) as it is when its statistics hold each class's
    envelope spread (mode spread), else fitted again on ``paths`` with the same settings:
    models trained before the spread was kept."""
    classes = config.features.statistics.get('classes', {})
    if any('envelope_std' in entry for group in classes.values() for entry in group.values()):
        return config
    settings = dataclasses.replace(config.features, statistics={})
    return fit_model_config(dataclasses.replace(config, features=settings), paths, codes,
                            settings)


def from_corpus(manifest, name: str = 'baseline', source=None) -> BaselineConverter:
    """A baseline with statistics fitted on a whole corpus (every utterance of a manifest)."""
    corpus = read_manifest(manifest)
    schema = corpus.schema()
    config = ModelConfig(PRESETS['cfcefd21'], world.WorldConfig(), schema,
                         {'note': 'no networks: statistics for chainer_vc.conversion.baseline'})
    config = fit_model_config(config, [u.path for u in corpus.utterances],
                              corpus.codes(schema))
    return BaselineConverter(config, name, source=source)


def from_arguments(model, manifest, source=None) -> BaselineConverter:
    """convert.py's --baseline: a world model's statistics, else a manifest's."""
    if model is None:
        return from_corpus(manifest, f'baseline fitted on {manifest}', source)
    config = ModelConfig.load(model)
    if not isinstance(config.features, world.WorldConfig):
        if manifest is None:
            raise InputError(f'{model}: a {config.features.__class__.__name__} model holds no '
                             'WORLD statistics; give --manifest to fit the baseline on')
        return from_corpus(manifest, f'baseline fitted on {manifest}', source)
    return BaselineConverter(config, f'baseline with the statistics of {model}', source=source)
