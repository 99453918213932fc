"""The held-out split: utterances a run never trains on, kept for judging its conversions.

Per speaker, a fixed fraction of the utterances (rounded down, so a speaker with fewer than
1 / fraction utterances keeps all of them for training) is held out. Which ones is decided by
a hash of each utterance's key, its path relative to the corpus's common folder, so the same
corpus gives the same split on any machine and in any manifest order. The run directory
stores the split (``heldout.csv``); a resumed run reads it back instead of choosing again.
"""
from __future__ import annotations

import csv
import hashlib
import io
import os
from pathlib import Path, PurePath
from typing import Iterable, Sequence, Union

from chainer_vc.corpus.manifest import Corpus, Utterance
from chainer_vc.common.errors import InputError
from chainer_vc.common.files import write_text_atomic

HELDOUT_CSV = 'heldout.csv'
# The seed trained on its whole corpus; holding out 10 % per speaker is ours, so that
# conversions can be judged on speech the model never saw (--heldout-fraction 0: none).
DEFAULT_FRACTION = 0.1
_COLUMNS = ('key', 'speaker')


def corpus_root(utterances: Sequence[Utterance]) -> Path:
    """The deepest folder holding every utterance."""
    if not utterances:
        return Path('.')
    return Path(os.path.commonpath([str(Path(u.path).parent) for u in utterances]))


def utterance_key(utterance: Utterance, root: Union[str, Path]) -> str:
    """The utterance's path relative to ``root``, with forward slashes."""
    return PurePath(os.path.relpath(utterance.path, root)).as_posix()


def _rank(key: str) -> str:
    return hashlib.sha1(key.encode('utf-8')).hexdigest()


def choose_heldout(corpus: Corpus, fraction: float = DEFAULT_FRACTION) -> list:
    """floor(fraction x n) utterances of each speaker with n utterances."""
    if not 0 <= fraction < 1:
        raise InputError(f'held-out fraction {fraction}: must be in [0, 1)')
    root = corpus_root(corpus.utterances)
    by_speaker = {}
    for utterance in corpus.utterances:
        by_speaker.setdefault(utterance.labels.get('speaker'), []).append(utterance)
    heldout = []
    for utterances in by_speaker.values():
        ranked = sorted(utterances, key=lambda u: _rank(utterance_key(u, root)))
        heldout.extend(ranked[:int(fraction * len(utterances))])
    return heldout


def save_heldout(run_dir: Union[str, Path], utterances: Iterable[Utterance],
                 root: Union[str, Path]) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator='\n')
    writer.writerow(_COLUMNS)
    for utterance in utterances:
        writer.writerow((utterance_key(utterance, root), utterance.labels.get('speaker') or ''))
    path = Path(run_dir) / HELDOUT_CSV
    write_text_atomic(path, buffer.getvalue())
    return path


def load_heldout(run_dir: Union[str, Path]) -> set:
    """The keys held out by a run (empty when it stored no split)."""
    path = Path(run_dir) / HELDOUT_CSV
    if not path.is_file():
        return set()
    try:
        rows = list(csv.DictReader(io.StringIO(path.read_text(encoding='utf-8'))))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise InputError(f'{path}: cannot read the held-out list ({error})') from None
    if rows and 'key' not in rows[0]:
        raise InputError(f'{path}: not a held-out list (no "key" column)')
    return {row['key'] for row in rows}


def split_corpus(corpus: Corpus, heldout_keys: set) -> tuple:
    """(training corpus, held-out corpus) by key."""
    root = corpus_root(corpus.utterances)
    train, heldout = [], []
    for utterance in corpus.utterances:
        (heldout if utterance_key(utterance, root) in heldout_keys else train).append(utterance)
    return (Corpus(train, corpus.group_names), Corpus(heldout, corpus.group_names))


def training_split(corpus: Corpus, run_dir: Union[str, Path],
                   fraction: float = DEFAULT_FRACTION, save: bool = True) -> Corpus:
    """The run's training corpus: its stored split if it has one, else a new one, stored
    unless ``save`` is false (the choice is deterministic: every caller gets the same)."""
    run_dir = Path(run_dir)
    if (run_dir / HELDOUT_CSV).is_file():
        keys = load_heldout(run_dir)
    else:
        chosen = choose_heldout(corpus, fraction)
        if save:
            save_heldout(run_dir, chosen, corpus_root(corpus.utterances))
        keys = {utterance_key(u, corpus_root(corpus.utterances)) for u in chosen}
    train, _ = split_corpus(corpus, keys)
    if not train.utterances:
        raise InputError(f'{run_dir / HELDOUT_CSV}: holds out every utterance of the corpus')
    return train
