"""Build a :class:`Corpus` from the layouts public speech corpora ship in."""
from __future__ import annotations

import csv
import pathlib
from typing import Iterable, Optional

from chainer_vc.corpus.manifest import Corpus, PathLike, Utterance
from chainer_vc.common.errors import InputError

AUDIO_SUFFIXES = ('.wav', '.flac', '.ogg')
_SEXES = {'f': 'female', 'female': 'female', 'female_feminine': 'female',
          'm': 'male', 'male': 'male', 'male_masculine': 'male'}


def from_vctk(root: PathLike) -> Corpus:
    """VCTK: ``speaker-info.txt`` and ``wav48/p225/*.wav`` or, from 0.92 on,
    ``wav48_silence_trimmed/p225/*_mic1.flac``. Groups: speaker, sex, accent."""
    root = _folder(root)
    info = _speaker_info(_index_file(root, 'speaker-info.txt', 'VCTK'))
    audio_root = next((root / name for name in ('wav48_silence_trimmed', 'wav48')
                       if (root / name).is_dir()), None)
    if audio_root is None:
        raise InputError(f'{root}: no wav48/ or wav48_silence_trimmed/ folder (VCTK audio)')
    utterances = []
    for speaker_dir in _subfolders(audio_root):
        speaker = speaker_dir.name
        sex, accent = info.get(_vctk_id(speaker), (None, None))
        labels = {'speaker': speaker, 'sex': sex, 'accent': accent}
        utterances += [Utterance(path, labels) for path in _one_microphone(speaker_dir)]
    return _corpus(root, utterances, ('speaker', 'sex', 'accent'), audio_root)


def from_librispeech(root: PathLike) -> Corpus:
    """LibriSpeech / LibriTTS: ``SPEAKERS.TXT`` and ``<subset>/<speaker>/<chapter>/*.flac``
    (``*.wav`` in LibriTTS). Groups: speaker, sex."""
    root = _folder(root)
    sexes = _librispeech_sexes(_index_file(root, 'SPEAKERS.TXT', 'LibriSpeech/LibriTTS'))
    utterances = []
    for path in sorted(root.glob('*/*/*/*')):
        if path.suffix.lower() in ('.flac', '.wav') and path.is_file():
            speaker = path.parent.parent.name
            utterances.append(Utterance(path.resolve(),
                                        {'speaker': speaker, 'sex': sexes.get(speaker)}))
    return _corpus(root, utterances, ('speaker', 'sex'), '<subset>/<speaker>/<chapter>/')


def from_commonvoice(root: PathLike) -> Corpus:
    """Common Voice: ``validated.tsv`` and ``clips/``. Groups: speaker (client_id), sex,
    accent."""
    root = _folder(root)
    index = _index_file(root, 'validated.tsv', 'Common Voice')
    clips = root / 'clips'
    utterances = []
    with index.open(encoding='utf-8', newline='') as handle:
        # Sentences hold unbalanced quotes; Common Voice never quotes its fields.
        reader = csv.reader(handle, delimiter='\t', quoting=csv.QUOTE_NONE)
        columns = _commonvoice_columns(index, next(reader, []))
        for cells in reader:
            if not any(cells):
                continue
            utterances.append(_commonvoice_utterance(index, reader.line_num, columns, cells,
                                                     clips))
    return _corpus(root, utterances, ('speaker', 'sex', 'accent'), clips)


def from_folders(root: PathLike) -> Corpus:
    """``root/<speaker>/**/*.{wav,flac,ogg}``. Group: speaker."""
    root = _folder(root)
    utterances = []
    for speaker_dir in _subfolders(root):
        labels = {'speaker': speaker_dir.name}
        utterances += [Utterance(path, labels) for path in _audio_files(speaker_dir)]
    return _corpus(root, utterances, ('speaker',), '<speaker>/')


READERS = {'vctk': from_vctk, 'librispeech': from_librispeech,
           'commonvoice': from_commonvoice, 'folders': from_folders}


