"""Reading PyTorch checkpoints (``torch.save`` files) into numpy, without torch.

Both of torch's formats are understood: the zip archive (``<name>/data.pkl`` plus one file
per storage, ``<name>/data/<key>``) and the legacy stream (pickled magic number, protocol,
system info, the object, the list of storage keys, then each storage as an int64 element
count followed by its raw bytes). The object's pickle is read by an unpickler that resolves
only the names a tensor checkpoint needs (``OrderedDict``, torch's storage types and tensor
rebuild functions): anything else, and so any code a hostile file would run, is refused.
"""
from __future__ import annotations

import collections
import io
import pickle
import struct
import zipfile
from pathlib import Path
from typing import Any, Callable, Dict, Union

import numpy as np

_LEGACY_MAGIC = 0x1950a86a20f9469cfc6c
_STORAGE_DTYPES = {
    'FloatStorage': np.float32, 'DoubleStorage': np.float64, 'HalfStorage': np.float16,
    'BFloat16Storage': None, 'LongStorage': np.int64, 'IntStorage': np.int32,
    'ShortStorage': np.int16, 'CharStorage': np.int8, 'ByteStorage': np.uint8,
    'BoolStorage': np.bool_,
}


class CheckpointError(ValueError):
    """The file is not a checkpoint this reader understands, or asks for forbidden names."""


class _StorageType:
    def __init__(self, name: str):
        if _STORAGE_DTYPES.get(name) is None:
            raise CheckpointError(f'unsupported storage type torch.{name}')
        self.dtype = np.dtype(_STORAGE_DTYPES[name])


class _Storage:
    """A storage's dtype and key; its array arrives once the bytes are read."""

    def __init__(self, storage_type: _StorageType, key: str):
        self.dtype = storage_type.dtype
        self.key = key
        self.array = None


class _Tensor:
    """What ``_rebuild_tensor_v2`` describes: a strided view of a storage."""

    def __init__(self, storage: _Storage, offset: int, size, stride):
        self.storage, self.offset = storage, offset
        self.size, self.stride = tuple(size), tuple(stride)

    def to_numpy(self) -> np.ndarray:
        flat = self.storage.array
        if not self.size:
            return flat[self.offset].copy()
        extent = 1 + sum((n - 1) * s for n, s in zip(self.size, self.stride))
        if min(self.size) > 0 and self.offset + extent > len(flat):
            raise CheckpointError(f'a tensor runs past the end of storage {self.storage.key}')
        base = flat[self.offset:]
        strides = tuple(s * flat.itemsize for s in self.stride)
        return np.lib.stride_tricks.as_strided(base, self.size, strides).copy()


def _rebuild_tensor(storage, offset, size, stride, *_ignored) -> _Tensor:
    return _Tensor(storage, offset, size, stride)


def _rebuild_parameter(data, *_ignored):
    return data


_ALLOWED: Dict[tuple, Callable] = {
    ('collections', 'OrderedDict'): collections.OrderedDict,
    ('torch._utils', '_rebuild_tensor_v2'): _rebuild_tensor,
    ('torch._utils', '_rebuild_tensor'): _rebuild_tensor,
    ('torch._utils', '_rebuild_parameter'): _rebuild_parameter,
}


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file, storages: Dict[str, _Storage]):
        super().__init__(file)
        self._storages = storages

    def find_class(self, module: str, name: str):
        if (module, name) in _ALLOWED:
            return _ALLOWED[(module, name)]
        if module == 'torch' and name in _STORAGE_DTYPES:
            return _StorageType(name)
        raise CheckpointError(f'refuses to load {module}.{name} (not a tensor checkpoint name)')

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 3 and pid[0] == 'storage'
                and isinstance(pid[1], _StorageType)):
            raise CheckpointError(f'unexpected persistent id {pid!r:.60}')
        key = str(pid[2])
        if key not in self._storages:
            self._storages[key] = _Storage(pid[1], key)
        return self._storages[key]


def _resolve(value: Any) -> Any:
    """The unpickled object with every tensor replaced by a numpy array."""
    if isinstance(value, _Tensor):
        return value.to_numpy()
    if isinstance(value, dict):
        return type(value)((key, _resolve(item)) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return type(value)(_resolve(item) for item in value)
    return value


def _read_zip(path: Path) -> Any:
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        pickles = [name for name in names if name.endswith('/data.pkl')]
        if len(pickles) != 1:
            raise CheckpointError('a zip checkpoint holds exactly one */data.pkl')
        prefix = pickles[0][:-len('data.pkl')]
        storages: Dict[str, _Storage] = {}
        obj = _RestrictedUnpickler(io.BytesIO(archive.read(pickles[0])), storages).load()
        for key, storage in storages.items():
            name = f'{prefix}data/{key}'
            if name not in names:
                raise CheckpointError(f'storage {name} is missing')
            storage.array = np.frombuffer(archive.read(name), dtype=storage.dtype.newbyteorder('<'))
    return obj


def _read_legacy(path: Path) -> Any:
    with open(path, 'rb') as file:
        storages: Dict[str, _Storage] = {}
        magic, _protocol, info = (_RestrictedUnpickler(file, storages).load() for _ in range(3))
        if magic != _LEGACY_MAGIC:
            raise CheckpointError('not a torch checkpoint (wrong magic number)')
        if isinstance(info, dict) and not info.get('little_endian', True):
            raise CheckpointError('big-endian checkpoints are not supported')
        obj = _RestrictedUnpickler(file, storages).load()
        keys = _RestrictedUnpickler(file, storages).load()
        for key in keys:
            storage = storages.get(str(key))
            if storage is None:
                raise CheckpointError(f'storage {key} is listed but never used')
            (count,) = struct.unpack('<q', file.read(8))
            data = file.read(count * storage.dtype.itemsize)
            if len(data) != count * storage.dtype.itemsize:
                raise CheckpointError(f'storage {key} is truncated')
            storage.array = np.frombuffer(data, dtype=storage.dtype.newbyteorder('<'))
    return obj


def load(path: Union[str, Path]) -> Any:
    """The checkpoint's object (dicts, lists, numbers) with numpy arrays for tensors.

    Raises :class:`CheckpointError` for anything else, before any foreign code could run.
    """
    path = Path(path)
    try:
        obj = _read_zip(path) if zipfile.is_zipfile(path) else _read_legacy(path)
    except (pickle.UnpicklingError, EOFError, struct.error, KeyError, zipfile.BadZipFile) as error:
        raise CheckpointError(f'not a readable torch checkpoint ({error})') from None
    missing = [s for s in _storages_of(obj) if s.array is None]
    if missing:
        raise CheckpointError(f'storage {missing[0].key} has no data')
    return _resolve(obj)


def _storages_of(value: Any):
    if isinstance(value, _Tensor):
        yield value.storage
    elif isinstance(value, dict):
        for item in value.values():
            yield from _storages_of(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _storages_of(item)
