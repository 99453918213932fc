"""The seed's StarGAN training step (9ada9179, kept by cfcefd21) as a Chainer updater."""
from __future__ import annotations

import dataclasses
import math
from typing import Mapping, Optional

import chainer
import chainer.functions as F
import numpy as np
from chainer import training

from chainer_vc.features.dynamics import dynamics_distance
from chainer_vc.common.labels import LabelSchema, drop_groups


@dataclasses.dataclass(frozen=True)
class TrainingConfig:
    """The seed's training numbers (SPEC.md, "Training")."""
    n_dis: int = 5
    lambda_gp: float = 10.0
    lambda_cls: float = 1.0
    lambda_rec: float = 10.0
    lambda_fm: float = 10.0
    # 47c97768's identity-mapping loss (10 x MSE(G(x, c_real), x)); 9ada9179 removed it.
    lambda_id: float = 0.0
    # fbf548f6's label-group dropout on the target labels (0.5 there); off in the seed.
    label_dropout: float = 0.0
    lr: float = 1e-5
    lr_decay: float = 10 ** -0.5
    lr_decay_epochs: int = 100
    # Options, off by default (the seed: RMSprop at `lr` for both networks, identity loss
    # for all of training when it is on at all).
    optimizer: str = 'rmsprop'
    lr_gen: Optional[float] = None
    lr_dis: Optional[float] = None
    beta1: float = 0.9
    beta2: float = 0.999
    id_until: int = 0
    # The distance of the cycle and identity losses: 'mse' (the seed's cycle loss) or 'l1'
    # (StarGAN-VC's; at errors of 0.1 it weighs the same error 10x more than 'mse' does).
    content_loss: str = 'mse'
    # D's classifier also learns that a conversion is its source's speech (weight of that
    # cross-entropy; 0, the seed: it learns from real speech only, and G fools it with cues
    # of the target alone).
    lambda_cls_fake: float = 0.0
    # Conversion uses the exponential moving average of G's weights with this decay per
    # iteration (1: their mean), from iteration gen_average_from on (0, the seed: G's last
    # weights); see chainer_vc.training.averaging.
    gen_average: float = 0.0
    gen_average_from: int = 1
    # The conversion keeps how its source's band levels move in time (weight of
    # dynamics_distance(G(x, c), x); 0, the seed: only the cycle, through the target speaker,
    # asks G to keep what was said).
    lambda_dynamics: float = 0.0

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def learning_rate(self, network: str) -> float:
        """The starting learning rate of 'gen' or 'dis'."""
        own = self.lr_gen if network == 'gen' else self.lr_dis
        return self.lr if own is None else own

    def identity_loss_on(self, iteration: int) -> bool:
        return self.lambda_id > 0 and (self.id_until <= 0 or iteration < self.id_until)

    def content_distance(self, x, y):
        """The cycle and identity losses' distance between G's output x and its input y."""
        return CONTENT_LOSSES[self.content_loss](x, y)


CONTENT_LOSSES = {'mse': F.mean_squared_error, 'l1': F.mean_absolute_error}


# Checks made on the host after every update (the default): whether the loss is finite, and
# the classification accuracy. On a GPU each is a synchronisation that idles the device while
# Python queues the next update; ``with chainer.using_config('vc_eager_checks', False)`` makes
# one per iteration (a non-finite loss still stops training in the iteration it appears,
# naming the term) and keeps the accuracy on the device. Benchmarks measure both.
chainer.global_config.vc_eager_checks = True


def eager_checks() -> bool:
    return bool(getattr(chainer.config, 'vc_eager_checks', True))


class NonFiniteLossError(RuntimeError):
    """A loss term became NaN or infinite."""


def wasserstein_distance(adv_real, adv_fake):
    """The critic's estimate mean(D(real)) - mean(D(fake)); the D loss is its negative."""
    return F.mean(adv_real) - F.mean(adv_fake)


def gradient_penalty(discriminator, x_mid, labels=None):
    """mean over the batch of (||dD_adv(x_mid)/dx_mid||_2 - 1)^2, with double backprop
    (``labels``: what a projection critic judges x_mid as)."""
    x_mid = chainer.Variable(x_mid)
    _, _, adv = judge(discriminator, x_mid, labels)
    grad, = chainer.grad([F.sum(adv)], [x_mid], enable_double_backprop=True)
    # The 1e-12 keeps the square root differentiable where a gradient is exactly zero.
    norm = F.sqrt(F.sum(F.square(grad), axis=(1, 2, 3)) + 1e-12)
    return F.mean(F.square(norm - 1.0))


def judge(discriminator, x, labels):
    """D(x), with the labels x is judged as where the critic is a projection critic."""
    if getattr(discriminator, 'conditional', False):
        return discriminator(x, labels)
    return discriminator(x)


def classification_loss(logits, target):
    """Sigmoid cross-entropy over labelled groups (-1 entries are ignored)."""
    return F.sigmoid_cross_entropy(logits, target)


