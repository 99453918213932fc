"""A trained model made small enough to ship: its run directory's description and its
newest (or chosen) weights, floating-point arrays stored as float16.

    python -m chainer_vc.conversion.export RUN OUT [--snapshot N] [--with-dis]

OUT is a run directory like any other: ``convert.py --model OUT``, ``evaluate.py --model
OUT`` and ``demo`` load it (the weights are cast back to float32 as they load). It holds
``model.json``, the held-out list (``heldout.csv``, so judging it keeps to speech it never
trained on), the training ``log``, ``gen_iter_N.npz`` and, with ``--with-dis``, the critic's
``dis_iter_N.npz`` so that ``train.py --initialize-from OUT`` can continue training it.
Snapshots (optimizer state) are not exported.
"""
from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path
from typing import List, Optional, Union

import numpy as np

from chainer_vc.common.errors import InputError
from chainer_vc.common.files import atomic_path
from chainer_vc.networks.run_directory import MODEL_JSON, ModelConfig, find_weights
from chainer_vc.corpus.split import HELDOUT_CSV

COPIED = (MODEL_JSON, HELDOUT_CSV, 'log')


def to_float16(source: Path, destination: Path) -> None:
    """``source`` npz with every floating-point array stored as float16; others as they are."""
    try:
        with np.load(source, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except (OSError, ValueError) as error:
        raise InputError(f'{source}: cannot read weights ({error})') from None
    arrays = {key: value.astype(np.float16) if np.issubdtype(value.dtype, np.floating) else value
              for key, value in arrays.items()}
    with atomic_path(destination) as temporary:
        with open(temporary, 'wb') as file:
            np.savez_compressed(file, **arrays)


def export_model(run_dir: Union[str, Path], out: Union[str, Path],
                 snapshot: Optional[str] = None, with_dis: bool = False) -> List[Path]:
    """Writes the shippable copy of ``run_dir`` into ``out``; returns the files written."""
    run_dir, out = Path(run_dir), Path(out)
    ModelConfig.load(run_dir)  # a readable model.json, or one line saying what is wrong
    if out.resolve() == run_dir.resolve():
        raise InputError(f'{out}: the export would overwrite the run it is made from')
    if out.exists() and any(out.iterdir()):
        raise InputError(f'{out}: not empty; choose a new folder')
    weights = {'gen': find_weights(run_dir, snapshot, 'gen')}
    if with_dis:  # the critic of the same iteration
        iteration = re.search(r'_iter_(\d+)\.npz$', weights['gen'].name)
        if iteration is None:
            raise InputError(f'{weights["gen"]}: not named gen_iter_N.npz, so its critic is '
                             'unknown')
        weights['dis'] = find_weights(run_dir, iteration.group(1), 'dis')
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in COPIED:
        if (run_dir / name).is_file():
            shutil.copyfile(run_dir / name, out / name)
            written.append(out / name)
    for path in weights.values():
        to_float16(path, out / path.name)
        written.append(out / path.name)
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('run', type=Path, help='trained run directory')
    parser.add_argument('out', type=Path, help='new folder for the exported model')
    parser.add_argument('--snapshot', help='weights: an iteration number or a gen_iter_*.npz '
                                           'file (default: the newest)')
    parser.add_argument('--with-dis', action='store_true',
                        help="also the critic's weights (to continue training the model)")
    args = parser.parse_args(argv)
    try:
        written = export_model(args.run, args.out, args.snapshot, args.with_dis)
    except InputError as error:
        print(f'error: {error}', file=sys.stderr)
        return 2
    for path in written:
        print(f'{path} ({path.stat().st_size / 1e6:.1f} MB)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
