"""Writing files so that a crash never leaves one half-written."""
from __future__ import annotations

import contextlib
import os
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import Iterator, Union


@contextlib.contextmanager
def atomic_path(path: Union[str, Path], suffix: str = '') -> Iterator[Path]:
    """Yields a temporary path in ``path``'s folder; when the block succeeds, the file
    written there replaces ``path`` in one rename; when it fails, it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f'.{path.name}.', suffix=suffix + '.tmp',
                                         dir=path.parent)
    os.close(handle)
    try:
        yield Path(temporary)
        with open(temporary, 'rb') as written:
            os.fsync(written.fileno())
        # mkstemp creates the file readable by its owner only; give it the permissions an
        # ordinary open() would have.
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text_atomic(path: Union[str, Path], text: str) -> None:
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding='utf-8')


# What numpy raises reading an npz that a crash, a full disk or a bad copy cut short or
# garbled (a missing file is an OSError too).
NPZ_DAMAGE_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, KeyError)


def error_summary(error: BaseException) -> str:
    """'BadZipFile: File is not a zip file': an exception as one short line."""
    text = str(error).splitlines()[0] if str(error) else ''
    return f'{type(error).__name__}: {text}' if text else type(error).__name__
