"""The signal-processing baseline's choices, measured by one set of judges.

    python experiments/baseline_variants.py --run runs/world --manifest data/fillets/manifest.csv \
        --out results/baseline/variants.md

Each variant converts the same held-out pairs of the run's split; the judges are evaluate.py's
(centroids of real held-out speech through the run's vocoder path). Variants: F0 only; the
warp without and with the mean shift; frame period 16 ms (the model's) or 5 ms (WORLD's
usual); dio or harvest; mel or linear axis for the statistics.
"""
import argparse
import dataclasses
import shlex
import sys
import time
from pathlib import Path

import chainer_vc  # noqa: F401  (patches chainer for numpy 2; must come first)

from chainer_vc.conversion import baseline
from chainer_vc.judging import evaluation, scoring
from chainer_vc.judging.selection import Limits
from chainer_vc.features import world
from chainer_vc.conversion.converter import Converter
from chainer_vc.corpus import Corpus
from chainer_vc.common.files import write_text_atomic
from chainer_vc.networks.run_directory import load_generator


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--run', type=Path, required=True)
    parser.add_argument('--manifest', type=Path, required=True)
    parser.add_argument('--pairs', type=int, default=32)
    parser.add_argument('--out', type=Path, required=True)
    args = parser.parse_args(argv)
    limits = Limits(pairs=args.pairs, sensitivity_sources=0, examples=0)
    generator, config = load_generator(args.run)
    converter = Converter(generator, config, str(args.run))
    corpus, selection, recordings, judges = evaluation.prepare(converter, args.run,
                                                               args.manifest, limits)
    # Statistics of every variant from the same training utterances: judge 2's (up to 32
    # per speaker), so that harvest's analysis stays affordable.
    paths = [u.path for u in selection.classifier_train]
    codes = Corpus(selection.classifier_train, config.labels.names).codes(config.labels)

    def fitted(**settings):
        features = dataclasses.replace(config.features, statistics={}, **settings)
        return dataclasses.replace(
            config, features=world.WorldConfig.from_dict(features.to_dict()))

    def fit(**settings):
        return baseline.fit_model_config(fitted(**settings), paths, codes,
                                         fitted(**settings).features)

    default = fit()
    variants = {
        'F0 only': baseline.BaselineConverter(default, mode='f0'),
        'F0 + warp, no shift': baseline.BaselineConverter(default, shift=False),
        'F0 + warp + shift (the baseline)': baseline.BaselineConverter(default),
        'F0 + warp + shift, 5 ms frames': baseline.BaselineConverter(fit(frame_period=5.0)),
        'F0 + warp + shift, harvest': baseline.BaselineConverter(fit(f0_method='harvest')),
        'F0 + warp + shift, linear axis': baseline.BaselineConverter(fit(axis='linear')),
    }
    lines = ['| variant | target accepted | worse direction | margin | verified | s per '
             'conversion |', '|---|---|---|---|---|---|']
    for name, variant in variants.items():
        started = time.perf_counter()
        result = evaluation.judge_conversions(variant, judges, selection, recordings, limits,
                                              corpus.utterances, content=None)
        seconds = (time.perf_counter() - started) / len(result.report['pairs'])
        row = result.report['rows']['converted']
        line = (f"| {name} | {row['target_accepted']:.0%} | "
                f"{scoring.worse_direction(row):.0%} | {row['similarity_margin']:+.3f} | "
                f"{row['verified']:.0%} | {seconds:.2f} |")
        print(line, flush=True)
        lines.append(line)
    for name in ('source_vocoded', 'target_vocoded'):
        row = result.report['rows'][name]
        lines.append(f"| {evaluation.ROW_TITLES[name]} | {row['target_accepted']:.0%} | "
                     f"{scoring.worse_direction(row):.0%} | "
                     f"{row['similarity_margin']:+.3f} | {row['verified']:.0%} | |")
    command = shlex.join(['python', 'experiments/baseline_variants.py']
                         + list(sys.argv[1:] if argv is None else argv))
    text = '\n'.join([f'# Baseline variants on {args.run.name}\'s held-out pairs', '',
                      '```sh', command, '```', '',
                      f"{len(result.report['pairs'])} conversions per variant; verified at the "
                      f'equal-error threshold {judges.speaker.threshold:.3f}. Statistics fitted '
                      f'on {len(paths)} training utterances (judge 2\'s).', ''] + lines) + '\n'
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(args.out, text)


if __name__ == '__main__':
    main()
