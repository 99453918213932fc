"""G's weights averaged, with equal weights, over saved iterations of a run: a run directory
that the judge reads like any other.

    python experiments/average_snapshots.py --run runs/world_gmid_clsfake \
        --iterations 1500 1750 2000 --out runs/world_gmid_clsfake_mean1500-2000
    python experiments/time_to_convert.py --run runs/world_gmid_clsfake_mean1500-2000 ...

The output holds the run's model.json, heldout.csv and log, and gen_iter_N.npz with N the
last of the iterations averaged (the first moment the average exists); batch statistics and
the feature record come from that iteration's weights. --raw averages gen_raw_iter_N.npz (G's
own weights of a run trained with --gen-average).
"""
import argparse
import json
import shlex
import shutil
import sys
from pathlib import Path

import numpy as np

COPIED = ('model.json', 'heldout.csv', 'log')


def averaged(paths: list) -> dict:
    """The mean of every float weight over ``paths``; the rest (and batch statistics'
    counters) from the last."""
    loaded = [np.load(path, allow_pickle=False) for path in paths]
    last = loaded[-1]
    result = {}
    for key in last.files:
        if last[key].dtype.kind == 'f' and not key.endswith('/N'):
            result[key] = np.mean([weights[key] for weights in loaded], axis=0).astype(
                last[key].dtype)
        else:
            result[key] = last[key]
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--run', type=Path, required=True)
    parser.add_argument('--iterations', type=int, nargs='+', required=True)
    parser.add_argument('--raw', action='store_true',
                        help="average G's own weights (gen_raw_iter_N.npz) of a --gen-average run")
    parser.add_argument('--out', type=Path, required=True)
    args = parser.parse_args(argv)
    prefix = 'gen_raw_iter' if args.raw else 'gen_iter'
    iterations = sorted(args.iterations)
    paths = [args.run / f'{prefix}_{i}.npz' for i in iterations]
    missing = [str(path) for path in paths if not path.is_file()]
    if missing:
        print(f'error: no such weights: {", ".join(missing)}', file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        shutil.copy(args.run / name, args.out / name)
    np.savez(args.out / f'gen_iter_{iterations[-1]}.npz', **averaged(paths))
    command = shlex.join(['python', 'experiments/average_snapshots.py']
                         + list(sys.argv[1:] if argv is None else argv))
    record = {'command': command, 'run': args.run.name, 'weights': prefix,
              'iterations': iterations}
    (args.out / 'averaged.json').write_text(json.dumps(record, indent=1) + '\n')
    print(f'{args.out / f"gen_iter_{iterations[-1]}.npz"}: the mean of {len(paths)} weights')
    return 0


if __name__ == '__main__':
    sys.exit(main())
