"""The Asterisk prompts reader: G.722 decoding, which prompts count, the six-voice manifest."""
import os
import pathlib
import shutil

import numpy as np
import pytest
import soundfile

from chainer_vc.corpus import asterisk, debian, read_manifest, write_manifest
from chainer_vc.common.errors import InputError

from conftest import fake_debian_tools

RATE = asterisk.SAMPLE_RATE


def voice(f0, seconds=0.6, rate=RATE):
    """A buzz with falling harmonics at ``f0`` Hz and a little vibrato: voiced, speech-like."""
    t = np.arange(int(rate * seconds)) / rate
    phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.03 * np.sin(2 * np.pi * 5 * t))) / rate
    wave = sum(np.sin(k * phase) / k for k in range(1, 20) if k * f0 < rate / 2)
    return (0.3 * wave / np.max(np.abs(wave))).astype(np.float32)


def g722(path, samples):
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(asterisk.encode_g722(samples))
    return path


def test_g722_round_trip_keeps_the_signal(tmp_path):
    original = voice(200, seconds=1.0)
    coded = asterisk.encode_g722(original)
    assert len(coded) == len(original) // 2  # 64 kbit/s at 16 kHz: 4 bits per sample
    path = tmp_path / 'x.g722'
    path.write_bytes(coded)
    decoded = asterisk.decode_g722(path)
    assert decoded.dtype == np.float32 and len(decoded) == len(original)
    # The QMF filter banks of the coder and decoder delay the signal.
    best = max(range(40), key=lambda lag: np.dot(decoded[lag:], original[:len(original) - lag]))
    aligned = decoded[best:]
    error = aligned - original[:len(aligned)]
    snr = 10 * np.log10(np.sum(original[:len(aligned)] ** 2) / np.sum(error ** 2))
    # Measured: 23 samples, 14.9 dB (ADPCM on a buzz with sharp harmonics); noise or a
    # wrong bit rate gives below 0 dB.
    assert 15 <= best <= 30 and snr > 12, (best, snr)


def test_empty_or_missing_g722_is_one_line(tmp_path):
    (tmp_path / 'empty.g722').write_bytes(b'')
    for name in ('empty.g722', 'missing.g722'):
        with pytest.raises(InputError) as error:
            asterisk.decode_g722(tmp_path / name)
        assert name in str(error.value) and '\n' not in str(error.value)


def fake_voices(root):
    """Two voices' folders as the packages lay them out, with what must be left out."""
    sounds = root / asterisk.SOUNDS_DIR
    allison = sounds / asterisk.VOICES['en'].folder
    carlo = sounds / asterisk.VOICES['it'].folder
    g722(allison / 'hello-world.g722', voice(210))
    g722(allison / 'digits' / '1.g722', voice(190, seconds=0.4))
    g722(allison / 'silence' / '1.g722', np.zeros(RATE, dtype=np.float32))
    g722(allison / 'beep.g722', 0.3 * np.sin(2 * np.pi * 1000 * np.arange(RATE) / RATE))
    (allison / 'vm').mkdir()
    shutil.copy(allison / 'hello-world.g722', allison / 'vm' / 'copy.g722')
    os.symlink(allison / 'digits' / '1.g722', allison / 'digits' / 'one.g722')
    (allison / 'is.g722').write_bytes(b'')
    g722(carlo / 'vm-goodbye.g722', voice(110, seconds=0.8))
    g722(carlo / 'letters' / 'a.g722', voice(120, seconds=0.5))
    return root


