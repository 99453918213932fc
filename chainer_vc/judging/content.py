"""The content judge: does a conversion still say what its source said?

Speech is transcribed offline with PocketSphinx 5 and the US-English models its wheel ships
(a phonetically-tied-mixture acoustic model, a trigram language model and CMUdict). A
conversion is scored by how well its transcript agrees with its source's transcript:
1 - word (or character) error rate, clipped at 0. Neither transcript is the truth, so
agreement measures what the conversion kept of what the recogniser could hear in the source,
not absolute accuracy.
"""
from __future__ import annotations

import dataclasses
import hashlib
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Callable, Dict, Iterable, Optional, Sequence, Tuple

import numpy as np
import soundfile

from chainer_vc.common.audio import resample
from chainer_vc.common.errors import InputError

SAMPLE_RATE = 16000  # the acoustic model's rate
# Decoder settings on top of the wheel's default model (hmm, lm, dict). FATAL keeps the
# library's warnings and errors off stderr (failures still raise RuntimeError). Dither, because
# digital silence (exact zeros) otherwise decodes as a word ('dog'); a fixed seed keeps the
# dither, and so the transcript, the same on every run.
DECODER_SETTINGS = {'loglevel': 'FATAL', 'dither': True, 'seed': 1}
# <s>, </s>, <sil>, [NOISE], [SPEECH], ++GARBAGE++: silences and fillers, not words.
_FILLER = re.compile(r'^(<.*>|\[.*\]|\+\+.*\+\+)$')
_ALTERNATE = re.compile(r'\(\d+\)$')  # hello(2): CMUdict's second pronunciation of hello


def _pocketsphinx():
    try:
        import pocketsphinx
    except ImportError as error:
        raise InputError(f'the content judge needs pocketsphinx>=5, which cannot be imported '
                         f'({error})') from None
    return pocketsphinx


