"""Can G carry what was said? G alone trained as an autoencoder on the world kind's windows
(G(x, c_source) -> x, mean squared error, no D), then the content judge on the identity
conversion of one speaker's held-out utterances, for several widths and with U-Net skips.

    python experiments/generator_capacity.py --model results/voices \
        --manifest data/voices/manifest.csv --speaker allison --utterances 12 \
        --iterations 1000 --variants tiny small tiny+skips small+skips --out runs/capacity.json

Uses the model directory's feature config (fitted statistics) and held-out split only; its
weights are not read. Prints and writes, per variant: seconds per iteration, the held-out
reconstruction error in standard deviations of the envelope, and the word agreement of the
identity conversion's transcript with the source's, next to the vocoder path's.
"""
import argparse
import json
import time
from pathlib import Path

import chainer_vc  # noqa: F401  (patches chainer for numpy 2; must come first)
import chainer
import chainer.functions as F
import numpy as np

from chainer_vc import evaluation, feature_kinds
from chainer_vc.conversion import Converter
from chainer_vc.models import Generator
from chainer_vc.presets import PRESETS
from chainer_vc.run_directory import ModelConfig
# Run as a script from experiments/, whose folder is then on the import path.
from identity_content import held_out_of, identity_words, references


def build(variant: str, config: ModelConfig) -> Generator:
    preset_name, *flags = variant.split('+')
    preset = PRESETS[preset_name]
    return Generator(config.labels.input_size, preset.gen_channels, preset.n_res_blocks,
                     config.preset.gen_conditioning, config.preset.gen_norm,
                     skips='skips' in flags)


def train_autoencoder(gen, dataset, iterations: int, batchsize: int, seed: int) -> float:
    """Adam 2e-4, beta1 0.5 (the world recipe's G optimiser); seconds per iteration."""
    optimizer = chainer.optimizers.Adam(2e-4, beta1=0.5)
    optimizer.setup(gen)
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    for _ in range(iterations):
        examples = [dataset[int(i)] for i in rng.integers(0, len(dataset), batchsize)]
        x = np.stack([e[0] for e in examples])
        c = np.stack([e[1] for e in examples])
        loss = F.mean_squared_error(gen(x, c), x)
        gen.cleargrads()
        loss.backward()
        optimizer.update()
    return (time.perf_counter() - start) / iterations


def judge_identity(converter, found, corpus, speaker, spread) -> dict:
    """Word agreement of the identity conversion, next to the vocoder path's, and G's
    reconstruction error (RMS, in standard deviations of the envelope)."""
    own = converter.target_codes(evaluation.speaker_labels(corpus.utterances, speaker))
    errors = []
    for source, _, _ in found:
        unit = converter.kind.encode(source).unit
        rebuilt = np.asarray(converter.generate(unit, own))
        errors.append(float(np.sqrt(np.mean((rebuilt - unit) ** 2))) * 2 * spread)
    return {'identity_word_agreement': float(np.mean(identity_words(converter, found, corpus,
                                                                    speaker))),
            'vocoder_word_agreement': float(np.mean([vocoder for _, _, vocoder in found])),
            'reconstruction_rms_sd': float(np.mean(errors))}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--model', type=Path, required=True)
    parser.add_argument('--manifest', type=Path, required=True)
    parser.add_argument('--speaker', default='allison')
    parser.add_argument('--utterances', type=int, default=12)
    parser.add_argument('--iterations', type=int, default=1000)
    parser.add_argument('--variants', nargs='+', default=['tiny', 'small', 'tiny+skips'])
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', type=Path)
    args = parser.parse_args(argv)
    config = ModelConfig.load(args.model)
    corpus, train, chosen = held_out_of(args.model, args.manifest, config.labels,
                                        args.speaker, args.utterances)
    kind = feature_kinds.build(config.features, config.labels)
    dataset = kind.dataset([u.path for u in train.utterances], train.codes(config.labels),
                           config.labels, seed=args.seed)
    # The sources' own transcripts and the vocoder path's, once for every variant.
    found = references(Converter(None, config), chosen)
    results = {}
    for variant in args.variants:
        np.random.seed(args.seed)
        gen = build(variant, config)
        seconds = train_autoencoder(gen, dataset, args.iterations, config.preset.batchsize,
                                    args.seed)
        converter = Converter(gen, config, variant)
        results[variant] = dict(seconds_per_iteration=seconds, iterations=args.iterations,
                                **judge_identity(converter, found, corpus, args.speaker,
                                                 config.features.spread))
        print(variant, json.dumps(results[variant]), flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({'command': vars(args) | {
            'model': str(args.model), 'manifest': str(args.manifest),
            'out': str(args.out)}, 'speaker': args.speaker, 'utterances': len(chosen),
            'results': results}, indent=2) + '\n')


if __name__ == '__main__':
    main()
