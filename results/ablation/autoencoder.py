"""Can the Generator carry content at all? G of a run's configuration, freshly initialised
and trained alone on the identity loss, MSE(G(x, c_own), x) (no D, no adversarial or
classification term), with the ablation's Adam (2e-4, beta1 0.5) and batch.

    python results/ablation/autoencoder.py RUN MANIFEST [ITERATIONS]

Every 50 iterations it prints the MSE on 40 fixed held-out windows (the run's heldout.csv;
eval mode, as conversion runs G) next to what trivial outputs score on the same windows:
all zeros, the windows' mean spectrum, each window's own mean spectrum over time, and a
3 x 3 blur of the window. A GAN run whose cycle or identity MSE sits above the mean
spectrum's has not learned to carry its input's content.
"""
import sys

import chainer_vc  # noqa: F401  (patches chainer for numpy 2; must come first)
import chainer
import chainer.functions as F
import numpy as np
from scipy.ndimage import uniform_filter

from chainer_vc.corpus.manifest import read_manifest
from chainer_vc.dataset import SpectrogramDataset
from chainer_vc.run_directory import ModelConfig
from chainer_vc.split import load_heldout, split_corpus

HELDOUT_WINDOWS = 40
REPORT_EVERY = 50


def baselines(x: np.ndarray) -> dict:
    """MSE of trivial outputs on windows x (n, 1, frames, bins)."""
    return {
        'zeros': float(np.mean(x ** 2)),
        'mean spectrum': float(np.mean((x - x.mean(axis=(0, 2), keepdims=True)) ** 2)),
        "window's own mean spectrum": float(np.mean((x - x.mean(axis=2, keepdims=True)) ** 2)),
        '3 x 3 blur': float(np.mean((x - uniform_filter(x, size=(1, 1, 3, 3))) ** 2)),
    }


def fixed_windows(dataset: SpectrogramDataset, count: int):
    items = [dataset[i] for i in np.linspace(0, len(dataset) - 1, count).astype(int)]
    return tuple(np.stack(column) for column in zip(*items))


def heldout_mse(gen, x, c) -> float:
    with chainer.using_config('train', False), chainer.no_backprop_mode():
        return float(F.mean_squared_error(gen(x, c), x).array)


def main(run, manifest, iterations=1000):
    config = ModelConfig.load(run)
    train, heldout = split_corpus(read_manifest(manifest, config.labels), load_heldout(run))
    make = lambda corpus: SpectrogramDataset.from_corpus(  # noqa: E731
        corpus, config.labels, config.features, seed=0)
    x_test, c_test, _ = fixed_windows(make(heldout), HELDOUT_WINDOWS)
    print(f'{run}: {config.preset.name}, conditioning {config.preset.gen_conditioning}, '
          f'norm {config.preset.gen_norm}; {HELDOUT_WINDOWS} held-out windows')
    for name, value in baselines(x_test).items():
        print(f'  baseline, {name}: {value:.4f}')

    np.random.seed(0)
    gen = config.build_generator()
    optimizer = chainer.optimizers.Adam(alpha=2e-4, beta1=0.5)
    optimizer.setup(gen)
    iterator = chainer.iterators.SerialIterator(make(train), config.preset.batchsize)
    print('| iteration | training MSE (mean of the last 50) | held-out MSE |\n|---|---|---|')
    losses = []
    for iteration in range(1, int(iterations) + 1):
        x, c, _ = chainer.dataset.concat_examples(iterator.next())
        loss = F.mean_squared_error(gen(x, c), x)
        gen.cleargrads()
        loss.backward()
        optimizer.update()
        losses.append(float(loss.array))
        if iteration % REPORT_EVERY == 0:
            print(f'| {iteration} | {np.mean(losses[-REPORT_EVERY:]):.4f} | '
                  f'{heldout_mse(gen, x_test, c_test):.4f} |', flush=True)


if __name__ == '__main__':
    main(*sys.argv[1:])
