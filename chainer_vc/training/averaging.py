"""G's weights averaged over the iterations of training (an option; the seed converts with
G's last weights).

A GAN's generator moves from one iteration to the next as its critic moves, so the weights of
any one iteration convert a little better or worse than their neighbours'. The exponential
moving average of the weights, the generator that StyleGAN and BigGAN evaluate, keeps what
the last iterations share. Here it is bias-corrected as Adam's moments are: after t updates
the average weighs the weights of the iteration k ago by decay^k, normalised, so it is G's own
weights after the first update and never mixes in the initial ones. A decay of 1 weighs every
iteration alike: the running mean of stochastic weight averaging (SWA). Averaging may start
at a later iteration (``start``), past the first ones whose G has not learnt to convert yet;
until then the average is G itself.
"""
from __future__ import annotations

import chainer
from chainer import training


class GeneratorAverage(training.Extension):
    """Keeps ``average``, a Link of G's architecture holding the decay-weighted mean of G's
    weights over the iterations so far; G's persistent values (batch statistics) are copied.

    Runs every iteration, before the extensions that save or use the average; a trainer
    snapshot stores the average and its count, so a resumed run goes on with the same one.
    """
    trigger = 1, 'iteration'
    priority = training.extension.PRIORITY_WRITER
    name = 'generator_average'

    def __init__(self, generator: chainer.Link, average: chainer.Link, decay: float,
                 start: int = 1):
        if not 0 < decay <= 1:
            raise ValueError(f'decay {decay}: must be in (0, 1]')
        self.generator, self.average, self.decay, self.start = generator, average, decay, start
        self.updates = 0

    def __call__(self, trainer=None):
        iteration = trainer.updater.iteration if trainer is not None else self.start
        self.updates = self.updates + 1 if iteration >= self.start else 0
        weight = self.step_weight(self.updates)
        trained = dict(self.generator.namedparams())
        for name, param in self.average.namedparams():
            if weight == 1.0:
                # A copy: a + (g - a) is g only up to rounding.
                param.array[...] = trained[name].array
            else:
                param.array += weight * (trained[name].array - param.array)
        # Batch statistics are averages already: the average takes G's own.
        trained_links = dict(self.generator.namedlinks())
        for name, link in self.average.namedlinks():
            for attribute in link._persistent:
                value = trained_links[name].__dict__[attribute]
                link.__dict__[attribute] = value.copy() if hasattr(value, 'copy') else value

    def step_weight(self, updates: int) -> float:
        """How far the average moves to G's weights at its ``updates``-th update (0: before
        ``start``, where it is G). Bias-corrected: after t updates the weights of k
        iterations ago weigh decay^k (1 - decay) / (1 - decay^t), which sum to 1; with a
        decay of 1, 1 / t each."""
        if updates == 0:
            return 1.0
        if self.decay == 1:
            return 1.0 / updates
        return (1 - self.decay) / (1 - self.decay ** updates)

    def serialize(self, serializer):
        self.updates = serializer('updates', self.updates)
        self.average.serialize(serializer['average'])
