"""The manifest: the one corpus format everything trains from.

A CSV file whose header is ``path,speaker`` followed by one column per extra label group
(``sex``, ``region``, ...). An empty cell means unlabelled. A relative path is relative to
the manifest's folder.
"""
from __future__ import annotations

import csv
import dataclasses
import io
import os
import pathlib
from typing import Iterable, Optional, Union

import numpy as np

from chainer_vc.common.errors import InputError
from chainer_vc.common.files import atomic_path
from chainer_vc.common.labels import LabelSchema

PathLike = Union[str, os.PathLike]
REQUIRED_COLUMNS = ('path', 'speaker')


@dataclasses.dataclass(frozen=True)
class Utterance:
    """One audio file (absolute path) and its labels: group name -> class name or None."""
    path: pathlib.Path
    labels: dict


@dataclasses.dataclass
class Corpus:
    utterances: list
    group_names: tuple

    def __post_init__(self):
        self.group_names = tuple(self.group_names)

    def schema(self) -> LabelSchema:
        return LabelSchema.from_rows(self.group_names, [u.labels for u in self.utterances])

    def codes(self, schema: LabelSchema) -> np.ndarray:
        """Codes (n_utterances, n_groups of ``schema``) int32, -1 where unlabelled."""
        codes = [schema.codes(_labelled(u.labels)) for u in self.utterances]
        if not codes:
            return np.zeros((0, len(schema.groups)), dtype=np.int32)
        return np.stack(codes).astype(np.int32)


def read_manifest(path: PathLike, schema: Optional[LabelSchema] = None) -> Corpus:
    """Read a manifest; with ``schema`` (e.g. a trained model's), every label must fit it."""
    path = pathlib.Path(path)
    reader = csv.reader(io.StringIO(_read_text(path), newline=''))
    header = _read_header(path, reader, schema)
    base = path.parent.resolve()
    utterances = []
    for cells in _rows(path, reader):
        utterances.append(_utterance(path, reader.line_num, header, cells, base, schema))
    if not utterances:
        raise _error(f'{path}: manifest has a header but no rows')
    extra_groups = tuple(name for name in header if name not in REQUIRED_COLUMNS)
    return Corpus(utterances, ('speaker',) + extra_groups)


def write_manifest(corpus_or_rows: Union[Corpus, Iterable], path: PathLike) -> pathlib.Path:
    """Write a manifest atomically; returns its path.

    ``corpus_or_rows`` is a :class:`Corpus`, or an iterable of :class:`Utterance` or of
    mappings with a ``path`` key and one key per label group. Audio inside the manifest's
    folder is written relative to it (the folder can move as a whole); other audio is
    written with its absolute path (the manifest alone can move).
    """
    path = pathlib.Path(path)
    rows, group_names = _as_rows(corpus_or_rows)
    base = path.parent.resolve()
    with atomic_path(path) as temporary, open(temporary, 'w', newline='',
                                              encoding='utf-8') as handle:
        writer = csv.writer(handle, lineterminator='\n')
        writer.writerow(('path',) + group_names)
        for audio, labels in rows:
            writer.writerow([_relative(audio, base)]
                            + [_cell(labels.get(name)) for name in group_names])
    return path


def _error(message: str) -> InputError:
    # Values from the file may hold line breaks; the message must stay one line.
    return InputError(message.replace('\r', '\\r').replace('\n', '\\n'))


def _read_text(path: pathlib.Path) -> str:
    if not path.is_file():
        raise _error(f'{path}: manifest not found')
    try:
        return path.read_text(encoding='utf-8-sig')
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, 'strerror', None) or str(error)
        raise _error(f'{path}: cannot read manifest ({reason})') from None


def _rows(path: pathlib.Path, reader) -> Iterable[list]:
    """Non-blank rows; a CSV syntax error becomes an InputError naming the line."""
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise _error(f'{path}:{reader.line_num}: {error}') from None
        if any(cell.strip() for cell in cells):
            yield cells


def _read_header(path: pathlib.Path, reader, schema: Optional[LabelSchema]) -> list:
    header = next(_rows(path, reader), None)
    if header is None:
        raise _error(f'{path}: manifest is empty (expected a header starting path,speaker)')
    header = [cell.strip() for cell in header]
    where = f'{path}:{reader.line_num}'
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise _error(f'{where}: header {",".join(header)!r} lacks column(s) '
                     f'{", ".join(missing)} (expected path,speaker[,group...])')
    if '' in header or len(set(header)) != len(header):
        raise _error(f'{where}: header {",".join(header)!r} has an empty or repeated column')
    if schema is not None:
        for name in header:
            if name not in REQUIRED_COLUMNS and name not in schema.names:
                raise _error(f'{where}: column {name!r} is not a label group of the schema '
                             f'(known: {", ".join(schema.names)})')
    return header


def _utterance(path: pathlib.Path, line: int, header: list, cells: list,
               base: pathlib.Path, schema: Optional[LabelSchema]) -> Utterance:
    where = f'{path}:{line}'
    if len(cells) != len(header):
        raise _error(f'{where}: expected {len(header)} cells ({",".join(header)}), '
                     f'got {len(cells)}')
    values = {name: cell.strip() for name, cell in zip(header, cells)}
    if not values['path']:
        raise _error(f'{where}: empty path')
    audio = (base / values.pop('path')).resolve()
    if not audio.is_file():
        raise _error(f'{where}: audio file not found: {audio}')
    labels = {name: value or None for name, value in values.items()}
    if schema is not None:
        try:
            schema.codes(_labelled(labels))
        except InputError as error:
            raise _error(f'{where}: {error}') from None
    return Utterance(audio, labels)


def _labelled(labels: dict) -> dict:
    # A schema may lack a group nobody was labelled in (even speaker): empty cells are fine.
    return {name: value for name, value in labels.items() if value is not None}


def _as_rows(corpus_or_rows) -> tuple:
    """``([(audio path, labels), ...], group names)`` from any accepted input."""
    if isinstance(corpus_or_rows, Corpus):
        return ([(u.path, u.labels) for u in corpus_or_rows.utterances],
                corpus_or_rows.group_names)
    rows, names = [], {'speaker': None}
    for row in corpus_or_rows:
        if isinstance(row, Utterance):
            audio, labels = row.path, row.labels
        else:
            labels = {key: value for key, value in row.items() if key != 'path'}
            audio = row['path']
        names.update(dict.fromkeys(labels))
        rows.append((audio, labels))
    return rows, tuple(names)


def _relative(audio: PathLike, base: pathlib.Path) -> str:
    audio = pathlib.Path(audio).resolve()
    try:
        return audio.relative_to(base).as_posix()
    except ValueError:
        return str(audio)


def _cell(value: Optional[str]) -> str:
    return '' if value is None else str(value)
