"""Speech that Debian ships: download a package with ``apt-get download`` and unpack it with
``dpkg -x`` (no root, nothing installed), and describe the corpus a reader made of it."""
from __future__ import annotations

import collections
import pathlib
import subprocess
import sys
import tempfile
from typing import Callable, Optional

import numpy as np
import soundfile

from chainer_vc.corpus.manifest import Corpus, PathLike, read_manifest
from chainer_vc.common.errors import InputError

UPDATE_HINT = 'the package list may be stale or empty: run `sudo apt-get update` first'
# Adult speaking F0 clusters around 100-140 Hz (men) and 180-240 Hz (women): a median above
# 160 Hz is a woman's. Expressive delivery raises a man's median (the Italian prompts' is
# 159-166 Hz) but not the low end of his range: a 10th percentile above 120 Hz is a woman's.
FEMALE_MEDIAN_ABOVE_HZ = 160.0
FEMALE_LOW_END_ABOVE_HZ = 120.0


def download_and_extract(package: str, extracted: PathLike) -> None:
    """``apt-get download`` the package into a temporary folder, ``dpkg -x`` it into
    ``extracted``; the .deb is deleted."""
    with tempfile.TemporaryDirectory() as download_dir:
        run(['apt-get', 'download', package], download_dir, UPDATE_HINT)
        debs = sorted(pathlib.Path(download_dir).glob('*.deb'))
        if not debs:
            raise InputError(f'apt-get download {package} left no .deb in {download_dir}')
        run(['dpkg', '-x', str(debs[0]), str(pathlib.Path(extracted).absolute())],
            download_dir, 'dpkg is needed to unpack the package')
        debs[0].unlink()


def run(command: list, cwd: str, hint: str) -> None:
    try:
        result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    except OSError as error:
        raise InputError(f'{command[0]}: cannot run ({error.strerror}); {hint}') from None
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        reason = lines[-1] if lines else f'exit code {result.returncode}'
        raise InputError(f'{" ".join(command)} failed ({reason}); {hint}')


def summary(corpus: Corpus) -> dict:
    """``{speaker: {'utterances', 'seconds', 'sample_rates', 'channels', 'sex'}}``."""
    table = collections.defaultdict(lambda: {'utterances': 0, 'seconds': 0.0,
                                             'sample_rates': set(), 'channels': set()})
    for utterance in corpus.utterances:
        try:
            info = soundfile.info(str(utterance.path))
        except RuntimeError as error:
            raise InputError(f'{utterance.path}: cannot read audio ({error})') from None
        row = table[utterance.labels['speaker']]
        row['utterances'] += 1
        row['seconds'] += info.duration
        row['sample_rates'].add(info.samplerate)
        row['channels'].add(info.channels)
        row['sex'] = utterance.labels.get('sex')
    return dict(table)


def f0_range(paths, sample_rate: int = 16000) -> tuple:
    """(10th percentile, median) of F0 in Hz over the voiced frames of the files (WORLD's
    dio + stonemask); NaN where nothing is voiced."""
    import pyworld
    from chainer_vc.common import audio
    voiced = [np.zeros(0)]
    for path in paths:
        samples, _ = audio.load(path, sample_rate)
        x = samples.astype(np.float64)
        f0, times = pyworld.dio(x, sample_rate, 71.0, 800.0, frame_period=10.0)
        f0 = pyworld.stonemask(x, f0, times, sample_rate)
        voiced.append(f0[f0 > 0])
    voiced = np.concatenate(voiced)
    if not voiced.size:
        return float('nan'), float('nan')
    low, median = np.percentile(voiced, [10, 50])
    return float(low), float(median)


def sex_by_f0(low_end_hz: float, median_hz: float) -> Optional[str]:
    """'female', 'male', or None where the two cues disagree."""
    female = (median_hz > FEMALE_MEDIAN_ABOVE_HZ, low_end_hz > FEMALE_LOW_END_ABOVE_HZ)
    if all(female):
        return 'female'
    return None if any(female) else 'male'


def print_summary(manifest: PathLike, corpus: Corpus, f0_files: int = 20) -> None:
    """Per speaker: utterances, minutes, rates, the labelled sex and what F0 says of it."""
    print(f'manifest: {manifest}')
    for speaker, row in sorted(summary(corpus).items()):
        paths = [u.path for u in corpus.utterances
                 if u.labels['speaker'] == speaker][:f0_files]
        low, median = f0_range(paths)
        by_f0 = sex_by_f0(low, median)
        check = ('F0 agrees' if by_f0 == row['sex'] else
                 'F0 is unclear' if by_f0 is None else f'F0 says {by_f0}')
        print(f'{speaker}: {row["utterances"]} utterances, {row["seconds"] / 60:.1f} min, '
              f'sample rates {_join(row["sample_rates"])} Hz, '
              f'channels {_join(row["channels"])}, {row["sex"]} '
              f'(F0 median {median:.0f} Hz, 10th percentile {low:.0f} Hz: {check})')


def fetch_command(fetch: Callable[[], PathLike]) -> int:
    """A fetch command's exit code: run ``fetch`` (returns the manifest's path) and print
    the summary; a user's error is one line on stderr and exit code 2."""
    try:
        manifest = fetch()
        print_summary(manifest, read_manifest(manifest))
    except InputError as error:
        print(f'error: {error}', file=sys.stderr)
        return InputError.exit_code
    return 0


def _join(values) -> str:
    return '/'.join(str(value) for value in sorted(values))
