"""The two judges fitted on real speech (GE2E centroids with their equal-error threshold, and
judge 2's label classifiers), and the scores of one row of conversions: overall, per
direction (source -> target speaker) and per pairing (same-sex, cross-sex)."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from chainer_vc.conversion.converter import Converter
from chainer_vc.corpus import Utterance
from chainer_vc.judging import speaker_encoder
from chainer_vc.judging.judge import (LabelJudge, SpeakerJudge, centroids, equal_error_rate,
                                      verification_trials)
from chainer_vc.judging.selection import Selection


class VocoderOnly(Converter):
    """The conversion path with the Generator left out: what the vocoder alone does."""

    def generate(self, unit, codes):
        xp = self.device.xp
        return xp.asarray(unit, dtype=xp.float32)

    @classmethod
    def like(cls, converter: Converter) -> 'VocoderOnly':
        return cls(converter.generator, converter.config, converter.name,
                   device=str(converter.device), options=converter.options,
                   window_frames=converter.window_frames,
                   overlap_frames=converter.overlap_frames)


@dataclasses.dataclass
class Judges:
    """Both judges, fitted on real speech; built once per corpus, used on any Generator.
    ``probes`` and ``probes_vocoded``: embeddings of the real probes, raw and vocoded."""
    encoder: speaker_encoder.SpeakerEncoder
    speaker: SpeakerJudge
    labels: LabelJudge
    calibration: dict
    probes: np.ndarray
    probes_vocoded: np.ndarray


def _vocoded(vocoder: VocoderOnly, samples: Sequence[np.ndarray]) -> list:
    return [vocoder.convert_codes(s, None) for s in samples]


def build_judges(vocoder: VocoderOnly, selection: Selection, recordings: Dict[Path, np.ndarray],
                 classes: Dict[str, list],
                 encoder: Optional[speaker_encoder.SpeakerEncoder] = None) -> Judges:
    """Centroids from the references, the threshold at the probes' equal error rate, and
    judge 2 trained on ``classifier_train`` (all real speech through the vocoder path)."""
    encoder = encoder or speaker_encoder.pretrained()
    embed = encoder.embed_utterances
    references = embed(_vocoded(vocoder, [recordings[u.path] for u in selection.references]))
    speaker = SpeakerJudge(centroids(references, speakers_of(selection.references)))
    probe_speakers = speakers_of(selection.probes)
    probes_vocoded = embed(_vocoded(vocoder, [recordings[u.path] for u in selection.probes]))
    probes_raw = embed([recordings[u.path] for u in selection.probes])
    eer, speaker.threshold = equal_error_rate(
        *verification_trials(speaker, probes_vocoded, probe_speakers))
    train = embed(_vocoded(vocoder, [recordings[u.path] for u in selection.classifier_train]))
    labels = LabelJudge.train(train, [u.labels for u in selection.classifier_train], classes)
    labels.measure_ceiling(probes_vocoded, [u.labels for u in selection.probes])
    calibration = {
        'equal_error_rate': eer, 'threshold': speaker.threshold,
        'chance': 1 / len(speaker.speakers),
        'identification': {
            'real': _accuracy(speaker.identify(probes_raw), probe_speakers),
            'real_vocoded': _accuracy(speaker.identify(probes_vocoded), probe_speakers)},
        'confusion_real_vocoded': confusion(speaker.identify(probes_vocoded), probe_speakers,
                                            speaker.speakers),
        'centroid_similarity': speaker.similarities(
            np.stack([speaker.centroids[s] for s in speaker.speakers])).round(4).tolist(),
        'judge2_ceiling': dict(labels.ceiling),
        'judge2_train_utterances': len(selection.classifier_train),
    }
    return Judges(encoder, speaker, labels, calibration, probes_raw, probes_vocoded)


def speakers_of(utterances: Sequence[Utterance]) -> list:
    return [u.labels['speaker'] for u in utterances]


def _accuracy(predicted: Sequence[str], expected: Sequence[str]) -> float:
    return float(np.mean([p == e for p, e in zip(predicted, expected)]))


def confusion(predicted: Sequence[str], expected: Sequence[str], speakers: Sequence[str]) -> list:
    """Counts [expected][predicted] in ``speakers`` order."""
    index = {s: i for i, s in enumerate(speakers)}
    matrix = np.zeros((len(speakers), len(speakers)), dtype=int)
    for p, e in zip(predicted, expected):
        matrix[index[e], index[p]] += 1
    return matrix.tolist()


def score_row(judges: Judges, embeddings: np.ndarray, sources: list, targets: list,
              expected_labels: List[dict]) -> dict:
    """Judge 1's metrics and judge 2's accuracy per group for one row of the table."""
    row = judges.speaker.score(embeddings, sources, targets)
    row['judge2'] = {}
    for group in judges.labels.classifiers:
        wanted = [labels.get(group) for labels in expected_labels]
        rows = [i for i, w in enumerate(wanted) if w is not None]
        row['judge2'][group] = (judges.labels.accuracy(group, embeddings[rows],
                                                       [wanted[i] for i in rows])
                                if rows else None)
    return row


def per_direction(row: dict, sources: Sequence[str], targets: Sequence[str],
                  threshold: float) -> dict:
    """``{'a->b': {n, target_accepted, verified, similarity_margin}}``: a model that turns
    every input into one speaker is accepted half the time overall, never in one direction."""
    return grouped_scores(row, [f'{s}->{t}' for s, t in zip(sources, targets)], targets,
                          threshold)


def per_pairing(row: dict, sources: Sequence[str], targets: Sequence[str], threshold: float,
                sexes: Dict[str, Optional[str]]) -> dict:
    """The same over ``same-sex`` and ``cross-sex`` pairs (pairs with an unlabelled speaker
    are in neither)."""
    return grouped_scores(row, pairing_kinds(sources, targets, sexes), targets, threshold)


def pairing_kinds(sources: Sequence[str], targets: Sequence[str],
                  sexes: Dict[str, Optional[str]]) -> list:
    """Per pair, ``'same-sex'``, ``'cross-sex'``, or None where a speaker's sex is unknown."""
    return [None if sexes.get(s) is None or sexes.get(t) is None
            else 'same-sex' if sexes[s] == sexes[t] else 'cross-sex'
            for s, t in zip(sources, targets)]


def grouped_scores(row: dict, keys: Sequence[Optional[str]], targets: Sequence[str],
                   threshold: float) -> dict:
    """Judge 1's metrics over the pairs of each key (None: left out)."""
    per = row['per_utterance']
    grouped = {}
    for n, key in enumerate(keys):
        if key is not None:
            grouped.setdefault(key, []).append(n)
    result = {}
    for key, members in sorted(grouped.items()):
        to_target = np.asarray(per['similarity_target'])[members]
        to_source = np.asarray(per['similarity_source'])[members]
        result[key] = {
            'n': len(members),
            'target_accepted': float(np.mean([per['predicted'][n] == targets[n]
                                              for n in members])),
            'verified': float(np.mean(to_target >= threshold)),
            'similarity_margin': float(np.mean(to_target - to_source))}
    return result


def worse_direction(row: dict) -> Optional[float]:
    """The lowest target-accepted rate over directions."""
    directions = row.get('directions') or {}
    return min((d['target_accepted'] for d in directions.values()), default=None)
