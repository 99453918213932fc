"""A small real-speech demo corpus: the Czech dub of the game Fish Fillets.

Debian's ``fillets-ng-data-cs`` holds the voices of two actors: the small fish (female,
about 256 Hz) in ``sound/<level>/cs/<level>-m-*.ogg`` and the big fish (male, about 135 Hz)
in ``<level>-v-*.ogg``. Other prefixes are other characters and are left out. So are the
two levels whose fish lines have no level prefix (``rush/cs/m-*.ogg``, ``fdto/cs/*-m.ogg``):
they are 44.1 kHz where the rest is 22.05 kHz, and both fish sound 20-25 % lower in them,
as if another actor or session recorded them; the demo wants two consistent voices.

``fillets-ng-data-nl`` holds the same two characters played by two other (Dutch) actors:
``--language nl`` makes a manifest of them with the same speaker names, which judges a model
trained on the Czech pair on speakers it never heard.

Nothing downloaded here is committed: fetch into ``data/``, which is git-ignored.

    python -m chainer_vc.corpus.fillets fetch data/fillets
    python -m chainer_vc.corpus.fillets fetch data/fillets_nl --language nl
"""
from __future__ import annotations

import argparse
import pathlib
import re
import sys
from typing import Optional, Sequence

from chainer_vc.corpus import debian
from chainer_vc.corpus.manifest import Corpus, PathLike, Utterance, write_manifest
from chainer_vc.common.errors import InputError

PACKAGE = 'fillets-ng-data-cs'
LANGUAGES = ('cs', 'nl')
SOUND_DIR = pathlib.Path('usr/share/games/fillets-ng/sound')
_FISH_FILE = re.compile(r'^[^-]+-([mv])-.+\.ogg$')
SPEAKERS = {'m': ('small_fish', 'female'), 'v': ('big_fish', 'male')}


def package(language: str = 'cs') -> str:
    return f'fillets-ng-data-{language}'


def build_manifest(extracted_root: PathLike, manifest_path: PathLike,
                   language: str = 'cs') -> Corpus:
    """Write a ``path,speaker,sex`` manifest of the two fish found in an extracted package."""
    sound = pathlib.Path(extracted_root) / SOUND_DIR
    if not sound.is_dir():
        raise InputError(f'{extracted_root}: no {SOUND_DIR}/ (not an extracted '
                         f'{package(language)})')
    utterances = []
    for path in sorted(sound.rglob('*.ogg')):
        match = _FISH_FILE.match(path.name)
        if match and path.parent.name == language:
            speaker, sex = SPEAKERS[match.group(1)]
            utterances.append(Utterance(path.resolve(), {'speaker': speaker, 'sex': sex}))
    if not utterances:
        raise InputError(f'{sound}: no <level>/{language}/<level>-m-*.ogg or -v-*.ogg files')
    corpus = Corpus(utterances, ('speaker', 'sex'))
    write_manifest(corpus, manifest_path)
    return corpus


def fetch(dest: PathLike, language: str = 'cs') -> pathlib.Path:
    """Download and unpack the package into ``dest/extracted``; returns ``dest/manifest.csv``."""
    dest = pathlib.Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    debian.download_and_extract(package(language), dest / 'extracted')
    manifest = dest / 'manifest.csv'
    build_manifest(dest / 'extracted', manifest, language)
    return manifest


summary = debian.summary


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog='python -m chainer_vc.corpus.fillets',
                                     description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest='command', required=True)
    fetch_parser = commands.add_parser('fetch', help=f'download {PACKAGE}, write a manifest')
    fetch_parser.add_argument('dest', type=pathlib.Path)
    fetch_parser.add_argument('--language', choices=LANGUAGES, default='cs',
                              help='which dub: cs (the demo corpus) or nl (two other actors)')
    args = parser.parse_args(argv)
    return debian.fetch_command(lambda: fetch(args.dest, args.language))


if __name__ == '__main__':
    sys.exit(main())
