"""The judges' arithmetic on known embeddings: centroids, scores, equal error rate, judge 2."""
import numpy as np
import pytest

from chainer_vc.judging.judge import LabelJudge, SpeakerJudge, centroids, equal_error_rate, label_sensitivity, verification_trials


def _unit(rows):
    rows = np.asarray(rows, dtype=np.float64)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def clusters(n_per=20, spread=0.3, seed=0):
    """Embeddings of three speakers around orthogonal directions."""
    rng = np.random.default_rng(seed)
    axes = np.eye(8)[:3]
    speakers = ['a', 'b', 'c']
    rows = [_unit(axes[i] + spread * rng.standard_normal((n_per, 8))) for i in range(3)]
    return np.concatenate(rows), [s for s in speakers for _ in range(n_per)]


def test_centroids_are_unit_means():
    embeddings, speakers = clusters()
    found = centroids(embeddings, speakers)
    assert sorted(found) == ['a', 'b', 'c']
    for speaker, centroid in found.items():
        assert np.linalg.norm(centroid) == pytest.approx(1)
        assert np.argmax(centroid) == 'abc'.index(speaker)


def test_score_of_utterances_at_their_target_and_at_their_source():
    embeddings, speakers = clusters()
    judge = SpeakerJudge(centroids(embeddings, speakers), threshold=0.5)
    as_target = judge.score(embeddings, ['b'] * len(speakers), speakers)
    assert as_target['target_accepted'] == 1.0
    assert as_target['similarity_margin'] > 0.5
    as_source = judge.score(embeddings, speakers, ['b'] * len(speakers))
    assert as_source['target_accepted'] == pytest.approx(1 / 3)  # only b's own are at b
    assert as_source['similarity_margin'] < 0
    assert as_source['verified'] == pytest.approx(1 / 3, abs=0.1)
    assert as_target['similarity_margin'] == pytest.approx(-as_source['similarity_margin'])


def test_equal_error_rate_of_separated_and_overlapping_scores():
    assert equal_error_rate([0.8, 0.9, 0.95], [0.1, 0.2, 0.3]) == (0.0, 0.8)
    rng = np.random.default_rng(1)
    genuine, impostor = rng.normal(1, 1, 20000), rng.normal(-1, 1, 20000)
    eer, threshold = equal_error_rate(genuine, impostor)
    assert eer == pytest.approx(0.1587, abs=0.01)  # Phi(-1) for unit-variance scores 2 apart
    assert threshold == pytest.approx(0, abs=0.05)


def test_verification_trials_pair_each_utterance_with_every_centroid():
    embeddings, speakers = clusters(n_per=5)
    judge = SpeakerJudge(centroids(embeddings, speakers))
    genuine, impostor = verification_trials(judge, embeddings, speakers)
    assert len(genuine) == 15 and len(impostor) == 30
    assert genuine.min() > impostor.max()


def test_label_judge_learns_groups_and_reports_its_ceiling():
    embeddings, speakers = clusters(n_per=30, spread=0.3)
    sex = {'a': 'female', 'b': 'male', 'c': 'female'}
    labels = [{'speaker': s, 'sex': sex[s], 'region': None} for s in speakers]
    train = np.arange(len(speakers)) % 3 != 0
    judge = LabelJudge.train(embeddings[train], [labels[i] for i in np.flatnonzero(train)],
                             {'speaker': ['a', 'b', 'c'], 'sex': ['female', 'male'],
                              'region': ['north']})
    assert sorted(judge.classifiers) == ['sex', 'speaker']  # nobody labelled in region
    held = np.flatnonzero(~train)
    ceiling = judge.measure_ceiling(embeddings[held], [labels[i] for i in held])
    assert ceiling['speaker'] >= 0.9 and ceiling['sex'] >= 0.9
    assert judge.predict('sex', np.eye(8)[1:2]) == ['male']


def test_label_sensitivity():
    x = np.zeros((4, 16))
    same = label_sensitivity([x + 1, x + 1], x)
    assert same == {'between_labels': 0.0, 'from_input': 1.0, 'motion_from_input': 0.0}
    assert label_sensitivity([x + 1, x + 3], x)['between_labels'] == 2.0
    rising = x.copy()
    rising[0, :8] = 0.8  # band 0 (bins 0-7) up by 0.8 in frame 0 of 4: 0.6 and 3 x 0.2 from
    # its mean, over 4 frames x 2 bands
    assert label_sensitivity([rising], x)['motion_from_input'] == pytest.approx(1.2 / 8)
