"""Shared test fixtures: synthetic voices, a tiny corpus, and a tiny model trained on it."""
import functools
import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

import chainer_vc  # noqa: F401  (patches chainer before any test imports it)


@functools.lru_cache(maxsize=None)
def gpu_name():
    """The name of CUDA device 0 as CuPy sees it, or None (no CuPy, no driver, no device)."""
    if importlib.util.find_spec('cupy') is None:
        return None
    try:
        import cupy
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return None
        name = cupy.cuda.runtime.getDeviceProperties(0)['name']
    except Exception:  # CuPy without its CUDA libraries or driver
        return None
    return name.decode() if isinstance(name, bytes) else name


def pytest_report_header(config):
    name = gpu_name()
    return f'GPU tests (-m gpu): on {name}' if name else \
        'GPU tests (-m gpu): deselected, CuPy sees no CUDA device'


def pytest_collection_modifyitems(config, items):
    """Where CuPy sees no device, tests marked gpu are deselected, and counted as such."""
    if gpu_name() is not None:
        return
    gpu = [item for item in items if item.get_closest_marker('gpu')]
    if gpu:
        config.hook.pytest_deselected(items=gpu)
        items[:] = [item for item in items if not item.get_closest_marker('gpu')]


def voice(seconds: float, f0: float, sample_rate: int = 16000, seed: int = 0) -> np.ndarray:
    """A voiced-speech stand-in: harmonics of ``f0`` with vibrato, syllable-rate loudness
    and a little breath noise, peak 0.5."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    pitch = f0 * (1 + 0.03 * np.sin(2 * np.pi * 5 * t + rng.uniform(0, 6)))
    phase = 2 * np.pi * np.cumsum(pitch) / sample_rate
    signal = sum(np.sin(k * phase) / k for k in range(1, 16) if k * f0 < sample_rate / 2)
    envelope = 0.55 + 0.45 * np.sin(2 * np.pi * 3 * t + rng.uniform(0, 6))
    signal = signal * envelope + 0.02 * rng.standard_normal(len(t))
    return (0.5 * signal / np.max(np.abs(signal))).astype(np.float32)


def write_voice(path: Path, seconds: float, f0: float, sample_rate: int = 16000,
                channels: int = 1, seed: int = 0) -> Path:
    samples = voice(seconds, f0, sample_rate, seed)
    data = np.stack([samples] * channels, axis=1) if channels > 1 else samples
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(path), data, sample_rate)
    return path


def formant_voice(seconds: float, f0: float, formant_scale: float = 1.0,
                  sample_rate: int = 16000, seed: int = 0) -> np.ndarray:
    """:func:`voice` with a vocal tract: harmonics weighted by three resonances (500, 1500,
    2500 Hz, times ``formant_scale``), so that speakers differ in envelope as well as F0."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    pitch = f0 * (1 + 0.03 * np.sin(2 * np.pi * 5 * t + rng.uniform(0, 6)))
    phase = 2 * np.pi * np.cumsum(pitch) / sample_rate
    signal = np.zeros_like(t)
    for k in range(1, int(sample_rate / 2 / f0)):
        frequency = k * f0
        gain = sum(1 / (1 + ((frequency - centre * formant_scale) / (80 * formant_scale)) ** 2)
                   for centre in (500, 1500, 2500))
        signal += (gain + 0.01) * np.sin(k * phase)
    envelope = 0.55 + 0.45 * np.sin(2 * np.pi * 3 * t + rng.uniform(0, 6))
    signal = signal * envelope + 0.01 * rng.standard_normal(len(t))
    return (0.5 * signal / np.max(np.abs(signal))).astype(np.float32)


# Speakers of the world-kind tests: (sex, F0, formant scale).
FORMANT_SPEAKERS = {'deep': ('male', 110.0, 1.0), 'bright': ('female', 220.0, 1.3)}


def make_formant_corpus(root: Path, files_per_speaker: int = 3, seconds: float = 2.0,
                        speakers: dict = FORMANT_SPEAKERS) -> Path:
    """Speakers of :func:`formant_voice` at 16 kHz and a manifest with path,speaker,sex."""
    lines = ['path,speaker,sex']
    for s, (speaker, (sex, f0, scale)) in enumerate(speakers.items()):
        for i in range(files_per_speaker):
            name = f'{speaker}/{speaker}_{i}.wav'
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            samples = formant_voice(seconds, f0 * (1 + 0.02 * i), scale, seed=10 * s + i)
            soundfile.write(str(path), samples, 16000)
            lines.append(f'{name},{speaker},{sex}')
    manifest = root / 'manifest.csv'
    manifest.write_text('\n'.join(lines) + '\n')
    return manifest


