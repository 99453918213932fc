import numpy as np
import pytest
import soundfile

from chainer_vc.common import audio
from chainer_vc.common.errors import InputError
from chainer_vc.common.files import atomic_path
from conftest import voice


@pytest.mark.parametrize('rate,channels,ext', [
    (16000, 1, 'wav'), (44100, 2, 'flac'), (22050, 1, 'ogg'), (11025, 2, 'wav')])
def test_load_any_rate_and_channels_to_16k_mono(tmp_path, rate, channels, ext):
    mono = voice(1.0, 200, rate)
    data = np.stack([mono, -mono * 0 + mono], axis=1) if channels == 2 else mono
    path = tmp_path / f'x.{ext}'
    soundfile.write(str(path), data, rate)
    samples, sr = audio.load(path)
    assert sr == 16000 and samples.dtype == np.float32 and samples.ndim == 1
    assert abs(len(samples) - 16000) <= 1
    expected, _ = audio.resample(mono, rate, 16000), None
    if ext != 'ogg':  # lossy
        np.testing.assert_allclose(samples, expected[:len(samples)], atol=1e-3)


def test_resample_keeps_a_tone_and_removes_content_above_nyquist():
    t = np.arange(44100) / 44100
    low = np.sin(2 * np.pi * 440 * t)
    high = np.sin(2 * np.pi * 12000 * t)
    out = audio.resample((low + high).astype(np.float32), 44100, 16000)
    spectrum = np.abs(np.fft.rfft(out[2000:-2000] * np.hanning(len(out) - 4000)))
    freqs = np.fft.rfftfreq(len(out) - 4000, 1 / 16000)
    assert freqs[np.argmax(spectrum)] == pytest.approx(440, abs=2)
    # 12 kHz folds to 4 kHz if the anti-alias filter is missing.
    assert spectrum[np.abs(freqs - 4000) < 50].max() < 1e-3 * spectrum.max()


def test_downmix_averages_channels(tmp_path):
    left = voice(0.5, 200)
    path = tmp_path / 'st.wav'
    soundfile.write(str(path), np.stack([left, np.zeros_like(left)], 1), 16000, subtype='FLOAT')
    samples, _ = audio.load(path)
    np.testing.assert_allclose(samples, left / 2, atol=1e-6)


def test_bad_files_are_one_line_errors(tmp_path):
    garbage = tmp_path / 'garbage.wav'
    garbage.write_bytes(b'RIFF not really a wave file')
    empty = tmp_path / 'empty.wav'
    soundfile.write(str(empty), np.zeros(0, np.float32), 16000)
    for path, message in [(tmp_path / 'missing.wav', 'no such file'),
                          (garbage, 'cannot decode audio'),
                          (empty, 'holds no audio samples')]:
        with pytest.raises(InputError) as error:
            audio.load(path)
        assert str(path) in str(error.value) and message in str(error.value)
        assert '\n' not in str(error.value)


def test_save_writes_16k_pcm_and_replaces_atomically(tmp_path):
    path = tmp_path / 'out' / 'y.wav'
    audio.save(path, np.full(1600, 2.0, np.float32))
    info = soundfile.info(str(path))
    assert (info.samplerate, info.channels, info.subtype, info.frames) == (16000, 1, 'PCM_16', 1600)
    assert soundfile.read(str(path))[0].max() == pytest.approx(1.0, abs=1e-4)
    assert [p.name for p in path.parent.iterdir()] == ['y.wav']


def test_peak_normalize():
    np.testing.assert_allclose(audio.peak_normalize(np.array([0.1, -0.4], np.float32)), [0.25, -1])
    np.testing.assert_array_equal(audio.peak_normalize(np.zeros(3, np.float32)), np.zeros(3))


def test_atomic_path_keeps_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / 'model.json'
    target.write_text('old')
    with pytest.raises(RuntimeError):
        with atomic_path(target) as temporary:
            temporary.write_text('half')
            raise RuntimeError('killed')
    assert target.read_text() == 'old'
    assert [p.name for p in tmp_path.iterdir()] == ['model.json']


def test_atomic_writes_get_ordinary_permissions(tmp_path):
    import os
    import stat
    from chainer_vc.common.files import write_text_atomic
    mask = os.umask(0o022)
    try:
        write_text_atomic(tmp_path / 'x.json', '{}')
    finally:
        os.umask(mask)
    assert stat.S_IMODE((tmp_path / 'x.json').stat().st_mode) == 0o644
