"""The manifest, the corpus readers and the Fish Fillets demo corpus, on files built here."""
import os
import pathlib
import shutil

import numpy as np
import pytest
import soundfile

from chainer_vc.corpus import READERS, Corpus, Utterance, from_commonvoice, from_folders, from_librispeech, from_vctk, read_manifest, write_manifest
from chainer_vc.corpus import fillets
from chainer_vc.common.errors import InputError
from chainer_vc.common.labels import LabelGroup, LabelSchema

from conftest import fake_debian_tools


def audio(path, rate=16000, channels=1, seconds=0.05):
    """Write a short real audio file (format from the suffix) and return its path."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(rate * seconds)) / rate
    wave = 0.3 * np.sin(2 * np.pi * 220 * t)
    soundfile.write(str(path), np.stack([wave] * channels, axis=1), rate)
    return path


def text(path, content):
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding='utf-8')
    return path


def assert_one_line_naming(error, name):
    message = str(error.value)
    assert '\n' not in message and '\r' not in message
    assert str(name) in message
    return message


# -- manifest ------------------------------------------------------------------------------

def test_write_then_read_round_trips_labels_and_paths(tmp_path):
    inside = audio(tmp_path / 'corpus' / 'a' / 'x.wav')
    nested = audio(tmp_path / 'corpus' / 'b' / 'y.flac')
    outside = audio(tmp_path / 'elsewhere' / 'z.wav')
    corpus = Corpus([
        Utterance(inside, {'speaker': 's1', 'sex': 'female', 'region': 'Southern, England'}),
        Utterance(nested, {'speaker': 's2', 'sex': None, 'region': 'say "hi"'}),
        Utterance(outside, {'speaker': None, 'sex': 'male', 'region': None}),
    ], ('speaker', 'sex', 'region'))
    manifest = write_manifest(corpus, tmp_path / 'corpus' / 'manifest.csv')

    lines = manifest.read_text(encoding='utf-8').splitlines()
    assert lines[0] == 'path,speaker,sex,region'
    assert lines[1].startswith('a/x.wav,s1,female,')
    assert lines[2].startswith('b/y.flac,s2,,')
    assert lines[3] == f'{outside.resolve()},,male,'
    back = read_manifest(manifest)
    assert back.group_names == ('speaker', 'sex', 'region')
    assert back.utterances == [Utterance(u.path.resolve(), u.labels) for u in corpus.utterances]
    assert all(u.path.is_absolute() for u in back.utterances)


def test_relative_paths_resolve_against_the_manifest_folder(tmp_path, monkeypatch):
    up = audio(tmp_path / 'audio' / 'x.wav')
    down = audio(tmp_path / 'lists' / 'sub' / 'y.wav')
    manifest = text(tmp_path / 'lists' / 'manifest.csv',
                    'path,speaker\n../audio/x.wav,s1\n\nsub/y.wav,s2\n')
    (tmp_path / 'elsewhere').mkdir()
    monkeypatch.chdir(tmp_path / 'elsewhere')
    corpus = read_manifest(os.path.relpath(manifest))
    assert [u.path for u in corpus.utterances] == [up.resolve(), down.resolve()]
    assert [u.labels for u in corpus.utterances] == [{'speaker': 's1'}, {'speaker': 's2'}]


def test_schema_and_codes(tmp_path):
    for name in 'abcd':
        audio(tmp_path / f'{name}.wav')
    manifest = text(tmp_path / 'manifest.csv', 'path,speaker,sex\n'
                    'a.wav,bob,male\nb.wav,alice,female\nc.wav,carol,\nd.wav,,female\n')
    corpus = read_manifest(manifest)
    schema = corpus.schema()
    assert schema.names == ('speaker', 'sex')
    assert schema.group('speaker').classes == ('alice', 'bob', 'carol')
    assert schema.input_size == 3 + 2 + 2 and schema.class_size == 5
    codes = corpus.codes(schema)
    assert codes.dtype == np.int32 and codes.shape == (4, 2)
    np.testing.assert_array_equal(codes, [[1, 1], [0, 0], [2, -1], [-1, 0]])


def test_a_stored_schema_accepts_fitting_manifests(tmp_path):
    audio(tmp_path / 'a.wav')
    schema = LabelSchema((LabelGroup('speaker', ('s1', 's2')),
                          LabelGroup('sex', ('female', 'male'))))
    # A manifest may leave out a group column, or leave cells empty.
    corpus = read_manifest(text(tmp_path / 'm.csv', 'path,speaker\na.wav,s2\n'), schema)
    np.testing.assert_array_equal(corpus.codes(schema), [[1, -1]])
    corpus = read_manifest(text(tmp_path / 'n.csv', 'path,speaker,sex\na.wav,,male\n'), schema)
    np.testing.assert_array_equal(corpus.codes(schema), [[-1, 1]])


def test_write_manifest_from_rows_replaces_the_file_atomically(tmp_path):
    first = audio(tmp_path / 'data' / 'one.wav')
    second = audio(tmp_path / 'data' / 'two.wav')
    manifest = tmp_path / 'data' / 'manifest.csv'
    write_manifest([{'path': first, 'speaker': 'a'}], manifest)
    write_manifest([{'path': first, 'speaker': 'a', 'sex': 'male'},
                    {'path': str(second), 'speaker': 'b'}], manifest)
    assert manifest.read_text().splitlines() == [
        'path,speaker,sex', 'one.wav,a,male', 'two.wav,b,']
    assert sorted(p.name for p in manifest.parent.iterdir()) == [
        'manifest.csv', 'one.wav', 'two.wav']


def test_a_failed_write_keeps_the_old_manifest(tmp_path):
    audio(tmp_path / 'one.wav')
    manifest = text(tmp_path / 'manifest.csv', 'path,speaker\none.wav,a\n')
    with pytest.raises(KeyError):
        write_manifest([{'speaker': 'no path'}], manifest)
    assert manifest.read_text() == 'path,speaker\none.wav,a\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['manifest.csv', 'one.wav']


SCHEMA = LabelSchema((LabelGroup('speaker', ('s1',)), LabelGroup('sex', ('female', 'male'))))
MANIFEST_ERRORS = {
    # name: (manifest bytes or None for no file, schema, where the message points, problem)
    'missing': (None, None, 'manifest.csv', 'not found'),
    'undecodable': (b'path,speaker\n\xff\xfe.wav,s1\n', None, 'manifest.csv', 'cannot read'),
    'empty': (b'\n\n', None, 'manifest.csv', 'empty'),
    'no speaker column': (b'path,sex\na.wav,male\n', None, 'manifest.csv:1', 'speaker'),
    'no path column': (b'file,speaker\na.wav,s1\n', None, 'manifest.csv:1', 'path'),
    'repeated column': (b'path,speaker,sex,sex\na.wav,s1,male,male\n', None,
                        'manifest.csv:1', 'repeated'),
    'wrong cell count': (b'path,speaker\na.wav,s1\na.wav\n', None, 'manifest.csv:3',
                         'expected 2 cells'),
    'missing audio': (b'path,speaker\nnope.wav,s1\n', None, 'manifest.csv:2', 'nope.wav'),
    'no rows': (b'path,speaker\n', None, 'manifest.csv', 'no rows'),
    'unknown class': (b'path,speaker,sex\na.wav,s1,male\na.wav,s1,"other\nkind"\n', SCHEMA,
                      'manifest.csv:4', "sex='other\\nkind'"),
    'unknown group': (b'path,speaker,region\na.wav,s1,north\n', SCHEMA, 'manifest.csv:1',
                      "'region'"),
}


@pytest.mark.parametrize('case', MANIFEST_ERRORS)
def test_manifest_errors_are_one_line_naming_the_file(tmp_path, case):
    content, schema, where, problem = MANIFEST_ERRORS[case]
    audio(tmp_path / 'a.wav')
    manifest = tmp_path / 'manifest.csv'
    if content is not None:
        manifest.write_bytes(content)
    with pytest.raises(InputError) as error:
        read_manifest(manifest, schema)
    message = assert_one_line_naming(error, tmp_path / where)
    assert problem in message


# -- readers -------------------------------------------------------------------------------

def labels_by_file(corpus):
    return {u.path.name: u.labels for u in corpus.utterances}


def test_vctk_old_layout(tmp_path):
    root = tmp_path / 'VCTK-Corpus'
    text(root / 'speaker-info.txt', 'ID  AGE  GENDER  ACCENTS  REGION\n'
         '225  23  F    English    Southern  England\n'
         '226  22  M    Scottish   Edinburgh\n'
         '227  38  M\n')
    for name in ('p225/p225_001.wav', 'p225/p225_002.wav', 'p226/p226_001.wav',
                 'p227/p227_001.wav', 'p999/p999_001.wav'):
        audio(root / 'wav48' / name, rate=48000)
    text(root / 'txt' / 'p225' / 'p225_001.txt', 'Please call Stella.\n')
    corpus = from_vctk(root)
    assert corpus.group_names == ('speaker', 'sex', 'accent')
    assert labels_by_file(corpus) == {
        'p225_001.wav': {'speaker': 'p225', 'sex': 'female', 'accent': 'English'},
        'p225_002.wav': {'speaker': 'p225', 'sex': 'female', 'accent': 'English'},
        'p226_001.wav': {'speaker': 'p226', 'sex': 'male', 'accent': 'Scottish'},
        'p227_001.wav': {'speaker': 'p227', 'sex': 'male', 'accent': None},
        'p999_001.wav': {'speaker': 'p999', 'sex': None, 'accent': None},
    }
    assert all(u.path.is_file() and u.path.is_absolute() for u in corpus.utterances)


def test_vctk_092_layout_keeps_one_microphone(tmp_path):
    root = tmp_path / 'VCTK-Corpus-0.92'
    text(root / 'speaker-info.txt', 'ID  AGE  GENDER  ACCENTS  REGION COMMENTS\n'
         'p225  23  F    English    Southern  England\n'
         'p280  25  F    France    (mic2 files unavailable)\n'
         's5  22  F    British    \n')
    for name in ('p225/p225_001_mic1.flac', 'p225/p225_001_mic2.flac',
                 'p225/p225_002_mic1.flac', 'p225/p225_002_mic2.flac',
                 'p280/p280_001_mic1.flac', 's5/s5_001_mic2.flac'):
        audio(root / 'wav48_silence_trimmed' / name, rate=48000)
    corpus = from_vctk(root)
    assert sorted(labels_by_file(corpus)) == [
        'p225_001_mic1.flac', 'p225_002_mic1.flac', 'p280_001_mic1.flac', 's5_001_mic2.flac']
    assert labels_by_file(corpus)['s5_001_mic2.flac'] == {
        'speaker': 's5', 'sex': 'female', 'accent': 'British'}
    assert corpus.schema().group('speaker').classes == ('p225', 'p280', 's5')


SPEAKERS_TXT = """\
; Some comment lines
;ID  |SEX| SUBSET           |MINUTES| NAME
19   | F | train-clean-100  | 25.19 | Kara Shallenberg
84   | F | dev-clean        |  8.02 | Christie Nowak
60   | M | train-clean-100  | 20.18 | |CBW|Simon
"""


def test_librispeech_layout(tmp_path):
    root = tmp_path / 'LibriSpeech'
    text(root / 'SPEAKERS.TXT', SPEAKERS_TXT)
    for name in ('train-clean-100/19/198/19-198-0000.flac',
                 'train-clean-100/19/198/19-198-0001.flac',
                 'train-clean-100/60/121082/60-121082-0000.flac',
                 'dev-clean/84/121123/84-121123-0000.flac'):
        audio(root / name)
    text(root / 'train-clean-100/19/198/19-198.trans.txt', '19-198-0000 NORTHANGER ABBEY\n')
    corpus = from_librispeech(root)
    assert corpus.group_names == ('speaker', 'sex')
    assert labels_by_file(corpus) == {
        '19-198-0000.flac': {'speaker': '19', 'sex': 'female'},
        '19-198-0001.flac': {'speaker': '19', 'sex': 'female'},
        '60-121082-0000.flac': {'speaker': '60', 'sex': 'male'},
        '84-121123-0000.flac': {'speaker': '84', 'sex': 'female'},
    }


def test_libritts_layout(tmp_path):
    root = tmp_path / 'LibriTTS'
    text(root / 'SPEAKERS.txt', SPEAKERS_TXT)
    audio(root / 'train-clean-100/19/198/19_198_000000_000000.wav', rate=24000)
    audio(root / 'train-clean-100/77/100/77_100_000000_000000.wav', rate=24000)
    text(root / 'train-clean-100/19/198/19_198_000000_000000.normalized.txt', 'Hello.\n')
    corpus = from_librispeech(root)
    assert labels_by_file(corpus) == {
        '19_198_000000_000000.wav': {'speaker': '19', 'sex': 'female'},
        '77_100_000000_000000.wav': {'speaker': '77', 'sex': None},
    }


def test_commonvoice_layout(tmp_path):
    root = tmp_path / 'cv-corpus' / 'en'
    text(root / 'validated.tsv',
         'client_id\tpath\tsentence\tup_votes\tdown_votes\tage\tgender\taccents\tlocale\n'
         'c1\tcommon_voice_en_1.mp3\tHe said "hi\t2\t0\ttwenties\tmale_masculine\t'
         'England English, Southern\ten\n'
         'c1\tcommon_voice_en_2.mp3\tAgain.\t2\t0\ttwenties\tmale\t\ten\n'
         'c2\tcommon_voice_en_3.mp3\tHello.\t2\t0\t\tfemale_feminine\tIndian\ten\n'
         'c3\tcommon_voice_en_4.mp3\tHm.\t2\t0\t\tdo_not_wish_to_say\t\ten\n')
    for i in range(1, 5):
        audio(root / 'clips' / f'common_voice_en_{i}.mp3', rate=48000)
    corpus = from_commonvoice(root)
    assert corpus.group_names == ('speaker', 'sex', 'accent')
    assert labels_by_file(corpus) == {
        'common_voice_en_1.mp3': {'speaker': 'c1', 'sex': 'male',
                                  'accent': 'England English, Southern'},
        'common_voice_en_2.mp3': {'speaker': 'c1', 'sex': 'male', 'accent': None},
        'common_voice_en_3.mp3': {'speaker': 'c2', 'sex': 'female', 'accent': 'Indian'},
        'common_voice_en_4.mp3': {'speaker': 'c3', 'sex': None, 'accent': None},
    }


def test_commonvoice_older_accent_column_and_a_missing_clip(tmp_path):
    root = tmp_path / 'cv'
    index = text(root / 'validated.tsv', 'client_id\tpath\tsentence\tgender\taccent\n'
                 'c1\ta.mp3\tHi.\tfemale\tus\n'
                 'c2\tb.mp3\tHo.\tother\t\n')
    audio(root / 'clips' / 'a.mp3')
    with pytest.raises(InputError) as error:
        from_commonvoice(root)
    assert 'b.mp3' in assert_one_line_naming(error, f'{index}:3')
    audio(root / 'clips' / 'b.mp3')
    assert labels_by_file(from_commonvoice(root)) == {
        'a.mp3': {'speaker': 'c1', 'sex': 'female', 'accent': 'us'},
        'b.mp3': {'speaker': 'c2', 'sex': None, 'accent': None},
    }


def test_folders_layout(tmp_path):
    root = tmp_path / 'mine'
    audio(root / 'alice' / 'a.wav')
    audio(root / 'alice' / 'session2' / 'b.FLAC')
    audio(root / 'bob' / 'c.ogg', rate=22050, channels=2)
    text(root / 'bob' / 'notes.txt', 'not audio\n')
    audio(root / '.hidden' / 'x.wav')
    audio(root / 'loose.wav')
    corpus = from_folders(root)
    assert corpus.group_names == ('speaker',)
    assert labels_by_file(corpus) == {
        'a.wav': {'speaker': 'alice'}, 'b.FLAC': {'speaker': 'alice'},
        'c.ogg': {'speaker': 'bob'}}


def test_reader_table():
    assert READERS == {'vctk': from_vctk, 'librispeech': from_librispeech,
                       'commonvoice': from_commonvoice, 'folders': from_folders}


INDEX_FILES = {'vctk': ('speaker-info.txt', 'ID AGE GENDER ACCENTS\n225 23 F English\n'),
               'librispeech': ('SPEAKERS.TXT', SPEAKERS_TXT),
               'commonvoice': ('validated.tsv', 'client_id\tpath\n'),
               'folders': (None, None)}


@pytest.mark.parametrize('reader', READERS)
def test_readers_name_the_root_and_what_is_missing(tmp_path, reader):
    root = tmp_path / reader
    root.mkdir()
    index, content = INDEX_FILES[reader]
    if index is not None:
        with pytest.raises(InputError) as error:
            READERS[reader](root)
        assert index in assert_one_line_naming(error, root)
        text(root / index, content)
    with pytest.raises(InputError) as error:
        READERS[reader](root)
    assert 'audio' in assert_one_line_naming(error, root)
    with pytest.raises(InputError) as error:
        READERS[reader](tmp_path / 'absent')
    assert 'not a folder' in assert_one_line_naming(error, tmp_path / 'absent')


# -- Fish Fillets demo corpus --------------------------------------------------------------

FILLETS_FILES = {
    # path under sound/: expected (speaker, sex) or None when left out
    'city/cs/vit-m-hlava.ogg': ('small_fish', 'female'),
    'city/cs/vit-v-proc.ogg': ('big_fish', 'male'),
    'city/cs/vit-hs-klid1.ogg': None,
    'airplane/cs/let-m-oko.ogg': ('small_fish', 'female'),
    'share/borejokes/cs/ob-v-halo.ogg': ('big_fish', 'male'),
    'share/borejokes/cs/ob-o-halo.ogg': None,
    'rush/cs/m-co.ogg': None,
    'fdto/cs/cely-m.ogg': None,
    'city/en/vit-m-hlava.ogg': None,
}


def fake_package(root):
    """The real package's layout, mixed sample rates and channel counts included."""
    sound = root / 'usr' / 'share' / 'games' / 'fillets-ng' / 'sound'
    for i, name in enumerate(FILLETS_FILES):
        audio(sound / name, rate=(22050, 44100)[i % 2], channels=1 + i % 3 // 2, seconds=0.5)
    text(root / 'usr' / 'share' / 'doc' / 'fillets-ng-data-cs' / 'copyright', 'GPL\n')
    return root


def test_build_manifest_keeps_the_two_fish(tmp_path):
    extracted = fake_package(tmp_path / 'dest' / 'extracted')
    manifest = tmp_path / 'dest' / 'manifest.csv'
    corpus = fillets.build_manifest(extracted, manifest)
    expected = {name: {'speaker': kept[0], 'sex': kept[1]}
                for name, kept in FILLETS_FILES.items() if kept}
    sound = (extracted / fillets.SOUND_DIR).resolve()
    assert {u.path.relative_to(sound).as_posix(): u.labels
            for u in read_manifest(manifest).utterances} == expected
    assert len(corpus.utterances) == 4
    assert manifest.read_text().splitlines()[0] == 'path,speaker,sex'
    assert all(line.startswith('extracted/usr/share/games/fillets-ng/sound/')
               for line in manifest.read_text().splitlines()[1:])
    assert corpus.schema().group('sex').classes == ('female', 'male')


def test_build_manifest_on_the_wrong_folder(tmp_path):
    with pytest.raises(InputError) as error:
        fillets.build_manifest(tmp_path, tmp_path / 'manifest.csv')
    assert_one_line_naming(error, tmp_path)
    (tmp_path / fillets.SOUND_DIR / 'city' / 'cs').mkdir(parents=True)
    with pytest.raises(InputError) as error:
        fillets.build_manifest(tmp_path, tmp_path / 'manifest.csv')
    assert_one_line_naming(error, tmp_path / fillets.SOUND_DIR)
    assert not (tmp_path / 'manifest.csv').exists()


FAKE_APT_GET = """\
import os, pathlib, shutil, sys
pathlib.Path(os.environ['FAKE_LOG']).write_text(os.getcwd())
if os.environ.get('FAKE_FAIL'):
    sys.exit('E: Unable to locate package ' + sys.argv[2])
assert sys.argv[1:] == ['download', 'fillets-ng-data-cs'], sys.argv
shutil.copy(os.environ['FAKE_DEB'], 'fillets-ng-data-cs_1.0.1-1.1_all.deb')
"""


@pytest.fixture
def fake_debian(tmp_path, monkeypatch):
    """``apt-get`` and ``dpkg`` stand-ins on PATH; the '.deb' is a tarball of a fake tree."""
    tools = fake_debian_tools(tmp_path / 'bin', FAKE_APT_GET)
    deb = shutil.make_archive(str(tmp_path / 'deb'), 'gztar', fake_package(tmp_path / 'tree'))
    monkeypatch.setenv('PATH', str(tools))
    monkeypatch.setenv('FAKE_DEB', deb)
    monkeypatch.setenv('FAKE_LOG', str(tmp_path / 'apt-get-cwd'))
    return tmp_path / 'apt-get-cwd'


def test_fetch_downloads_extracts_and_cleans_up(tmp_path, fake_debian):
    dest = tmp_path / 'data' / 'fillets'
    manifest = fillets.fetch(dest)
    assert manifest == dest / 'manifest.csv'
    assert len(read_manifest(manifest).utterances) == 4
    assert (dest / 'extracted' / fillets.SOUND_DIR / 'city' / 'cs' / 'vit-m-hlava.ogg').is_file()
    assert not list(dest.rglob('*.deb'))
    assert not pathlib.Path(fake_debian.read_text()).exists()


@pytest.mark.parametrize('broken', ['apt-get fails', 'no apt-get'])
def test_fetch_failure_hints_at_apt_get_update(tmp_path, fake_debian, monkeypatch, broken):
    if broken == 'apt-get fails':
        monkeypatch.setenv('FAKE_FAIL', '1')
    else:
        monkeypatch.setenv('PATH', str(tmp_path / 'empty'))
    with pytest.raises(InputError) as error:
        fillets.fetch(tmp_path / 'dest')
    message = assert_one_line_naming(error, 'apt-get')
    assert 'apt-get update' in message
    if broken == 'apt-get fails':
        assert 'Unable to locate package fillets-ng-data-cs' in message
    assert not (tmp_path / 'dest' / 'manifest.csv').exists()


def test_command_line_prints_counts_per_speaker(tmp_path, fake_debian, capsys):
    assert fillets.main(['fetch', str(tmp_path / 'dest')]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f'manifest: {tmp_path / "dest" / "manifest.csv"}'
    assert out[1].startswith('big_fish: 2 utterances, 0.0 min, sample rates ')
    assert out[2].startswith('small_fish: 2 utterances, 0.0 min, sample rates ')
    table = fillets.summary(read_manifest(tmp_path / 'dest' / 'manifest.csv'))
    assert table['small_fish']['seconds'] == pytest.approx(1.0, abs=1e-3)
    assert table['big_fish']['sample_rates'] | table['small_fish']['sample_rates'] == {
        22050, 44100}


def test_command_line_error_is_one_line_and_exit_2(tmp_path, fake_debian, monkeypatch, capsys):
    monkeypatch.setenv('FAKE_FAIL', '1')
    assert fillets.main(['fetch', str(tmp_path / 'dest')]) == 2
    captured = capsys.readouterr()
    assert captured.out == ''
    assert captured.err.startswith('error: ') and captured.err.count('\n') == 1


def test_build_manifest_of_another_dub_keeps_its_own_language(tmp_path):
    sound = tmp_path / 'extracted' / fillets.SOUND_DIR
    for name in ('city/nl/vit-m-hlava.ogg', 'city/nl/vit-v-oko.ogg', 'city/cs/vit-m-oko.ogg',
                 'city/nl/vit-x-krab.ogg'):
        audio(sound / name, rate=22050, channels=1, seconds=0.5)
    corpus = fillets.build_manifest(tmp_path / 'extracted', tmp_path / 'm.csv', language='nl')
    assert sorted((u.path.parent.name, u.labels['speaker']) for u in corpus.utterances) == [
        ('nl', 'big_fish'), ('nl', 'small_fish')]
    assert fillets.package('nl') == 'fillets-ng-data-nl'
