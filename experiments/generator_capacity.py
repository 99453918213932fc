"""Can G carry what was said, and who said it? G alone trained as an autoencoder on the world
kind's windows (G(x, c_source) -> x, mean squared error, no D), then a judge on the identity
conversion of held-out utterances, for several widths and with U-Net skips.

    python experiments/generator_capacity.py --model results/voices \
        --manifest data/voices/manifest.csv --speaker allison --utterances 12 \
        --iterations 1000 --variants tiny small tiny+skips small+skips --out runs/capacity.json
    python experiments/generator_capacity.py --model results/world \
        --manifest data/fillets/manifest.csv --judge speaker \
        --iterations 1000 --variants tiny 8-16-32-64 small --out runs/capacity_speaker.json

A variant is a preset's G (``tiny``, ``small``) or G's four widths (``8-16-32-64``), with
``+skips`` for U-Net skips; ``trained`` is the model directory's own G as it was trained
(its newest weights), judged without training it further. The other variants use the model
directory's feature config (fitted statistics) and held-out split only. Prints and writes,
per variant: seconds per iteration, and with ``--judge words`` the held-out reconstruction
error in standard deviations of the envelope and the word agreement of the identity
conversion's transcript with the source's, next to the vocoder path's; with ``--judge
speaker`` the speaker judge (evaluate.py's centroids and threshold) on the identity
conversion of the held-out probes (16 per speaker): own speaker identified, margin to the
nearest other speaker, verified, next to the same for the probes through the vocoder path.
"""
import argparse
import json
import time
from pathlib import Path

import chainer_vc  # noqa: F401  (patches chainer for numpy 2; must come first)
import chainer
import chainer.functions as F
import numpy as np

from chainer_vc.judging import evaluation, selection
from chainer_vc.features import kinds
from chainer_vc.conversion.converter import Converter
from chainer_vc.networks.models import Generator
from chainer_vc.networks.presets import PRESETS
from chainer_vc.networks.run_directory import ModelConfig
# Run as a script from experiments/, whose folder is then on the import path.
from identity_content import held_out_of, identity_words, references


# The variant that is the model directory's own trained G (its newest weights), not trained here.
TRAINED = 'trained'


def build(variant: str, config: ModelConfig) -> Generator:
    widths, *flags = variant.split('+')
    channels = (PRESETS[widths].gen_channels if widths in PRESETS
                else tuple(int(c) for c in widths.split('-')))
    return Generator(config.labels.input_size, channels, config.preset.n_res_blocks,
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
    own = converter.target_codes(selection.speaker_labels(corpus.utterances, speaker))
    errors = []
    for source, _, _ in found:
        unit = converter.kind.encode(source).unit
        rebuilt = np.asarray(converter.generate(unit, own))
        errors.append(float(np.sqrt(np.mean((rebuilt - unit) ** 2))) * 2 * spread)
    return {'identity_word_agreement': float(np.mean(identity_words(converter, found, corpus,
                                                                    speaker))),
            'vocoder_word_agreement': float(np.mean([vocoder for _, _, vocoder in found])),
            'reconstruction_rms_sd': float(np.mean(errors))}


class SpeakerCapacity:
    """The speaker judge of evaluate.py, built once, on the identity conversion of its probes."""

    def __init__(self, model: Path, manifest: Path, config: ModelConfig):
        limits = selection.Limits(sensitivity_sources=0, examples=0)
        self.corpus, self.selection, self.recordings, self.judges = evaluation.prepare(
            Converter(None, config), model, manifest, limits)
        self.speakers = [u.labels['speaker'] for u in self.selection.probes]

    def scores(self, embeddings) -> dict:
        """Own speaker identified, mean margin to the nearest other centroid, verified."""
        judge = self.judges.speaker
        similarity = judge.similarities(embeddings)
        own_column = np.array([judge.speakers.index(s) for s in self.speakers])
        rows = np.arange(len(similarity))
        own = similarity[rows, own_column]
        others = similarity.copy()
        others[rows, own_column] = -np.inf
        nearest_other = others.max(axis=1)
        return {'own_identified': float(np.mean(own > nearest_other)),
                'own_margin': float(np.mean(own - nearest_other)),
                'verified': float(np.mean(own >= judge.threshold)), 'probes': len(own)}

    def judge(self, converter) -> dict:
        outputs = []
        for probe, speaker in zip(self.selection.probes, self.speakers):
            own = converter.target_codes(selection.speaker_labels(self.corpus.utterances,
                                                                   speaker))
            outputs.append(converter.convert_codes(self.recordings[probe.path], own))
        return {'identity': self.scores(self.judges.encoder.embed_utterances(outputs)),
                'vocoder': self.scores(self.judges.probes_vocoded)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--model', type=Path, required=True)
    parser.add_argument('--manifest', type=Path, required=True)
    parser.add_argument('--speaker', default='allison')
    parser.add_argument('--utterances', type=int, default=12)
    parser.add_argument('--iterations', type=int, default=1000)
    parser.add_argument('--variants', nargs='+', default=['tiny', 'small', 'tiny+skips'])
    parser.add_argument('--judge', choices=('words', 'speaker'), default='words')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', type=Path)
    args = parser.parse_args(argv)
    config = ModelConfig.load(args.model)
    corpus, train, chosen = held_out_of(args.model, args.manifest, config.labels,
                                        args.speaker, args.utterances)
    # The training windows, read only when some variant is trained here.
    dataset = None
    if any(variant != TRAINED for variant in args.variants):
        kind = kinds.build(config.features, config.labels)
        dataset = kind.dataset([u.path for u in train.utterances], train.codes(config.labels),
                               config.labels, seed=args.seed)
    if args.judge == 'words':
        # The sources' own transcripts and the vocoder path's, once for every variant.
        found = references(Converter(None, config), chosen)
    else:
        speaker_capacity = SpeakerCapacity(args.model, args.manifest, config)
    results = {}
    for variant in args.variants:
        np.random.seed(args.seed)
        if variant == TRAINED:
            converter, seconds, iterations = Converter.from_run_directory(args.model), None, None
        else:
            gen = build(variant, config)
            seconds = train_autoencoder(gen, dataset, args.iterations,
                                        config.preset.batchsize, args.seed)
            converter, iterations = Converter(gen, config, variant), args.iterations
        judged = (judge_identity(converter, found, corpus, args.speaker, config.features.spread)
                  if args.judge == 'words' else speaker_capacity.judge(converter))
        results[variant] = dict(seconds_per_iteration=seconds, iterations=iterations, **judged)
        print(variant, json.dumps(results[variant]), flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({'command': vars(args) | {
            'model': str(args.model), 'manifest': str(args.manifest),
            'out': str(args.out)}, 'speaker': args.speaker, 'utterances': len(chosen),
            'results': results}, indent=2) + '\n')


if __name__ == '__main__':
    main()