def test_build_manifest_decodes_the_speech_once_each(tmp_path):
    extracted = fake_voices(tmp_path / 'extracted')
    corpus = asterisk.build_manifest(extracted, tmp_path, ['en', 'it'])
    wav = tmp_path / 'wav'
    got = {u.path.relative_to(wav.resolve()).as_posix(): u.labels for u in corpus.utterances}
    assert got == {
        'allison/digits/1.wav': {'speaker': 'allison', 'sex': 'female'},
        'allison/hello-world.wav': {'speaker': 'allison', 'sex': 'female'},
        'carlo/letters/a.wav': {'speaker': 'carlo', 'sex': 'male'},
        'carlo/vm-goodbye.wav': {'speaker': 'carlo', 'sex': 'male'}}
    assert read_manifest(tmp_path / 'manifest.csv').utterances == corpus.utterances
    info = soundfile.info(str(wav / 'carlo' / 'vm-goodbye.wav'))
    assert (info.samplerate, info.frames, info.subtype) == (RATE, int(0.8 * RATE), 'PCM_16')


def test_build_manifest_names_a_missing_voice(tmp_path):
    extracted = fake_voices(tmp_path / 'extracted')
    with pytest.raises(InputError) as error:
        asterisk.build_manifest(extracted, tmp_path, ['en', 'fr'])
    assert 'fr_CA_f_June' in str(error.value) and 'asterisk-core-sounds-fr-g722' in str(
        error.value)
    assert not (tmp_path / 'manifest.csv').exists()


FAKE_APT_GET = """\
import os, shutil, sys
assert sys.argv[1] == 'download' and sys.argv[2].startswith('asterisk-core-sounds-'), sys.argv
language = sys.argv[2].split('-')[3]
if language not in os.environ['FAKE_LANGUAGES'].split():
    sys.exit('E: Unable to locate package ' + sys.argv[2])
shutil.copy(os.environ['FAKE_DEB_' + language], sys.argv[2] + '_1.6.1-1_all.deb')
"""


@pytest.fixture
def fake_debian(tmp_path, monkeypatch):
    """``apt-get``/``dpkg`` stand-ins; one tarball per language stands for its .deb."""
    tools = fake_debian_tools(tmp_path / 'bin', FAKE_APT_GET)
    tree = fake_voices(tmp_path / 'tree')
    sounds = tree / asterisk.SOUNDS_DIR
    for language in ('en', 'it'):
        package_root = tmp_path / f'package_{language}'
        folder = asterisk.VOICES[language].folder
        shutil.copytree(sounds / folder, package_root / asterisk.SOUNDS_DIR / folder,
                        symlinks=True)
        deb = shutil.make_archive(str(tmp_path / f'deb_{language}'), 'gztar', package_root)
        monkeypatch.setenv(f'FAKE_DEB_{language}', deb)
    monkeypatch.setenv('FAKE_LANGUAGES', 'en it')
    monkeypatch.setenv('PATH', f'{tools}{os.pathsep}{os.environ["PATH"]}')


def test_fetch_adds_another_manifest(tmp_path, fake_debian):
    demo = tmp_path / 'demo'
    demo.mkdir()
    soundfile.write(str(demo / 'a.wav'), voice(120), 22050)
    soundfile.write(str(demo / 'b.wav'), voice(250), 22050)
    write_manifest([{'path': demo / 'a.wav', 'speaker': 'big_fish', 'sex': 'male'},
                    {'path': demo / 'b.wav', 'speaker': 'small_fish', 'sex': 'female'}],
                   demo / 'manifest.csv')
    manifest = asterisk.fetch(tmp_path / 'voices', ['en', 'it'], add=[demo / 'manifest.csv'])
    corpus = read_manifest(manifest)
    assert sorted({u.labels['speaker'] for u in corpus.utterances}) == [
        'allison', 'big_fish', 'carlo', 'small_fish']
    assert len(corpus.utterances) == 6
    assert not list((tmp_path / 'voices').rglob('*.deb'))


def test_add_refuses_other_label_groups(tmp_path, fake_debian):
    other = tmp_path / 'other.csv'
    soundfile.write(str(tmp_path / 'a.wav'), voice(120), RATE)
    write_manifest([{'path': tmp_path / 'a.wav', 'speaker': 'x', 'accent': 'y'}], other)
    with pytest.raises(InputError) as error:
        asterisk.fetch(tmp_path / 'voices', ['en'], add=[other])
    assert str(other) in str(error.value) and 'label groups' in str(error.value)


