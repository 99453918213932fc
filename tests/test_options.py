"""Options beyond the seed: each off by default, each doing what its flag says."""
import json
from types import SimpleNamespace

import chainer
from chainer import gradient_check
import numpy as np
import pytest

from chainer_vc.training.averaging import GeneratorAverage
from chainer_vc.networks.models import LOGIT_MARGIN, ConditionalInstanceNormalization, Generator, instance_normalization, logit
from chainer_vc.networks.run_directory import ModelConfig, find_weights
from chainer_vc.training.updater import TrainingConfig

from test_train import FAST, train


def labels(batch, size, hot):
    c = np.zeros((batch, size), dtype=np.float32)
    c[:, hot] = 1
    return c


@pytest.mark.parametrize('conditioning', ['bottleneck', 'decoder', 'cin'])
@pytest.mark.parametrize('norm', ['batch', 'instance'])
@pytest.mark.parametrize('skips', [False, True])
def test_generator_options_keep_shapes_and_train_every_weight(conditioning, norm, skips):
    gen = Generator(5, (4, 8, 16, 32), 2, conditioning, norm, skips)
    x = np.random.default_rng(0).random((2, 1, 16, 256)).astype(np.float32)
    y = gen(x, labels(2, 5, 1))
    assert y.shape == x.shape
    chainer.functions.sum(y * np.linspace(0, 1, y.size).reshape(y.shape)).backward()
    # Every parameter receives gradient (the CIN's label weights start at 0 but do not stay).
    missing = [name for name, p in gen.namedparams() if p.grad is None or not np.any(p.grad)]
    assert missing == [] or (norm == 'batch' and all('/b' in name for name in missing))


def test_skips_add_each_down_layers_output_to_the_up_layer_of_its_size():
    gen = Generator(5, (4, 8, 16, 32), 2, 'cin', 'instance', skips=True)
    x = np.random.default_rng(3).random((2, 1, 16, 256)).astype(np.float32)
    c = labels(2, 5, 1)
    h1 = gen.down1(x)
    h2 = gen.down2(h1)
    h3 = gen.down3(h2)
    h = gen.condition(gen.down4(h3), c)
    h = gen.res2(gen.res1(h, c), c)
    h = gen.up3(gen.up2(gen.up1(h, c) + h3, c) + h2, c) + h1
    expected = gen.up4(h).array
    np.testing.assert_allclose(gen(x, c).array, expected, rtol=1e-6)
    # Without skips the same weights give another output: the skips change what G computes.
    gen.skips = False
    assert not np.allclose(gen(x, c).array, expected, atol=1e-4)


def test_residual_generator_starts_as_the_identity():
    gen = Generator(5, (4, 8, 16, 32), 2, 'cin', 'instance', skips=True, residual=True)
    x = np.random.default_rng(4).random((2, 1, 16, 256)).astype(np.float32)
    x[0, 0, 0, :3] = (0, 1, 0.5)  # the features' clipped ends
    y = gen(x, labels(2, 5, 1)).array
    np.testing.assert_allclose(y, np.clip(x, LOGIT_MARGIN, 1 - LOGIT_MARGIN), atol=1e-6)


def residual_change(gen, seed):
    """G's last layer moved away from 0, an input and labels, and the last layer's output."""
    rng = np.random.default_rng(seed)
    gen.up4.conv.W.array[...] = rng.normal(0, 0.1, gen.up4.conv.W.shape)
    x = rng.random((2, 1, 16, 256)).astype(np.float32) * 0.9 + 0.05
    c = labels(2, 5, 2)
    outputs = gen.encode(x)
    return x, c, gen.decode(gen.condition(outputs[-1], c), c, outputs[-2::-1]).array


