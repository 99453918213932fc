"""Six real voices: the Asterisk telephone prompts beside the demo corpus's two actors.

Debian ships the prompts of Asterisk (the telephony server) as ``asterisk-core-sounds-<lang>-
g722``: 16 kHz speech coded as G.722, each language recorded by one professional speaker,
about 20 minutes of it: Allison Smith (en, US English, female), June Wallack (fr, Canadian
French, female), Carlo Flora (it, Italian, male) and the ivrvoice.ru voice (ru, female).
Licences: CC-BY-SA-3.0 (en, fr, es), CC-BY-3.0 (it, ru); credit the speakers.

``-es-`` is Allison again, in Mexican Spanish: not a new speaker, so not one of the six
voices. ``--languages es`` adds her Spanish prompts under her own speaker label, the same
voice in a second language (a probe of whether a classifier keys on the speaker or on the
language; see ``experiments/language_probe.py``).

Each prompt is decoded once (the ``G722`` package, ITU-T G.722 at 64 kbit/s) into a WAV file
under ``dest/wav/<speaker>/``; the ``silence/`` folders and the tones (beeps) are not speech
and are left out, as are empty files, and a file reached twice (a link, or the same bytes) is counted once.
``--add`` appends another manifest (the demo corpus) to make the six-voice manifest.

    python -m chainer_vc.corpus.asterisk fetch data/voices --add data/fillets/manifest.csv
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import pathlib
import sys
from typing import Iterable, Optional, Sequence

import numpy as np

from chainer_vc.common import audio
from chainer_vc.corpus import debian
from chainer_vc.corpus.manifest import Corpus, PathLike, Utterance, read_manifest, write_manifest
from chainer_vc.common.errors import InputError

SOUNDS_DIR = pathlib.Path('usr/share/asterisk/sounds')
SAMPLE_RATE = 16000
BIT_RATE = 64000
GROUPS = ('speaker', 'sex')
NOT_SPEECH_FOLDERS = frozenset({'silence'})
NOT_SPEECH = frozenset({'beep', 'beeperr', 'ascending-2tone', 'descending-2tone'})


@dataclasses.dataclass(frozen=True)
class Voice:
    speaker: str
    sex: str
    folder: str  # under usr/share/asterisk/sounds/
    wav_folder: str = ''  # under dest/wav/; default: the speaker's name

    @property
    def decoded_folder(self) -> str:
        return self.wav_folder or self.speaker

    def package(self, language: str) -> str:
        return f'asterisk-core-sounds-{language}-g722'


VOICES = {
    'en': Voice('allison', 'female', 'en_US_f_Allison'),
    'fr': Voice('june', 'female', 'fr_CA_f_June'),
    'it': Voice('carlo', 'male', 'it_IT_m_Carlo'),
    'ru': Voice('ivrvoice_ru', 'female', 'ru_RU_f_IvrvoiceRU'),
    # Her own folder: the English and Spanish prompts share names (digits/1).
    'es': Voice('allison', 'female', 'es_MX_f_Allison', 'allison_es'),
}
# The four speakers; Spanish is Allison's second language, fetched only when asked for.
SPEAKER_LANGUAGES = ('en', 'fr', 'it', 'ru')


def decode_g722(path: PathLike) -> np.ndarray:
    """Float32 samples at 16 kHz of a raw G.722 file (64 kbit/s: two samples per byte)."""
    from G722 import G722
    path = pathlib.Path(path)
    try:
        coded = path.read_bytes()
    except OSError as error:
        raise InputError(f'{path}: cannot read ({error.strerror})') from None
    if not coded:
        raise InputError(f'{path}: empty G.722 file')
    pcm = np.asarray(G722(SAMPLE_RATE, BIT_RATE).decode(coded), dtype=np.float32)
    return pcm / 32768.0


def encode_g722(samples: np.ndarray) -> bytes:
    """G.722 bytes of float samples at 16 kHz (what the prompts hold; for fixtures)."""
    from G722 import G722
    pcm = np.round(np.clip(samples, -1.0, 32767 / 32768) * 32768).astype(np.int16)
    return bytes(G722(SAMPLE_RATE, BIT_RATE).encode(pcm))


def prompts(voice_root: pathlib.Path) -> Iterable[pathlib.Path]:
    """The speech prompts of one voice's folder, each once (links and copies counted once)."""
    seen = set()
    for path in sorted(voice_root.rglob('*.g722')):
        relative = path.relative_to(voice_root)
        if NOT_SPEECH_FOLDERS & set(relative.parts[:-1]) or path.stem in NOT_SPEECH:
            continue
        coded = path.read_bytes()
        digest = hashlib.sha1(coded).hexdigest()
        # A few prompts were shipped empty (ru/is.g722): nothing to hear.
        if coded and digest not in seen:
            seen.add(digest)
            yield path


