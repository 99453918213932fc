"""Does G keep what was said when asked for the source's own voice? The content judge on the
identity conversion of one speaker's held-out utterances, next to the vocoder path alone.

    python experiments/identity_content.py --model results/voices \
        --manifest data/voices/manifest.csv --speaker allison --utterances 12

Prints the mean word agreement of each path's transcript with the source's own transcript.
"""
import argparse
from pathlib import Path

import chainer_vc  # noqa: F401  (patches chainer for numpy 2; must come first)
import numpy as np

from chainer_vc.judging import content, scoring, selection
from chainer_vc.conversion.converter import Converter
from chainer_vc.conversion.batch import load_utterance
from chainer_vc.corpus import read_manifest
from chainer_vc.corpus.split import load_heldout, split_corpus


def held_out_parser(description: str, utterances: int) -> argparse.ArgumentParser:
    """The arguments of the scripts that convert one speaker's held-out utterances."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('--model', type=Path, required=True)
    parser.add_argument('--manifest', type=Path, required=True)
    parser.add_argument('--speaker', default='allison')
    parser.add_argument('--utterances', type=int, default=utterances)
    parser.add_argument('--snapshot')
    parser.add_argument('--motion-scale', type=float, default=1.0,
                        help="the converter's (convert.py's --motion-scale)")
    return parser


def model_converter(args) -> Converter:
    """The model of :func:`held_out_parser`'s arguments."""
    return Converter.from_run_directory(args.model, args.snapshot,
                                        motion_scale=args.motion_scale)


def held_out_of(model, manifest, labels, speaker, count) -> tuple:
    """The corpus of ``manifest``, its training split (the model's ``heldout.csv`` left out)
    and the first ``count`` held-out utterances of ``speaker``."""
    corpus = read_manifest(manifest, labels)
    training, heldout = split_corpus(corpus, load_heldout(model))
    return (corpus, training,
            [u for u in heldout.utterances if u.labels['speaker'] == speaker][:count])


def references(converter, utterances) -> list:
    """Per utterance: its samples, its transcript, and the vocoder path's word agreement with
    that transcript (the same for every model of the converter's features)."""
    vocoder = scoring.VocoderOnly.like(converter)
    rate = converter.features.sample_rate
    found = []
    for utterance in utterances:
        source = load_utterance(utterance.path, converter.features)
        said = content.transcribe(source, rate)
        vocoded = content.transcribe(vocoder.convert_codes(source, None), rate)
        found.append((source, said, content.agreement(vocoded, said)['word']))
    return found


def target_words(converter, found, corpus, targets) -> dict:
    """``{target: [word agreement per utterance]}``: each of ``found``'s sources converted to
    each speaker of ``targets``, transcribed and scored against its source's transcript."""
    rate = converter.features.sample_rate
    words = {}
    for target in targets:
        codes = converter.target_codes(selection.speaker_labels(corpus.utterances, target))
        words[target] = [
            content.agreement(content.transcribe(converter.convert_codes(source, codes), rate),
                              said)['word'] for source, said, _ in found]
    return words


def identity_words(converter, found, corpus, speaker) -> list:
    """Word agreement of each identity conversion (to ``speaker``) with its source's transcript."""
    return target_words(converter, found, corpus, [speaker])[speaker]


def main(argv=None):
    args = held_out_parser(__doc__.splitlines()[0], 12).parse_args(argv)
    converter = model_converter(args)
    corpus, _, chosen = held_out_of(args.model, args.manifest, converter.config.labels,
                                    args.speaker, args.utterances)
    found = references(converter, chosen)
    words = {'vocoder path': [vocoder for _, _, vocoder in found],
             'identity conversion': identity_words(converter, found, corpus, args.speaker)}
    print(f'{len(chosen)} held-out utterances of {args.speaker}: word agreement with the '
          'source\'s transcript: ' + ', '.join(f'{name} {np.mean(values):.3f}'
                                              for name, values in words.items()))


if __name__ == '__main__':
    main()
