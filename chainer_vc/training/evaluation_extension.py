"""A trainer extension that judges conversions while training: is conversion growing?

Every ``--eval-interval`` it converts a small fixed set of held-out utterances (the run's
``heldout.csv``; the whole corpus when the run holds none out) to other speakers with the
Generator as it is, and reports

- ``eval/target_accepted``: the fraction whose nearest GE2E speaker centroid is the target's;
- ``eval/similarity_margin``: mean cosine to the target's centroid minus to the source's;
- ``eval/cycle_lsd``: mean log-spectral distance (dB) of source -> target -> source.

The judges (centroids from real held-out speech through the vocoder path) are built on the
first call and kept.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import chainer

from chainer_vc.judging import evaluation, scoring, selection
from chainer_vc.training import extensions as vc_extensions
from chainer_vc.conversion.converter import Converter
from chainer_vc.corpus import Corpus
from chainer_vc.networks.run_directory import ModelConfig

EVAL_KEYS = ('eval/target_accepted', 'eval/similarity_margin', 'eval/cycle_lsd')
# A few pairs and utterances: judging must cost little next to the training between calls.
DEFAULT_LIMITS = selection.Limits(pairs=8, references=4, probes=4, classifier_train=0,
                                   sensitivity_sources=0, examples=0)


class ConversionJudge(chainer.training.Extension):
    """Reports :data:`EVAL_KEYS` (see the module)."""

    # Runs before LogReport and PlotReport read the observation of the same iteration.
    priority = chainer.training.extension.PRIORITY_WRITER

    def __init__(self, generator, config: ModelConfig, corpus: Corpus, run_dir: Path,
                 limits: selection.Limits = DEFAULT_LIMITS):
        self._generator = generator
        self._config = config
        self._corpus = corpus
        self._limits = limits
        # Chosen now, so that a corpus the judges cannot use stops training before it starts.
        self._selection = selection.select_utterances(corpus, run_dir, limits, 'the corpus')
        self._prepared: Optional[tuple] = None

    def _converter(self) -> Converter:
        return Converter(self._generator, self._config, 'training',
                         device=str(self._generator.device))

    def _prepare(self) -> tuple:
        converter = self._converter()
        chosen = self._selection
        recordings = selection.load_audio(chosen.references + chosen.probes,
                                           converter.features)
        classes = {group.name: list(group.classes) for group in self._config.labels.groups}
        judges = scoring.build_judges(scoring.VocoderOnly.like(converter), chosen,
                                      recordings, classes)
        return judges, recordings

    def __call__(self, trainer):
        if self._prepared is None:
            self._prepared = self._prepare()
        judges, recordings = self._prepared
        result = evaluation.judge_conversions(
            self._converter(), judges, self._selection, recordings, self._limits,
            self._corpus.utterances, content='cycle')
        converted = result.report['rows']['converted']
        chainer.report({'eval/target_accepted': converted['target_accepted'],
                        'eval/similarity_margin': converted['similarity_margin'],
                        'eval/cycle_lsd': result.report['content']['cycle_lsd']})


def plot_reports(make_trigger) -> list:
    """PlotReports of the judges' values: speaker (accepted, margin) and content (cycle)."""
    return [vc_extensions.PlotReport(list(EVAL_KEYS[:2]), 'iteration', trigger=make_trigger(),
                                     filename='eval_speaker.png'),
            vc_extensions.PlotReport([EVAL_KEYS[2]], 'iteration', trigger=make_trigger(),
                                     filename='eval_cycle_lsd.png')]