def build_manifest(extracted_root: PathLike, dest: PathLike,
                   languages: Sequence[str] = SPEAKER_LANGUAGES) -> Corpus:
    """Decode each voice's prompts into ``dest/wav/<speaker>/`` (Spanish: ``allison_es/``) and write
    ``dest/manifest.csv`` (``path,speaker,sex``)."""
    sounds = pathlib.Path(extracted_root) / SOUNDS_DIR
    dest = pathlib.Path(dest)
    utterances = []
    for language in languages:
        voice = VOICES[language]
        voice_root = sounds / voice.folder
        if not voice_root.is_dir():
            raise InputError(f'{voice_root}: not found (not an extracted '
                             f'{voice.package(language)})')
        found = [_decoded(path, voice_root, dest / 'wav' / voice.decoded_folder)
                 for path in prompts(voice_root)]
        if not found:
            raise InputError(f'{voice_root}: no speech prompts (*.g722)')
        utterances += [Utterance(wav, {'speaker': voice.speaker, 'sex': voice.sex})
                       for wav in found]
    corpus = Corpus(utterances, GROUPS)
    write_manifest(corpus, dest / 'manifest.csv')
    return corpus


def _decoded(path: pathlib.Path, voice_root: pathlib.Path, wav_root: pathlib.Path):
    wav = (wav_root / path.relative_to(voice_root)).with_suffix('.wav')
    wav.parent.mkdir(parents=True, exist_ok=True)
    audio.save(wav, decode_g722(path), SAMPLE_RATE)
    return wav.resolve()


def add_manifests(dest: PathLike, corpus: Corpus, others: Sequence[PathLike]) -> Corpus:
    """``corpus`` and every utterance of ``others`` in one manifest ``dest/manifest.csv``;
    the other manifests must have the same label groups."""
    utterances = list(corpus.utterances)
    for other in others:
        added = read_manifest(other)
        if set(added.group_names) != set(corpus.group_names):
            raise InputError(f'{other}: label groups {",".join(added.group_names)} differ from '
                             f'{",".join(corpus.group_names)}')
        utterances += added.utterances
    combined = Corpus(utterances, corpus.group_names)
    write_manifest(combined, pathlib.Path(dest) / 'manifest.csv')
    return combined


def fetch(dest: PathLike, languages: Sequence[str] = SPEAKER_LANGUAGES,
          add: Sequence[PathLike] = ()) -> pathlib.Path:
    """Download and unpack each language's package into ``dest/extracted``, decode, write
    ``dest/manifest.csv`` (with the utterances of the ``add`` manifests); returns its path."""
    dest = pathlib.Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for language in languages:
        debian.download_and_extract(VOICES[language].package(language), dest / 'extracted')
    corpus = build_manifest(dest / 'extracted', dest, languages)
    if add:
        add_manifests(dest, corpus, add)
    return dest / 'manifest.csv'


ONES = ('zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen '
        'fifteen sixteen seventeen eighteen nineteen').split()
TENS = {20: 'twenty', 30: 'thirty', 40: 'forty', 50: 'fifty', 60: 'sixty', 70: 'seventy',
        80: 'eighty', 90: 'ninety'}
DAYS = 'sunday monday tuesday wednesday thursday friday saturday'.split()
MONTHS = ('january february march april may june july august september october november '
          'december').split()
# English words spoken in the digits/ folder under their own name.
SPOKEN_AS_NAMED = frozenset({'hundred', 'thousand', 'million', 'billion', 'minus', 'today',
                             'tomorrow', 'yesterday', 'dollars', 'oh', 'star', 'pound', 'at'})


def known_words(path: PathLike) -> Optional[str]:
    """What an English prompt of the ``digits/`` folder says (``7`` -> 'seven', ``day-1`` ->
    'monday', ``hundred``), or None where the file name does not tell it exactly."""
    path = pathlib.Path(path)
    if path.parent.name != 'digits':
        return None
    stem = path.stem
    if stem.isdigit():
        number = int(stem)
        return ONES[number] if number < len(ONES) else TENS.get(number)
    kind, _, index = stem.partition('-')
    names = {'day': DAYS, 'mon': MONTHS}.get(kind)
    if names is not None and index.isdigit() and int(index) < len(names):
        return names[int(index)]
    return stem if stem in SPOKEN_AS_NAMED else None


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog='python -m chainer_vc.corpus.asterisk',
                                     description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest='command', required=True)
    fetch_parser = commands.add_parser('fetch', help='download the prompts, write a manifest')
    fetch_parser.add_argument('dest', type=pathlib.Path)
    fetch_parser.add_argument('--languages', nargs='+', choices=tuple(VOICES),
                              default=list(SPEAKER_LANGUAGES),
                              help='which voices (default: the four speakers; es is '
                                   "Allison's Spanish, under her label)")
    fetch_parser.add_argument('--add', nargs='+', default=[], type=pathlib.Path,
                              metavar='MANIFEST',
                              help='manifests whose utterances join the Asterisk voices '
                                   '(e.g. the demo corpus: six voices)')
    args = parser.parse_args(argv)
    return debian.fetch_command(lambda: fetch(args.dest, args.languages, args.add))


if __name__ == '__main__':
    sys.exit(main())