def classification_accuracy(logits, target, schema: LabelSchema) -> Optional[float]:
    """Fraction of (sample, labelled group) pairs whose highest logit is the true class."""
    logits, target = chainer.backend.CpuDevice().send((_array(logits), _array(target)))
    hits, count = _hits_and_count(logits, target, schema)
    return int(hits) / int(count) if count else None


def _hits_and_count(logits, target, schema: LabelSchema) -> tuple:
    """(right, labelled) (sample, group) pairs, as 0-d arrays where the inputs lie."""
    xp = chainer.backend.get_array_module(logits)
    hits, count = xp.zeros((), dtype=np.int64), xp.zeros((), dtype=np.int64)
    for group, offset in zip(schema.groups, schema.offsets):
        block = slice(offset, offset + len(group.classes))
        labelled = target[:, offset] != -1
        right = xp.argmax(logits[:, block], axis=1) == xp.argmax(target[:, block], axis=1)
        hits = hits + xp.sum(right & labelled)
        count = count + xp.sum(labelled)
    return hits, count


def deferred_accuracy(logits, target, schema: LabelSchema) -> tuple:
    """:func:`classification_accuracy` without a copy to the host: (accuracy, weight) as 0-d
    arrays where the inputs lie, weight 0 where nothing is labelled. Reported as a pair, Chainer's
    summaries average the accuracy over the updates that have labels, as the eager one does."""
    hits, count = _hits_and_count(_array(logits), _array(target), schema)
    xp = chainer.backend.get_array_module(hits)
    return hits / xp.maximum(count, 1), (count > 0).astype(np.float64)


def _array(x):
    return x.array if isinstance(x, chainer.Variable) else x