def _folder(root: PathLike) -> pathlib.Path:
    root = pathlib.Path(root)
    if not root.is_dir():
        raise InputError(f'{root}: not a folder')
    return root


def _index_file(root: pathlib.Path, name: str, corpus: str) -> pathlib.Path:
    """``root/name``, matched without regard to case (``SPEAKERS.TXT`` vs ``SPEAKERS.txt``)."""
    for path in sorted(root.iterdir()):
        if path.name.lower() == name.lower() and path.is_file():
            return path
    raise InputError(f'{root}: no {name} (is this a {corpus} root?)')


def _subfolders(folder: pathlib.Path) -> list:
    return sorted(path for path in folder.iterdir()
                  if path.is_dir() and not path.name.startswith('.'))


def _audio_files(folder: pathlib.Path, suffixes: Iterable[str] = AUDIO_SUFFIXES) -> list:
    return sorted(path.resolve() for path in folder.rglob('*')
                  if path.suffix.lower() in suffixes and path.is_file())


def _corpus(root: pathlib.Path, utterances: list, group_names: tuple, where) -> Corpus:
    if not utterances:
        raise InputError(f'{root}: no audio files found in {where}')
    return Corpus(utterances, group_names)


def _sex(value: Optional[str]) -> Optional[str]:
    return _SEXES.get((value or '').strip().lower())


def _vctk_id(name: str) -> str:
    """Speaker-info IDs are ``225`` in old releases and ``p225`` in 0.92; folders ``p225``."""
    return 'p' + name if name.isdigit() else name


def _speaker_info(path: pathlib.Path) -> dict:
    """``{speaker: (sex, accent)}`` from a whitespace-separated table with a header line."""
    info = {}
    for line in path.read_text(encoding='utf-8', errors='replace').splitlines():
        fields = line.split()
        if not fields or fields[0].upper() == 'ID':
            continue
        sex = _sex(fields[2]) if len(fields) > 2 else None
        accent = fields[3] if len(fields) > 3 else None
        info[_vctk_id(fields[0])] = (sex, accent)
    return info


def _one_microphone(speaker_dir: pathlib.Path) -> list:
    # VCTK 0.92 records every sentence with two microphones; twice the same utterance
    # would only weigh a speaker double, so keep mic1 wherever the speaker has it.
    files = _audio_files(speaker_dir, ('.wav', '.flac'))
    if any(path.stem.endswith('_mic1') for path in files):
        files = [path for path in files if not path.stem.endswith('_mic2')]
    return files


def _librispeech_sexes(path: pathlib.Path) -> dict:
    """``{speaker: sex}`` from ``ID | SEX | SUBSET | MINUTES | NAME`` lines."""
    sexes = {}
    for line in path.read_text(encoding='utf-8', errors='replace').splitlines():
        if line.startswith(';') or '|' not in line:
            continue
        speaker, sex = (field.strip() for field in line.split('|')[:2])
        sexes[speaker] = _sex(sex)
    return sexes


def _commonvoice_columns(index: pathlib.Path, header: list) -> dict:
    columns = {name: i for i, name in enumerate(header)}
    missing = [name for name in ('client_id', 'path') if name not in columns]
    if missing:
        raise InputError(f'{index}:1: header lacks column(s) {", ".join(missing)}')
    if 'accents' in columns:  # the newer name; older releases say 'accent'
        columns['accent'] = columns['accents']
    return columns


def _commonvoice_utterance(index: pathlib.Path, line: int, columns: dict, cells: list,
                           clips: pathlib.Path) -> Utterance:
    def cell(name: str) -> Optional[str]:
        i = columns.get(name)
        value = cells[i].strip() if i is not None and i < len(cells) else ''
        return value or None

    if cell('path') is None or cell('client_id') is None:
        raise InputError(f'{index}:{line}: row without client_id or path')
    path = clips / cell('path')
    if not path.is_file():
        raise InputError(f'{index}:{line}: clip not found: {path}')
    return Utterance(path.resolve(), {'speaker': cell('client_id'),
                                      'sex': _sex(cell('gender')), 'accent': cell('accent')})
