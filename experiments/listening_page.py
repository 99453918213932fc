"""A listening page to commit: an evaluation's examples as small Ogg Vorbis files.

    python evaluate.py --model results/models/world_average --manifest data/fillets/manifest.csv \
        --pairs 40 --out runs/demo/evaluation
    python experiments/listening_page.py runs/demo/evaluation \
        results/models/world_average/listening --notice data/fillets/extracted/usr/share/doc/fillets-ng-data-cs/copyright \
        --license-text /usr/share/common-licenses/GPL-2

evaluate.py's ``index.html`` plays WAVs that stay local (they are large, and made from the
corpus). This copies the page and its spectrograms and transcodes each WAV to Ogg Vorbis
(about a tenth of the size), pointing the page's players at them. The audio is derived from the
corpus, so its licence notice goes beside it (``NOTICE``, from ``--notice``; the GPL's text as
``COPYING`` when ``--license-text`` is given).
"""
import argparse
import re
import shutil
import sys
from pathlib import Path

import soundfile

from chainer_vc.common.files import write_text_atomic

QUALITY = 0.4  # libsndfile's Vorbis quality, 0..1


def transcode(wav: Path, ogg: Path) -> None:
    samples, rate = soundfile.read(str(wav), dtype='float32')
    ogg.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(ogg), samples, rate, format='OGG', subtype='VORBIS',
                    compression_level=1 - QUALITY)


def copy_page(evaluation: Path, out: Path) -> list:
    """Writes ``out/index.html`` with .ogg players; returns the audio and images it cites."""
    page = (evaluation / 'index.html').read_text()
    cited = re.findall(r'src="([^"]+)"', page)
    for name in cited:
        source = evaluation / name
        if not source.is_file():
            raise SystemExit(f'{source}: cited by {evaluation / "index.html"} but missing')
        if source.suffix == '.wav':
            transcode(source, (out / name).with_suffix('.ogg'))
        else:
            (out / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, out / name)
    page = re.sub(r'src="(audio/[^"]+)\.wav"', r'src="\1.ogg"', page)
    write_text_atomic(out / 'index.html', page)
    return cited


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('evaluation', type=Path, help="evaluate.py's --out folder")
    parser.add_argument('out', type=Path, help='folder to write the page into')
    parser.add_argument('--notice', type=Path, required=True,
                        help="the corpus's copyright file, copied as NOTICE")
    parser.add_argument('--license-text', type=Path,
                        help="the licence's full text, copied as COPYING")
    args = parser.parse_args(argv)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    cited = copy_page(args.evaluation, out)
    shutil.copyfile(args.notice, out / 'NOTICE')
    if args.license_text:
        shutil.copyfile(args.license_text, out / 'COPYING')
    print(f'{out / "index.html"}: {len(cited)} files')
    return 0


if __name__ == '__main__':
    sys.exit(main())
