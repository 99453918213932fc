import numpy as np
import pytest
import soundfile

from chainer_vc.common import audio
from chainer_vc.corpus import read_manifest
from chainer_vc.features.dataset import SpectrogramDataset
from chainer_vc.common.errors import InputError
from chainer_vc.features.spectrogram import SpectrogramConfig
from conftest import voice, write_voice


def _dataset(manifest, **kwargs):
    corpus = read_manifest(manifest)
    return SpectrogramDataset.from_corpus(corpus, corpus.schema(), seed=0, **kwargs)


def test_items_have_the_seed_shapes_and_labels(corpus_manifest):
    dataset = _dataset(corpus_manifest)
    assert len(dataset) == 6
    spectrogram, labels, target = dataset[0]
    assert spectrogram.shape == (1, 64, 256) and spectrogram.dtype == np.float32
    assert 0 <= spectrogram.min() and spectrogram.max() <= 1
    schema = dataset.schema
    np.testing.assert_array_equal(labels, schema.generator_input(dataset.codes[0]))
    np.testing.assert_array_equal(target, schema.classification_target(dataset.codes[0]))
    assert labels.dtype == np.float32 and target.dtype == np.int32
    assert labels.shape == (schema.input_size,) and target.shape == (schema.class_size,)


def test_windows_are_random_and_peak_normalised(corpus_manifest):
    dataset = _dataset(corpus_manifest)
    a, b = dataset.segment(0), dataset.segment(0)
    assert len(a) == SpectrogramConfig().segment_samples
    assert np.max(np.abs(a)) == pytest.approx(1.0)
    assert not np.array_equal(a, b)


def test_short_utterance_is_zero_padded(tmp_path):
    write_voice(tmp_path / 'a.wav', 0.5, 150)
    write_voice(tmp_path / 'b.wav', 0.3, 250)
    (tmp_path / 'm.csv').write_text('path,speaker\na.wav,a\nb.wav,b\n')
    dataset = _dataset(tmp_path / 'm.csv')
    segment = dataset.segment(0)
    assert len(segment) == 17152
    assert np.all(segment[8000:] == 0) and np.max(np.abs(segment[:8000])) == pytest.approx(1.0)
    assert dataset[1][0].shape == (1, 64, 256)


def test_silent_windows_are_redrawn(tmp_path):
    """8 s of near-silence with 1.5 s of voice in the middle: windows land on the voice."""
    samples = np.concatenate([np.full(64000, 1e-4, np.float32), voice(1.5, 200),
                              np.full(64000, 1e-4, np.float32)])
    soundfile.write(str(tmp_path / 'a.wav'), samples, 16000, subtype='FLOAT')
    (tmp_path / 'm.csv').write_text('path,speaker\na.wav,a\n')
    dataset = _dataset(tmp_path / 'm.csv')
    rms = [np.sqrt(np.mean(np.square(dataset.segment(0)))) for _ in range(50)]
    # A window wholly in the silence, peak-normalised, has RMS 1; with voice in it, less.
    assert np.mean(np.array(rms) < 0.9) > 0.9


def test_bad_and_silent_files_are_skipped_once_with_a_warning(tmp_path):
    write_voice(tmp_path / 'good.wav', 1.5, 150)
    (tmp_path / 'bad.wav').write_bytes(b'not audio at all')
    soundfile.write(str(tmp_path / 'silent.wav'), np.zeros(16000, np.float32), 16000)
    (tmp_path / 'm.csv').write_text('path,speaker\ngood.wav,a\nbad.wav,b\nsilent.wav,b\n')
    warnings = []
    dataset = _dataset(tmp_path / 'm.csv', warn=warnings.append)
    assert len(dataset) == 1 and dataset.paths[0].name == 'good.wav'
    assert len(warnings) == 2
    assert 'bad.wav' in warnings[0] and 'cannot decode' in warnings[0]
    assert 'silent.wav' in warnings[1] and 'silent' in warnings[1]
    for _ in range(3):
        dataset[0]
    assert len(warnings) == 2


def test_a_corpus_with_no_usable_file_is_an_input_error(tmp_path):
    (tmp_path / 'bad.wav').write_bytes(b'junk')
    soundfile.write(str(tmp_path / 'silent.wav'), np.zeros(1600, np.float32), 16000)
    (tmp_path / 'm.csv').write_text('path,speaker\nbad.wav,a\nsilent.wav,b\n')
    with pytest.raises(InputError, match='none of the corpus\'s 2 audio files is usable'):
        _dataset(tmp_path / 'm.csv', warn=lambda message: None)


def test_audio_is_decoded_once_per_file(corpus_manifest, monkeypatch):
    calls = []
    original = audio.load
    monkeypatch.setattr(audio, 'load', lambda *a, **k: calls.append(a[0]) or original(*a, **k))
    dataset = _dataset(corpus_manifest)
    for i in range(len(dataset)):
        dataset[i]
        dataset[i]
    assert len(calls) == 6 and len(set(calls)) == 6


def test_label_combinations_are_the_distinct_real_ones(corpus_manifest):
    dataset = _dataset(corpus_manifest)
    combinations = dataset.label_combinations()
    assert {tuple(row) for row in combinations} == {tuple(row) for row in dataset.codes}
    assert len(combinations) == 2