def test_residual_generator_adds_its_last_layers_output_to_the_input_logit():
    gen = Generator(5, (4, 8, 16, 32), 2, 'cin', 'instance', skips=True, residual=True)
    x, c, change = residual_change(gen, 5)
    assert np.abs(change).mean() > 1e-3
    expected = 1 / (1 + (1 - x) / x * np.exp(-change))
    np.testing.assert_allclose(gen(x, c).array, expected, atol=1e-6)
    # Every weight learns once the last layer is away from 0.
    chainer.functions.sum(gen(x, c) * np.linspace(0, 1, x.size).reshape(x.shape)).backward()
    assert all(p.grad is not None and np.any(p.grad) for _, p in gen.namedparams())


def test_levels_only_generator_changes_each_bins_level_by_one_constant():
    gen = Generator(5, (4, 8, 16, 32), 2, 'cin', 'instance', skips=True, residual=True,
                    levels=True)
    x, c, change = residual_change(gen, 7)
    assert np.abs(change - change.mean(axis=2, keepdims=True)).mean() > 1e-3  # G's own moves
    level = change.mean(axis=2, keepdims=True)
    expected = 1 / (1 + (1 - x) / x * np.exp(-level))
    y = gen(x, c)
    np.testing.assert_allclose(y.array, expected, atol=1e-6)
    # In the logit domain the output moves exactly as the input does.
    moved = logit(y).array - logit(x).array
    np.testing.assert_allclose(moved, np.broadcast_to(moved[:, :, :1], moved.shape), atol=1e-4)
    chainer.functions.sum(y * np.linspace(0, 1, x.size).reshape(x.shape)).backward()
    assert all(p.grad is not None and np.any(p.grad) for _, p in gen.namedparams())


def test_motion_only_generator_keeps_each_bins_level():
    gen = Generator(5, (4, 8, 16, 32), 2, 'cin', 'instance', skips=True, residual=True,
                    motion=True)
    x, c, change = residual_change(gen, 8)
    motion = change - change.mean(axis=2, keepdims=True)
    assert np.abs(motion).mean() > 1e-3
    expected = 1 / (1 + (1 - x) / x * np.exp(-motion))
    y = gen(x, c)
    np.testing.assert_allclose(y.array, expected, atol=1e-6)
    # In the logit domain each bin's mean over the frames is the input's.
    moved = logit(y).array - logit(x).array
    np.testing.assert_allclose(moved.mean(axis=2), 0, atol=1e-5)
    chainer.functions.sum(y * np.linspace(0, 1, x.size).reshape(x.shape)).backward()
    assert all(p.grad is not None and np.any(p.grad) for _, p in gen.namedparams())


@pytest.mark.parametrize('flag, option', [('--levels-only', 'levels'), ('--motion-only', 'motion')])
def test_levels_and_motion_only_need_the_residual_output(corpus_manifest, tmp_path, flag, option):
    with pytest.raises(ValueError, match='residual'):
        Generator(5, (4, 8, 16, 32), 2, 'cin', 'instance', **{option: True})
    out = tmp_path / 'run'
    result = train(*FAST, '--manifest', corpus_manifest, '--iterations', 1, '--out', out, flag)
    assert result.returncode == 2 and result.stderr.count('\n') == 1, result.stderr
    assert flag in result.stderr and '--residual' in result.stderr
    assert not out.exists()


def test_levels_only_and_motion_only_exclude_each_other(corpus_manifest, tmp_path):
    with pytest.raises(ValueError, match='not both'):
        Generator(5, (4, 8, 16, 32), 2, 'cin', 'instance', residual=True, levels=True,
                  motion=True)
    out = tmp_path / 'run'
    result = train(*FAST, '--manifest', corpus_manifest, '--iterations', 1, '--out', out,
                   '--residual', '--levels-only', '--motion-only')
    assert result.returncode == 2 and result.stderr.count('\n') == 1, result.stderr
    assert '--levels-only' in result.stderr and '--motion-only' in result.stderr
    assert not out.exists()


