import chainer
import chainer.functions as F
import numpy as np
import pytest

from chainer_vc.features.dynamics import dynamics_distance
from chainer_vc.common.labels import LabelGroup, LabelSchema, seed_schema
from chainer_vc.networks.presets import PRESETS
from chainer_vc.networks.run_directory import ModelConfig
from chainer_vc.training.updater import NonFiniteLossError, StarGANUpdater, TrainingConfig, classification_accuracy, classification_loss, deferred_accuracy, gradient_penalty, wasserstein_distance

SMALL = LabelSchema((LabelGroup('speaker', ('a', 'b', 'c')), LabelGroup('sex', ('f', 'm'))))


def make_updater(preset='tiny', schema=SMALL, batchsize=3, config=TrainingConfig(), n=8,
                 dtype=np.float32, device='@numpy'):
    rng = np.random.default_rng(0)
    model = ModelConfig(PRESETS[preset], PRESETS[preset].spectrogram_config(), schema)
    with chainer.using_config('dtype', dtype):
        gen, dis = model.build_generator(), model.build_discriminator()
    gen.to_device(device)
    dis.to_device(device)
    codes = np.stack([rng.integers(0, len(g.classes), n) for g in schema.groups], 1)
    codes[0, -1] = -1
    frames = model.features.frames
    data = [(rng.random((1, frames, 256)).astype(dtype), schema.generator_input(c),
             schema.classification_target(c)) for c in codes]
    iterators = {name: chainer.iterators.SerialIterator(data, batchsize, shuffle=True)
                 for name in ('main', 'orig')}
    optimizers = {}
    for name, link in (('gen', gen), ('dis', dis)):
        optimizers[name] = chainer.optimizers.RMSprop(lr=config.lr)
        optimizers[name].setup(link)
    updater = StarGANUpdater(iterators, optimizers, schema, np.unique(codes, axis=0), config,
                             device=chainer.get_device(device), seed=0)
    reporter = chainer.Reporter()
    reporter.add_observer('gen', gen)
    reporter.add_observer('dis', dis)
    return updater, reporter


def update(updater, reporter) -> dict:
    observation = {}
    with reporter.scope(observation):
        updater.update()
    return {k: float(v.array if isinstance(v, chainer.Variable) else v)
            for k, v in observation.items()}


def snapshot(link) -> dict:
    return {name: param.array.copy() for name, param in link.namedparams()}


def changed(before, link) -> set:
    return {name for name, p in link.namedparams() if not np.array_equal(before[name], p.array)}


def test_every_term_is_reported_and_finite():
    updater, reporter = make_updater()
    observation = update(updater, reporter)
    expected = {'dis/loss', 'dis/wasserstein', 'dis/loss_gp', 'dis/loss_cls', 'dis/acc',
                'gen/loss', 'gen/loss_adv', 'gen/loss_cls', 'gen/loss_rec', 'gen/loss_fm',
                'gen/acc'}
    assert set(observation) == expected
    assert all(np.isfinite(v) for v in observation.values())


def test_one_iteration_is_five_d_updates_then_one_g_update():
    updater, reporter = make_updater()
    update(updater, reporter)
    update(updater, reporter)
    assert updater.get_optimizer('dis').t == 10
    assert updater.get_optimizer('gen').t == 2
    assert updater.iteration == 2


def test_d_update_sends_no_gradient_to_g_and_g_update_leaves_d_alone():
    updater, reporter = make_updater()
    gen, dis = updater.gen, updater.dis
    batch = updater._next_batches()
    fake = gen(batch['x_real'], batch['c_fake'])
    gen_before, dis_before = snapshot(gen), snapshot(dis)
    gen.cleargrads()
    with reporter.scope({}):
        updater.update_discriminator(batch, fake.array)
    assert all(p.grad is None for p in gen.params())
    assert changed(gen_before, gen) == set()
    # The critic's output bias cancels in mean(D(real)) - mean(D(fake)) and has no input
    # gradient, so it alone gets no gradient; every other D parameter moves.
    assert changed(dis_before, dis) == set(dis_before) - {'/discriminate/b'}
    dis_before = snapshot(dis)
    with reporter.scope({}):
        updater.update_generator(batch, fake)
    assert changed(dis_before, dis) == set()
    # Every G parameter moves, BatchNorm's scale and shift too.
    assert changed(gen_before, gen) == set(gen_before)


def test_wasserstein_and_classification_loss_by_hand():
    real = np.array([[[[1.0, 3.0]]], [[[2.0, 2.0]]]], np.float32)
    fake = np.array([[[[0.5, 0.5]]], [[[1.5, -0.5]]]], np.float32)
    assert float(wasserstein_distance(real, fake).array) == pytest.approx(2.0 - 0.5)
    logits = np.array([[2.0, -1.0, 0.5]], np.float32)
    target = np.array([[1, -1, 0]], np.int32)
    expected = (np.log1p(np.exp(-2.0)) + np.log1p(np.exp(0.5))) / 2
    assert float(classification_loss(logits, target).array) == pytest.approx(expected, rel=1e-5)


