"""Shared test fixtures: synthetic voices and a tiny corpus built in a temporary folder."""
from pathlib import Path

import numpy as np
import pytest
import soundfile

import chainer_vc  # noqa: F401  (patches chainer before any test imports it)


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


SPEAKERS = {'low': ('male', 120.0), 'high': ('female', 240.0)}


def make_corpus(root: Path, files_per_speaker: int = 3, seconds: float = 2.0) -> Path:
    """Two synthetic speakers (pitch 120 Hz male, 240 Hz female), manifest with path,speaker,sex."""
    lines = ['path,speaker,sex']
    for s, (speaker, (sex, f0)) in enumerate(SPEAKERS.items()):
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
