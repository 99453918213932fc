"""Which utterances the judges hear: references (the speaker centroids), probes (converted to
every other speaker) and the speech judge 2 trains on, from a run's held-out list where it has
one; and which (probe, target) pairs are converted."""
from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Dict, List, Sequence, Union

import numpy as np

from chainer_vc.common.errors import InputError
from chainer_vc.conversion import batch
from chainer_vc.corpus import Corpus, Utterance
from chainer_vc.corpus.split import corpus_root, load_heldout, split_corpus, utterance_key

PathLike = Union[str, Path]


@dataclasses.dataclass(frozen=True)
class Limits:
    """How much of a corpus the judges use (per speaker, except ``pairs``)."""
    pairs: int = 40
    references: int = 16
    probes: int = 16
    classifier_train: int = 32
    sensitivity_sources: int = 8
    examples: int = 4
    seed: int = 0


@dataclasses.dataclass
class Selection:
    """The utterances each judge uses, and where they came from."""
    references: List[Utterance]
    probes: List[Utterance]
    classifier_train: List[Utterance]
    description: str


def _ranked(utterances: Sequence[Utterance], root: Path) -> list:
    def rank(u):
        return hashlib.sha1(utterance_key(u, root).encode('utf-8')).hexdigest()
    return sorted(utterances, key=rank)


def _by_speaker(utterances: Sequence[Utterance]) -> Dict[str, list]:
    grouped = {}
    for utterance in utterances:
        grouped.setdefault(utterance.labels.get('speaker'), []).append(utterance)
    grouped.pop(None, None)
    return dict(sorted(grouped.items()))


def _references_and_probes(pool: Sequence[Utterance], root: Path, limits: Limits) -> tuple:
    """Each speaker's utterances alternately to references and probes (in hash order);
    speakers with fewer than 2 utterances are left out."""
    references, probes = [], []
    for utterances in _by_speaker(pool).values():
        if len(utterances) >= 2:
            ranked = _ranked(utterances, root)
            references += ranked[0::2][:limits.references]
            probes += ranked[1::2][:limits.probes]
    return references, probes


def select_utterances(corpus: Corpus, run_dir: PathLike, limits: Limits = Limits(),
                      name: str = 'manifest') -> Selection:
    """References and probes from the run's held-out utterances (else the whole corpus),
    and real utterances outside the probes to train judge 2 on."""
    root = corpus_root(corpus.utterances)
    train, heldout = split_corpus(corpus, load_heldout(run_dir))
    references, probes = _references_and_probes(heldout.utterances, root, limits)
    if len(_by_speaker(probes)) >= 2:
        description = (f'{len(heldout.utterances)} utterances of the held-out list '
                       f'({Path(run_dir).name}/heldout.csv) found in {name}: speech the model '
                       'never trained on')
    else:
        references, probes = _references_and_probes(corpus.utterances, root, limits)
        reason = (f'the run\'s {len(heldout.utterances)} held-out utterances in {name} are too '
                  'few for 2 speakers' if heldout.utterances
                  else f'no held-out utterances of the run in {name}')
        description = (f'{reason}: all its {len(corpus.utterances)} utterances, which the model '
                       'may have trained on')
    if len(_by_speaker(probes)) < 2:
        counts = ', '.join(f'{speaker} {len(us)}'
                           for speaker, us in list(_by_speaker(corpus.utterances).items())[:6])
        raise InputError(f'{name}: judging needs at least 2 speakers with 2 utterances or more '
                         f'each (utterances per speaker: {counts or "none"})')
    probe_set = {id(u) for u in probes}
    candidates = train.utterances if heldout.utterances else references
    classifier_train = []
    for utterances in _by_speaker([u for u in candidates if id(u) not in probe_set]).values():
        classifier_train += _ranked(utterances, root)[:limits.classifier_train]
    return Selection(references, probes, classifier_train, description)


def choose_pairs(probes: Sequence[Utterance], speakers: Sequence[str], n: int,
                 seed: int = 0) -> list:
    """``[(probe index, target speaker)]``: every probe to every other speaker; where there
    are more than ``n``, as many from each direction (source -> target speaker) as ``n``
    allows, each direction's drawn at random (fixed seed)."""
    pairs = [(i, target) for i, u in enumerate(probes) for target in speakers
             if target != u.labels['speaker']]
    if len(pairs) <= n:
        return pairs
    by_direction = {}
    for i, target in pairs:
        by_direction.setdefault((probes[i].labels['speaker'], target), []).append((i, target))
    rng = np.random.default_rng(seed)
    queues = [[members[k] for k in rng.permutation(len(members))]
              for _, members in sorted(by_direction.items())]
    chosen = []
    while len(chosen) < n:
        for queue in queues:
            if queue and len(chosen) < n:
                chosen.append(queue.pop(0))
    order = {pair: k for k, pair in enumerate(pairs)}
    return sorted(chosen, key=order.__getitem__)


def speaker_labels(corpus_or_utterances, speaker: str) -> dict:
    """A speaker's full label set as the manifest gives it (the first utterance's)."""
    for utterance in corpus_or_utterances:
        if utterance.labels.get('speaker') == speaker:
            return {k: v for k, v in utterance.labels.items() if v is not None}
    return {'speaker': speaker}


def load_audio(utterances: Sequence[Utterance], config) -> Dict[Path, np.ndarray]:
    return {u.path: batch.load_utterance(u.path, config) for u in utterances}
