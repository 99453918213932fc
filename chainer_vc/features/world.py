"""The `world` feature kind: what the WORLD vocoder separates, and G sees only the envelope.

WORLD (pyworld: dio + stonemask or harvest for F0, CheapTrick for the spectral envelope,
D4C for the aperiodicity) splits speech into the three things a voice is made of. A
converter changes each on its own: F0 by the log-Gaussian transform (per-label statistics
of the training corpus), the envelope by G (64 frames x 256 bins, the seed's window), the
aperiodicity not at all (the source's). WORLD puts them back together.

The envelope G sees: ln of CheapTrick's power envelope, sampled at ``bins`` frequencies
spread 0 - sample_rate / 2 on a mel axis (or linearly), standardised per bin with the
training corpus's mean and standard deviation, and mapped onto [0, 1] so that +-``spread``
standard deviations fill it (G's last layer is a sigmoid).

``normalisation='utterance'`` (off by default) standardises each utterance's envelope by
its own per-bin mean and std over voiced frames instead, and a conversion puts G's output
back with the target's (training statistics, the std no further than ``SPREAD_LIMIT`` from
the source's): G then sees neither a voice's mean colour nor how far its bins move, and a
G that changes nothing converts as the baseline's ``spread`` mode does.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Mapping, Optional, Sequence, Tuple

import numpy as np

from chainer_vc.common.errors import InputError
from chainer_vc.common.files import NPZ_DAMAGE_ERRORS, atomic_path, error_summary

KIND = 'world'
F0_METHODS = ('dio', 'harvest')
AXES = ('mel', 'linear')
NORMALISATIONS = ('corpus', 'utterance')
# Frames whose log energy lies more than this below the utterance's loudest frame (40 dB of
# power) are silence: they do not count in the corpus's statistics.
SILENCE_BELOW_PEAK = np.log(1e4)
# Less voiced speech than this is whispered or noise, and has no pitch to speak of: real
# speech is 19-50 % voiced (40 demo-corpus utterances: minimum and median of voiced speech
# frames), and dio marks up to 7 % of white noise voiced, at its floor.
MIN_VOICED_SHARE = 0.15
# Bumped whenever the cached analysis changes meaning.
CACHE_VERSION = 1
CACHE_ENV = 'CHAINER_VC_CACHE'
# A conversion scales a bin's deviations from its mean by the target's spread over the
# source's, by at most this factor or its inverse: one utterance's spread of a bin that
# barely moves is a poor estimate.
SPREAD_LIMIT = 2.0
# The least standard deviation a statistic holds (of ln F0, or of a bin of the ln envelope):
# a bin or a pitch that never moves would otherwise divide by 0.
STD_FLOOR = 1e-3


@dataclasses.dataclass(frozen=True)
class WorldConfig:
    """Analysis settings, value mapping, and the statistics fitted on the training corpus.

    ``statistics``: ``{'bin_mean': [bins], 'bin_std': [bins], 'classes': {group: {class:
    {'log_f0_mean', 'log_f0_std', 'envelope': [bins]}}}}`` (envelope: the class's mean ln
    envelope on the model's axis over voiced frames); empty until :func:`fit_statistics`.
    """
    kind: str = KIND
    sample_rate: int = 16000
    frames: int = 64
    bins: int = 256
    # The seed's hop (256 samples at 16 kHz): a 64-frame window spans about a second, as the
    # seed's does.
    frame_period: float = 16.0
    f0_method: str = 'dio'
    f0_floor: float = 71.0
    f0_ceil: float = 800.0
    axis: str = 'mel'
    spread: float = 4.0
    normalisation: str = 'corpus'
    statistics: Mapping = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if self.f0_method not in F0_METHODS:
            raise InputError(f'f0 method {self.f0_method!r}: known are {", ".join(F0_METHODS)}')
        if self.axis not in AXES:
            raise InputError(f'frequency axis {self.axis!r}: known are {", ".join(AXES)}')
        if self.normalisation not in NORMALISATIONS:
            raise InputError(f'envelope normalisation {self.normalisation!r}: known are '
                             f'{", ".join(NORMALISATIONS)}')
        if self.spread <= 0:
            raise InputError(f'envelope spread {self.spread}: must be positive')
        if self.frame_period <= 0:
            raise InputError(f'frame period {self.frame_period}: must be positive')

    @property
    def fft_size(self) -> int:
        import pyworld
        return pyworld.get_cheaptrick_fft_size(self.sample_rate, self.f0_floor)

    @property
    def hop(self) -> int:
        """Samples per frame (256 for 16 ms at 16 kHz)."""
        return int(round(self.sample_rate * self.frame_period / 1000))

    @property
    def segment_samples(self) -> int:
        return self.frames * self.hop

    @property
    def band_hz(self) -> tuple:
        return 0.0, self.sample_rate / 2

    @property
    def fitted(self) -> bool:
        return bool(self.statistics)

    def analysis_settings(self) -> dict:
        """What the cached analysis depends on."""
        return {'version': CACHE_VERSION, 'sample_rate': self.sample_rate,
                'frame_period': self.frame_period, 'f0_method': self.f0_method,
                'f0_floor': self.f0_floor, 'f0_ceil': self.f0_ceil, 'bins': self.bins,
                'axis': self.axis}

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data['statistics'] = dict(self.statistics)
        return data

    @classmethod
    def from_dict(cls, data: Mapping) -> 'WorldConfig':
        return cls(**data)

    # ---------------------------------------------------------------- value mapping

    def _bin_stats(self) -> Tuple[np.ndarray, np.ndarray]:
        if not self.fitted:
            raise InputError('the world features have no corpus statistics (fit_statistics)')
        return (np.asarray(self.statistics['bin_mean'], dtype=np.float32),
                np.asarray(self.statistics['bin_std'], dtype=np.float32))

    def to_unit(self, log_envelope: np.ndarray, scale: Optional[tuple] = None) -> np.ndarray:
        """ln envelope (frames, bins) -> [0, 1]: standardised, +-spread sigmas onto [0, 1];
        by ``scale`` (per-bin mean, std) when given, else by the corpus's."""
        mean, std = scale if scale is not None else self._bin_stats()
        unit = 0.5 + (log_envelope - mean) / (2 * self.spread * std)
        return np.clip(unit, 0.0, 1.0).astype(np.float32)

    def to_log_envelope(self, unit: np.ndarray, scale: Optional[tuple] = None) -> np.ndarray:
        mean, std = scale if scale is not None else self._bin_stats()
        return (mean + (np.asarray(unit, dtype=np.float32) - 0.5) * 2 * self.spread
                * std).astype(np.float32)

    # ---------------------------------------------------------------- F0 statistics

    def class_statistics(self, group: str, name: str) -> Optional[dict]:
        return self.statistics.get('classes', {}).get(group, {}).get(name)


# ------------------------------------------------------------------------ frequency axis

def axis_frequencies(config: WorldConfig) -> np.ndarray:
    """The ``bins`` frequencies (Hz) G's bins sample, 0 to sample_rate / 2."""
    top = config.sample_rate / 2
    if config.axis == 'linear':
        return np.linspace(0.0, top, config.bins)
    mels = np.linspace(0.0, _mel(top), config.bins)
    return 700.0 * (10.0 ** (mels / 2595.0) - 1.0)


def _mel(hz):
    return 2595.0 * np.log10(1.0 + np.asarray(hz) / 700.0)


def _fft_frequencies(config: WorldConfig) -> np.ndarray:
    return np.arange(config.fft_size // 2 + 1) * config.sample_rate / config.fft_size


def reduce_envelope(power_envelope: np.ndarray, config: WorldConfig) -> np.ndarray:
    """CheapTrick's power envelope (frames, fft_size/2+1) -> ln envelope (frames, bins)."""
    log_envelope = np.log(np.maximum(power_envelope, 1e-16))
    return _interpolate_rows(log_envelope, _fft_frequencies(config),
                             axis_frequencies(config)).astype(np.float32)


def expand_envelope(log_envelope: np.ndarray, config: WorldConfig) -> np.ndarray:
    """The inverse of :func:`reduce_envelope`: power envelope on WORLD's FFT bins (float64)."""
    expanded = _interpolate_rows(np.asarray(log_envelope, dtype=np.float64),
                                 axis_frequencies(config), _fft_frequencies(config))
    return np.ascontiguousarray(np.exp(expanded))


def _interpolate_rows(rows: np.ndarray, known: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Linear interpolation of every row from frequencies ``known`` to ``wanted``."""
    index = np.clip(np.searchsorted(known, wanted) - 1, 0, len(known) - 2)
    fraction = np.clip((wanted - known[index]) / (known[index + 1] - known[index]), 0.0, 1.0)
    return rows[:, index] * (1 - fraction) + rows[:, index + 1] * fraction


def warp_envelope(log_envelope: np.ndarray, factor: float, config: WorldConfig) -> np.ndarray:
    """Scale the envelope's frequency axis by ``factor``: what lay at f moves to f x factor
    (formants up for factor > 1); beyond the band the top bin is held."""
    frequencies = axis_frequencies(config)
    return _interpolate_rows(np.asarray(log_envelope), frequencies,
                             frequencies / factor).astype(np.float32)


# ------------------------------------------------------------------------------ analysis

@dataclasses.dataclass
class Analysis:
    """One utterance through WORLD: F0 (frames,), ln envelope on G's axis (frames, bins),
    aperiodicity (frames, fft_size/2+1; None where not needed)."""
    f0: np.ndarray
    log_envelope: np.ndarray
    aperiodicity: Optional[np.ndarray] = None

    @property
    def speech_frames(self) -> np.ndarray:
        """Frames within 40 dB of the loudest (bool)."""
        energy = self.log_envelope.mean(axis=1)
        return energy >= energy.max() - SILENCE_BELOW_PEAK


def analyze(samples: np.ndarray, config: WorldConfig, aperiodicity: bool = True) -> Analysis:
    import pyworld
    x = np.ascontiguousarray(samples, dtype=np.float64)
    period = config.frame_period
    if config.f0_method == 'harvest':
        f0, times = pyworld.harvest(x, config.sample_rate, config.f0_floor, config.f0_ceil,
                                    frame_period=period)
    else:
        f0, times = pyworld.dio(x, config.sample_rate, config.f0_floor, config.f0_ceil,
                                frame_period=period)
        f0 = pyworld.stonemask(x, f0, times, config.sample_rate)
    envelope = pyworld.cheaptrick(x, f0, times, config.sample_rate, f0_floor=config.f0_floor,
                                  fft_size=config.fft_size)
    ap = (pyworld.d4c(x, f0, times, config.sample_rate, fft_size=config.fft_size)
          if aperiodicity else None)
    return Analysis(f0.astype(np.float32), reduce_envelope(envelope, config), ap)


def synthesize(f0: np.ndarray, log_envelope: np.ndarray, aperiodicity: np.ndarray,
               config: WorldConfig) -> np.ndarray:
    import pyworld
    return pyworld.synthesize(np.ascontiguousarray(f0, dtype=np.float64),
                              expand_envelope(log_envelope, config),
                              np.ascontiguousarray(aperiodicity, dtype=np.float64),
                              config.sample_rate, config.frame_period).astype(np.float32)


# ------------------------------------------------------------------------------- F0

def log_f0_statistics(f0: np.ndarray,
                      speech: Optional[np.ndarray] = None) -> Optional[Tuple[float, float]]:
    """(mean, std) of ln F0 over voiced frames; None with fewer than 2 voiced frames, or
    (given the ``speech`` frames) when under MIN_VOICED_SHARE of the speech is voiced."""
    if speech is not None and np.mean(f0[speech] > 0) < MIN_VOICED_SHARE:
        return None
    voiced = np.log(f0[f0 > 0])
    if len(voiced) < 2:
        return None
    return float(voiced.mean()), float(max(voiced.std(), STD_FLOOR))


def convert_f0(f0: np.ndarray, source: Tuple[float, float],
               target: Tuple[float, float]) -> np.ndarray:
    """The log-Gaussian transform of voiced frames; unvoiced (0) stay 0."""
    converted = np.zeros_like(f0)
    voiced = f0 > 0
    standard = (np.log(f0[voiced]) - source[0]) / source[1]
    converted[voiced] = np.exp(standard * target[1] + target[0])
    return converted


# ---------------------------------------------------------------------------- the cache

def cache_root() -> Path:
    """Where analyses are kept: $CHAINER_VC_CACHE, else ~/.cache/chainer_vc."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    return Path(os.environ.get('XDG_CACHE_HOME', Path.home() / '.cache')) / 'chainer_vc'


def cache_path(audio_bytes: bytes, config: WorldConfig) -> Path:
    """Content-addressed: the file's bytes and the analysis settings name the entry."""
    digest = hashlib.sha256(audio_bytes)
    digest.update(json.dumps(config.analysis_settings(), sort_keys=True).encode('utf-8'))
    key = digest.hexdigest()
    return cache_root() / KIND / key[:2] / f'{key}.npz'


def cached_analysis(path, config: WorldConfig, load_samples, warn=None) -> Analysis:
    """F0 and envelope of the audio file ``path`` (no aperiodicity), analysed once per
    content and settings; ``load_samples(path)`` decodes it at the config's rate, peak-
    normalised. A damaged cache entry is reported, analysed afresh and replaced."""
    try:
        entry = cache_path(Path(path).read_bytes(), config)
    except OSError as error:
        raise InputError(f'{path}: cannot read ({error_summary(error)})') from None
    if entry.is_file():
        try:
            with np.load(entry, allow_pickle=False) as npz:
                return Analysis(npz['f0'], npz['log_envelope'])
        except NPZ_DAMAGE_ERRORS as error:
            (warn or _stderr)(f'warning: {entry}: damaged analysis cache entry for {path} '
                              f'({error_summary(error)}); analysing again')
    analysis = analyze(load_samples(path), config, aperiodicity=False)
    with atomic_path(entry, suffix='.npz') as temporary:
        with open(temporary, 'wb') as file:
            np.savez(file, f0=analysis.f0, log_envelope=analysis.log_envelope)
    return analysis


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


# ------------------------------------------------------------------------- statistics

def fit_statistics(config: WorldConfig, analyses: Sequence[Analysis], codes: np.ndarray,
                   schema) -> WorldConfig:
    """The config with the corpus's statistics: per-bin mean and std of the ln envelope over
    speech frames, and per label class the ln F0 mean and std and the mean envelope over
    voiced frames and its per-bin std. A class with too little voiced speech gets no entry."""
    speech = np.concatenate([a.log_envelope[a.speech_frames] for a in analyses])
    statistics = {'bin_mean': speech.mean(axis=0).tolist(),
                  'bin_std': per_bin_std(speech).tolist(), 'classes': {}}
    codes = np.asarray(codes)
    for g, group in enumerate(schema.groups):
        per_class = {}
        for c, name in enumerate(group.classes):
            members = [a for a, code in zip(analyses, codes[:, g]) if code == c]
            entry = class_statistics(members)
            if entry is not None:
                per_class[name] = entry
        statistics['classes'][group.name] = per_class
    return dataclasses.replace(config, statistics=statistics)


def class_statistics(analyses: Sequence[Analysis]) -> Optional[dict]:
    if not analyses:
        return None
    f0 = np.concatenate([a.f0 for a in analyses])
    f0_stats = log_f0_statistics(f0, np.concatenate([a.speech_frames for a in analyses]))
    if f0_stats is None:
        return None
    voiced = np.concatenate([a.log_envelope[a.f0 > 0] for a in analyses])
    return {'log_f0_mean': f0_stats[0], 'log_f0_std': f0_stats[1],
            'envelope': voiced.mean(axis=0).tolist(),
            'envelope_std': per_bin_std(voiced).tolist()}


def voiced_envelope(analysis: Analysis) -> np.ndarray:
    """The ln envelope's voiced frames (its speech frames when nothing is voiced)."""
    frames = analysis.f0 > 0
    if log_f0_statistics(analysis.f0, analysis.speech_frames) is None:
        frames = analysis.speech_frames
    return analysis.log_envelope[frames]


def envelope_scale(analysis: Analysis) -> tuple:
    """(per-bin mean, per-bin std) of an utterance's ln envelope over its voiced frames."""
    voiced = voiced_envelope(analysis)
    return voiced.mean(axis=0).astype(np.float32), per_bin_std(voiced).astype(np.float32)


def per_bin_std(frames: np.ndarray) -> np.ndarray:
    """The std of each bin over ``frames`` (frames, bins), at least STD_FLOOR."""
    return np.maximum(frames.std(axis=0), STD_FLOOR)


def spread_to(source_std: np.ndarray, target_std: np.ndarray) -> np.ndarray:
    """The std a conversion gives each bin: the target's, within SPREAD_LIMIT of the
    source's."""
    ratio = np.clip(np.asarray(target_std) / source_std, 1 / SPREAD_LIMIT, SPREAD_LIMIT)
    return (source_std * ratio).astype(np.float32)
