"""The time-to-convert curve: the judge's score of a run's saved weights against wall time.

    python experiments/time_to_convert.py --run runs/world --manifest data/fillets/manifest.csv \
        --out results/world/time_to_convert

Every gen_iter_N.npz of the run (or those named by --iterations) converts the same held-out
pairs, judged by the same judges (built once, as evaluate.py builds them); the wall time of
iteration N is the run's own log (``elapsed_time``). Writes curve.json, README.md (a table,
the command) and curve.png; the baseline's score on the same pairs is a line on the plot.
"""
import argparse
import json
import shlex
import sys
from pathlib import Path

import chainer_vc  # noqa: F401  (patches chainer for numpy 2; must come first)
import matplotlib
import numpy as np

from chainer_vc.judging import evaluation, scoring
from chainer_vc.judging.selection import Limits
from chainer_vc.conversion.converter import Converter
from chainer_vc.common.files import write_text_atomic
from chainer_vc.networks.run_directory import list_weights, load_generator

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402


def elapsed_times(run: Path) -> dict:
    """{iteration: seconds since the run started} from its LogReport."""
    return {entry['iteration']: entry['elapsed_time']
            for entry in json.loads((run / 'log').read_text())}


def wall_time(iteration: int, times: dict) -> float:
    """The log's time at ``iteration``, interpolated between the entries around it."""
    known = sorted(times)
    return float(np.interp(iteration, known, [times[i] for i in known]))


def summary(row: dict) -> dict:
    return {'target_accepted': row['target_accepted'],
            'worse_direction': scoring.worse_direction(row),
            'similarity_margin': row['similarity_margin'], 'verified': row['verified'],
            'directions': row['directions']}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--run', type=Path, required=True)
    parser.add_argument('--manifest', type=Path, required=True)
    parser.add_argument('--pairs', type=int, default=32)
    parser.add_argument('--iterations', type=int, nargs='*')
    parser.add_argument('--raw', action='store_true',
                        help="judge G's own weights (gen_raw_iter_N.npz) of a run trained with "
                             '--gen-average, instead of their average')
    parser.add_argument('--out', type=Path, required=True)
    args = parser.parse_args(argv)
    limits = Limits(pairs=args.pairs, sensitivity_sources=0, examples=0)
    weights = list_weights(args.run, 'gen_raw' if args.raw else 'gen')
    iterations = sorted(args.iterations or weights)
    generator, config = load_generator(args.run, str(weights[iterations[0]]))
    converter = Converter(generator, config, str(args.run))
    corpus, selection, recordings, judges = evaluation.prepare(converter, args.run,
                                                               args.manifest, limits)
    baselines = evaluation.baselines_for(converter, selection.classifier_train)
    times = elapsed_times(args.run)
    points, reference = [], None
    for iteration in iterations:
        generator, _ = load_generator(args.run, str(weights[iteration]))
        converter = Converter(generator, config, str(args.run))
        result = evaluation.judge_conversions(
            converter, judges, selection, recordings, limits, corpus.utterances,
            content='cycle', baselines=baselines if reference is None else None)
        rows = result.report['rows']
        if reference is None:
            reference = {name: summary(rows[name]) for name in
                         ('source_vocoded', 'f0_only', 'baseline', 'target_vocoded')}
        point = {'iteration': iteration, 'seconds': wall_time(iteration, times),
                 **summary(rows['converted']), 'cycle_lsd': result.report['content']['cycle_lsd']}
        points.append(point)
        print(f"{iteration:6d} {point['seconds']:7.0f} s  accepted {point['target_accepted']:.0%} "
              f"(worse {point['worse_direction']:.0%})  margin {point['similarity_margin']:+.3f}  "
              f"verified {point['verified']:.0%}  cycle {point['cycle_lsd']:.2f} dB", flush=True)
    command = shlex.join(['python', 'experiments/time_to_convert.py']
                         + list(sys.argv[1:] if argv is None else argv))
    args.out.mkdir(parents=True, exist_ok=True)
    data = {'command': command, 'run': args.run.name, 'pairs': len(result.report['pairs']),
            'threshold': judges.speaker.threshold, 'reference_rows': reference,
            'points': points}
    write_text_atomic(args.out / 'curve.json', json.dumps(data, indent=1) + '\n')
    write_text_atomic(args.out / 'README.md', markdown(data))
    plot(data, args.out / 'curve.png')


def markdown(data: dict) -> str:
    lines = [f"# Time to convert: {data['run']}", '', '```sh', data['command'], '```', '',
             f"{data['pairs']} held-out conversions per point, the same for every point; "
             f"verified: cosine to the target's centroid >= {data['threshold']:.3f} (the "
             'equal-error threshold). Wall time: the run\'s own log.', '',
             '| iteration | wall time | target accepted | worse direction | margin | verified '
             '| cycle LSD (dB) |', '|---|---|---|---|---|---|---|']
    for name, row in data['reference_rows'].items():
        lines.append(f"| {name} (no training) | | {row['target_accepted']:.0%} | "
                     f"{row['worse_direction']:.0%} | {row['similarity_margin']:+.3f} | "
                     f"{row['verified']:.0%} | |")
    for p in data['points']:
        lines.append(f"| {p['iteration']} | {p['seconds'] / 60:.1f} min | "
                     f"{p['target_accepted']:.0%} | {p['worse_direction']:.0%} | "
                     f"{p['similarity_margin']:+.3f} | {p['verified']:.0%} | "
                     f"{p['cycle_lsd']:.2f} |")
    return '\n'.join(lines + ['', '![curve](curve.png)', ''])


def plot(data: dict, path: Path) -> None:
    minutes = [p['seconds'] / 60 for p in data['points']]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    for key, label in (('worse_direction', 'target accepted, worse direction'),
                       ('verified', 'verified')):
        left.plot(minutes, [p[key] for p in data['points']], marker='o', label=label)
    left.axhline(data['reference_rows']['baseline']['verified'], color='k', linestyle=':',
                 label='baseline (no training): verified')
    left.set_xlabel('wall time (min)')
    left.set_ylim(-0.05, 1.05)
    left.legend(fontsize=7)
    right.plot(minutes, [p['similarity_margin'] for p in data['points']], marker='o',
               label='model')
    for name, style in (('baseline', ':'), ('target_vocoded', '--'), ('source_vocoded', '-.')):
        right.axhline(data['reference_rows'][name]['similarity_margin'], color='k',
                      linestyle=style, label=name)
    right.set_xlabel('wall time (min)')
    right.set_ylabel('margin (cos to target - cos to source)')
    right.legend(fontsize=7)
    figure.suptitle(f"time to convert: {data['run']}", fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


if __name__ == '__main__':
    main()
