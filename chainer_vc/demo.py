"""The demo's last step: convert a few corpus utterances to every speaker of a trained model.

    python -m chainer_vc.demo --model results/demo --manifest data/fillets/manifest.csv
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional, Sequence

import chainer_vc  # noqa: F401  (patches chainer for numpy 2)
from chainer_vc import conversion
from chainer_vc.corpus import read_manifest
from chainer_vc.errors import InputError


def pick_utterances(corpus, per_speaker: int) -> list:
    """The first ``per_speaker`` utterances of each speaker, in manifest order."""
    picked, counts = [], {}
    for utterance in corpus.utterances:
        speaker = utterance.labels['speaker']
        if counts.get(speaker, 0) < per_speaker:
            counts[speaker] = counts.get(speaker, 0) + 1
            picked.append(utterance)
    return picked


def convert_examples(model: Path, manifest: Path, out: Path, per_speaker: int = 2,
                     gpu: int = -1) -> list:
    """Writes ``out/<source speaker>_<stem>_to_<target speaker>.wav``; returns the paths."""
    converter = conversion.Converter.from_run_directory(model, gpu=gpu)
    corpus = read_manifest(manifest, converter.config.labels)
    written = []
    for utterance in pick_utterances(corpus, per_speaker):
        source = utterance.labels['speaker']
        for target in converter.targets()['speaker']:
            output = out / f'{source}_{utterance.path.stem}_to_{target}.wav'
            written.append(conversion.convert_file(
                converter, utterance.path, output, {'speaker': target}))
    return written


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--model', type=Path, required=True, help='trained run directory')
    parser.add_argument('--manifest', type=Path, required=True, help='corpus manifest')
    parser.add_argument('--out', type=Path, help='output folder (default: MODEL/converted)')
    parser.add_argument('--per-speaker', type=int, default=2, help='utterances per speaker')
    parser.add_argument('--gpu', type=int, default=-1, help='GPU id (negative: CPU)')
    args = parser.parse_args(argv)
    out = args.out or args.model / 'converted'
    try:
        written = convert_examples(args.model, args.manifest, out, args.per_speaker, args.gpu)
    except InputError as error:
        print(f'error: {error}', file=sys.stderr)
        return error.exit_code
    print(f'{len(written)} converted utterances in {out}:')
    for path in written:
        print(f'  {path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
