"""Judges of a conversion that never trained with the Generator.

Judge 1 is the pretrained GE2E speaker encoder (:mod:`chainer_vc.judging.speaker_encoder`): each
speaker is the L2-normalised mean embedding (centroid) of real utterances, and an utterance
is scored by its cosine similarity to the centroids. Judge 2 is a small classifier per label
group (speaker, sex, region, ...) trained on GE2E embeddings of real speech only; its
accuracy on held-out real speech is its ceiling, reported next to every number it gives.
Content is judged by log-spectral distances and by how much G's output depends on its label.
"""
from __future__ import annotations

import dataclasses
from typing import Dict, Mapping, Optional, Sequence

import chainer
import chainer.functions as F
import chainer.links as L
import numpy as np

from chainer_vc.features.dynamics import utterance_distance

# ---------------------------------------------------------------------------- judge 1


def centroids(embeddings: np.ndarray, speakers: Sequence[str]) -> Dict[str, np.ndarray]:
    """``{speaker: L2-normalised mean embedding}``."""
    speakers = np.asarray(speakers)
    out = {}
    for speaker in sorted(set(speakers.tolist())):
        mean = embeddings[speakers == speaker].mean(axis=0)
        out[speaker] = mean / max(float(np.linalg.norm(mean)), 1e-12)
    return out


@dataclasses.dataclass
class SpeakerJudge:
    """Judge 1: cosine similarity to speaker centroids, and a verification threshold."""
    centroids: Dict[str, np.ndarray]
    threshold: float = 0.0

    @property
    def speakers(self) -> list:
        return sorted(self.centroids)

    def similarities(self, embeddings: np.ndarray) -> np.ndarray:
        """(n, n_speakers) cosine similarities, speakers in :attr:`speakers` order."""
        matrix = np.stack([self.centroids[s] for s in self.speakers], axis=1)
        return np.asarray(embeddings, dtype=np.float64) @ matrix

    def identify(self, embeddings: np.ndarray) -> list:
        """The nearest centroid's speaker for each embedding."""
        return [self.speakers[i] for i in np.argmax(self.similarities(embeddings), axis=1)]

    def score(self, embeddings: np.ndarray, sources: Sequence[str],
              targets: Sequence[str]) -> dict:
        """Means over utterances meant to sound like ``targets`` (and made from ``sources``)."""
        similarity = self.similarities(embeddings)
        column = {s: i for i, s in enumerate(self.speakers)}
        rows = np.arange(len(similarity))
        to_target = similarity[rows, [column[t] for t in targets]]
        to_source = similarity[rows, [column[s] for s in sources]]
        predicted = self.identify(embeddings)
        accepted = np.array([p == t for p, t in zip(predicted, targets)], dtype=float)
        return {
            'n': len(similarity),
            'similarity_target': float(to_target.mean()),
            'similarity_source': float(to_source.mean()),
            'similarity_margin': float((to_target - to_source).mean()),
            'target_accepted': float(accepted.mean()),
            'verified': float((to_target >= self.threshold).mean()),
            'per_utterance': {'similarity_target': to_target.tolist(),
                              'similarity_source': to_source.tolist(),
                              'predicted': predicted},
        }


def equal_error_rate(genuine: Sequence[float], impostor: Sequence[float]) -> tuple:
    """(EER, threshold): where the false-rejection rate of ``genuine`` scores meets the
    false-acceptance rate of ``impostor`` scores (midpoint of the crossing)."""
    genuine, impostor = np.sort(genuine), np.sort(impostor)
    candidates = np.unique(np.concatenate([genuine, impostor]))
    false_reject = np.searchsorted(genuine, candidates, side='left') / len(genuine)
    false_accept = 1 - np.searchsorted(impostor, candidates, side='left') / len(impostor)
    best = int(np.argmin(np.abs(false_reject - false_accept)))
    return float((false_reject[best] + false_accept[best]) / 2), float(candidates[best])


def verification_trials(judge: SpeakerJudge, embeddings: np.ndarray,
                        speakers: Sequence[str]) -> tuple:
    """(genuine, impostor) scores: each utterance against its own and every other centroid."""
    similarity = judge.similarities(embeddings)
    own = np.array([[s == c for c in judge.speakers] for s in speakers])
    return similarity[own], similarity[~own]


# ---------------------------------------------------------------------------- judge 2

