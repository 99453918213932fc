"""Does it convert? Judging a trained run's conversions of speech it never trained on.

    report = evaluate_run('results/demo', 'data/fillets/manifest.csv', pairs=40)

Utterances come from the run's held-out list (``heldout.csv``) when it has one; otherwise
from the whole manifest (which the model may have trained on; the report says which).
Per speaker they are split in two by a hash of their key: *references*, whose embeddings
make the speaker centroids of judge 1, and *probes*, which are converted to every other
speaker (sampled to ``pairs``) and serve as the real-speech rows. Every real utterance the
judges hear goes through the *vocoder path* (the conversion path with the Generator left
out: analysis, [0, 1] mapping, band limit, Griffin-Lim), so that the vocoder is not what
tells converted speech apart. Rows of every table (each over the same pairs):

- ``source``: the unconverted source utterance (the floor: what "no conversion" scores);
- ``source_vocoded``: the source through the vocoder path only;
- ``f0_only``, ``shift``, ``spread`` and ``baseline``: signal processing with no training
  (:mod:`.baseline`): F0 moved alone; F0 and the envelope's mean shift, no warp; F0 and each
  bin's mean and spread, no warp; F0 with one frequency warp and mean shift of the envelope;
- ``converted``: the conversion to the target;
- ``target_vocoded``: real speech of the target speaker through the vocoder path (the
  ceiling a conversion can reach); ``target``: the same without the vocoder.
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Dict, Optional, Sequence, Union

import numpy as np

from chainer_vc.common import devices
from chainer_vc.common.errors import InputError, warnings_about
from chainer_vc.conversion import baseline
from chainer_vc.conversion.converter import Converter
from chainer_vc.corpus import Corpus, Utterance, read_manifest
from chainer_vc.corpus.asterisk import known_words
from chainer_vc.features import spectrogram
from chainer_vc.features.spectrogram import SpectrogramConfig
from chainer_vc.judging import content
from chainer_vc.judging.judge import label_sensitivity
from chainer_vc.judging.scoring import (Judges, VocoderOnly, build_judges, confusion,
                                        per_direction, per_pairing, score_row, speakers_of)
from chainer_vc.judging.selection import (Limits, Selection, choose_pairs, load_audio,
                                          select_utterances, speaker_labels)
from chainer_vc.networks.run_directory import find_weights

PathLike = Union[str, Path]
ROWS = ('source', 'source_vocoded', 'f0_only', 'shift', 'spread', 'baseline', 'converted',
        'target_vocoded', 'target')
# Rows converted by signal processing with no training (chainer_vc.conversion.baseline), not by G.
BASELINE_ROWS = ('f0_only', 'shift', 'spread', 'baseline')
# Rows whose transcripts the content judge compares with the source's own transcript.
TRANSCRIBED_ROWS = ('source_vocoded', 'f0_only', 'shift', 'spread', 'baseline',
                    'converted')
ROW_TITLES = {
    'source': 'source, unconverted (floor)',
    'source_vocoded': 'source through the vocoder path only',
    'f0_only': 'F0 only (log-Gaussian), WORLD, no training',
    'shift': 'F0 + envelope mean shift, no warp, WORLD, no training',
    'spread': 'F0 + envelope mean and spread per bin, no warp, WORLD, no training',
    'baseline': 'baseline: F0 + envelope warp + mean shift, WORLD, no training',
    'converted': 'converted',
    'target_vocoded': 'real target speech through the vocoder path (ceiling)',
    'target': 'real target speech, unprocessed',
}


@dataclasses.dataclass
class Evaluation:
    report: dict
    examples: list  # [{'source': samples, 'converted': ..., 'target': ..., 'pair': {...}}]
    features: Optional[SpectrogramConfig] = None


def judge_conversions(converter: Converter, judges: Judges, selection: Selection,
                      recordings: Dict[Path, np.ndarray], limits: Limits, all_labels: list,
                      content: Optional[str] = 'full',
                      baselines: Optional[Dict[str, Converter]] = None,
                      transcribe: Sequence[str] = ()) -> Evaluation:
    """Convert the chosen pairs with ``converter`` (and each of ``baselines``, rows named
    by :data:`BASELINE_ROWS`) and score every row of the table; ``content``: 'full' (every
    content metric), 'cycle' (the cycle distance only) or None; ``transcribe``: speakers
    (of US English) whose conversions the content judge transcribes."""
    baselines = baselines or {}
    speakers = judges.speaker.speakers
    pairs = choose_pairs(selection.probes, speakers, limits.pairs, limits.seed)
    probe_speakers = speakers_of(selection.probes)
    by_speaker = {s: [i for i, p in enumerate(probe_speakers) if p == s] for s in speakers}
    target_probe = [by_speaker[t][n % len(by_speaker[t])] for n, (_, t) in enumerate(pairs)]
    target_labels = {s: speaker_labels(all_labels, s) for s in speakers}
    converted = _convert_pairs(converter, selection, recordings, pairs, target_labels)
    by_baseline = {name: _convert_pairs(other, selection, recordings, pairs, target_labels)
                   for name, other in baselines.items()}
    sources = [probe_speakers[i] for i, _ in pairs]
    targets = [t for _, t in pairs]
    expected = [target_labels[t] for t in targets]
    source_index = [i for i, _ in pairs]
    embeddings = {
        'source': judges.probes[source_index],
        'source_vocoded': judges.probes_vocoded[source_index],
        'converted': judges.encoder.embed_utterances(converted),
        **{name: judges.encoder.embed_utterances(outputs)
           for name, outputs in by_baseline.items()},
        'target_vocoded': judges.probes_vocoded[target_probe],
        'target': judges.probes[target_probe]}
    rows = {name: score_row(judges, embeddings[name], sources, targets, expected)
            for name in ROWS if name in embeddings}
    sexes = {s: target_labels[s].get('sex') for s in speakers}
    for row in rows.values():
        row['directions'] = per_direction(row, sources, targets, judges.speaker.threshold)
        row['pairings'] = per_pairing(row, sources, targets, judges.speaker.threshold, sexes)
    report = {
        'rows': rows,
        'pairs': [{'source': str(selection.probes[i].path), 'source_speaker': probe_speakers[i],
                   'target_speaker': t, 'real_target': str(selection.probes[j].path)}
                  for (i, t), j in zip(pairs, target_probe)],
        'confusion_converted': confusion(rows['converted']['per_utterance']['predicted'],
                                         targets, speakers),
    }
    if content:
        report['content'] = content_metrics(converter, selection, recordings, pairs, converted,
                                            target_labels, limits, content == 'full')
        if content == 'full' and 'baseline' in baselines:
            report['content'].update(baseline_distances(
                baselines['baseline'], selection, recordings, pairs, by_baseline['baseline']))
    transcribing = set(transcribe)
    transcribed = [n for n, (i, _) in enumerate(pairs)
                   if selection.probes[i].labels['speaker'] in transcribing]
    heard = {}
    if transcribe:
        outputs = {'converted': converted, **by_baseline}
        report['transcripts'] = transcripts(converter, selection, recordings, pairs,
                                            transcribed, outputs)
        report['transcripts']['speakers'] = sorted(transcribe)
        heard = {p['pair']: p for p in report['transcripts']['pairs']}
    # The listening page shows transcribed pairs first: their words are beside the players.
    shown = transcribed + [n for n in range(len(pairs)) if n not in heard]
    examples = []
    for n in shown[:limits.examples]:
        i = pairs[n][0]
        examples.append({
            'pair': report['pairs'][n], 'source': recordings[selection.probes[i].path],
            'converted': converted[n],
            **({'baseline': by_baseline['baseline'][n]} if 'baseline' in by_baseline else {}),
            'target': recordings[selection.probes[target_probe[n]].path],
            **({'transcripts': heard[n]} if n in heard else {})})
    return Evaluation(report, examples, converter.distance_config)


def transcripts(converter: Converter, selection: Selection, recordings, pairs,
                chosen: Sequence[int], outputs: Dict[str, list]) -> dict:
    """The content judge on the ``chosen`` pairs: each row's transcript (``outputs``: row ->
    audio per pair, and the source through the vocoder path) scored against the source's
    own transcript and, where the file name tells the words (:func:`known_words`), against
    those."""
    judge = content.ContentJudge()
    vocoder = VocoderOnly.like(converter)
    rate = converter.features.sample_rate
    # A source is converted to several targets: its own transcripts are made once.
    said = {}
    per_pair = []
    for n in chosen:
        probe = selection.probes[pairs[n][0]]
        if probe.path not in said:
            source = recordings[probe.path]
            said[probe.path] = {
                'source': judge.transcript(source, rate),
                'source_vocoded': judge.transcript(vocoder.convert_codes(source, None), rate)}
        heard = {name: judge.transcript(audio[n], rate) for name, audio in outputs.items()}
        per_pair.append({'pair': n, 'truth': known_words(probe.path), **said[probe.path],
                         **heard})
    rows = [name for name in TRANSCRIBED_ROWS if name == 'source_vocoded' or name in outputs]
    with_truth = [p for p in per_pair if p['truth']]
    return {
        'n': len(per_pair), 'n_truth': len(with_truth),
        'agreement': {name: content.mean_agreement((p[name], p['source']) for p in per_pair)
                      for name in rows},
        'truth': {name: content.mean_agreement((p[name], p['truth']) for p in with_truth)
                  for name in ('source',) + tuple(rows)},
        'pairs': per_pair,
        'recogniser': 'PocketSphinx 5, its US-English model (chainer_vc.judging.content)'}


def _convert_pairs(converter: Converter, selection: Selection, recordings, pairs,
                   target_labels: dict) -> list:
    converted = []
    for i, target in pairs:
        codes = converter.target_codes(target_labels[target])
        path = selection.probes[i].path
        with warnings_about(path):
            converted.append(converter.convert_codes(recordings[path], codes))
    return converted


def baseline_distances(baseline: Converter, selection: Selection, recordings, pairs,
                       converted: list) -> dict:
    """The baseline's cycle and identity log-spectral distances, as for the model."""
    lsd = distances(baseline, selection, recordings, pairs, converted)
    return {'baseline_cycle_lsd': float(np.mean(lsd['cycle'])),
            'baseline_identity_lsd': float(np.mean(lsd['identity']))}


