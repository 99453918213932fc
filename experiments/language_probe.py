"""Does D's classifier know the speaker, or the language? A probe with one voice in two
languages.

Allison Smith recorded the Asterisk prompts in US English (``-en-g722``, one of the six
voices) and in Mexican Spanish (``-es-g722``, never trained on). The same voice, the same
studio and codec, another language. For each trained run named, D's speaker classifier
(softmax over the speaker block of its logits, averaged over 64-frame windows with hop 32)
says whose each Spanish prompt is; the GE2E judge (nearest centroid of held-out real speech
of the six voices, unprocessed) says the same. A classifier that keys on the speaker finds
Allison in her Spanish; one that keys on the language does not.

    python experiments/language_probe.py --manifest data/voices/manifest.csv \
        --spanish DIR_OF_es_MX_f_Allison --runs runs/A:5750 runs/B:2000 --out report.json
"""
from __future__ import annotations

import argparse
import collections
import json
import pathlib
import sys

import chainer_vc  # noqa: F401  (the compatibility shims before chainer)
import chainer
import chainer.functions as F
import numpy as np

from chainer_vc.common import audio
from chainer_vc.features import kinds
from chainer_vc.judging import speaker_encoder
from chainer_vc.corpus import split
from chainer_vc.corpus.asterisk import decode_g722, prompts
from chainer_vc.corpus.manifest import read_manifest
from chainer_vc.judging.judge import SpeakerJudge, centroids
from chainer_vc.networks.run_directory import ModelConfig, find_weights, load_weights

SAMPLE_RATE = 16000
HOP = 32


def spanish_prompts(folder: pathlib.Path, limit: int, min_seconds: float = 1.0) -> list:
    """Samples of ``limit`` prompts of at least ``min_seconds``, drawn with seed 0."""
    long_enough = [samples for samples in map(decode_g722, prompts(folder))
                   if len(samples) >= min_seconds * SAMPLE_RATE]
    order = np.random.default_rng(0).permutation(len(long_enough))[:limit]
    return [long_enough[i] for i in sorted(order)]


def heldout_by_speaker(manifest: pathlib.Path, run: pathlib.Path, per_speaker: int) -> dict:
    """``{speaker: paths}``: the first ``per_speaker`` of each speaker's held-out utterances."""
    _, heldout = split.split_corpus(read_manifest(manifest), split.load_heldout(run))
    found = collections.defaultdict(list)
    for utterance in heldout.utterances:
        if len(found[utterance.labels['speaker']]) < per_speaker:
            found[utterance.labels['speaker']].append(utterance.path)
    return dict(found)


def speaker_posteriors(run: str, snapshot: str, utterances: list) -> tuple:
    """(speakers, (n, n_speakers) mean softmax over windows) of D's speaker block."""
    config = ModelConfig.load(run)
    dis = config.build_discriminator()
    load_weights(find_weights(run, snapshot, 'dis'), dis, config.features)
    kind = kinds.build(config.features, config.labels)
    group = config.labels.group('speaker')
    offset = config.labels.offsets[config.labels.names.index('speaker')]
    frames = config.features.frames
    out = []
    for samples in utterances:
        unit = kind.encode(samples).unit
        if len(unit) < frames:
            unit = np.pad(unit, ((0, frames - len(unit)), (0, 0)), mode='edge')
        starts = range(0, len(unit) - frames + 1, HOP)
        windows = np.stack([unit[s:s + frames] for s in starts])[:, None].astype(np.float32)
        with chainer.using_config('train', False), chainer.no_backprop_mode():
            _, logits, _ = dis(windows)
        block = logits[:, offset:offset + len(group.classes)]
        out.append(F.softmax(block).array.mean(axis=0))
    return list(group.classes), np.stack(out)


def summarise(speakers: list, posteriors: np.ndarray) -> dict:
    picked = collections.Counter(speakers[i] for i in posteriors.argmax(axis=1))
    return {'identified_as': dict(picked.most_common()),
            'allison_identified': picked.get('allison', 0) / len(posteriors),
            'mean_posterior': dict(zip(speakers, posteriors.mean(axis=0).round(3).tolist()))}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--manifest', type=pathlib.Path, required=True)
    parser.add_argument('--spanish', type=pathlib.Path, required=True)
    parser.add_argument('--runs', nargs='+', required=True, metavar='RUN:SNAPSHOT')
    parser.add_argument('--prompts', type=int, default=60)
    parser.add_argument('--per-speaker', type=int, default=40)
    parser.add_argument('--out', type=pathlib.Path, required=True)
    args = parser.parse_args(argv)

    spanish_audio = spanish_prompts(args.spanish, args.prompts)
    first_run = pathlib.Path(args.runs[0].partition(':')[0])
    heldout = heldout_by_speaker(args.manifest, first_run, args.per_speaker)
    english = [audio.load(p, SAMPLE_RATE)[0] for p in heldout['allison']]

    encoder = speaker_encoder.pretrained()
    references, labels = [], []
    for speaker, paths in sorted(heldout.items()):
        references += [audio.load(p, SAMPLE_RATE)[0] for p in paths]
        labels += [speaker] * len(paths)
    reference_embeddings = encoder.embed_utterances(references)
    judge = SpeakerJudge(centroids(reference_embeddings, labels))
    spanish_embeddings = encoder.embed_utterances(spanish_audio)
    similarity = judge.similarities(spanish_embeddings)
    report = {
        'spanish_prompts': len(spanish_audio),
        'reference_utterances': collections.Counter(labels),
        'judge': {
            'identified_as': dict(collections.Counter(judge.identify(spanish_embeddings))
                                  .most_common()),
            'mean_cosine': dict(zip(judge.speakers, similarity.mean(axis=0).round(3).tolist())),
        },
        'discriminators': {},
    }
    for entry in args.runs:
        run, _, snapshot = entry.partition(':')
        speakers, on_spanish = speaker_posteriors(run, snapshot or None, spanish_audio)
        _, on_english = speaker_posteriors(run, snapshot or None, english)
        report['discriminators'][entry] = {'spanish': summarise(speakers, on_spanish),
                                           'english_heldout': summarise(speakers, on_english)}
        print(entry, json.dumps(report['discriminators'][entry]), file=sys.stderr)
    args.out.write_text(json.dumps(report, indent=2) + '\n')
    print(json.dumps(report, indent=2))
    return 0


if __name__ == '__main__':
    sys.exit(main())