def test_gradient_penalty_of_a_linear_critic_is_the_weight_norm_gap():
    """For D(x) = <w, x> the input gradient is w everywhere: GP = (||w|| - 1)^2."""
    rng = np.random.default_rng(0)
    w = rng.standard_normal((1, 1, 4, 4)).astype(np.float32)

    def critic(x):
        return None, None, F.sum(x * w, axis=(1, 2, 3))

    x = rng.random((3, 1, 4, 4)).astype(np.float32)
    expected = (np.linalg.norm(w) - 1) ** 2
    assert float(gradient_penalty(critic, x).array) == pytest.approx(expected, rel=1e-5)


def test_classification_accuracy_counts_labelled_groups_only():
    schema = SMALL
    target = schema.classification_target(np.array([[0, 1], [2, -1]]))
    logits = np.zeros_like(target, dtype=np.float32)
    logits[0, 0] = logits[0, 4] = 1   # speaker a right, sex m right
    logits[1, 1] = 1                  # speaker b, truth c: wrong
    assert classification_accuracy(logits, target, schema) == pytest.approx(2 / 3)


def test_deferred_accuracy_is_the_eager_one_weighted_by_whether_anything_is_labelled():
    schema = SMALL
    target = schema.classification_target(np.array([[0, 1], [2, -1]]))
    logits = np.zeros_like(target, dtype=np.float32)
    logits[0, 0] = logits[0, 4] = 1
    logits[1, 1] = 1
    accuracy, weight = deferred_accuracy(logits, target, schema)
    assert (float(accuracy), float(weight)) == (pytest.approx(2 / 3), 1.0)
    unlabelled = schema.classification_target(np.array([[-1, -1]]))
    assert classification_accuracy(logits[:1], unlabelled, schema) is None
    assert float(deferred_accuracy(logits[:1], unlabelled, schema)[1]) == 0.0


@pytest.mark.filterwarnings('ignore:invalid value encountered:RuntimeWarning')
def test_deferred_checks_stop_in_the_same_iteration_naming_the_term():
    updater, reporter = make_updater(config=TrainingConfig(lambda_gp=float('inf')))
    with chainer.using_config('vc_eager_checks', False), reporter.scope({}), \
            pytest.raises(NonFiniteLossError, match='dis/loss_gp became non-finite at iteration 1'):
        updater.update()


def test_targets_come_from_real_label_combinations():
    updater, _ = make_updater()
    real = {tuple(row) for row in updater.label_combinations}
    for _ in range(5):
        c_fake, t_fake = updater._sample_targets(4)
        for row in t_fake:
            codes = tuple(int(np.argmax(row[o:o + len(g.classes)])) if row[o] != -1 else -1
                          for g, o in zip(SMALL.groups, SMALL.offsets))
            assert codes in real


def test_label_dropout_option_unlabels_target_groups():
    config = TrainingConfig(label_dropout=0.5)
    updater, _ = make_updater(config=config)
    _, t_fake = updater._sample_targets(200)
    unlabelled = t_fake[:, SMALL.offsets] == -1
    assert 0.2 < unlabelled.mean() < 0.5
    assert not np.any(unlabelled.all(axis=1))


def test_identity_option_adds_its_term():
    updater, reporter = make_updater(config=TrainingConfig(lambda_id=10.0))
    assert 'gen/loss_id' in update(updater, reporter)


def test_classifier_on_fakes_option_adds_their_source_labels_cross_entropy():
    weight = 0.5
    plain, plain_reporter = make_updater()
    updater, reporter = make_updater(config=TrainingConfig(lambda_cls_fake=weight))
    plain.dis.copyparams(updater.dis)
    batch = updater._next_batches()
    fake = updater.gen(batch['x_real'], batch['c_fake']).array
    with chainer.no_backprop_mode():
        _, cls_fake, _ = updater.dis(fake)
    expected = float(classification_loss(cls_fake, batch['t_real']).array)
    observed = []
    for one, its_reporter in ((plain, plain_reporter), (updater, reporter)):
        observation = {}
        np.random.seed(3)  # the same gradient-penalty blend for both
        with its_reporter.scope(observation):
            one.update_discriminator(batch, fake)
        observed.append({k: float(getattr(v, 'array', v)) for k, v in observation.items()})
    without, with_fakes = observed
    assert 'dis/loss_cls_fake' not in without
    assert with_fakes['dis/loss_cls_fake'] == pytest.approx(expected, rel=1e-5)
    assert with_fakes['dis/loss'] == pytest.approx(without['dis/loss'] + weight * expected,
                                                   rel=1e-5)