def test_logit_gradient_is_checked_numerically():
    x = np.random.default_rng(6).uniform(0.05, 0.95, (3, 4))
    gradient_check.check_backward(logit, x, np.ones_like(x), dtype=np.float64)
    np.testing.assert_allclose(logit(x).array, np.log(x / (1 - x)), rtol=1e-12)


def test_instance_normalization_against_a_hand_computation():
    x = np.random.default_rng(1).normal(3, 2, (2, 3, 4, 5))
    mean = x.mean(axis=(2, 3), keepdims=True)
    expected = (x - mean) / np.sqrt(x.var(axis=(2, 3), keepdims=True) + 1e-5)
    np.testing.assert_allclose(instance_normalization(x).array, expected, rtol=1e-10)


def test_cin_scale_and_shift_follow_the_labels():
    cin = ConditionalInstanceNormalization(3, 2)
    cin.scale.W.array[:] = [[2, 0], [0, 1], [1, 1]]
    cin.shift.W.array[:] = [[1, 0], [0, 0], [0, 5]]
    x = np.random.default_rng(2).random((1, 3, 4, 4)).astype(np.float32)
    normalised = instance_normalization(x).array
    out = cin(x, labels(1, 2, 0)).array
    np.testing.assert_allclose(out[0, 0], 3 * normalised[0, 0] + 1, rtol=1e-5)
    np.testing.assert_allclose(out[0, 1], normalised[0, 1], rtol=1e-5)
    np.testing.assert_allclose(out[0, 2], 2 * normalised[0, 2], rtol=1e-5)


def test_identity_loss_switches_off_after_id_until():
    config = TrainingConfig(lambda_id=5, id_until=10)
    assert config.identity_loss_on(9) and not config.identity_loss_on(10)
    assert TrainingConfig(lambda_id=5).identity_loss_on(10 ** 6)
    assert not TrainingConfig().identity_loss_on(0)


def test_learning_rates_per_network_default_to_lr():
    config = TrainingConfig(lr=1e-5, lr_gen=2e-4)
    assert config.learning_rate('gen') == 2e-4 and config.learning_rate('dis') == 1e-5


def test_options_train_and_are_recorded_in_model_json(corpus_manifest, tmp_path):
    out = tmp_path / 'run'
    result = train(*FAST, '--manifest', corpus_manifest, '--iterations', 2, '--out', out,
                   '--log-interval', '1i', '--snapshot-interval', '2i', '--sample-interval', '2i',
                   '--optimizer', 'adam', '--lr-gen', '2e-4', '--lr-dis', '1e-4', '--beta1', '0.5',
                   '--label-conditioning', 'cin', '--norm', 'instance', '--lambda-id', '5',
                   '--id-until', '1', '--magnitude-floor', '1e-5', '--lr-decay-epochs', '1',
                   '--skips', '--residual', '--levels-only', '--content-loss', 'l1',
                   '--gen-channels', 6, 8, 10, 12,
                   '--dis-channels', 2, 3, 4, 5, 6, 7, '--lambda-cls-fake', '0.5',
                   '--lambda-dynamics', '2')
    assert result.returncode == 0, result.stderr
    model = json.loads((out / 'model.json').read_text())
    assert model['preset']['gen_conditioning'] == 'cin' and model['preset']['gen_norm'] == 'instance'
    assert model['preset']['gen_skips'] is True and model['preset']['gen_residual'] is True
    assert model['preset']['gen_levels'] is True
    assert model['preset']['gen_channels'] == [6, 8, 10, 12]
    assert model['preset']['dis_channels'] == [2, 3, 4, 5, 6, 7]
    assert model['features']['magnitude_floor'] == 1e-5
    training = model['training']
    assert (training['optimizer'], training['lr_gen'], training['lr_dis'], training['beta1'],
            training['id_until'], training['content_loss']) == ('adam', 2e-4, 1e-4, 0.5, 1, 'l1')
    assert training['lambda_cls_fake'] == 0.5 and training['lambda_dynamics'] == 2
    log = json.loads((out / 'log').read_text())
    assert 'gen/loss_id' in log[0] and 'gen/loss_id' not in log[1]
    assert all('dis/loss_cls_fake' in entry and 'gen/loss_dyn' in entry for entry in log)
    # The run directory rebuilds the same Generator for conversion.
    config = ModelConfig.load(out)
    rebuilt = config.build_generator()
    assert rebuilt.conditioning == 'cin' and rebuilt.skips and rebuilt.residual and rebuilt.levels
    snapshot = np.load(out / 'snapshot_iter_2')
    assert snapshot['updater/model:gen/down4/conv/W'].shape == (12, 10, 4, 4)
    assert snapshot['updater/model:dis/conv6/conv/W'].shape == (7, 6, 3, 4)
    assert 'updater/optimizer:gen/down1/conv/W/m' in snapshot.files  # Adam's first moment
    # The schedule shifts Adam's step size alpha, from each network's own rate: two shifts
    # here, since 2 iterations of 5 D updates x 2 windows are 3.3 epochs of 6 utterances.
    shifted = sorted(float(snapshot[k]) for k in snapshot.files
                     if k.startswith('extensions/ExponentialShift') and k.endswith('_last_value'))
    np.testing.assert_allclose(shifted, [1e-4 / 10, 2e-4 / 10])


