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

from chainer_vc import content, evaluation
from chainer_vc.conversion import Converter, load_utterance
from chainer_vc.corpus import read_manifest
from chainer_vc.split import load_heldout, split_corpus


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--model', type=Path, required=True)
    parser.add_argument('--manifest', type=Path, required=True)
    parser.add_argument('--speaker', default='allison')
    parser.add_argument('--utterances', type=int, default=12)
    parser.add_argument('--snapshot')
    args = parser.parse_args(argv)
    converter = Converter.from_run_directory(args.model, args.snapshot)
    corpus = read_manifest(args.manifest, converter.config.labels)
    _, heldout = split_corpus(corpus, load_heldout(args.model))
    chosen = [u for u in heldout.utterances
              if u.labels['speaker'] == args.speaker][:args.utterances]
    vocoder = evaluation.VocoderOnly.like(converter)
    rate = converter.features.sample_rate
    words = {'vocoder path': [], 'identity conversion': []}
    for utterance in chosen:
        source = load_utterance(utterance.path, converter.features)
        said = content.transcribe(source, rate)
        own = converter.target_codes(evaluation.speaker_labels(corpus.utterances, args.speaker))
        for name, heard in (('vocoder path', vocoder.convert_codes(source, None)),
                            ('identity conversion', converter.convert_codes(source, own))):
            words[name].append(content.agreement(content.transcribe(heard, rate), said)['word'])
    print(f'{len(chosen)} held-out utterances of {args.speaker}: word agreement with the '
          'source\'s transcript: ' + ', '.join(f'{name} {np.mean(values):.3f}'
                                              for name, values in words.items()))


if __name__ == '__main__':
    main()
