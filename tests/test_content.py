"""The content judge: error rates against hand counts, and PocketSphinx on speech synthesised
here (Debian's flite voices) next to noise, silence and the same speech played backwards."""
import sys

import numpy as np
import pytest

from chainer_vc.judging import content
from chainer_vc.common.audio import resample
from chainer_vc.common.errors import InputError

DIGITS = 'one two three four five'
# (text, flite voice, rate given to the judge): three voices, so no threshold is one voice's
# luck, and rates other than the model's 16 kHz.
SENTENCES = ((DIGITS, 'slt', 16000), ('six seven eight nine ten', 'awb', 22050),
             ('hello world', 'rms', 44100))
# Measured: every sentence above transcribed word for word (agreement 1.0); noise and silence
# give no words; reversed speech 0.0 word and 0.17-0.26 character agreement.
HEARD, UNHEARD_WORDS, UNHEARD_CHARACTERS = 0.8, 0.2, 0.5


@pytest.fixture(scope='module')
def spoken():
    """{text: (audio at 16 kHz, its transcript)}; fails (not skips) without flite."""
    out = {}
    for text, voice, rate in SENTENCES:
        audio = content.synthesise(text, voice)
        out[text] = audio, content.transcribe(resample(audio, 16000, rate), rate)
    return out


def white_noise(seconds=1.0, level=0.1):
    return (level * np.random.default_rng(0).standard_normal(int(seconds * 16000))
            ).astype(np.float32)


def test_edit_distance_counts_substitutions_insertions_and_deletions():
    assert content.edit_distance('kitten', 'sitting') == 3
    assert content.edit_distance(['a', 'x', 'c'], ['a', 'b', 'c']) == 1
    assert content.edit_distance(['a', 'b', 'x', 'c'], ['a', 'b', 'c']) == 1
    assert content.edit_distance(['a', 'c'], ['a', 'b', 'c']) == 1
    assert content.edit_distance([], ['a', 'b']) == 2
    assert content.edit_distance(['a', 'b'], []) == 2
    assert content.edit_distance('abc', 'abc') == 0


def test_word_error_rate_by_hand():
    assert content.word_error_rate('a x c', 'a b c') == pytest.approx(1 / 3)  # substitution
    assert content.word_error_rate('a b x c', 'a b c') == pytest.approx(1 / 3)  # insertion
    assert content.word_error_rate('a c', 'a b c') == pytest.approx(1 / 3)  # deletion
    assert content.word_error_rate('c b a', 'a b c') == pytest.approx(2 / 3)
    assert content.word_error_rate('  a   b ', 'a b') == 0.0
    assert content.word_error_rate('w x y z', 'a') == 4.0  # insertions can pass 1


def test_character_error_rate_by_hand():
    assert content.character_error_rate('sitting', 'kitten') == pytest.approx(3 / 6)
    assert content.character_error_rate('kitten', 'sitting') == pytest.approx(3 / 7)
    # Runs of spaces are one space: 'a b' against 'a c' is 1 edit in 3 characters.
    assert content.character_error_rate('a    b', '  a c ') == pytest.approx(1 / 3)
    assert content.character_error_rate('ab', 'a b') == pytest.approx(1 / 3)


def test_an_empty_reference_is_matched_only_by_an_empty_hypothesis():
    for rate in (content.word_error_rate, content.character_error_rate):
        assert rate('', '') == 0.0 and rate('  ', '') == 0.0
        assert rate('a', '') == 1.0 and rate('', 'a b') == 1.0


def test_agreement_is_one_minus_the_error_rates_clipped_at_zero():
    assert content.agreement('a x c', 'a b c') == {
        'word': pytest.approx(2 / 3), 'character': pytest.approx(4 / 5)}
    assert content.agreement('w x y z', 'a') == {'word': 0.0, 'character': 0.0}
    assert content.agreement('same words', 'same   words') == {'word': 1.0, 'character': 1.0}


def test_clean_transcript_keeps_only_words():
    raw = '<s> Hello(2) <sil> [NOISE] world ++GARBAGE++ one(3) </s>'
    assert content.clean_transcript(raw) == 'hello world one'
    assert content.clean_transcript('<s> <sil> </s>') == ''


def test_pcm_conversion_clips_and_resamples():
    pcm = content.to_pcm16(np.array([0.0, 0.5, 2.0, -3.0], dtype=np.float64), 16000)
    assert pcm.dtype == np.int16 and pcm.tolist() == [0, 16384, 32767, -32767]
    assert len(content.to_pcm16(np.zeros(8000, np.float32), 8000)) == 16000
    with pytest.raises(ValueError, match='mono'):
        content.to_pcm16(np.zeros((100, 2), np.float32), 16000)


def test_synthesised_sentences_are_transcribed_at_any_rate(spoken):
    for text, (_, heard) in spoken.items():
        assert content.agreement(heard, text)['word'] >= HEARD, (text, heard)


def test_noise_silence_and_reversed_speech_are_not_the_words_and_leave_no_trace(spoken):
    assert content.transcribe(np.zeros(16000, np.float32), 16000) == ''  # digital silence
    assert content.transcribe(np.zeros(0, np.float32), 16000) == ''
    reversed_speech = spoken[DIGITS][0][::-1].copy()  # the same spectrum, no words
    for audio in (white_noise(), reversed_speech):
        score = content.agreement(content.transcribe(audio, 16000), DIGITS)
        assert score['word'] <= UNHEARD_WORDS and score['character'] <= UNHEARD_CHARACTERS
    # A fresh decoder each time: after all that (loud noise last), the words are heard as
    # they were alone, first in the session.
    content.transcribe(white_noise(level=0.3), 16000)
    audio, alone = spoken[DIGITS]
    assert content.transcribe(audio, 16000) == alone


def test_judge_scores_each_conversion_against_its_source(spoken):
    calls = []

    def counting(samples, rate):
        calls.append(len(samples))
        return content.transcribe(samples, rate)

    source = spoken[DIGITS][0]
    other_voice = content.synthesise(DIGITS, 'rms')  # a "conversion" that kept the words
    judged = content.ContentJudge(counting).score(
        [(other_voice, source), (source[::-1].copy(), source)], 16000)
    assert len(calls) == 3  # the shared source is transcribed once
    kept, lost = judged['pairs']
    assert kept['source'] == lost['source'] == spoken[DIGITS][1]
    assert kept['word'] >= HEARD and lost['word'] <= UNHEARD_WORDS
    assert judged['n'] == 2
    assert judged['word'] == pytest.approx((kept['word'] + lost['word']) / 2)
    assert judged['character'] == pytest.approx((kept['character'] + lost['character']) / 2)


def test_judge_means_over_pairs_without_a_recogniser():
    heard = {1: 'a b c', 2: 'a x c', 3: ''}
    judge = content.ContentJudge(lambda samples, rate: heard[len(samples)])
    judged = judge.score([(np.zeros(2), np.zeros(1)), (np.zeros(3), np.zeros(1))], 16000)
    assert judged['word'] == pytest.approx((2 / 3 + 0) / 2)
    assert [(p['converted'], p['source']) for p in judged['pairs']] == [('a x c', 'a b c'),
                                                                        ('', 'a b c')]
    with pytest.raises(ValueError):
        judge.score([], 16000)


def test_missing_pocketsphinx_is_a_one_line_input_error(monkeypatch):
    monkeypatch.setitem(sys.modules, 'pocketsphinx', None)  # import raises ImportError
    with pytest.raises(InputError, match='pocketsphinx') as error:
        content.transcribe(np.zeros(1600, np.float32), 16000)
    assert '\n' not in str(error.value)
