"""The judge's scores on the pairs of one evaluate.py report that another did not judge: a
check, on pairs never looked at, of a choice made on the first report's.

    python experiments/new_pairs.py --report runs/eval_X_p360/report.json \
        --seen runs/eval_X/report.json --manifest data/voices/manifest.csv

evaluate.py's ``--pairs 360`` judges the 180 pairs of ``--pairs 180`` and 180 more (as many
from each direction, drawn in the same order). Prints a Markdown table: per row, the pairs'
target accepted, verified and margin, overall and for same-sex and cross-sex pairs, and the
word agreement of the transcribed ones. ``--seen-only``: the pairs both judged instead, to
set a 360-pair report beside an older 180-pair one on the same pairs.
"""
import argparse
import json
from pathlib import Path

import chainer_vc  # noqa: F401  (patches chainer for numpy 2; must come first)

from chainer_vc.judging import content, scoring
from chainer_vc.corpus import read_manifest

ROWS = ('source_vocoded', 'f0_only', 'shift', 'spread', 'baseline', 'converted',
        'target_vocoded')


def pair_key(pair: dict) -> tuple:
    return pair['source'], pair['target_speaker']


def cell(scores: dict) -> str:
    return (f"{scores['target_accepted']:.0%} / {scores['verified']:.0%} / "
            f"{scores['similarity_margin']:+.3f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--report', type=Path, required=True)
    parser.add_argument('--seen', type=Path, required=True)
    parser.add_argument('--manifest', type=Path, required=True, help="the speakers' sexes")
    parser.add_argument('--seen-only', action='store_true',
                        help='score the pairs of --report that --seen judged too')
    args = parser.parse_args(argv)
    report = json.loads(args.report.read_text())
    seen = {pair_key(p) for p in json.loads(args.seen.read_text())['pairs']}
    pairs = report['pairs']
    chosen = [n for n, p in enumerate(pairs) if (pair_key(p) in seen) == args.seen_only]
    if not chosen:
        raise SystemExit(f'{args.report}: no pair ' + ('in' if args.seen_only else 'outside')
                         + f' {args.seen}')
    sources = [p['source_speaker'] for p in pairs]
    targets = [p['target_speaker'] for p in pairs]
    sexes = {u.labels['speaker']: u.labels.get('sex')
             for u in read_manifest(args.manifest).utterances}
    threshold = report['judge1']['threshold']
    # evaluate.py's own scores, over the chosen pairs only (the others keyed None: left out).
    everything = ['all' if n in chosen else None for n in range(len(pairs))]
    kinds = [kind if n in chosen else None for n, kind in
             enumerate(scoring.pairing_kinds(sources, targets, sexes))]
    same, cross = (kinds.count(kind) for kind in ('same-sex', 'cross-sex'))
    heard = [p for p in report.get('transcripts', {}).get('pairs', []) if p['pair'] in chosen]
    relation = 'also' if args.seen_only else 'not'
    print(f'{len(chosen)} pairs of {args.report} {relation} in {args.seen} ({same} same-sex, '
          f'{cross} cross-sex; {len(heard)} transcribed). Accepted / verified / margin.\n')
    print('| row | all | same-sex | cross-sex | words |\n|---|---|---|---|---|')
    for name in (n for n in ROWS if n in report['rows']):
        row = report['rows'][name]
        words = ''
        if heard and name in heard[0]:
            agreement = content.mean_agreement((p[name], p['source']) for p in heard)
            words = f"{agreement['word']:.0%}"
        groups = {**scoring.grouped_scores(row, everything, targets, threshold),
                  **scoring.grouped_scores(row, kinds, targets, threshold)}
        print(f'| {name} | ' + ' | '.join(cell(groups[key]) for key in
                                          ('all', 'same-sex', 'cross-sex')) + f' | {words} |')


if __name__ == '__main__':
    main()
