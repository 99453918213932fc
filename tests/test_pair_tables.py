"""Which conversions are judged, and the per-direction and same-/cross-sex tables."""
from pathlib import Path

import pytest

from chainer_vc.judging import scoring, selection
from chainer_vc.corpus import Utterance


def probes(counts):
    return [Utterance(Path(f'/{speaker}/{n}.wav'), {'speaker': speaker})
            for speaker, count in counts.items() for n in range(count)]


def directions(pairs, utterances):
    found = {}
    for i, target in pairs:
        key = (utterances[i].labels['speaker'], target)
        found[key] = found.get(key, 0) + 1
    return found


def test_every_pair_when_they_are_few():
    utterances = probes({'a': 2, 'b': 3})
    pairs = selection.choose_pairs(utterances, ['a', 'b'], 10)
    assert sorted(pairs) == [(0, 'b'), (1, 'b'), (2, 'a'), (3, 'a'), (4, 'a')]


def test_as_many_from_each_direction_when_there_are_more():
    speakers = ['a', 'b', 'c', 'd']
    utterances = probes({'a': 10, 'b': 10, 'c': 4, 'd': 10})
    pairs = selection.choose_pairs(utterances, speakers, 36)
    counts = directions(pairs, utterances)
    assert len(pairs) == len(set(pairs)) == 36 and len(counts) == 12
    assert set(counts.values()) == {3}
    more = directions(selection.choose_pairs(utterances, speakers, 60), utterances)
    # c has 4 utterances: its directions run out at 4 and the others take up the rest.
    assert all(more[('c', t)] == 4 for t in 'abd') and sum(more.values()) == 60
    assert min(n for (s, _), n in more.items() if s != 'c') == 5
    assert selection.choose_pairs(utterances, speakers, 36) == pairs  # fixed seed


def test_grouped_scores_by_hand():
    row = {'per_utterance': {'predicted': ['b', 'a', 'c', 'b'],
                             'similarity_target': [0.9, 0.5, 0.8, 0.6],
                             'similarity_source': [0.4, 0.7, 0.5, 0.6]}}
    sources, targets = ['a', 'a', 'a', 'c'], ['b', 'b', 'c', 'b']
    per = scoring.per_direction(row, sources, targets, threshold=0.7)
    assert per['a->b'] == {'n': 2, 'target_accepted': 0.5, 'verified': 0.5,
                           'similarity_margin': pytest.approx((0.5 - 0.2) / 2)}
    assert per['c->b']['target_accepted'] == 1.0 and per['c->b']['verified'] == 0.0
    sexes = {'a': 'female', 'b': 'female', 'c': 'male'}
    kinds = scoring.per_pairing(row, sources, targets, 0.7, sexes)
    assert kinds['same-sex']['n'] == 2 and kinds['cross-sex']['n'] == 2
    assert kinds['cross-sex']['similarity_margin'] == pytest.approx((0.3 + 0.0) / 2)
    assert kinds['cross-sex']['verified'] == 0.5
    unlabelled = scoring.per_pairing(row, sources, targets, 0.7, {'a': 'female'})
    assert unlabelled == {}
    assert sum(k["n"] for k in kinds.values()) == 4