def to_pcm16(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mono float audio at any rate as 16-bit samples at :data:`SAMPLE_RATE`."""
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim != 1:
        raise ValueError(f'mono audio expected, got shape {samples.shape}')
    audio = np.clip(resample(samples, sample_rate, SAMPLE_RATE), -1.0, 1.0)
    return np.round(audio * 32767).astype(np.int16)


def clean_transcript(text: str) -> str:
    """Lowercase words joined by single spaces: fillers dropped, ``word(2)`` as ``word``."""
    words = (_ALTERNATE.sub('', token) for token in text.lower().split())
    return ' '.join(word for word in words if word and not _FILLER.match(word))


def transcribe(samples: np.ndarray, sample_rate: int) -> str:
    """The words PocketSphinx hears in mono float audio (``''`` for none)."""
    pcm = to_pcm16(samples, sample_rate)
    if pcm.size == 0:  # process_raw raises IndexError on an empty buffer
        return ''
    # A fresh decoder per utterance: a reused one carries its cepstral-mean (and noise)
    # estimates over from the utterances before, so a transcript would depend on what was
    # decoded earlier. Loading costs ~0.3 s a time, mostly building the search over the LM.
    decoder = _pocketsphinx().Decoder(**DECODER_SETTINGS)
    decoder.start_utt()
    # full_utt: the whole utterance at once, so the cepstral mean is the utterance's own
    # (feat.params asks for batch CMN). Fed in pieces, the decoder falls back to a running
    # estimate, and heard fewer words right (isolated digits: 0.47 word agreement, not 0.67).
    decoder.process_raw(pcm.tobytes(), full_utt=True)
    decoder.end_utt()
    hypothesis = decoder.hyp()
    return clean_transcript(hypothesis.hypstr) if hypothesis is not None else ''


def synthesise(text: str, voice: str = 'slt') -> np.ndarray:
    """English speech for ``text`` at :data:`SAMPLE_RATE` (float32) from Debian's ``flite``
    (voices slt, awb, rms, kal16): speech whose words are known, to check the judge
    without recordings."""
    flite = shutil.which('flite')
    if flite is None:
        raise RuntimeError('synthesising speech needs flite on PATH (apt-get install flite)')
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / 'speech.wav'
        done = subprocess.run([flite, '-voice', voice, '-t', text, '-o', str(path)],
                              capture_output=True, text=True, timeout=60)
        if done.returncode != 0 or not path.is_file():
            reason = (done.stderr.strip().splitlines() or ['no output'])[-1]
            raise RuntimeError(f'flite could not synthesise speech: {reason}')
        samples, rate = soundfile.read(str(path), dtype='float32')
    return resample(samples, rate, SAMPLE_RATE).astype(np.float32)


# ------------------------------------------------------------------------- agreement


def edit_distance(hypothesis: Sequence, reference: Sequence) -> int:
    """Levenshtein distance: substitutions, insertions and deletions, each costing 1."""
    previous = list(range(len(reference) + 1))
    for i, item in enumerate(hypothesis, start=1):
        current = [i]
        for j, wanted in enumerate(reference, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (item != wanted)))
        previous = current
    return previous[-1]


def _error_rate(hypothesis: Sequence, reference: Sequence) -> float:
    if not reference:
        return 0.0 if not hypothesis else 1.0
    return edit_distance(hypothesis, reference) / len(reference)


def word_error_rate(hypothesis: str, reference: str) -> float:
    """Word edits over reference words (may exceed 1 with insertions); an empty reference
    gives 0 against an empty hypothesis and 1 against any other."""
    return _error_rate(hypothesis.split(), reference.split())


def character_error_rate(hypothesis: str, reference: str) -> float:
    """:func:`word_error_rate` over characters, runs of whitespace counted as one space."""
    return _error_rate(' '.join(hypothesis.split()), ' '.join(reference.split()))


def agreement(hypothesis: str, reference: str) -> Dict[str, float]:
    """``{'word': 1 - WER, 'character': 1 - CER}``, each clipped at 0: 1 is the same words."""
    return {'word': max(0.0, 1.0 - word_error_rate(hypothesis, reference)),
            'character': max(0.0, 1.0 - character_error_rate(hypothesis, reference))}


def mean_agreement(pairs: Iterable[Tuple[str, str]]) -> Optional[Dict[str, float]]:
    """Mean :func:`agreement` over ``(hypothesis, reference)`` pairs; None for no pairs."""
    scores = [agreement(hypothesis, reference) for hypothesis, reference in pairs]
    if not scores:
        return None
    return {key: float(np.mean([s[key] for s in scores])) for key in ('word', 'character')}


# ----------------------------------------------------------------------------- judge


@dataclasses.dataclass
class ContentJudge:
    """Agreement of each conversion's transcript with its source's transcript.

    Transcripts are memoised by audio content: a source converted to several targets is
    transcribed once (a fresh decoder makes transcripts a function of the audio alone).
    """
    transcriber: Callable[[np.ndarray, int], str] = transcribe
    _memo: Dict[Tuple[bytes, int], str] = dataclasses.field(default_factory=dict, init=False,
                                                           repr=False)

    def transcript(self, samples: np.ndarray, sample_rate: int) -> str:
        samples = np.ascontiguousarray(samples, dtype=np.float32)
        key = (hashlib.sha1(samples.tobytes()).digest(), sample_rate)
        if key not in self._memo:
            self._memo[key] = self.transcriber(samples, sample_rate)
        return self._memo[key]

    def score(self, pairs: Sequence[Tuple[np.ndarray, np.ndarray]], sample_rate: int) -> dict:
        """``pairs`` of (converted, source) audio: mean word and character agreement, and
        per pair the two transcripts and their agreement."""
        if not pairs:
            raise ValueError('no (converted, source) pairs to judge')
        per_pair = []
        for converted, source in pairs:
            heard = self.transcript(converted, sample_rate)
            said = self.transcript(source, sample_rate)
            per_pair.append({'converted': heard, 'source': said, **agreement(heard, said)})
        means = mean_agreement((p['converted'], p['source']) for p in per_pair)
        return {'n': len(per_pair), **means, 'pairs': per_pair}