def test_a_width_below_one_is_refused_in_one_line(corpus_manifest, tmp_path):
    result = train(*FAST, '--manifest', corpus_manifest, '--iterations', 1,
                   '--out', tmp_path / 'run', '--dis-channels', 4, 8, 0, 32, 64, 128)
    assert result.returncode == 2 and result.stderr.count('\n') == 1, result.stderr
    assert '--dis-channels 4 8 0 32 64 128' in result.stderr
    assert not (tmp_path / 'run').exists()


def test_initialize_from_starts_from_another_runs_weights(corpus_manifest, tmp_path):
    first, second = tmp_path / 'first', tmp_path / 'second'
    common = [*FAST, '--manifest', corpus_manifest, '--log-interval', '1i',
              '--snapshot-interval', '1i', '--sample-interval', '100i', '--plot-interval', '100i']
    assert train(*common, '--iterations', 1, '--out', first).returncode == 0
    result = train(*common, '--iterations', 1, '--out', second, '--initialize-from', first,
                   '--lr', '0')
    assert result.returncode == 0, result.stderr
    # With lr 0 nothing moves: the second run's weights are the first run's.
    for network in ('gen', 'dis'):
        a, b = np.load(find_weights(first, network=network)), np.load(find_weights(second, network=network))
        for key in a.files:
            if a[key].dtype.kind == 'f' and 'avg_' not in key:
                np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    other = train(*common, '--iterations', 1, '--out', tmp_path / 'third', '--initialize-from',
                  first, '--label-conditioning', 'decoder')
    assert other.returncode == 2 and other.stderr.count('\n') == 1
    assert str(first) in other.stderr and 'other networks' in other.stderr


def test_generator_average_weighs_each_iteration_by_the_bias_corrected_decay():
    generator, average = chainer.links.Linear(3, 2), chainer.links.Linear(3, 2)
    keeper = GeneratorAverage(generator, average, decay=0.8)
    seen = []
    for step in range(4):
        generator.W.array[...] = np.full((2, 3), float(step * step), np.float32)
        seen.append(generator.W.array.copy())
        keeper()
    # By hand: weights 0.8^3, 0.8^2, 0.8, 1 on iterations 1..4, normalised.
    weights = np.array([0.8 ** 3, 0.8 ** 2, 0.8, 1.0])
    expected = sum(w * s for w, s in zip(weights / weights.sum(), seen))
    np.testing.assert_allclose(average.W.array, expected, rtol=1e-6)
    assert generator.W.array[0, 0] == 9.0  # G itself is untouched