@pytest.mark.parametrize('content_loss', ['mse', 'l1'])
def test_cycle_and_identity_losses_use_the_chosen_distance(content_loss):
    updater, reporter = make_updater(config=TrainingConfig(lambda_id=5.0,
                                                           content_loss=content_loss))
    gen = updater.gen
    batch = updater._next_batches()
    fake = gen(batch['x_real'], batch['c_fake'])
    errors = {'gen/loss_rec': gen(fake.array, batch['c_real']).array - batch['x_real'],
              'gen/loss_id': gen(batch['x_real'], batch['c_real']).array - batch['x_real']}
    distance = np.abs if content_loss == 'l1' else np.square
    observation = {}
    with reporter.scope(observation):
        updater.update_generator(batch, fake)
    for name, error in errors.items():
        assert float(observation[name].array) == pytest.approx(distance(error).mean(), rel=1e-5)


def test_dynamics_option_adds_the_distance_of_the_conversion_to_its_source():
    weight = 3.0
    plain, plain_reporter = make_updater()
    updater, reporter = make_updater(config=TrainingConfig(lambda_dynamics=weight))
    plain.gen.copyparams(updater.gen)
    plain.dis.copyparams(updater.dis)
    batch = updater._next_batches()
    observed = []
    for one, its_reporter in ((plain, plain_reporter), (updater, reporter)):
        fake = one.gen(batch['x_real'], batch['c_fake'])
        expected = float(dynamics_distance(fake.array, batch['x_real']).array)
        observation = {}
        with its_reporter.scope(observation):
            one.update_generator(batch, fake)
        observed.append({k: float(getattr(v, 'array', v)) for k, v in observation.items()})
    without, with_dynamics = observed
    assert 'gen/loss_dyn' not in without
    assert expected > 0
    assert with_dynamics['gen/loss_dyn'] == pytest.approx(expected, rel=1e-5)
    assert with_dynamics['gen/loss'] == pytest.approx(without['gen/loss'] + weight * expected,
                                                      rel=1e-5)


def test_non_finite_loss_stops_with_the_term_and_iteration():
    updater, reporter = make_updater(config=TrainingConfig(lambda_gp=float('inf')))
    with pytest.raises(NonFiniteLossError, match='dis/loss_gp became non-finite at iteration 1'):
        update(updater, reporter)


@pytest.mark.slow
def test_seed_preset_runs_a_full_iteration_with_the_seed_label_sizes():
    updater, reporter = make_updater('cfcefd21', seed_schema(), batchsize=5, n=10)
    observation = update(updater, reporter)
    assert all(np.isfinite(v) for v in observation.values())
    assert updater.get_optimizer('dis').t == 5 and updater.get_optimizer('gen').t == 1


def test_projection_critic_adds_the_label_embedding_inner_product():
    """D(x, c)'s adversarial map = the unconditional map + <embed(c), feature> per position,
    checked by hand, with numerically checked gradients to x and to the embedding."""
    from chainer_vc.networks.models import Discriminator
    rng = np.random.default_rng(1)
    schema = SMALL
    dis = Discriminator(schema.class_size, 64, PRESETS['tiny'].dis_channels,
                        projection_size=schema.input_size)
    dis.to_device('@numpy')
    x = rng.random((2, 1, 64, 256)).astype(np.float32)
    c = schema.generator_input(np.array([[0, 1], [2, -1]]))
    feature, _, adversarial = dis(x, c)
    plain = dis.discriminate(feature)
    embedded = c @ dis.embed.W.array.T
    expected = plain.array + np.einsum('bc,bchw->bhw', embedded, feature.array)[:, None]
    assert np.allclose(adversarial.array, expected, atol=1e-5)
    with pytest.raises(ValueError, match='labels'):
        dis(x)

    # The projection term's gradients, to the feature map and to the embedding, numerically.
    from chainer import gradient_check
    c64 = c.astype(np.float64)

    def projection(h, embed_w):
        embedded = F.matmul(c64, embed_w, transb=True)[:, :, None, None]
        return F.sum(F.broadcast_to(embedded, h.shape) * h, axis=1, keepdims=True)

    h = rng.standard_normal((2, 5, 4, 4))
    w = rng.standard_normal((5, schema.input_size))
    gradient_check.check_backward(projection, (h, w), rng.standard_normal((2, 1, 4, 4)),
                                  eps=1e-4, atol=1e-6, rtol=1e-6, dtype=np.float64)


def test_projection_critic_trains_with_the_updater():
    import dataclasses
    preset = dataclasses.replace(PRESETS['tiny'], dis_conditioning='projection')
    model = ModelConfig(preset, preset.spectrogram_config(), SMALL)
    dis = model.build_discriminator()
    assert dis.conditional and dis.embed.W.shape == (dis.discriminate.W.shape[1],
                                                     SMALL.input_size)
    updater, reporter = make_updater()
    optimizer = chainer.optimizers.RMSprop(lr=1e-5)
    optimizer.setup(dis)
    updater._optimizers['dis'] = optimizer
    reporter.add_observer('dis', dis)
    before = snapshot(dis)
    values = update(updater, reporter)
    assert all(np.isfinite(v) for v in values.values())
    assert '/embed/W' in changed(before, dis)
