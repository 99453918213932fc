"""How much G's output depends on the label, in eval mode (running statistics, as conversion
runs it) and in train mode (batch statistics, as training runs it) with a batch whose
samples share one target label and with a batch of mixed targets.

    python results/ablation/label_sensitivity.py RUN [RUN ...]

Twenty 64-frame windows of the demo corpus (every 60th utterance), each converted to both
speakers; mean |G(x, small_fish) - G(x, big_fish)| next to mean |G(x, c) - x|.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import chainer_vc  # noqa: E402,F401
import chainer  # noqa: E402
import numpy as np  # noqa: E402
from chainer_vc.corpus import read_manifest  # noqa: E402
from chainer_vc.corpus.manifest import Corpus  # noqa: E402
from chainer_vc.dataset import SpectrogramDataset  # noqa: E402
from chainer_vc.run_directory import load_generator  # noqa: E402

MANIFEST = 'data/fillets/manifest.csv'
SPEAKERS = ('small_fish', 'big_fish')


def outputs(gen, x, labels, train):
    with chainer.using_config('train', train), chainer.no_backprop_mode():
        return gen(x, labels).array


def measure(run):
    gen, config = load_generator(run)
    corpus = read_manifest(MANIFEST)
    picked = Corpus(corpus.utterances[::60][:20], corpus.group_names)
    data = SpectrogramDataset.from_corpus(picked, config.labels, config.features, seed=0)
    x = np.stack([data[i][0] for i in range(len(data))])
    one = {s: np.repeat(config.labels.generator_input(config.labels.codes({'speaker': s})[None]),
                        len(x), 0) for s in SPEAKERS}
    mixed = np.where((np.arange(len(x)) % 2 == 0)[:, None], one[SPEAKERS[0]], one[SPEAKERS[1]])
    swapped = np.where((np.arange(len(x)) % 2 == 1)[:, None], one[SPEAKERS[0]], one[SPEAKERS[1]])
    row = {'mean x': float(x.mean())}
    for mode, train in (('eval', False), ('train', True)):
        a, b = (outputs(gen, x, one[s], train) for s in SPEAKERS)
        row[f'{mode}: |G(x,a)-G(x,b)|, one label per batch'] = float(np.abs(a - b).mean())
        row[f'{mode}: |G(x,c)-x|'] = float(np.abs(a - x).mean())
    m, w = outputs(gen, x, mixed, True), outputs(gen, x, swapped, True)
    row['train: |G(x,a)-G(x,b)|, mixed labels'] = float(np.abs(m - w).mean())
    return row


if __name__ == '__main__':
    rows = {Path(run).name: measure(run) for run in sys.argv[1:]}
    keys = list(next(iter(rows.values())))
    print('| run | ' + ' | '.join(keys) + ' |')
    print('|---' * (len(keys) + 1) + '|')
    for name, row in rows.items():
        print(f'| {name} | ' + ' | '.join(f'{row[k]:.4f}' for k in keys) + ' |')
