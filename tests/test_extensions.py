"""The loss plots resume from snapshots written by a version that plotted fewer keys."""
from types import SimpleNamespace

import chainer_vc  # noqa: F401  (patches chainer for numpy 2; must come first)
import matplotlib.image
import pytest
from chainer import serializers
from chainer.training.extensions import PlotReport as ChainerPlotReport

from chainer_vc.training import extensions

OLD_KEYS = ['dis/loss_cls']
NEW_KEYS = ['dis/loss_cls', 'dis/loss_cls_fake']


def _trainer(out):
    """What a PlotReport reads of a trainer."""
    out.mkdir()
    return SimpleNamespace(out=str(out), observation={}, is_before_training=False,
                           updater=SimpleNamespace(iteration=0, epoch=0, epoch_detail=0.0,
                                                   previous_epoch_detail=None))


def _plot(report, trainer, iteration, observation):
    trainer.updater.iteration = iteration
    trainer.updater.previous_epoch_detail = trainer.updater.epoch_detail
    trainer.updater.epoch_detail = iteration / 10
    trainer.observation = observation
    report(trainer)


def _resume_with_a_new_key(report_class, tmp_path):
    """A report of OLD_KEYS plots iteration 1 and is saved; one of NEW_KEYS loads it and
    plots iteration 2. Returns the loaded report."""
    old = report_class(OLD_KEYS, 'iteration', trigger=(1, 'iteration'),
                       filename='classification.png')
    _plot(old, _trainer(tmp_path / 'old'), 1, {'dis/loss_cls': 0.5})
    saved = tmp_path / 'plot.npz'
    serializers.save_npz(str(saved), old)
    new = report_class(NEW_KEYS, 'iteration', trigger=(1, 'iteration'),
                       filename='classification.png')
    serializers.load_npz(str(saved), new)
    _plot(new, _trainer(tmp_path / 'new'), 2, {'dis/loss_cls': 0.25, 'dis/loss_cls_fake': 0.75})
    return new


def test_plot_report_resumes_from_a_snapshot_without_a_newer_key(tmp_path):
    report = _resume_with_a_new_key(extensions.PlotReport, tmp_path)
    points = {key: [list(point) for point in values] for key, values in report._data.items()}
    assert points == {'dis/loss_cls': [[1, 0.5], [2, 0.25]], 'dis/loss_cls_fake': [[2, 0.75]]}
    image = matplotlib.image.imread(tmp_path / 'new' / 'classification.png')
    assert image.ndim == 3 and image.shape[0] > 100


def test_chainer_plot_report_alone_fails_on_the_same_snapshot(tmp_path):
    """The case the subclass exists for: Chainer's own PlotReport raises KeyError."""
    with pytest.raises(KeyError, match='dis/loss_cls_fake'):
        _resume_with_a_new_key(ChainerPlotReport, tmp_path)