def distances(converter: Converter, selection: Selection, recordings, pairs, converted: list,
              identity: bool = True) -> dict:
    """``{'cycle': [dB per pair], 'identity': [...]}``: log-spectral distances of each source
    to its conversion converted back, and (``identity``) to its conversion to its own labels."""
    lsd = {'cycle': [], 'identity': []}
    for n, (i, _) in enumerate(pairs):
        path = selection.probes[i].path
        source = recordings[path]
        own = converter.target_codes(_labelled(selection.probes[i].labels))
        with warnings_about(path):
            lsd['cycle'].append(cycle_distance(converter, source, converted[n], own))
            if identity:
                lsd['identity'].append(spectrogram.log_spectral_distance(
                    source, converter.convert_codes(source, own), converter.distance_config))
    return lsd


def content_metrics(converter: Converter, selection: Selection, recordings, pairs, converted,
                    target_labels: dict, limits: Limits, full: bool = True) -> dict:
    """Log-spectral distances to the source (cycle, identity, vocoder alone) and G's label
    sensitivity, mean |G(x, c_i) - G(x, c_j)| next to mean |G(x, c) - x| (``full``; else the
    cycle distance only)."""
    lsd = distances(converter, selection, recordings, pairs, converted, identity=full)
    if not full:
        return {'cycle_lsd': float(np.mean(lsd['cycle']))}
    vocoder = VocoderOnly.like(converter)
    sources = [recordings[selection.probes[i].path] for i, _ in pairs]
    lsd['vocoder'] = [spectrogram.log_spectral_distance(
        source, vocoder.convert_codes(source, None), converter.distance_config)
        for source in sources]
    sensitivity = [_sensitivity(converter, recordings[selection.probes[i].path], target_labels)
                   for i in sorted({i for i, _ in pairs})[:limits.sensitivity_sources]]
    return {
        'cycle_lsd': float(np.mean(lsd['cycle'])),
        'identity_lsd': float(np.mean(lsd['identity'])),
        'vocoder_lsd': float(np.mean(lsd['vocoder'])),
        'label_sensitivity': float(np.mean([s['between_labels'] for s in sensitivity])),
        'change_from_input': float(np.mean([s['from_input'] for s in sensitivity])),
        'motion_from_input': float(np.mean([s['motion_from_input'] for s in sensitivity])),
    }


