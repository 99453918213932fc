"""How much a conversion changes how its source's bands move in time (the dynamics distance
of :mod:`chainer_vc.features.dynamics`, on whole utterances), for the model and for the baseline, per
target: one English speaker's held-out utterances converted to every other speaker.

    python experiments/band_motion.py --model results/voices_skips_l1 \
        --manifest data/voices/manifest.csv --speaker allison --utterances 20

Prints a Markdown table: per target, the mean distance of each path's envelope (G's output,
or the baseline's warped and shifted envelope, both in G's [0, 1] units) from the source's,
and the mean over the targets. F0 only leaves the envelope as it is (0).
"""
import chainer_vc  # noqa: F401  (patches chainer for numpy 2; must come first)
import numpy as np

from chainer_vc.common import devices
from chainer_vc.judging import evaluation, selection
from chainer_vc.conversion.batch import load_utterance
from chainer_vc.features.dynamics import utterance_distance
from identity_content import held_out_of, held_out_parser, model_converter


def model_unit(converter, encoded, codes) -> np.ndarray:
    return devices.to_cpu(converter.generate(encoded.unit, codes))


def baseline_unit(baseline, encoded, codes) -> np.ndarray:
    envelope = baseline.convert_envelope(encoded.state.analysis, codes)
    unit = baseline.features.to_unit(envelope)
    return np.pad(unit, ((0, len(encoded.unit) - len(unit)), (0, 0)), mode='edge')


def main(argv=None):
    args = held_out_parser(__doc__.splitlines()[0], 20).parse_args(argv)
    converter = model_converter(args)
    corpus, training, chosen = held_out_of(args.model, args.manifest, converter.config.labels,
                                           args.speaker, args.utterances)
    baseline = evaluation.baselines_for(converter, training.utterances)['baseline']
    paths = {'baseline': (baseline, baseline_unit), 'model': (converter, model_unit)}
    encoded = [converter.kind.encode(load_utterance(u.path, converter.features)) for u in chosen]
    targets = [t for t in converter.config.labels.group('speaker').classes if t != args.speaker]
    rows = {name: {} for name in paths}
    for target in targets:
        codes = converter.target_codes(selection.speaker_labels(corpus.utterances, target))
        for name, (path, unit_of) in paths.items():
            rows[name][target] = np.mean([utterance_distance(unit_of(path, e, codes), e.unit)
                                          for e in encoded])
    at = f' at {args.snapshot}' if args.snapshot else ''
    print(f'{len(chosen)} held-out utterances of {args.speaker}, converted by {args.model}{at}: '
          "dynamics distance of the converted envelope from the source's\n")
    print('| target | ' + ' | '.join(paths) + ' |\n|---|' + '---|' * len(paths))
    for target in targets:
        print(f'| {target} | ' + ' | '.join(f'{rows[n][target]:.4f}' for n in paths) + ' |')
    print('| mean | ' + ' | '.join(f'{np.mean(list(rows[n].values())):.4f}' for n in paths)
          + ' |')


if __name__ == '__main__':
    main()