def test_generator_average_of_decay_1_from_a_start_is_the_mean_of_the_iterations_since():
    generator, average = chainer.links.Linear(3, 2), chainer.links.Linear(3, 2)
    keeper = GeneratorAverage(generator, average, decay=1, start=3)
    for iteration in range(1, 6):
        generator.W.array[...] = float(iteration)
        keeper(SimpleNamespace(updater=SimpleNamespace(iteration=iteration)))
        if iteration < 3:
            np.testing.assert_array_equal(average.W.array, iteration)  # G itself
    np.testing.assert_allclose(average.W.array, (3 + 4 + 5) / 3, rtol=1e-6)
    assert keeper.updates == 3


def test_generator_average_copies_batch_statistics_and_survives_a_snapshot():
    generator, average = chainer.links.BatchNormalization(3), chainer.links.BatchNormalization(3)
    generator.avg_mean[...] = [1, 2, 3]
    generator.N = 7
    keeper = GeneratorAverage(generator, average, decay=0.9)
    keeper()
    np.testing.assert_array_equal(average.avg_mean, [1, 2, 3])
    assert average.N == 7 and average.avg_mean is not generator.avg_mean
    stored = {}
    keeper.serialize(chainer.serializers.DictionarySerializer(stored))
    restored = GeneratorAverage(generator, chainer.links.BatchNormalization(3), decay=0.9)
    restored.serialize(chainer.serializers.NpzDeserializer(stored, strict=True))
    assert restored.updates == 1
    np.testing.assert_array_equal(restored.average.avg_mean, [1, 2, 3])


def test_gen_average_converts_with_the_average_and_keeps_g_as_trained(corpus_manifest,
                                                                       tmp_path):
    out = tmp_path / 'run'
    result = train(*FAST, '--manifest', corpus_manifest, '--iterations', 2, '--out', out,
                   '--log-interval', '1i', '--snapshot-interval', '1i', '--sample-interval', '2i',
                   '--gen-average', '0.5')
    assert result.returncode == 0, result.stderr
    assert json.loads((out / 'model.json').read_text())['training']['gen_average'] == 0.5
    raw = [np.load(out / f'gen_raw_iter_{i}.npz') for i in (1, 2)]
    averaged = [np.load(out / f'gen_iter_{i}.npz') for i in (1, 2)]
    checked = 0
    for key in raw[0].files:
        if raw[0][key].dtype.kind != 'f':
            continue
        if 'avg_' in key or key.endswith('/N'):  # batch statistics: G's own
            np.testing.assert_array_equal(averaged[1][key], raw[1][key], err_msg=key)
            continue
        # After one update the average is G; after two, G's first weights plus 1 / (1 + 0.5)
        # of the step to its second.
        np.testing.assert_allclose(averaged[0][key], raw[0][key], rtol=1e-5, atol=1e-7,
                                   err_msg=key)
        np.testing.assert_allclose(averaged[1][key],
                                   raw[0][key] + (raw[1][key] - raw[0][key]) / 1.5,
                                   rtol=1e-5, atol=1e-7, err_msg=key)
        checked += not np.array_equal(raw[0][key], raw[1][key])
    assert checked > 10  # G moved, so the second average is not either iteration's weights
    assert find_weights(out).name == 'gen_iter_2.npz'
    with np.load(out / 'snapshot_iter_2') as snapshot:
        assert int(snapshot['extensions/generator_average/updates']) == 2


@pytest.mark.parametrize('decay', ['1.5', '-0.1'])
def test_a_gen_average_decay_outside_its_range_is_refused_in_one_line(corpus_manifest, tmp_path,
                                                                     decay):
    result = train(*FAST, '--manifest', corpus_manifest, '--iterations', 1,
                   '--out', tmp_path / 'run', '--gen-average', decay)
    assert result.returncode == 2 and result.stderr.count('\n') == 1, result.stderr
    assert f'--gen-average {float(decay)}' in result.stderr
    assert not (tmp_path / 'run').exists()
