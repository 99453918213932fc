#!/usr/bin/env python
"""Train the seed's StarGAN voice converter: `python train.py --gpu 0 --batchsize 5 --epoch 1000`."""
import argparse
import dataclasses
import sys
from pathlib import Path

import chainer_vc  # noqa: F401  (patches chainer for numpy 2; must come first)
import chainer
import numpy
from chainer import training
from chainer.training import extensions

from chainer_vc import corpus as corpora
from chainer_vc.training import distributed, evaluation_extension, snapshots
from chainer_vc.features import kinds, world
from chainer_vc.training.averaging import GeneratorAverage
from chainer_vc.training import extensions as vc_extensions
from chainer_vc.common.errors import InputError
from chainer_vc.networks.models import CONDITIONINGS, DIS_CONDITIONINGS, NORMS
from chainer_vc.networks.presets import PRESETS
from chainer_vc.corpus.split import DEFAULT_FRACTION, training_split
from chainer_vc.networks.run_directory import MODEL_JSON, ModelConfig, find_weights, load_weights, weights_saver
from chainer_vc.training.updater import CONTENT_LOSSES, NonFiniteLossError, StarGANUpdater, TrainingConfig

DEMO_MANIFEST = Path(__file__).resolve().parent / 'data' / 'fillets' / 'manifest.csv'
DEFAULTS = TrainingConfig()
ITERATORS = ('main', 'orig')  # the updater's real batches and its feature-matching batches
LOSS_WEIGHTS = {
    'gp': 'gradient penalty', 'cls': 'classification losses (D and G)',
    'rec': 'cycle reconstruction loss', 'fm': 'feature-matching loss',
    'id': 'identity-mapping loss (47c97768; 0 = off, as in 9ada9179)',
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--gpu', type=int, default=-1, help='GPU id (CuPy); -1 for CPU')
    parser.add_argument('--preset', choices=sorted(PRESETS), default='cfcefd21',
                        help='network and input size (cfcefd21: the seed, 64 frames)')
    parser.add_argument('--gen-channels', type=int, nargs=4, metavar='C',
                        help="G's widths, down1 .. down4 (default: the preset's; tiny: 4 8 16 32)")
    parser.add_argument('--dis-channels', type=int, nargs=6, metavar='C',
                        help="D's widths, conv1 .. conv6 (default: the preset's; tiny: "
                             '4 8 16 32 64 128)')
    parser.add_argument('--batchsize', type=int, help="minibatch size (default: the preset's)")
    parser.add_argument('--epoch', type=int, help="epochs to train (default: the preset's, 1000)")
    parser.add_argument('--iterations', type=int,
                        help='stop after this many iterations instead of --epoch')
    source = parser.add_mutually_exclusive_group()
    source.add_argument('--manifest', type=Path,
                        help=f'CSV manifest (path,speaker[,group...]); default: {DEMO_MANIFEST}')
    source.add_argument('--corpus', nargs=2, metavar=('FORMAT', 'ROOT'),
                        help=f'read a corpus layout: FORMAT is one of {", ".join(corpora.READERS)}')
    parser.add_argument('--out', type=Path, help='run directory (default: results/<preset>)')
    parser.add_argument('--resume', type=Path,
                        help='trainer snapshot to resume from (default: the newest in --out)')
    parser.add_argument('--initialize-from', type=Path, metavar='RUN',
                        help='start G and D from the newest weights of another run directory '
                             '(same networks; optimizer state and iteration count start afresh; '
                             'ignored when --out already has a snapshot to resume)')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    parser.add_argument('--n-dis', type=int, default=DEFAULTS.n_dis,
                        help='discriminator updates per generator update')
    parser.add_argument('--lr', type=float, default=DEFAULTS.lr, help='RMSprop learning rate')
    parser.add_argument('--lr-decay', type=float, default=DEFAULTS.lr_decay,
                        help='factor applied to lr every --lr-decay-epochs')
    parser.add_argument('--lr-decay-epochs', type=int, default=DEFAULTS.lr_decay_epochs,
                        help='epochs between learning-rate decays')
    for name, meaning in LOSS_WEIGHTS.items():
        parser.add_argument(f'--lambda-{name}', type=float,
                            default=getattr(DEFAULTS, f'lambda_{name}'),
                            help=f'weight of the {meaning} (default: %(default)s)')
    parser.add_argument('--label-dropout', type=float, default=DEFAULTS.label_dropout,
                        help='drop target label groups with this probability (fbf548f6: 0.5)')
    add_options(parser)
    parser.add_argument('--log-interval', default='1e',
                        help='log interval: 5e = 5 epochs, 100i = 100 iterations')
    parser.add_argument('--plot-interval', default='1e', help='PlotReport PNG interval (as above)')
    parser.add_argument('--snapshot-interval', default='1e', help='snapshot interval (as above)')
    parser.add_argument('--sample-interval', default='10e',
                        help='interval of spectrogram and WAV samples (as above)')
    parser.add_argument('--eval-interval',
                        help='judge conversions of held-out utterances with the GE2E speaker '
                             'encoder at this interval (as above; eval/* in the log and '
                             'eval_*.png); default: never')
    parser.add_argument('--no-progress', action='store_true', help='no progress bar')
    parser.add_argument('--communicator', choices=distributed.COMMUNICATORS,
                        help='data-parallel over MPI ranks (mpiexec -n N python train.py ...): '
                             'naive on CPUs, pure_nccl on GPUs (one rank per GPU); default: '
                             'one process')
    parser.add_argument('--multi-node-bn', action='store_true',
                        help="with --communicator: BatchNormalization over the whole job's batch "
                             '(default: per rank, as the seed computes it for its batch)')
    return parser.parse_args(argv)


def add_options(parser):
    """Options that change the seed's math; each is off by default."""
    group = parser.add_argument_group('options beyond the seed (off by default)')
    group.add_argument('--optimizer', choices=('rmsprop', 'adam'), default=DEFAULTS.optimizer,
                       help='optimizer of both networks (the seed: rmsprop)')
    group.add_argument('--lr-gen', type=float, help='learning rate of G (default: --lr)')
    group.add_argument('--lr-dis', type=float, help='learning rate of D (default: --lr)')
    group.add_argument('--beta1', type=float, default=DEFAULTS.beta1, help="Adam's beta1")
    group.add_argument('--beta2', type=float, default=DEFAULTS.beta2, help="Adam's beta2")
    group.add_argument('--id-until', type=int, default=DEFAULTS.id_until,
                       help='iteration at which the identity loss switches off (0: never)')
    group.add_argument('--content-loss', choices=sorted(CONTENT_LOSSES),
                       default=DEFAULTS.content_loss,
                       help='distance of the cycle and identity losses (the seed: mse; l1 as '
                            'StarGAN-VC)')
    group.add_argument('--label-conditioning', choices=CONDITIONINGS, default='bottleneck',
                       help="where G sees the labels (the seed: bottleneck only)")
    group.add_argument('--norm', choices=NORMS, default='batch',
                       help="G's normalisation (the seed: batch)")
    group.add_argument('--skips', action='store_true',
                       help="G's up layers add the down layers' outputs of the same size "
                            "(U-Net skips; the seed: none): detail finer than the bottleneck "
                            'reaches the output')
    group.add_argument('--residual', action='store_true',
                       help="G's last layer changes its input rather than making the output "
                            "(sigmoid(logit(x) + change); the seed: sigmoid of the last layer): "
                            'a change of 0 is the identity, and detail G leaves alone stays')
    group.add_argument('--levels-only', action='store_true',
                       help="with --residual: G's change averaged over the window's frames, "
                            "one constant per bin (the seed: none): G changes each bin's level, "
                            "never how the input's bins move in time (where the words are)")
    group.add_argument('--motion-only', action='store_true',
                       help="with --residual: G's change less its mean over the window's frames "
                            "(the seed: none): G changes how the input's bins move in time, never "
                            "a bin's level (with --envelope-normalisation utterance, the target's)")
    group.add_argument('--lambda-cls-fake', type=float, default=DEFAULTS.lambda_cls_fake,
                       help="D's classifier also learns that G's conversions are their "
                            "source's speech, with this weight (the seed: 0, real speech only)")
    group.add_argument('--lambda-dynamics', type=float, default=DEFAULTS.lambda_dynamics,
                       metavar='WEIGHT',
                       help="G's conversion keeps how its source's 32 band levels move in time, "
                            'each less its mean over the window (L1, this weight; the seed: 0)')
    group.add_argument('--gen-average', type=float, default=DEFAULTS.gen_average, metavar='DECAY',
                       help="convert with the moving average of G's weights over the iterations, "
                            'this decay per iteration (0.99: about the last 100; 1: the mean of '
                            "all); saved as gen_iter_*.npz, G's own weights as gen_raw_iter_*.npz "
                            "(the seed: 0, G's last weights)")
    group.add_argument('--gen-average-from', type=int, default=DEFAULTS.gen_average_from,
                       metavar='ITERATION',
                       help='with --gen-average: the first iteration averaged (before it the '
                            'average is G itself)')
    group.add_argument('--dis-conditioning', choices=DIS_CONDITIONINGS, default='none',
                       help="the critic's labels: none (the seed: D(x)) or projection (D(x, c) "
                            'judges x as speech of the labels c, as StarGAN-VC2)')
    group.add_argument('--magnitude-floor', type=float,
                       help='floor of the [0, 1] value mapping (the seed: 1e-3 of |FFT|/1024)')
    group.add_argument('--features', choices=kinds.KINDS, default='spectrogram',
                       help='what G converts: spectrogram (the seed: |FFT| bins 1..256) or world '
                            "(the WORLD vocoder's spectral envelope on 256 bins; F0 converted "
                            'outside G, aperiodicity kept)')
    group.add_argument('--f0-method', choices=world.F0_METHODS, default='dio',
                       help='world: F0 estimator (harvest is about 10x slower)')
    group.add_argument('--frame-period', type=float, default=world.WorldConfig.frame_period,
                       help='world: ms between frames (default: the seed\'s hop, 16 ms)')
    group.add_argument('--frequency-axis', choices=world.AXES, default='mel',
                       help="world: how G's 256 bins cover 0 - 8 kHz")
    group.add_argument('--envelope-normalisation', choices=world.NORMALISATIONS,
                       default='corpus',
                       help="world: standardise G's envelope per bin by the corpus's statistics "
                            "(default), or by each utterance's own over its voiced frames, put "
                            "back with the target's (G that changes nothing then converts as "
                            "the baseline's spread mode)")
    group.add_argument('--envelope-spread', type=float, default=world.WorldConfig.spread,
                       help="world: standard deviations either side of the mean that G's [0, 1] "
                            'holds (values past them are clipped)')
    group.add_argument('--heldout-fraction', type=float, default=DEFAULT_FRACTION,
                       help='fraction of each speaker\'s utterances never trained on, kept '
                            'for evaluation (stored in heldout.csv; 0: none)')


def training_config(args) -> TrainingConfig:
    return TrainingConfig(
        n_dis=args.n_dis, lambda_gp=args.lambda_gp, lambda_cls=args.lambda_cls,
        lambda_rec=args.lambda_rec, lambda_fm=args.lambda_fm, lambda_id=args.lambda_id,
        label_dropout=args.label_dropout, lr=args.lr, lr_decay=args.lr_decay,
        lr_decay_epochs=args.lr_decay_epochs, optimizer=args.optimizer, lr_gen=args.lr_gen,
        lr_dis=args.lr_dis, beta1=args.beta1, beta2=args.beta2, id_until=args.id_until,
        content_loss=args.content_loss, lambda_cls_fake=args.lambda_cls_fake,
        gen_average=args.gen_average, gen_average_from=args.gen_average_from,
        lambda_dynamics=args.lambda_dynamics)


def chosen_preset(args):
    """The named preset with the network options of the command line."""
    preset = PRESETS[args.preset]
    for flag in ('levels_only', 'motion_only'):
        if getattr(args, flag) and not args.residual:
            raise InputError(f'--{flag.replace("_", "-")} changes the residual output: '
                             'give --residual too')
    if args.levels_only and args.motion_only:
        raise InputError('--levels-only and --motion-only: give one of them')
    widths = {}
    for network in ('gen', 'dis'):
        channels = getattr(args, f'{network}_channels')
        if channels is not None:
            if min(channels) < 1:
                raise InputError(f'--{network}-channels {" ".join(map(str, channels))}: '
                                 'widths must be positive')
            widths[f'{network}_channels'] = channels
    return dataclasses.replace(preset, gen_conditioning=args.label_conditioning,
                               gen_norm=args.norm, gen_skips=args.skips,
                               gen_residual=args.residual, gen_levels=args.levels_only,
                               gen_motion=args.motion_only,
                               dis_conditioning=args.dis_conditioning, **widths)


def feature_config(args, preset):
    if args.features == world.KIND:
        if args.magnitude_floor is not None:
            raise InputError('--magnitude-floor is a spectrogram setting; the world features '
                             'are standardised per bin')
        return world.WorldConfig(frames=preset.frames, f0_method=args.f0_method,
                                 frame_period=args.frame_period, axis=args.frequency_axis,
                                 normalisation=args.envelope_normalisation,
                                 spread=args.envelope_spread)
    if (args.envelope_normalisation != 'corpus'
            or args.envelope_spread != world.WorldConfig.spread):
        raise InputError('--envelope-normalisation and --envelope-spread are world settings; '
                         'give --features world')
    if args.magnitude_floor is None:
        return preset.spectrogram_config()
    if not 0 < args.magnitude_floor < 1:
        raise InputError(f'--magnitude-floor {args.magnitude_floor}: must be in (0, 1)')
    return preset.spectrogram_config(magnitude_floor=args.magnitude_floor)


def load_corpus(args, schema=None):
    if args.corpus:
        name, root = args.corpus
        if name not in corpora.READERS:
            raise InputError(f'--corpus {name}: unknown format (known: {", ".join(corpora.READERS)})')
        return corpora.READERS[name](root)
    manifest = args.manifest or DEMO_MANIFEST
    if args.manifest is None and not DEMO_MANIFEST.is_file():
        raise InputError(f'{DEMO_MANIFEST}: no corpus given and the demo corpus is not fetched '
                         '(run `make demo`, or pass --manifest or --corpus)')
    return corpora.read_manifest(manifest, schema)


def model_config(args, corpus, preset, quiet=False) -> ModelConfig:
    """The run's model description; a run directory keeps the one it was started with, and
    says so in one line (unless ``quiet``) when the command asks for other settings."""
    out = args.out
    asked = ModelConfig(preset, feature_config(args, preset), corpus.schema(),
                        training_config(args).to_dict())
    if not (out / MODEL_JSON).is_file():
        return asked
    stored = ModelConfig.load(out)
    if stored.preset.name != preset.name:
        raise InputError(f'{out}: holds a {stored.preset.name} model, not {preset.name} '
                         '(choose another --out)')
    differences = settings_differences(stored, asked)
    if differences and not quiet:
        print(f'warning: {out} goes on with the settings it was started with: '
              f'{"; ".join(differences)}', file=sys.stderr)
    return stored


def settings_differences(stored: ModelConfig, asked: ModelConfig) -> list:
    """'name stored (asked: other)' for each network, feature or training setting of the
    command that differs from a run directory's own (fitted statistics aside)."""
    def settings(config):
        features = {k: v for k, v in config.features.to_dict().items() if k != 'statistics'}
        return {**config.preset.to_dict(), **features, **stored_training(config).to_dict()}

    kept, wanted = settings(stored), settings(asked)
    return [f'{name} {kept.get(name)} (asked: {value})' for name, value in wanted.items()
            if kept.get(name) != value]


def stored_training(config: ModelConfig) -> TrainingConfig:
    """The training numbers a run directory records (fields it predates: their defaults)."""
    known = {field.name for field in dataclasses.fields(TrainingConfig)}
    return TrainingConfig(**{k: v for k, v in config.training.items() if k in known})


def make_optimizer(link, config: TrainingConfig, network: str):
    lr = config.learning_rate(network)
    if config.optimizer == 'adam':
        optimizer = chainer.optimizers.Adam(alpha=lr, beta1=config.beta1, beta2=config.beta2)
    else:
        optimizer = chainer.optimizers.RMSprop(lr=lr)
    optimizer.setup(link)
    return optimizer


def build_trainer(args, dist=distributed.SINGLE) -> training.Trainer:
    preset = chosen_preset(args)
    args.out = args.out or Path('results') / preset.name
    with dist.all_or_none():
        stored_schema = (ModelConfig.load(args.out).labels
                         if (args.out / MODEL_JSON).is_file() else None)
        corpus = load_corpus(args, stored_schema)
        config = model_config(args, corpus, preset, quiet=not dist.is_writer)
        train_config = stored_training(config)
        if dist.is_writer:
            args.out.mkdir(parents=True, exist_ok=True)
        # Every rank computes the same split; rank 0 stores it.
        train_corpus = training_split(corpus, args.out, args.heldout_fraction,
                                      save=dist.is_writer)
        config, dataset = training_data(config, train_corpus, dist.seed(args.seed))
        batchsize = args.batchsize or preset.batchsize
        if args.gpu >= 0 and not chainer.backends.cuda.available:
            raise InputError(f'--gpu {args.gpu}: CuPy is not available (pip install -e .[gpu])')
    gpu = dist.gpu(args.gpu)
    device = chainer.get_device(f'@cupy:{gpu}' if gpu >= 0 else '@numpy')
    device.use()
    # Chainer's initializers and the penalty's interpolation draw from the global generators.
    numpy.random.seed(args.seed)
    if args.gpu >= 0:
        chainer.backends.cuda.cupy.random.seed(args.seed)
    gen, dis = config.build_generator(), config.build_discriminator()
    if args.initialize_from:
        with dist.all_or_none():
            initialize_weights(args.initialize_from, gen, dis, config)
    gen = dist.batch_normalization(gen, args.multi_node_bn)
    gen.to_device(device)
    dis.to_device(device)
    dist.reseed_global_generators(args.seed, gpu)
    optimizers = {name: dist.optimizer(make_optimizer(link, train_config, name))
                  for name, link in (('gen', gen), ('dis', dis))}
    share = dist.scatter(dataset, args.seed)
    iterators = {name: chainer.iterators.SerialIterator(share, batchsize, shuffle=True)
                 for name in ITERATORS}
    updater = StarGANUpdater(iterators, optimizers, config.labels, dataset.label_combinations(),
                             train_config, device=device, seed=dist.seed(args.seed))
    length = (args.iterations, 'iteration') if args.iterations else \
        (args.epoch or preset.epochs, 'epoch')
    trainer = training.Trainer(updater, length, out=str(args.out))
    converting = add_extensions(trainer, args, config, dataset, train_config, length, dist)
    if args.eval_interval and dist.is_writer:
        add_judge(trainer, converting, args, config, corpus, length)
    snapshots.resume(trainer, args.out, args.resume, dist)
    if dist.is_writer:
        config.save(args.out)
    return trainer


def training_data(config: ModelConfig, train_corpus, seed):
    """The features fitted to the training split (the world kind's statistics; a stored
    config keeps its own) and the dataset of its examples."""
    paths = [u.path for u in train_corpus.utterances]
    codes = train_corpus.codes(config.labels)
    kind = kinds.build(config.features, config.labels)
    config = dataclasses.replace(config, features=kind.fit(paths, codes, config.labels))
    return config, kind.dataset(paths, codes, config.labels, seed)


def initialize_weights(run_dir: Path, gen, dis, config: ModelConfig) -> None:
    """G and D from another run's newest weights; its networks must be the same."""
    source = ModelConfig.load(run_dir)
    if (source.preset, source.features, source.labels) != (config.preset, config.features,
                                                           config.labels):
        raise InputError(f'{run_dir}: its model.json describes other networks, features or '
                         'labels than this run')
    for link, network in ((gen, 'gen'), (dis, 'dis')):
        load_weights(find_weights(run_dir, network=network), link, config.features)


def generator_to_convert(trainer, config: ModelConfig, train_config: TrainingConfig):
    """The G that conversion, samples and the judge use: G itself (the seed), or with
    --gen-average the moving average of its weights, kept by an extension."""
    gen = trainer.updater.gen
    if train_config.gen_average == 0:
        return gen
    average = config.build_generator()
    average.to_device(gen.device)
    trainer.extend(GeneratorAverage(gen, average, train_config.gen_average,
                                    train_config.gen_average_from))
    return average


def add_extensions(trainer, args, config, dataset, train_config, length,
                   dist=distributed.SINGLE):
    """Snapshots, schedules, logs, plots and samples; returns the G that converts."""
    def every(text):
        return vc_extensions.IntervalOrEndTrigger(vc_extensions.parse_interval(text), length)

    gen, dis = trainer.updater.gen, trainer.updater.dis
    converting = generator_to_convert(trainer, config, train_config)
    save = weights_saver(config.features)
    # Loaded by snapshots.resume (which skips damaged files), not by Chainer's autoload.
    snapshot = extensions.snapshot(filename='snapshot_iter_{.updater.iteration}', n_retains=2)
    iterators = {name: trainer.updater.get_iterator(name) for name in ITERATORS}
    trainer.extend(dist.snapshot(snapshot, iterators), trigger=every(args.snapshot_interval),
                   priority=vc_extensions.PRIORITY_LAST)
    for extension, trigger in vc_extensions.lr_schedules(
            trainer.updater.get_all_optimizers().values(), train_config):
        trainer.extend(extension, trigger=trigger)
    for extension in dist.observation_means(vc_extensions.REPORTED_KEYS):
        trainer.extend(extension)
    if not dist.is_writer:
        return converting
    saved = [(converting, 'gen'), (dis, 'dis')] + ([(gen, 'gen_raw')] if converting is not gen
                                                    else [])
    for link, name in saved:
        trainer.extend(extensions.snapshot_object(link, name + '_iter_{.updater.iteration}.npz',
                                                  savefun=save),
                       trigger=every(args.snapshot_interval))
    trainer.extend(extensions.observe_lr('gen', 'gen/lr'), trigger=every(args.log_interval))
    trainer.extend(extensions.LogReport(trigger=every(args.log_interval)))
    trainer.extend(extensions.PrintReport(vc_extensions.PRINT_KEYS))
    for report in vc_extensions.plot_reports(lambda: every(args.plot_interval)):
        trainer.extend(report)
    trainer.extend(vc_extensions.SampleReport(converting, dataset, config.labels),
                   trigger=every(args.sample_interval))
    if not args.no_progress:
        trainer.extend(extensions.ProgressBar(update_interval=1))
    return converting


def add_judge(trainer, generator, args, config, corpus, length):
    def every():
        interval = vc_extensions.parse_interval(args.eval_interval)
        return vc_extensions.IntervalOrEndTrigger(interval, length)

    trainer.extend(evaluation_extension.ConversionJudge(generator, config, corpus, args.out),
                   trigger=every())
    for report in evaluation_extension.plot_reports(every):
        trainer.extend(report)


def main(argv=None) -> int:
    args = parse_args(argv)
    dist = distributed.SINGLE
    try:
        for interval in (args.log_interval, args.plot_interval, args.snapshot_interval,
                         args.sample_interval, args.eval_interval or '1'):
            vc_extensions.parse_interval(interval)
        if not 0 <= args.gen_average <= 1:
            raise InputError(f'--gen-average {args.gen_average}: the decay must be in [0, 1] '
                             '(0: off)')
        if args.multi_node_bn and not args.communicator:
            raise InputError('--multi-node-bn needs --communicator (a job of several ranks)')
        dist = distributed.Distribution.connect(args.communicator, args.gpu)
        trainer = build_trainer(args, dist)
    except (InputError, ValueError) as error:
        if dist.is_writer:  # every rank has the same error (Distribution.all_or_none)
            print(f'error: {error}', file=sys.stderr)
        return 2
    try:
        trainer.run(show_loop_exception_msg=False)
    except NonFiniteLossError as error:
        print(f'error: {error}' + (f' (rank {dist.rank})' if dist.distributed else ''),
              file=sys.stderr)
        dist.abort(3)
        return 3
    if dist.is_writer:
        print(f'run directory: {args.out} (model.json, gen_iter_*.npz, log, *.png, samples/)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
