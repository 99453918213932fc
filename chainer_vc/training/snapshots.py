"""Resuming training from trainer snapshots, including from a run directory a crash, a full
disk or a bad copy left with a damaged newest snapshot.

Chainer's own autoload loads the newest file and dies on a truncated one
(``zipfile.BadZipFile``). Here every array of a snapshot is read (and so checked) before
any of it reaches the trainer; a damaged snapshot found by looking is skipped with a
warning naming it, one named by ``--resume`` is an InputError.
"""
from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path
from typing import Callable, List, Optional, Tuple, Union

import chainer
import numpy as np

from chainer_vc.training import distributed
from chainer_vc.common.errors import InputError
from chainer_vc.common.files import NPZ_DAMAGE_ERRORS, error_summary

SNAPSHOT_PATTERN = re.compile(r'^snapshot_iter_(\d+)$')
# What a write cut short by a crash leaves: Chainer's snapshot writers save into a folder
# 'tmp' + file name + random letters, then move the file out; files.atomic_path writes
# '.' + name + '.' + random letters + '.tmp'.
INTERRUPTED_WRITE_PATTERN = re.compile(
    r'^(tmp(snapshot_iter_\d+|(gen|gen_raw|dis)_iter_\d+\.npz)\w+|\..+\.\w+\.tmp)$')


def snapshot_files(out: Union[str, Path]) -> List[Path]:
    """The trainer snapshots in ``out``, newest (highest iteration) first."""
    out = Path(out)
    if not out.is_dir():
        return []
    found = [(int(m.group(1)), path) for path in out.iterdir()
             if (m := SNAPSHOT_PATTERN.match(path.name)) and path.is_file()]
    return [path for _, path in sorted(found, reverse=True)]


def read(path: Union[str, Path]) -> dict:
    """Every array of the snapshot ``path``; InputError naming it when it does not load."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {key: npz[key] for key in npz.files}
    except NPZ_DAMAGE_ERRORS as error:
        raise InputError(f'{path}: cannot load snapshot, damaged or truncated '
                         f'({error_summary(error)})') from None


def newest_intact(out: Union[str, Path], warn: Callable[[str], None]) -> Optional[Tuple[Path, dict]]:
    """The newest snapshot in ``out`` that loads, and its arrays; None when there is none.
    Skipped snapshots are named through ``warn``; if every one is damaged, that is an
    InputError (starting afresh would overwrite the run's log)."""
    files = snapshot_files(out)
    for path in files:
        try:
            return path, read(path)
        except InputError as error:
            warn(f'warning: skipped {error}; trying an older snapshot')
    if files:
        raise InputError(f'{out}: no snapshot loads ({", ".join(p.name for p in files)} are '
                         'damaged); move them away to start this run afresh')
    return None


def restore(trainer, path: Path, arrays: dict) -> None:
    try:
        chainer.serializers.NpzDeserializer(arrays, strict=True).load(trainer)
    except (KeyError, ValueError, TypeError) as error:
        raise InputError(f'{path}: does not fit this run ({error_summary(error)})') from None


def remove_interrupted_writes(out: Union[str, Path]) -> List[Path]:
    """Removes from ``out`` what writes cut short by a crash left; returns what it removed."""
    out = Path(out)
    found = [path for path in out.iterdir()
             if INTERRUPTED_WRITE_PATTERN.match(path.name)] if out.is_dir() else []
    for path in found:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    return found


def resume(trainer, out: Path, explicit: Optional[Path] = None,
           dist: distributed.Distribution = distributed.SINGLE,
           warn: Callable[[str], None] = lambda text: print(text, file=sys.stderr)) -> Optional[Path]:
    """Loads ``explicit`` (``--resume``), or else the newest snapshot in ``out`` that loads,
    into ``trainer`` on every rank; returns its path (None: a fresh start). Rank 0 reads the
    file and sends it to the others."""
    found = None
    with dist.all_or_none():
        if dist.is_writer:
            if explicit and not Path(explicit).is_file():
                raise InputError(f'{explicit}: no such snapshot')
            found = (explicit, read(explicit)) if explicit else newest_intact(out, warn)
            if found and distributed.job_size(found[1]) != dist.size:
                raise InputError(
                    f'{found[0]}: written by a job of {distributed.job_size(found[1])} '
                    f'process(es), this one has {dist.size}: resume with as many, or choose '
                    'another --out')
            remove_interrupted_writes(out)
    found = dist.share(found)
    if found is None:
        return None
    restore(trainer, *found)
    if dist.is_writer and not explicit and found[0] != snapshot_files(out)[0]:
        warn(f'resumed from {found[0]}')
    return found[0]
