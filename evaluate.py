#!/usr/bin/env python
"""Judge a trained model's conversions: `python evaluate.py --model RUN --manifest M`.

Writes results/evaluation/<run>/ (report.json, README.md, plots, index.html to listen)."""
import argparse
import shlex
import sys
from pathlib import Path

import chainer_vc  # noqa: F401  (patches chainer for numpy 2; must come first)
from chainer_vc.judging import evaluation, report, selection
from chainer_vc.common.errors import InputError

DEFAULTS = selection.Limits()


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--model', type=Path, required=True, help='trained run directory')
    parser.add_argument('--manifest', type=Path, required=True,
                        help='corpus manifest whose speakers the model knows')
    parser.add_argument('--pairs', type=int, default=DEFAULTS.pairs,
                        help='conversions judged (source utterance, target speaker)')
    parser.add_argument('--per-speaker', type=int, default=DEFAULTS.references,
                        help='utterances per speaker for the centroids, and as many sources')
    parser.add_argument('--classifier-per-speaker', type=int,
                        default=DEFAULTS.classifier_train,
                        help='real utterances per speaker that judge 2 trains on')
    parser.add_argument('--examples', type=int, default=DEFAULTS.examples,
                        help='pairs on the listening page')
    parser.add_argument('--snapshot', help='weights: an iteration number or a gen_iter_*.npz file '
                                           '(default: the newest)')
    parser.add_argument('--out', type=Path,
                        help='output folder (default: results/evaluation/<run name>)')
    parser.add_argument('--transcribe', nargs='+', default=[], metavar='SPEAKER',
                        help='speakers of US English whose conversions the content judge '
                             '(PocketSphinx) transcribes, against their source\'s transcript')
    parser.add_argument('--motion-scale', type=float, default=1.0, metavar='S',
                        help="scale G's change in how the envelope moves over the utterance "
                             "(1: G's output as it is; 0: only each bin's mean change)")
    parser.add_argument('--gpu', type=int, default=-1, help='GPU id (negative: CPU)')
    return parser.parse_args(argv)


def check(args) -> None:
    for name in ('pairs', 'per_speaker', 'classifier_per_speaker'):
        if getattr(args, name) < 1:
            raise InputError(f'--{name.replace("_", "-")} {getattr(args, name)}: must be >= 1')
    if args.examples < 0:
        raise InputError(f'--examples {args.examples}: must be >= 0')
    if args.motion_scale < 0:
        raise InputError(f'--motion-scale {args.motion_scale}: must be >= 0')


def main(argv=None) -> int:
    args = parse_args(argv)
    command = shlex.join(['python', 'evaluate.py'] + list(sys.argv[1:] if argv is None else argv))
    limits = selection.Limits(pairs=args.pairs, references=args.per_speaker,
                               probes=args.per_speaker,
                               classifier_train=args.classifier_per_speaker,
                               examples=args.examples)
    out = args.out or Path('results') / 'evaluation' / args.model.resolve().name
    try:
        check(args)
        result = evaluation.run_evaluation(args.model, args.manifest, args.pairs,
                                           args.snapshot, args.gpu, limits, args.transcribe,
                                           args.motion_scale)
        readme = report.write(out, result, command, result.features)
    except InputError as error:
        print(f'error: {error}', file=sys.stderr)
        return error.exit_code
    rows = result.report['rows']
    print(f'target accepted: converted {rows["converted"]["target_accepted"]:.1%}, '
          f'unconverted {rows["source"]["target_accepted"]:.1%}, '
          f'real target {rows["target_vocoded"]["target_accepted"]:.1%}')
    print(f'report: {readme} (listening page: {out / "index.html"})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