class StarGANUpdater(training.StandardUpdater):
    """One iteration = ``n_dis`` (5) discriminator updates, then 1 generator update.

    Each D update draws a real batch (x_real with its labels) from the ``main`` iterator,
    a second real batch x_orig from the ``orig`` iterator, and target labels c_fake from the
    corpus's real label combinations. The G update uses the last D update's batches.
    """

    def __init__(self, iterators: Mapping, optimizers: Mapping, schema: LabelSchema,
                 label_combinations: np.ndarray, config: TrainingConfig = TrainingConfig(),
                 device=None, seed: Optional[int] = None):
        super().__init__(iterators, optimizers,
                         device=device if device is not None else '@numpy')
        self.schema = schema
        self.config = config
        self.label_combinations = np.asarray(label_combinations, dtype=np.int32)
        self._rng = np.random.default_rng(seed)
        self._unchecked = []

    @property
    def gen(self):
        return self.get_optimizer('gen').target

    @property
    def dis(self):
        return self.get_optimizer('dis').target

    def update_core(self):
        for step in range(self.config.n_dis):
            batch = self._next_batches()
            # Only the last D update's fake goes on to the G update, so only it keeps a graph.
            with chainer.using_config('enable_backprop', step == self.config.n_dis - 1):
                fake = self.gen(batch['x_real'], batch['c_fake'])
            self.update_discriminator(batch, fake.array)
        self.update_generator(batch, fake)
        self._check_deferred()
        if self.get_iterator('main').is_new_epoch:
            for optimizer in self.get_all_optimizers().values():
                optimizer.new_epoch(auto=True)

    def _next_batches(self) -> dict:
        x_real, c_real, t_real = self.converter(
            self.get_iterator('main').next(), self.input_device)
        x_orig, _, _ = self.converter(self.get_iterator('orig').next(), self.input_device)
        c_fake, t_fake = self._sample_targets(len(x_real), x_real.dtype)
        return {'x_real': x_real, 'c_real': c_real.astype(x_real.dtype, copy=False),
                't_real': t_real, 'x_orig': x_orig, 'c_fake': c_fake, 't_fake': t_fake}

    def _sample_targets(self, n: int, dtype=np.float32):
        """Target labels drawn from the corpus's real label combinations."""
        rows = self._rng.integers(0, len(self.label_combinations), size=n)
        codes = self.label_combinations[rows]
        if self.config.label_dropout > 0:
            codes = drop_groups(codes, self._rng, self.config.label_dropout)
        c_fake = self.schema.generator_input(codes).astype(dtype, copy=False)
        t_fake = self.schema.classification_target(codes)
        return self.input_device.send((c_fake, t_fake))

    def update_discriminator(self, batch: dict, fake):
        """WGAN critic loss + lambda_gp x gradient penalty + classification of x_real (and,
        with ``lambda_cls_fake``, of the fake as its source's labels)."""
        dis, config, xp = self.dis, self.config, self.dis.xp
        _, cls_real, adv_real = judge(dis, batch['x_real'], batch['c_real'])
        _, cls_fake, adv_fake = judge(dis, fake, batch['c_fake'])
        wasserstein = wasserstein_distance(adv_real, adv_fake)
        epsilon = self.interpolation_weights(len(fake), fake.dtype, xp)
        # A projection critic judges the blend as the fake's target.
        penalty = gradient_penalty(dis, epsilon * fake + (1 - epsilon) * batch['x_orig'],
                                   batch['c_fake'])
        loss_cls = classification_loss(cls_real, batch['t_real'])
        terms = {'dis/wasserstein': (wasserstein, -1.0), 'dis/loss_gp': (penalty, config.lambda_gp),
                 'dis/loss_cls': (loss_cls, config.lambda_cls)}
        if config.lambda_cls_fake > 0:
            terms['dis/loss_cls_fake'] = (classification_loss(cls_fake, batch['t_real']),
                                          config.lambda_cls_fake)
        loss = self._weighted_sum(terms)
        dis.cleargrads()
        loss.backward()
        self.get_optimizer('dis').update()
        chainer.report({'loss': loss}, dis)
        chainer.report({name.split('/', 1)[1]: term for name, (term, _) in terms.items()}, dis)
        self._report_accuracy(cls_real, batch['t_real'], dis)

    def interpolation_weights(self, n: int, dtype, xp):
        """The gradient penalty's x_mid = eps x_fake + (1 - eps) x_orig: eps ~ U(0, 1) per
        sample, from the device's global generator (tests replace it to compare devices)."""
        return xp.random.uniform(0, 1, (n, 1, 1, 1)).astype(dtype)

    def update_generator(self, batch: dict, fake):
        """Adversarial + classification of the fake + cycle reconstruction + feature matching
        (and, with their options, identity and dynamics terms)."""
        gen, dis, config = self.gen, self.dis, self.config
        feature_fake, cls_fake, adv_fake = judge(dis, fake, batch['c_fake'])
        with chainer.no_backprop_mode():
            feature_orig = dis.features(batch['x_orig'])
        terms = {
            'gen/loss_adv': (-F.mean(adv_fake), 1.0),
            'gen/loss_cls': (classification_loss(cls_fake, batch['t_fake']), config.lambda_cls),
            'gen/loss_rec': (config.content_distance(gen(fake, batch['c_real']), batch['x_real']),
                             config.lambda_rec),
            'gen/loss_fm': (F.mean_squared_error(feature_fake, feature_orig.array),
                            config.lambda_fm),
        }
        if config.identity_loss_on(self.iteration):
            terms['gen/loss_id'] = (config.content_distance(
                gen(batch['x_real'], batch['c_real']), batch['x_real']), config.lambda_id)
        if config.lambda_dynamics > 0:
            terms['gen/loss_dyn'] = (dynamics_distance(fake, batch['x_real']),
                                     config.lambda_dynamics)
        loss = self._weighted_sum(terms)
        gen.cleargrads()
        loss.backward()
        self.get_optimizer('gen').update()
        chainer.report({'loss': loss}, gen)
        chainer.report({name.split('/', 1)[1]: term for name, (term, _) in terms.items()}, gen)
        self._report_accuracy(cls_fake, batch['t_fake'], gen)

    def _report_accuracy(self, logits, target, observer):
        if not eager_checks():
            chainer.report({'acc': deferred_accuracy(logits, target, self.schema)}, observer)
            return
        accuracy = classification_accuracy(logits, target, self.schema)
        if accuracy is not None:
            chainer.report({'acc': accuracy}, observer)

    def _weighted_sum(self, terms: Mapping):
        """sum(weight x term) over ``{name: (term, weight)}``; stops on a non-finite total,
        naming the terms that made it so (at the end of the iteration without eager checks)."""
        loss = sum(weight * term for term, weight in terms.values())
        # Arrays, not Variables: a Variable would keep its update's graph alive.
        values = ({name: (term.array, weight) for name, (term, weight) in terms.items()},
                  loss.array)
        if eager_checks():
            self._check_finite(*values)
        else:
            self._unchecked.append(values)
        return loss

    def _check_deferred(self):
        """One host synchronisation for all the losses of the iteration."""
        unchecked, self._unchecked = self._unchecked, []
        if not unchecked:
            return
        xp = chainer.backend.get_array_module(unchecked[0][1])
        if bool(xp.isfinite(xp.stack([loss for _, loss in unchecked])).all()):
            return
        for terms, loss in unchecked:
            self._check_finite(terms, loss)

    def _check_finite(self, terms: Mapping, loss):
        """Raises NonFiniteLossError naming the terms, given ``{name: (array, weight)}``."""
        if math.isfinite(float(loss)):
            return
        bad = [name for name, (term, weight) in terms.items()
               if not math.isfinite(weight * float(term))]
        raise NonFiniteLossError(
            f'{", ".join(bad) or "the total loss"} became non-finite at iteration '
            f'{self.iteration + 1}; training stopped, the last snapshot is kept')
