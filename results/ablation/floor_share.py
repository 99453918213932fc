"""How much of a training window the magnitude floor erases: the share of the model's bins
at the floor (value 0), overall and above 1.5 kHz, and the mean value, for several floors,
over one training segment of each of N utterances per speaker (the dataset's own segments).

    python results/ablation/floor_share.py data/fillets/manifest.csv [N]
"""
import dataclasses
import sys

import numpy as np

from chainer_vc import features
from chainer_vc.corpus.manifest import Corpus, read_manifest
from chainer_vc.dataset import SpectrogramDataset

FLOORS = (1e-3, 1e-4, 1e-5)  # the seed's floor first


def segments(manifest, per_speaker):
    corpus = read_manifest(manifest)
    speakers = sorted({u.labels['speaker'] for u in corpus.utterances})
    chosen = [u for name in speakers
              for u in [u for u in corpus.utterances if u.labels['speaker'] == name][:per_speaker]]
    subset = Corpus(chosen, corpus.group_names)
    dataset = SpectrogramDataset.from_corpus(subset, subset.schema(), seed=0)
    return dataset.config, [dataset.segment(i) for i in range(len(dataset))]


def main(manifest, per_speaker=50):
    config, signals = segments(manifest, int(per_speaker))
    low, high = config.band_hz
    frequency = np.linspace(low, high, config.bins)
    print(f'{len(signals)} segments of {config.frames} frames\n')
    print('| floor | bins at the floor | bins above 1.5 kHz at the floor | mean value |')
    print('|---|---|---|---|')
    for floor in FLOORS:
        floored = dataclasses.replace(config, magnitude_floor=floor)
        units = np.stack([features.analyze(s, config.sample_rate, floored) for s in signals])
        zero = units == 0
        print(f'| {floor:g} | {100 * zero.mean():.0f} % | '
              f'{100 * zero[..., frequency > 1500].mean():.0f} % | {units.mean():.3f} |')


if __name__ == '__main__':
    main(*sys.argv[1:])