def cycle_distance(converter: Converter, source: np.ndarray, converted: np.ndarray,
                   source_codes: np.ndarray) -> float:
    """Log-spectral distance (dB) of the source to its conversion converted back."""
    cycled = converter.convert_codes(converted, source_codes)
    return spectrogram.log_spectral_distance(source, cycled, converter.distance_config)


def _labelled(labels: dict) -> dict:
    return {k: v for k, v in labels.items() if v is not None}


def _sensitivity(converter: Converter, samples: np.ndarray, target_labels: dict) -> dict:
    unit = converter.kind.encode(samples).unit
    outputs = [devices.to_cpu(converter.generate(unit, converter.target_codes(labels)))
               for labels in target_labels.values()]
    return label_sensitivity(outputs, unit)


def prepare(converter: Converter, run_dir: PathLike, manifest: PathLike,
            limits: Limits) -> tuple:
    """(corpus, selection, recordings, judges): the manifest read with the model's labels,
    the utterances each judge uses, their audio, and the judges fitted on real speech."""
    schema = converter.config.labels
    corpus = read_manifest(manifest, schema)
    selection = select_utterances(corpus, run_dir, limits, str(manifest))
    used = selection.references + selection.probes + selection.classifier_train
    recordings = load_audio(list({u.path: u for u in used}.values()), converter.features)
    classes = {group.name: list(group.classes) for group in schema.groups}
    judges = build_judges(VocoderOnly.like(converter), selection, recordings, classes)
    return corpus, selection, recordings, judges


