"""What was said, by target: the content judge on one English speaker's held-out utterances
converted to every speaker of the model (its own included: the identity conversion), per
target, with more conversions than evaluate.py's 180 pairs give it (6 per target).

    python experiments/content_by_target.py --model results/voices_skips_l1 \
        --manifest data/voices/manifest.csv --speaker allison --utterances 20 --baselines

Prints a Markdown table: per target, the mean word agreement of each path's transcript with
the source's own transcript (the vocoder path: the source resynthesised, the same for every
target), and the mean over the other targets; ``--out`` also writes the numbers as JSON.
``--baselines`` adds the rows with no training (F0 only; F0 + mean shift; F0 + mean and
spread; F0 + warp + mean shift), fitted as evaluate.py fits them. ``--source-statistics`` converts from the speaker's
training statistics (convert.py's ``--source-speaker``) rather than each utterance's own;
``--motion-scale`` is convert.py's.
"""
import json
import os
from pathlib import Path

import chainer_vc  # noqa: F401  (patches chainer for numpy 2; must come first)
import numpy as np

from chainer_vc.judging import evaluation
from identity_content import (held_out_of, held_out_parser, model_converter, references,
                              target_words)


def table(speaker: str, vocoder: list, rows: dict) -> str:
    """Markdown: one line per target (the speaker's own first), then the mean over the
    others; one column per path."""
    names = list(rows)
    targets = list(next(iter(rows.values())))
    ordered = [speaker] + [t for t in targets if t != speaker]
    lines = ['| target | vocoder path | ' + ' | '.join(names) + ' |',
             '|---|---|' + '---|' * len(names)]
    for target in ordered:
        label = f'{target} (identity)' if target == speaker else target
        lines.append(f'| {label} | {np.mean(vocoder):.0%} | ' + ' | '.join(
            f'{np.mean(rows[name][target]):.0%}' for name in names) + ' |')
    others = [t for t in ordered if t != speaker]
    lines.append(f'| mean over the {len(others)} other targets | {np.mean(vocoder):.0%} | '
                 + ' | '.join(f'{np.mean([rows[n][t] for t in others]):.0%}'
                              for n in names) + ' |')
    return '\n'.join(lines)


def main(argv=None):
    parser = held_out_parser(__doc__.splitlines()[0], 20)
    parser.add_argument('--baselines', action='store_true')
    parser.add_argument('--source-statistics', action='store_true',
                        help="F0 moved from the speaker's training statistics rather than "
                             "from each utterance's own (convert.py's --source-speaker)")
    parser.add_argument('--out', type=Path)
    args = parser.parse_args(argv)
    converter = model_converter(args)
    corpus, training, chosen = held_out_of(args.model, args.manifest, converter.config.labels,
                                           args.speaker, args.utterances)
    found = references(converter, chosen)
    targets = list(converter.config.labels.group('speaker').classes)
    converters = {}
    if args.baselines:
        fitted = evaluation.baselines_for(converter, training.utterances)
        converters = {'F0 only': fitted['f0_only'], 'mean shift': fitted['shift'],
                      'mean and spread': fitted['spread'], 'baseline': fitted['baseline']}
    converters['model'] = converter
    if args.source_statistics:
        for each in converters.values():
            each.set_source({'speaker': args.speaker})
    rows = {name: target_words(other, found, corpus, targets)
            for name, other in converters.items()}
    vocoder = [v for _, _, v in found]
    at = f' at {args.snapshot}' if args.snapshot else ''
    statistics = f" from {args.speaker}'s training statistics" if args.source_statistics else ''
    scaled = f', motion scale {args.motion_scale:g}' if args.motion_scale != 1 else ''
    print(f'{len(chosen)} held-out utterances of {args.speaker}, converted by {args.model}'
          f"{at}{scaled}{statistics}: word agreement with the source's transcript\n")
    print(table(args.speaker, vocoder, rows))
    if args.out:
        args.out.write_text(json.dumps({
            'model': str(args.model), 'snapshot': args.snapshot, 'speaker': args.speaker,
            'utterances': [os.path.relpath(u.path, args.manifest.resolve().parent)
                           for u in chosen],
            'vocoder': vocoder, 'rows': rows},
            indent=1))


if __name__ == '__main__':
    main()
