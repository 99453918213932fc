"""The loss plots resume from snapshots written by a version that plotted fewer keys."""
import chainer_vc  # noqa: F401  (patches chainer for numpy 2; must come first)
from types import SimpleNamespace

import matplotlib.image
from chainer import serializers

from chainer_vc import extensions


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


def test_plot_report_resumes_from_a_snapshot_without_a_newer_key(tmp_path):
    old = extensions.PlotReport(['dis/loss_cls'], 'iteration', trigger=(1, 'iteration'),
                                filename='classification.png')
    trainer = _trainer(tmp_path / 'old')
    _plot(old, trainer, 1, {'dis/loss_cls': 0.5})
    saved = tmp_path / 'plot.npz'
    serializers.save_npz(str(saved), old)

    new = extensions.PlotReport(['dis/loss_cls', 'dis/loss_cls_fake'], 'iteration',
                                trigger=(1, 'iteration'), filename='classification.png')
    serializers.load_npz(str(saved), new)
    resumed = _trainer(tmp_path / 'new')
    _plot(new, resumed, 2, {'dis/loss_cls': 0.25, 'dis/loss_cls_fake': 0.75})

    points = {key: [list(point) for point in values] for key, values in new._data.items()}
    assert points == {'dis/loss_cls': [[1, 0.5], [2, 0.25]],
                      'dis/loss_cls_fake': [[2, 0.75]]}
    image = matplotlib.image.imread(tmp_path / 'new' / 'classification.png')
    assert image.ndim == 3 and image.shape[0] > 100


def test_chainer_plot_report_alone_fails_on_the_same_snapshot(tmp_path):
    """The case the subclass exists for: Chainer's own PlotReport raises KeyError."""
    from chainer.training.extensions import PlotReport
    old = PlotReport(['dis/loss_cls'], 'iteration', trigger=(1, 'iteration'),
                     filename='classification.png')
    trainer = _trainer(tmp_path / 'old')
    _plot(old, trainer, 1, {'dis/loss_cls': 0.5})
    saved = tmp_path / 'plot.npz'
    serializers.save_npz(str(saved), old)
    new = PlotReport(['dis/loss_cls', 'dis/loss_cls_fake'], 'iteration',
                     trigger=(1, 'iteration'), filename='classification.png')
    serializers.load_npz(str(saved), new)
    resumed = _trainer(tmp_path / 'new')
    try:
        _plot(new, resumed, 2, {'dis/loss_cls': 0.25, 'dis/loss_cls_fake': 0.75})
    except KeyError as error:
        assert error.args == ('dis/loss_cls_fake',)
    else:
        raise AssertionError("Chainer's PlotReport resumed: the subclass is not needed")
