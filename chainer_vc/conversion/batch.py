"""Files and folders through a Converter: which inputs go to which outputs, the checks made
before anything is written, and the targets a command line names."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import soundfile

from chainer_vc.common import audio
from chainer_vc.common.errors import InputError, warnings_about
from chainer_vc.conversion.converter import Converter
from chainer_vc.features.framing import check_utterance

PathLike = Union[str, Path]
# What a folder's audio files may be called: what libsndfile reads, less headerless raw.
AUDIO_SUFFIXES = frozenset(
    {'.' + name.lower() for name in soundfile.available_formats()} - {'.raw'}
    | {'.aif', '.wave'})


def audio_files(folder: Path) -> list:
    """The audio files directly in ``folder``, by name."""
    return sorted(path for path in folder.iterdir()
                  if path.is_file() and path.suffix.lower() in AUDIO_SUFFIXES)


def plan(input_path: PathLike, output_path: PathLike, overwrite: bool = False) -> list:
    """``[(input file, output file)]``: a file to a file, or a folder to a folder (same
    names, as ``.wav``). Raises InputError before anything is written."""
    source, target = Path(input_path), Path(output_path)
    if not source.exists():
        raise InputError(f'{source}: no such file or folder')
    if source.resolve() == target.resolve():
        raise InputError(f'{target}: the output is the input; choose another output')
    if source.is_dir():
        if target.exists() and not target.is_dir():
            raise InputError(f'{target}: the input is a folder, so the output must be one')
        inputs = audio_files(source)
        if not inputs:
            raise InputError(f'{source}: no audio files '
                             f'({", ".join(sorted(AUDIO_SUFFIXES)[:6])}, ...)')
        jobs = [(path, target / (path.stem + '.wav')) for path in inputs]
    else:
        if target.is_dir():
            raise InputError(f'{target}: is a folder; the input is one file, so give a file')
        jobs = [(source, target)]
    _check_outputs(jobs, overwrite)
    return jobs


def _check_outputs(jobs: Sequence[Tuple[Path, Path]], overwrite: bool) -> None:
    seen = {}
    inputs = {source.resolve() for source, _ in jobs}
    for source, output in jobs:
        if output.resolve() in inputs:
            raise InputError(f'{output}: the output would replace an input')
        if output in seen:
            raise InputError(f'{output}: both {seen[output]} and {source} would be written here')
        seen[output] = source
        if output.exists() and not overwrite:
            raise InputError(f'{output}: already exists (pass --overwrite to replace it)')


def load_utterance(path: PathLike, config) -> np.ndarray:
    """Decode at the model's rate and check it can be converted (InputError naming it)."""
    samples, _ = audio.load(path, config.sample_rate)
    try:
        check_utterance(samples, config)
    except InputError as error:
        raise InputError(f'{path}: {error}') from None
    return samples


def convert_file(converter: Converter, source: PathLike, output: PathLike,
                 target: Mapping[str, Optional[str]], keep_rate: bool = False) -> Path:
    """Convert one file; writes a mono WAV at the model's rate (or the input's)."""
    rate = converter.features.sample_rate
    converted = converter.convert(load_utterance(source, converter.features), target)
    if keep_rate:
        rate = soundfile.info(str(source)).samplerate
        converted = audio.resample(converted, converter.features.sample_rate, rate)
    audio.save(output, converted, rate)
    return Path(output)


def convert_files(converter: Converter, jobs: Sequence[Tuple[Path, Path]],
                  target: Mapping[str, Optional[str]], keep_rate: bool = False,
                  log=None) -> list:
    """Check the target and every input first, then convert: a bad input writes nothing."""
    converter.check_target(target)
    for source, _ in jobs:
        load_utterance(source, converter.features)
    written = []
    for source, output in jobs:
        with warnings_about(source):
            written.append(convert_file(converter, source, output, target, keep_rate))
        if log is not None:
            log(f'{source} -> {output}')
    return written


def parse_targets(items: Sequence[str]) -> dict:
    """``['speaker=alice', 'sex=female']`` -> ``{'speaker': 'alice', 'sex': 'female'}``."""
    target = {}
    for item in items:
        group, separator, name = item.partition('=')
        if not separator or not group or not name:
            raise InputError(f'--target {item!r}: expected GROUP=NAME, e.g. speaker=alice')
        if group in target:
            raise InputError(f'--target {item!r}: group {group!r} given twice')
        target[group] = name
    return target


def describe_targets(converter: Converter) -> str:
    """One line per group: ``group (n): class, class, ...``."""
    return '\n'.join(f'{name} ({len(classes)}): {", ".join(classes)}'
                     for name, classes in converter.targets().items())
