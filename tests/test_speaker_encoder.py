"""The GE2E port against resemblyzer's own embeddings (tests/fixtures/make_ge2e_reference.py),
and the checkpoint reader that loads its weights without torch."""
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest

from chainer_vc.judging import speaker_encoder, torch_checkpoint
from chainer_vc.common.errors import InputError

FIXTURES = Path(__file__).resolve().parent / 'fixtures'
sys.path.insert(0, str(FIXTURES))
from ge2e_signals import signals  # noqa: E402

REFERENCE = np.load(FIXTURES / 'ge2e_reference.npz')


@pytest.fixture(scope='module')
def embeddings():
    named = signals()
    return dict(zip(named, speaker_encoder.pretrained().embed_utterances(list(named.values()))))


@pytest.mark.parametrize('name', sorted(signals()))
def test_embedding_equals_resemblyzer(embeddings, name):
    embedding = embeddings[name]
    assert embedding.shape == (256,)
    assert np.linalg.norm(embedding) == pytest.approx(1, abs=1e-5)
    assert float(embedding @ REFERENCE[f'{name}/embedding']) >= 0.9999


def test_embedding_equals_preprocess_wav_where_the_vad_keeps_everything(embeddings):
    kept = [n for n in embeddings if int(REFERENCE[f'{n}/trimmed']) == 0]
    assert len(kept) >= 4
    for name in kept:
        assert float(embeddings[name] @ REFERENCE[f'{name}/embedding_vad']) >= 0.9999
    # Where webrtcvad cuts a pause, the two differ: the documented deviation is real.
    assert float(embeddings['gap'] @ REFERENCE['gap/embedding_vad']) < 0.99


def test_one_utterance_equals_the_batch(embeddings):
    alone = speaker_encoder.pretrained().embed_utterance(signals()['short'])
    np.testing.assert_allclose(alone, embeddings['short'], atol=1e-5)


def test_mel_spectrogram_equals_librosa():
    normalised = speaker_encoder.normalize_volume(signals()['short'])
    mel = speaker_encoder.mel_spectrogram(normalised)
    reference = REFERENCE['short/mel']
    assert mel.shape == reference.shape
    np.testing.assert_allclose(mel, reference, rtol=1e-4, atol=1e-6 * reference.max())


def test_different_voices_are_told_apart(embeddings):
    assert float(embeddings['low'] @ embeddings['high']) < float(
        embeddings['low'] @ embeddings['low'])
    assert float(embeddings['low'] @ embeddings['noise']) < 0.9


def test_partials_follow_resemblyzer():
    # Expected values from resemblyzer's VoiceEncoder.compute_partial_slices(n, 1.3, 0.75).
    expected = {8000: [0], 36000: [0, 77], 40000: [0, 77], 44000: [0, 77, 154],
                48000: [0, 77, 154]}
    for n_samples, starts in expected.items():
        assert speaker_encoder.partial_starts(n_samples) == starts


def test_zip_checkpoint_reads_like_torch():
    loaded = torch_checkpoint.load(FIXTURES / 'tiny_zip_checkpoint.pt')['model_state']
    expected = np.load(FIXTURES / 'tiny_zip_checkpoint.npz')
    assert sorted(loaded) == sorted(expected.files)
    for key in expected.files:
        assert loaded[key].dtype == expected[key].dtype
        np.testing.assert_array_equal(loaded[key], expected[key])


class _Exploit:
    def __reduce__(self):
        return (Path.touch, (Path(self.target),))


@pytest.mark.parametrize('legacy', [True, False])
def test_checkpoint_refuses_foreign_code(tmp_path, legacy):
    marker = tmp_path / 'ran'
    exploit = _Exploit()
    exploit.target = str(marker)
    path = tmp_path / 'evil.pt'
    if legacy:
        with open(path, 'wb') as file:
            for part in (0x1950a86a20f9469cfc6c, 1001, {'little_endian': True}, exploit, []):
                pickle.dump(part, file, protocol=2)
    else:
        import zipfile
        with zipfile.ZipFile(path, 'w') as archive:
            archive.writestr('evil/data.pkl', pickle.dumps(exploit, protocol=2))
    with pytest.raises(torch_checkpoint.CheckpointError, match='refuses to load'):
        torch_checkpoint.load(path)
    assert not marker.exists()


def test_missing_or_bad_weights_are_one_line(tmp_path):
    bad = tmp_path / 'pretrained.pt'
    bad.write_bytes(b'not a checkpoint')
    with pytest.raises(InputError, match='cannot read GE2E weights') as error:
        speaker_encoder.SpeakerEncoder.load(bad)
    assert '\n' not in str(error.value)
