"""A description of the machine a benchmark ran on: CPU, cores, memory, BLAS, versions, load."""
from __future__ import annotations

import ctypes
import os
import platform
import shutil
import subprocess
import time
from pathlib import Path
from typing import Optional

import chainer_vc  # noqa: F401  (patches chainer for numpy 2)
import chainer
import numpy as np

THREAD_VARIABLES = ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS')
# What OpenBLAS builds name these entry points, with numpy's own wheel first.
OPENBLAS_SYMBOLS = {'corename': ('scipy_openblas_get_corename64_', 'openblas_get_corename'),
                    'threads': ('scipy_openblas_get_num_threads64_', 'openblas_get_num_threads')}


def describe(gpu: int = -1) -> dict:
    """Everything worth knowing to compare a benchmark run with another."""
    description = {
        'cpu': lscpu().get('Model name', platform.processor()),
        'machine': platform.machine(),
        'logical_cpus': os.cpu_count(),
        'usable_cpus': len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else None,
        'memory_bytes': memory_bytes(),
        'os': platform.platform(),
        'python': platform.python_version(),
        'numpy': np.__version__, 'chainer': chainer.__version__,
        'blas': blas(),
        'thread_variables': {name: os.environ.get(name) for name in THREAD_VARIABLES},
        'lscpu': lscpu(),
    }
    if gpu >= 0:
        description['gpu'] = gpu_description(gpu)
    return description


def lscpu() -> dict:
    """``lscpu``'s fields, or {} where it is missing."""
    if not shutil.which('lscpu'):
        return {}
    output = subprocess.run(['lscpu'], capture_output=True, text=True, check=False).stdout
    fields = (line.split(':', 1) for line in output.splitlines() if ':' in line)
    return {key.strip(): value.strip() for key, value in fields if key.strip() != 'Flags'}


def memory_bytes() -> Optional[int]:
    """Total memory (``free -b``'s total), from /proc/meminfo."""
    meminfo = Path('/proc/meminfo')
    if not meminfo.is_file():
        return None
    for line in meminfo.read_text().splitlines():
        if line.startswith('MemTotal:'):
            return int(line.split()[1]) * 1024
    return None


def blas() -> dict:
    """numpy's BLAS as built (name, version, configuration) and, for OpenBLAS, the kernel it
    picked for this CPU and its thread count."""
    info = np.show_config(mode='dicts').get('Build Dependencies', {}).get('blas', {})
    found = {key: info.get(key) for key in ('name', 'version', 'openblas configuration')}
    found.update(openblas_runtime())
    return found


def openblas_runtime() -> dict:
    """OpenBLAS's run-time kernel name and threads, asked from the library numpy loaded."""
    library = _loaded_openblas()
    if library is None:
        return {}
    found = {}
    for key, names in OPENBLAS_SYMBOLS.items():
        function = next((getattr(library, n) for n in names if hasattr(library, n)), None)
        if function is not None:
            function.restype = ctypes.c_char_p if key == 'corename' else ctypes.c_int
            value = function()
            found[f'runtime_{key}'] = value.decode() if isinstance(value, bytes) else value
    return found


def _loaded_openblas() -> Optional[ctypes.CDLL]:
    maps = Path(f'/proc/{os.getpid()}/maps')
    if not maps.is_file():
        return None
    paths = {line.split()[-1] for line in maps.read_text().splitlines()
             if 'openblas' in line.lower() and line.split()[-1].startswith('/')}
    return ctypes.CDLL(sorted(paths)[0]) if paths else None


def gpu_description(gpu: int) -> dict:
    cupy = chainer.backends.cuda.cupy
    properties = cupy.cuda.runtime.getDeviceProperties(gpu)
    name = properties['name']
    return {'id': gpu, 'name': name.decode() if isinstance(name, bytes) else name,
            'memory_bytes': int(properties['totalGlobalMem']), 'cupy': cupy.__version__}


class OtherWork:
    """Measures the share of the machine's CPU time that other processes used while it was
    active: 0 when this process had the cores to itself, 0.5 when others took half of them.
    ``share`` is None where /proc/stat is missing."""

    def __enter__(self) -> 'OtherWork':
        self.share = None
        self._start = (time.perf_counter(), _own_cpu_seconds(), machine_busy_seconds())
        return self

    def __exit__(self, *exc) -> None:
        wall, own, busy = (end - start for end, start in zip(
            (time.perf_counter(), _own_cpu_seconds(), machine_busy_seconds() or 0.0),
            (self._start[0], self._start[1], self._start[2] or 0.0)))
        if self._start[2] is not None and wall > 0:
            self.share = max(0.0, (busy - own) / (wall * (os.cpu_count() or 1)))


def machine_busy_seconds() -> Optional[float]:
    """CPU seconds all processes have used since boot (/proc/stat: all but idle and iowait)."""
    stat = Path('/proc/stat')
    if not stat.is_file():
        return None
    fields = [int(v) for v in stat.read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf('SC_CLK_TCK')


def _own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def load_average() -> Optional[list]:
    """The 1, 5 and 15 minute load averages: other work competing for the cores."""
    return list(os.getloadavg()) if hasattr(os, 'getloadavg') else None
