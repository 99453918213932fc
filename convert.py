"""Convert recordings to any target with a trained run directory; writes WAV files.

    python convert.py --model results/RUN --input IN --target speaker=NAME [--target sex=female]
                      --output OUT

    python convert.py --baseline --manifest CORPUS.csv --input IN --target speaker=NAME
                      --output OUT

IN is a file (OUT is then a file) or a folder (OUT is then a folder; same names, as .wav).
``--baseline`` converts with no trained network at all: WORLD's F0 by the log-Gaussian
transform, its envelope by one frequency warp and a mean shift (chainer_vc.conversion.baseline), with
the statistics of a world model (--model) or fitted on a corpus (--manifest).
A label group left out is unlabelled (its flag 0), as in training. ``--list-targets`` prints
the class names each group accepts. Bad input: one line on stderr, exit code 2, nothing written.
"""
import argparse
import sys

import chainer_vc  # noqa: F401  (patches chainer for numpy 2 before anything imports it)
from chainer_vc.conversion import batch
from chainer_vc.conversion.converter import Converter, OVERLAP_FRAMES, WINDOW_FRAMES, check_window
from chainer_vc.features import griffin_lim
from chainer_vc.conversion import baseline
from chainer_vc.common.errors import InputError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description='Convert recordings with a trained StarGAN generator.')
    parser.add_argument('--model',
                        help='run directory holding model.json and gen_iter_*.npz')
    parser.add_argument('--baseline', action='store_true',
                        help='no network: F0 + envelope warp + mean shift with WORLD, using the '
                             'statistics of a world --model or fitted on --manifest')
    parser.add_argument('--manifest',
                        help='with --baseline and no --model: the corpus (CSV manifest) whose '
                             'speakers are the targets; its statistics are fitted on it')
    parser.add_argument('--source-speaker', metavar='NAME',
                        help="world models and --baseline: take the source's F0 (and envelope) "
                             'statistics from this training speaker instead of each input')
    parser.add_argument('--input', help='an audio file, or a folder of them')
    parser.add_argument('--output', help='output WAV file (or folder when --input is one)')
    parser.add_argument('--target', action='append', default=[], metavar='GROUP=NAME',
                        help='target class of one label group, e.g. speaker=alice; repeat for '
                             'more groups; a group left out is unlabelled')
    parser.add_argument('--list-targets', action='store_true',
                        help='print the label groups and class names of the model, then exit')
    parser.add_argument('--snapshot', default=None,
                        help='iteration number or weights file (default: the newest)')
    parser.add_argument('--gpu', type=int, default=-1, help='GPU id (negative: CPU)')
    parser.add_argument('--phase', choices=griffin_lim.PHASE_METHODS,
                        default=griffin_lim.PHASE_GRIFFIN_LIM,
                        help='Griffin-Lim started from the source phase, or the source phase '
                             'as it is (default: %(default)s)')
    parser.add_argument('--iterations', type=int, default=griffin_lim.GRIFFIN_LIM_ITERATIONS,
                        help='Griffin-Lim iterations (default: %(default)s)')
    parser.add_argument('--high-band', choices=griffin_lim.HIGH_BAND_CHOICES,
                        default=griffin_lim.HIGH_BAND_SOURCE,
                        help="the band the model never sees (4-8 kHz): keep the source's, or "
                             'drop it (default: %(default)s)')
    parser.add_argument('--keep-floor', action='store_true',
                        help='keep the magnitude floor the [0, 1] mapping clips at (a steady '
                             'hiss in pauses) instead of subtracting it')
    parser.add_argument('--window-frames', type=int, default=WINDOW_FRAMES,
                        help='longer utterances go through the generator in cross-faded '
                             'windows of this many frames (default: %(default)s)')
    parser.add_argument('--motion-scale', type=float, default=1.0, metavar='S',
                        help="scale G's change in how the envelope moves over the utterance; "
                             "each bin's mean change is kept whole (default 1: G's output as "
                             "it is; 0: the voice's colour alone, the source's motion)")
    parser.add_argument('--keep-rate', action='store_true',
                        help="write at the input's sample rate instead of the model's")
    parser.add_argument('--overwrite', action='store_true', help='replace existing outputs')
    return parser


def build_converter(args, options) -> Converter:
    source = {'speaker': args.source_speaker} if args.source_speaker else None
    if args.baseline:
        return baseline.from_arguments(args.model, args.manifest, source)
    return Converter.from_run_directory(
        args.model, args.snapshot, args.gpu, options=options,
        window_frames=args.window_frames, source=source, motion_scale=args.motion_scale)


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.list_targets and not (args.input and args.output and args.target):
        parser.error('--input, --output and at least one --target are required')
    if not args.model and not (args.baseline and args.manifest):
        parser.error('--model is required (or --baseline with --manifest)')
    if args.baseline and args.motion_scale != 1:
        parser.error("--motion-scale scales a model's G: --baseline has none")
    try:
        options = griffin_lim.ReconstructionOptions(
            phase=args.phase, iterations=args.iterations, high_band=args.high_band,
            subtract_floor=not args.keep_floor)
        check_window(args.window_frames, OVERLAP_FRAMES)
    except ValueError as error:
        parser.error(str(error))
    try:
        converter = build_converter(args, options)
        if args.list_targets:
            print(batch.describe_targets(converter))
            return 0
        target = batch.parse_targets(args.target)
        converter.check_target(target)
        jobs = batch.plan(args.input, args.output, args.overwrite)
        batch.convert_files(converter, jobs, target, args.keep_rate, log=print)
    except InputError as error:
        print(f'convert.py: error: {error}', file=sys.stderr)
        return error.exit_code
    return 0


if __name__ == '__main__':
    sys.exit(main())
