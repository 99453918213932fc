"""Which loss term drives the Generator: the norm of each weighted term's gradient with
respect to G's parameters, lambda x |d term / d theta_G|, at a run's saved weights, on
training batches drawn as the updater draws them. The terms are the updater's own
(`StarGANUpdater.update_generator`), caught before they are summed.

    python results/ablation/gradient_balance.py RUN ITERATION MANIFEST [BATCHES]
"""
import sys

import chainer_vc  # noqa: F401  (patches chainer for numpy 2; must come first)
import chainer
import numpy as np

from chainer_vc.corpus.manifest import read_manifest
from chainer_vc.dataset import SpectrogramDataset
from chainer_vc.run_directory import ModelConfig, find_weights, load_weights
from chainer_vc.split import training_split
from chainer_vc.updater import StarGANUpdater, TrainingConfig


class Caught(Exception):
    def __init__(self, terms):
        self.terms = terms


def catch_terms(terms):
    raise Caught(dict(terms))


def build(run, iteration, manifest):
    config = ModelConfig.load(run)
    optimizers = {}
    for name, link in (('gen', config.build_generator()), ('dis', config.build_discriminator())):
        load_weights(find_weights(run, iteration, name), link, config.features)
        optimizers[name] = chainer.optimizers.SGD()  # never stepped: the update is stopped
        optimizers[name].setup(link)
    corpus = training_split(read_manifest(manifest, config.labels), run, save=False)
    dataset = SpectrogramDataset.from_corpus(corpus, config.labels, config.features, seed=0)
    iterators = {key: chainer.iterators.SerialIterator(dataset, config.preset.batchsize, shuffle=True)
                 for key in ('main', 'orig')}
    training = TrainingConfig(**config.training)
    updater = StarGANUpdater(iterators, optimizers, config.labels, dataset.label_combinations(),
                             training, seed=0)
    updater.iteration = int(iteration)
    updater._weighted_sum = catch_terms
    return updater


def term_gradient_norms(updater) -> dict:
    batch = updater._next_batches()
    fake = updater.gen(batch['x_real'], batch['c_fake'])
    try:
        updater.update_generator(batch, fake)
    except Caught as caught:
        terms = caught.terms
    params = list(updater.gen.params())
    norms = {}
    for name, (term, weight) in terms.items():
        grads = chainer.grad([term], params)
        norms[name] = weight, weight * np.sqrt(sum(float(np.sum(g.array ** 2))
                                                   for g in grads if g is not None))
    return norms


def main(run, iteration, manifest, batches=8):
    np.random.seed(0)
    updater = build(run, iteration, manifest)
    rows = [term_gradient_norms(updater) for _ in range(int(batches))]
    print(f'{run} at iteration {iteration}, {batches} batches: weight x |gradient| on G')
    print('| term | weight | mean | share of the sum |\n|---|---|---|---|')
    means = {name: np.mean([row[name][1] for row in rows]) for name in rows[0]}
    total = sum(means.values())
    for name, value in means.items():
        print(f'| {name} | {rows[0][name][0]:g} | {value:.4g} | {100 * value / total:.1f} % |')


if __name__ == '__main__':
    main(*sys.argv[1:])