def run_evaluation(run_dir: PathLike, manifest: PathLike, pairs: int = Limits.pairs,
                   snapshot: Optional[str] = None, gpu: int = -1,
                   limits: Optional[Limits] = None, transcribe: Sequence[str] = (),
                   motion_scale: float = 1.0) -> Evaluation:
    """Judge the conversions of a run directory on a manifest's speech (see the module);
    ``motion_scale``: the converter's (:class:`~chainer_vc.conversion.Converter`)."""
    limits = dataclasses.replace(limits or Limits(), pairs=pairs)
    converter = Converter.from_run_directory(run_dir, snapshot, gpu=gpu,
                                             motion_scale=motion_scale)
    transcribe = _known_speakers(transcribe, converter)
    corpus, selection, recordings, judges = prepare(converter, run_dir, manifest, limits)
    evaluation = judge_conversions(converter, judges, selection, recordings, limits,
                                   corpus.utterances,
                                   baselines=baselines_for(converter, selection.classifier_train),
                                   transcribe=transcribe)
    weights = find_weights(run_dir, snapshot, 'gen')
    relative_to_manifest(evaluation.report['pairs'], manifest)
    evaluation.report = {
        'model': str(run_dir), 'weights': weights.name, 'manifest': str(manifest),
        'motion_scale': motion_scale,
        'utterances': selection.description,
        'counts': {'references': len(selection.references), 'probes': len(selection.probes),
                   'classifier_train': len(selection.classifier_train),
                   'pairs': len(evaluation.report['pairs'])},
        'speakers': judges.speaker.speakers,
        'judge1': {k: v for k, v in judges.calibration.items() if not k.startswith('judge2')},
        'judge2': {'ceiling': judges.calibration['judge2_ceiling'],
                   'train_utterances': judges.calibration['judge2_train_utterances'],
                   'representation': 'GE2E embedding of real speech through the vocoder path'},
        **evaluation.report,
    }
    return evaluation


def _known_speakers(speakers: Sequence[str], converter: Converter) -> list:
    known = converter.config.labels.group('speaker').classes
    unknown = [s for s in speakers if s not in known]
    if unknown:
        raise InputError(f'cannot transcribe {", ".join(unknown)}: not a speaker of the model '
                         f'(known: {", ".join(known)})')
    return list(speakers)


def baselines_for(converter: Converter, fit_on: Sequence[Utterance]) -> Dict[str, Converter]:
    """The converters of :data:`BASELINE_ROWS` (F0 only, mean shift, mean and spread,
    baseline): with a world model's own statistics, else with statistics fitted on ``fit_on``
    (real training speech)."""
    config = converter.config
    schema = config.labels
    codes = Corpus(list(fit_on), schema.names).codes(schema)
    paths = [u.path for u in fit_on]
    config = baseline.fit_model_config(config, paths, codes)
    spread = baseline.with_spread(config, paths, codes)
    return {'f0_only': baseline.BaselineConverter(config, 'F0 only', mode='f0'),
            'shift': baseline.BaselineConverter(config, 'mean shift', mode='shift'),
            'spread': baseline.BaselineConverter(spread, 'mean and spread', mode='spread'),
            'baseline': baseline.BaselineConverter(config, 'baseline')}


def relative_to_manifest(pairs: list, manifest: PathLike) -> None:
    """Audio paths of the pairs as the manifest would give them: relative to its folder."""
    folder = Path(manifest).resolve().parent
    for pair in pairs:
        for key in ('source', 'real_target'):
            pair[key] = os.path.relpath(Path(pair[key]).resolve(), folder)


def evaluate_run(run_dir: PathLike, manifest: PathLike, pairs: int = Limits.pairs,
                 snapshot: Optional[str] = None, gpu: int = -1) -> dict:
    """The report (a JSON-ready dict) of :func:`run_evaluation`."""
    return run_evaluation(run_dir, manifest, pairs, snapshot, gpu).report
