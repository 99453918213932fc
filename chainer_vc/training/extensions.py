"""Trainer extensions: triggers, the reports people read, and listenable samples."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence, Tuple

import chainer
import matplotlib
import numpy as np
from chainer.training import extensions, triggers

from chainer_vc.common import devices
from chainer_vc.common import audio
from chainer_vc.features import kinds
from chainer_vc.common.labels import LabelSchema

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)

PRIORITY_SAMPLES = chainer.training.extension.PRIORITY_READER
# The trainer snapshot runs after every other extension (Chainer's snapshots, LogReport, the
# weights' snapshot_object among them: -100 and up), so what it saves of their state and
# their triggers' is this iteration's. Saved before them, a resumed run repeats their
# work: a log entry missing, weights written again at an iteration off the interval.
PRIORITY_LAST = -1000

# One PNG per loss family, each drawn linear and log-log (fbf548f6: linear curves could not
# be compared across runs). Families whose values can be negative get a symmetric log axis.
PLOT_FAMILIES = {
    'wasserstein': (['dis/wasserstein'], 'symlog'),
    'gradient_penalty': (['dis/loss_gp'], 'log'),
    'classification': (['dis/loss_cls', 'dis/loss_cls_fake', 'gen/loss_cls'], 'log'),
    'accuracy': (['dis/acc', 'gen/acc'], 'log'),
    'adversarial': (['gen/loss_adv'], 'symlog'),
    'reconstruction': (['gen/loss_rec', 'gen/loss_id', 'gen/loss_dyn'], 'log'),
    'feature_matching': (['gen/loss_fm'], 'log'),
    'total': (['dis/loss', 'gen/loss'], 'symlog'),
}

# Every value the updater reports (each is in one plot family).
REPORTED_KEYS = [key for keys, _ in PLOT_FAMILIES.values() for key in keys]

PRINT_KEYS = ['epoch', 'iteration', 'dis/wasserstein', 'dis/loss_gp', 'dis/loss_cls',
              'dis/acc', 'gen/loss_cls', 'gen/acc', 'gen/loss_rec', 'gen/loss_fm',
              'elapsed_time']


def parse_interval(text: str) -> Tuple[int, str]:
    """'5e' / '5' -> (5, 'epoch'); '100i' -> (100, 'iteration')."""
    match = re.fullmatch(r'\s*(\d+)\s*([ei]?)\s*', text)
    if not match or int(match.group(1)) == 0:
        raise ValueError(f'{text!r} is not an interval like 5e (epochs) or 100i (iterations)')
    return int(match.group(1)), 'iteration' if match.group(2) == 'i' else 'epoch'


class IntervalOrEndTrigger:
    """Fires every ``interval`` and once more when training reaches ``length``,
    so the last state is always logged and saved."""

    def __init__(self, interval: Tuple[int, str], length: Tuple[int, str]):
        self._interval = triggers.IntervalTrigger(*interval)
        self._length = length

    def __call__(self, trainer) -> bool:
        fired = self._interval(trainer)
        count, unit = self._length
        updater = trainer.updater
        done = updater.iteration >= count if unit == 'iteration' else updater.epoch_detail >= count
        return fired or done

    def serialize(self, serializer):
        self._interval.serialize(serializer['interval'])


class PlotReport(extensions.PlotReport):
    """Chainer's PlotReport, resumable from a snapshot that plotted fewer keys.

    Chainer restores the plotted points as a plain dict of the keys saved, and a key added
    since (a newer version's loss, e.g. ``dis/loss_cls_fake``) then raises KeyError at the
    first plot after resuming; such a key starts with no points instead."""

    def serialize(self, serializer):
        super().serialize(serializer)
        for key in self._y_keys:
            self._data.setdefault(key, [])


def plot_reports(make_trigger) -> list:
    """Linear and log-log PlotReports, one pair per loss family.

    ``make_trigger()`` gives each report a trigger of its own: interval triggers keep state,
    so one shared instance fires for the first report only."""
    reports = []
    for family, (keys, y_scale) in PLOT_FAMILIES.items():
        reports.append(PlotReport(
            keys, 'iteration', trigger=make_trigger(), filename=f'{family}.png'))

        def postprocess(figure, axes, summary, y_scale=y_scale):
            axes.set_xscale('log')
            axes.set_yscale(y_scale)

        reports.append(PlotReport(
            keys, 'iteration', trigger=make_trigger(), filename=f'{family}_loglog.png',
            postprocess=postprocess))
    return reports


def lr_schedules(optimizers, config, trigger_unit: str = 'epoch') -> list:
    """lr x lr_decay every lr_decay_epochs (the seed: x 10^-0.5 every 100 epochs). Adam's
    step size is its ``alpha``."""
    attribute = 'alpha' if config.optimizer == 'adam' else 'lr'
    return [(extensions.ExponentialShift(attribute, config.lr_decay, optimizer=optimizer),
             (config.lr_decay_epochs, trigger_unit)) for optimizer in optimizers]


class SampleReport(chainer.training.Extension):
    """Converts a few fixed training windows (of different label combinations, so different
    speakers where there are several) to a few targets and back, and writes a spectrogram
    PNG (input / each target / cycle-reconstructed) and the same as WAVs into
    ``samples/iter_<N>/``."""

    priority = PRIORITY_SAMPLES

    def __init__(self, generator, dataset, schema: LabelSchema, n_samples: int = 2,
                 n_targets: int = 3, seed: int = 0, kind=None):
        self._generator = generator
        self._schema = schema
        self._config = dataset.config
        self._kind = kind or kinds.build(dataset.config, schema)
        rng = np.random.default_rng(seed)
        combinations = dataset.label_combinations()
        picks = [_pick_utterance(dataset.codes, combination, rng)
                 for combination in _spread(combinations, n_samples)]
        self._segments = [dataset.segment(i) for i in picks]
        self._source_codes = dataset.codes[picks]
        self._target_codes = _spread(combinations, n_targets)

    def __call__(self, trainer):
        out = Path(trainer.out) / 'samples' / f'iter_{trainer.updater.iteration}'
        out.mkdir(parents=True, exist_ok=True)
        rows = [self._sample_row(segment, codes, out, f'u{i}')
                for i, (segment, codes) in enumerate(zip(self._segments, self._source_codes))]
        self._plot(rows, out / 'spectrograms.png', trainer.updater.iteration)

    def _target_name(self, codes) -> str:
        return '+'.join(f'{k}={v}' for k, v in self._schema.describe(codes).items())

    def _sample_row(self, segment, source_codes, out: Path, stem: str) -> list:
        xp = self._generator.xp
        unit, to_audio = self._kind.window_sample(segment)
        x = xp.asarray(unit[None, None])
        source_labels = xp.asarray(self._schema.generator_input(source_codes[None]))
        row = [('input ' + self._target_name(source_codes), unit, None)]
        with chainer.using_config('train', False), chainer.no_backprop_mode():
            for codes in self._target_codes:
                fake = self._generator(x, xp.asarray(self._schema.generator_input(codes[None])))
                row.append(('to ' + self._target_name(codes),
                            devices.to_cpu(fake.array[0, 0]), codes))
            cycle = self._generator(fake, source_labels)
            row.append(('cycle from ' + self._target_name(self._target_codes[-1]),
                        devices.to_cpu(cycle.array[0, 0]), None))
        for index, (title, patch, codes) in enumerate(row):
            name = 'input' if index == 0 else _file_safe(title)
            audio.save(out / f'{stem}_{name}.wav', to_audio(patch, codes),
                       self._config.sample_rate)
        return [(title, patch) for title, patch, _ in row]

    def _plot(self, rows: Sequence[list], path: Path, iteration: int):
        n_rows, n_cols = len(rows), len(rows[0])
        figure, axes = plt.subplots(n_rows, n_cols, figsize=(2.6 * n_cols, 2.4 * n_rows),
                                    squeeze=False)
        low, high = self._config.band_hz
        for r, row in enumerate(rows):
            for c, (title, patch) in enumerate(row):
                axes[r, c].imshow(patch.T, origin='lower', aspect='auto', vmin=0, vmax=1,
                                  extent=(0, patch.shape[0], low, high), cmap='magma')
                axes[r, c].set_title(title, fontsize=7)
                axes[r, c].tick_params(labelsize=6)
        axes[-1, 0].set_xlabel('frame', fontsize=7)
        axes[-1, 0].set_ylabel('Hz', fontsize=7)
        figure.suptitle(f'iteration {iteration}', fontsize=8)
        figure.tight_layout()
        figure.savefig(path, dpi=100)
        plt.close(figure)


def _spread(rows: np.ndarray, n: int) -> np.ndarray:
    """``n`` rows spread evenly over ``rows`` (all of them when there are fewer)."""
    return rows[np.round(np.linspace(0, len(rows) - 1, min(n, len(rows)))).astype(int)]


def _pick_utterance(codes: np.ndarray, combination: np.ndarray, rng) -> int:
    """A random utterance with the given label codes."""
    return int(rng.choice(np.flatnonzero(np.all(codes == combination, axis=1))))


def _file_safe(text: str) -> str:
    return re.sub(r'[^A-Za-z0-9_.=+-]+', '_', text)
