"""The held-out split: per speaker, deterministic, stored with the run, never trained on."""
import shutil

import pytest

from chainer_vc.corpus import read_manifest
from chainer_vc.common.errors import InputError
from chainer_vc.corpus.split import HELDOUT_CSV, choose_heldout, corpus_root, load_heldout, training_split, utterance_key

from conftest import make_corpus


def keys(corpus, utterances):
    root = corpus_root(corpus.utterances)
    return sorted(utterance_key(u, root) for u in utterances)


@pytest.fixture
def corpus(tmp_path):
    return read_manifest(make_corpus(tmp_path / 'corpus', files_per_speaker=25, seconds=0.1))


def test_a_fixed_fraction_of_each_speaker_is_held_out(corpus):
    heldout = choose_heldout(corpus, 0.1)
    by_speaker = {}
    for utterance in heldout:
        by_speaker[utterance.labels['speaker']] = by_speaker.get(utterance.labels['speaker'], 0) + 1
    assert by_speaker == {'low': 2, 'high': 2}  # floor(0.1 x 25)
    assert choose_heldout(corpus, 0) == []


def test_the_split_depends_on_neither_order_nor_location(corpus, tmp_path):
    expected = keys(corpus, choose_heldout(corpus))
    corpus.utterances.reverse()
    assert keys(corpus, choose_heldout(corpus)) == expected
    moved = tmp_path / 'elsewhere' / 'corpus'
    shutil.copytree(tmp_path / 'corpus', moved)
    elsewhere = read_manifest(moved / 'manifest.csv')
    assert keys(elsewhere, choose_heldout(elsewhere)) == expected


def test_a_run_keeps_its_split_and_never_trains_on_it(corpus, tmp_path):
    run = tmp_path / 'run'
    run.mkdir()
    train = training_split(corpus, run, 0.1)
    heldout = load_heldout(run)
    assert len(heldout) == 4 and len(train.utterances) == 46
    assert not heldout & set(keys(corpus, train.utterances))
    # A resumed run reads the stored split, whatever fraction it is given now.
    assert keys(corpus, training_split(corpus, run, 0.5).utterances) == keys(corpus, train.utterances)


def test_a_damaged_split_file_is_one_clear_error(corpus, tmp_path):
    (tmp_path / HELDOUT_CSV).write_text('path,speaker\nx,y\n')
    with pytest.raises(InputError, match=HELDOUT_CSV):
        load_heldout(tmp_path)
    with pytest.raises(InputError, match='fraction'):
        choose_heldout(corpus, 1.0)