def test_command_line_prints_each_voice_with_its_f0(tmp_path, fake_debian, capsys):
    assert asterisk.main(['fetch', str(tmp_path / 'v'), '--languages', 'en', 'it']) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f'manifest: {tmp_path / "v" / "manifest.csv"}'
    assert out[1].startswith('allison: 2 utterances, 0.0 min, sample rates 16000 Hz, '
                             'channels 1, female (F0 median ')
    assert out[1].endswith('F0 agrees)') and out[2].endswith('F0 agrees)')
    assert out[2].startswith('carlo: 2 utterances')


def test_command_line_error_is_one_line_and_exit_2(tmp_path, fake_debian, capsys):
    assert asterisk.main(['fetch', str(tmp_path / 'v'), '--languages', 'ru']) == 2
    captured = capsys.readouterr()
    assert captured.out == '' and captured.err.count('\n') == 1
    assert 'Unable to locate package asterisk-core-sounds-ru-g722' in captured.err
    assert 'apt-get update' in captured.err


@pytest.mark.parametrize('low, median, expected', [
    (92, 121, 'male'), (133, 190, 'female'), (104, 166, None), (125, 150, None)])
def test_sex_by_f0_needs_both_cues(low, median, expected):
    assert debian.sex_by_f0(low, median) == expected


def test_f0_range_of_known_pitches(tmp_path):
    soundfile.write(str(tmp_path / 'a.wav'), voice(110), RATE)
    soundfile.write(str(tmp_path / 'b.wav'), voice(230), RATE)
    low, median = debian.f0_range([tmp_path / 'a.wav', tmp_path / 'b.wav'])
    assert 100 < low < 125 and 105 < median < 240
    low, median = debian.f0_range([tmp_path / 'b.wav'])
    assert low == pytest.approx(230, rel=0.06) and median == pytest.approx(230, rel=0.04)


@pytest.mark.parametrize('name, words', [
    ('digits/7.wav', 'seven'), ('digits/0.wav', 'zero'), ('digits/19.wav', 'nineteen'),
    ('digits/40.wav', 'forty'), ('digits/day-1.wav', 'monday'), ('digits/mon-11.wav',
                                                                 'december'),
    ('digits/hundred.wav', 'hundred'), ('digits/h-5.wav', None), ('digits/oclock.wav', None),
    ('digits/mon-12.wav', None), ('letters/a.wav', None), ('vm-goodbye.wav', None)])
def test_known_words_of_the_digits_folder(name, words):
    assert asterisk.known_words(pathlib.Path('/wav/allison') / name) == words


def test_spanish_is_allisons_second_language_not_a_seventh_voice(tmp_path):
    extracted = fake_voices(tmp_path / 'extracted')
    spanish = extracted / asterisk.SOUNDS_DIR / asterisk.VOICES['es'].folder
    g722(spanish / 'hola.g722', voice(205, seconds=0.7))
    assert 'es' not in asterisk.SPEAKER_LANGUAGES
    g722(spanish / 'digits' / '1.g722', voice(195, seconds=0.5))
    corpus = asterisk.build_manifest(extracted, tmp_path, ['en', 'it', 'es'])
    wav = tmp_path / 'wav'
    allison = sorted(u.path.relative_to(wav.resolve()).as_posix() for u in corpus.utterances
                     if u.labels == {'speaker': 'allison', 'sex': 'female'})
    # The same prompt name in both languages: two files, neither overwritten.
    assert allison == ['allison/digits/1.wav', 'allison/hello-world.wav',
                       'allison_es/digits/1.wav', 'allison_es/hola.wav']
    assert len(soundfile.read(str(wav / 'allison_es' / 'digits' / '1.wav'))[0]) == int(0.5 * RATE)
    assert len(soundfile.read(str(wav / 'allison' / 'digits' / '1.wav'))[0]) == int(0.4 * RATE)
