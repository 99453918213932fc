"""The demo's conversion step: a few utterances of each speaker to every other speaker.

    python -m chainer_vc.conversion.demo --model results/shipped --manifest data/fillets/manifest.csv

Utterances come from the model's held-out list (``heldout.csv``: speech it never trained on)
where it has one, else from the start of the manifest.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional, Sequence

from chainer_vc.conversion import batch
from chainer_vc.conversion.converter import Converter
from chainer_vc.corpus import read_manifest
from chainer_vc.common.errors import InputError
from chainer_vc.corpus.split import corpus_root, load_heldout, utterance_key


def pick_utterances(corpus, per_speaker: int, heldout: frozenset = frozenset()) -> list:
    """The first ``per_speaker`` utterances of each speaker, in manifest order; only held-out
    ones where ``heldout`` (keys) names some of the corpus."""
    root = corpus_root(corpus.utterances)
    candidates = [u for u in corpus.utterances if utterance_key(u, root) in heldout]
    picked, counts = [], {}
    for utterance in candidates or corpus.utterances:
        speaker = utterance.labels['speaker']
        if counts.get(speaker, 0) < per_speaker:
            counts[speaker] = counts.get(speaker, 0) + 1
            picked.append(utterance)
    return picked


def convert_examples(model: Path, manifest: Path, out: Path, per_speaker: int = 2,
                     gpu: int = -1) -> list:
    """Writes ``out/<source speaker>_<stem>_to_<target speaker>.wav``; returns the paths."""
    converter = Converter.from_run_directory(model, gpu=gpu)
    corpus = read_manifest(manifest, converter.config.labels)
    written = []
    for utterance in pick_utterances(corpus, per_speaker, frozenset(load_heldout(model))):
        source = utterance.labels['speaker']
        for target in converter.targets()['speaker']:
            if target == source:
                continue
            output = out / f'{source}_{utterance.path.stem}_to_{target}.wav'
            written.append(batch.convert_file(
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