@pytest.fixture(autouse=True, scope='session')
def analysis_cache(tmp_path_factory):
    """The world kind's analysis cache in a temporary folder, for this process and the
    commands the tests start."""
    import os
    os.environ['CHAINER_VC_CACHE'] = str(tmp_path_factory.mktemp('analysis_cache'))
    return Path(os.environ['CHAINER_VC_CACHE'])


FAKE_DPKG = """\
import shutil, sys
assert sys.argv[1] == '-x', sys.argv
shutil.unpack_archive(sys.argv[2], sys.argv[3], format='gztar')
"""


def fake_debian_tools(folder: Path, apt_get_source: str) -> Path:
    """Executable ``apt-get`` (the given Python source) and ``dpkg -x`` (unpacks a tarball
    standing for a .deb) stand-ins in ``folder``, for tests of the Debian corpus fetchers."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, source in (('apt-get', apt_get_source), ('dpkg', FAKE_DPKG)):
        (folder / name).write_text(f'#!{sys.executable}\n{source}')
        (folder / name).chmod(0o755)
    return folder


REPO = Path(__file__).resolve().parents[1]
SPEAKERS = {'low': ('male', 120.0), 'high': ('female', 240.0)}
# The corpus of the trained fixture model: three speakers, two sexes.
TRAINED_SPEAKERS = {'alice': ('female', 230.0), 'bob': ('male', 115.0), 'carol': ('female', 190.0)}
TRAINED_ITERATIONS = 3


def make_corpus(root: Path, files_per_speaker: int = 3, seconds: float = 2.0,
                speakers: dict = SPEAKERS) -> Path:
    """Synthetic speakers (by default 120 Hz male and 240 Hz female) at mixed sample rates,
    and a manifest with path,speaker,sex."""
    lines = ['path,speaker,sex']
    for s, (speaker, (sex, f0)) in enumerate(speakers.items()):
        for i in range(files_per_speaker):
            rate = (16000, 22050, 44100)[i % 3]
            name = f'{speaker}/{speaker}_{i}.wav'
            write_voice(root / name, seconds, f0 * (1 + 0.02 * i), rate, seed=10 * s + i)
            lines.append(f'{name},{speaker},{sex}')
    manifest = root / 'manifest.csv'
    manifest.write_text('\n'.join(lines) + '\n')
    return manifest


@pytest.fixture
def corpus_manifest(tmp_path) -> Path:
    return make_corpus(tmp_path / 'corpus')


@pytest.fixture(scope='session')
def tiny_run(tmp_path_factory) -> Path:
    """A run directory of the `tiny` preset trained by train.py for a few iterations
    (weights after each: gen_iter_1 ... gen_iter_<TRAINED_ITERATIONS>). Treat as read-only."""
    root = tmp_path_factory.mktemp('tiny_run')
    manifest = make_corpus(root / 'corpus', files_per_speaker=2, speakers=TRAINED_SPEAKERS)
    out = root / 'run'
    result = subprocess.run(
        [sys.executable, str(REPO / 'train.py'), '--gpu', '-1', '--preset', 'tiny',
         '--batchsize', '3', '--manifest', str(manifest), '--out', str(out),
         '--iterations', str(TRAINED_ITERATIONS), '--snapshot-interval', '1i',
         '--log-interval', '1i', '--plot-interval', '1000i', '--sample-interval', '1000i',
         '--no-progress'], capture_output=True, text=True, timeout=300, cwd=REPO)
    assert result.returncode == 0, result.stderr
    return out


WORLD_ITERATIONS = 2


@pytest.fixture(scope='session')
def world_run(tmp_path_factory) -> Path:
    """A run directory of the `tiny` preset on the world features, trained by train.py for
    a few iterations on :data:`FORMANT_SPEAKERS`. Treat as read-only."""
    root = tmp_path_factory.mktemp('world_run')
    manifest = make_formant_corpus(root / 'corpus', files_per_speaker=3)
    out = root / 'run'
    result = subprocess.run(
        [sys.executable, str(REPO / 'train.py'), '--gpu', '-1', '--preset', 'tiny',
         '--features', 'world', '--batchsize', '2', '--manifest', str(manifest),
         '--out', str(out), '--iterations', str(WORLD_ITERATIONS), '--snapshot-interval', '1i',
         '--log-interval', '1i', '--plot-interval', '1000i', '--sample-interval', '2i',
         '--heldout-fraction', '0', '--no-progress'],
        capture_output=True, text=True, timeout=300, cwd=REPO)
    assert result.returncode == 0, result.stderr
    return out