class GroupClassifier(chainer.Chain):
    """Embedding -> one hidden layer -> class scores, for one label group."""

    def __init__(self, n_classes: int, n_in: int = 256, n_hidden: int = 64):
        super().__init__()
        with self.init_scope():
            self.hidden = L.Linear(n_in, n_hidden)
            self.out = L.Linear(n_hidden, n_classes)

    def forward(self, x):
        return self.out(F.relu(self.hidden(x)))


@dataclasses.dataclass
class LabelJudge:
    """Judge 2: one :class:`GroupClassifier` per label group, trained on real speech."""
    classifiers: Dict[str, GroupClassifier]
    classes: Dict[str, list]
    ceiling: Dict[str, Optional[float]] = dataclasses.field(default_factory=dict)

    @classmethod
    def train(cls, embeddings: np.ndarray, labels: Sequence[Mapping[str, Optional[str]]],
              classes: Mapping[str, Sequence[str]], steps: int = 300,
              seed: int = 0) -> 'LabelJudge':
        """Fit each group on the utterances labelled in it (full-batch Adam, fixed seed)."""
        classifiers = {}
        for group, names in classes.items():
            index = {name: i for i, name in enumerate(names)}
            rows = [i for i, row in enumerate(labels) if row.get(group) in index]
            if len({labels[i][group] for i in rows}) < 2:
                continue
            x = np.asarray(embeddings[rows], dtype=np.float32)
            t = np.array([index[labels[i][group]] for i in rows], dtype=np.int32)
            classifiers[group] = _fit(x, t, len(names), steps, seed)
        return cls(classifiers, {g: list(c) for g, c in classes.items()})

    def predict(self, group: str, embeddings: np.ndarray) -> list:
        with chainer.using_config('train', False), chainer.no_backprop_mode():
            scores = self.classifiers[group](np.asarray(embeddings, dtype=np.float32)).array
        return [self.classes[group][i] for i in scores.argmax(axis=1)]

    def accuracy(self, group: str, embeddings: np.ndarray, expected: Sequence[str]) -> float:
        predicted = self.predict(group, embeddings)
        return float(np.mean([p == e for p, e in zip(predicted, expected)]))

    def measure_ceiling(self, embeddings: np.ndarray,
                        labels: Sequence[Mapping[str, Optional[str]]]) -> Dict[str, float]:
        """Accuracy on held-out real speech, per group (stored in :attr:`ceiling`)."""
        for group in self.classifiers:
            rows = [i for i, row in enumerate(labels) if row.get(group) in self.classes[group]]
            self.ceiling[group] = (self.accuracy(group, embeddings[rows],
                                                 [labels[i][group] for i in rows])
                                   if rows else None)
        return dict(self.ceiling)


def _fit(x: np.ndarray, t: np.ndarray, n_classes: int, steps: int,
         seed: int) -> GroupClassifier:
    with chainer.using_config('dtype', np.float32):
        state = np.random.get_state()
        np.random.seed(seed)  # Chainer's initializers draw from numpy's global generator.
        try:
            model = GroupClassifier(n_classes, x.shape[1])
        finally:
            np.random.set_state(state)
        optimizer = chainer.optimizers.Adam(alpha=1e-2)
        optimizer.setup(model)
        optimizer.add_hook(chainer.optimizer_hooks.WeightDecay(1e-4))
        for _ in range(steps):
            loss = F.softmax_cross_entropy(model(x), t)
            model.cleargrads()
            loss.backward()
            optimizer.update()
    return model


# ---------------------------------------------------------------------------- content

def label_sensitivity(outputs: Sequence[np.ndarray], source: np.ndarray) -> dict:
    """How much G's output depends on its label, next to how much G changes its input, and
    how much it changes how the input's bands move in time (:mod:`chainer_vc.features.dynamics`).

    ``outputs``: G(x, c) for several labels c, same shape as ``source`` (x: frames, bins)."""
    outputs = [np.asarray(o, dtype=np.float64) for o in outputs]
    between = [np.mean(np.abs(a - b)) for i, a in enumerate(outputs) for b in outputs[i + 1:]]
    change = [np.mean(np.abs(o - source)) for o in outputs]
    motion = [utterance_distance(o, source) for o in outputs]
    return {'between_labels': float(np.mean(between)) if between else 0.0,
            'from_input': float(np.mean(change)), 'motion_from_input': float(np.mean(motion))}
