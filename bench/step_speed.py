"""How fast one training iteration runs, and how much memory it takes, on random data.

The iteration is the library's own: :class:`chainer_vc.training.updater.StarGANUpdater` (5 D updates,
then 1 G update) with RMSprop, on random spectrograms and random labels of the seed's sizes
(1479 generator inputs, 1476 classes), so no corpus is needed. Peak memory is the process's
host RSS high-water mark (VmHWM) on CPU, the CuPy memory pool's high-water mark on GPU: run
one configuration per process to read it clean.
"""
from __future__ import annotations

import contextlib
import os
import resource
import statistics
import time
from pathlib import Path

import chainer_vc  # noqa: F401  (patches chainer for numpy 2)
import chainer
import numpy as np

from chainer_vc.common.labels import LabelSchema, seed_schema
from chainer_vc.networks.presets import PRESETS
from chainer_vc.networks.run_directory import ModelConfig
from chainer_vc.training.updater import StarGANUpdater, TrainingConfig

import flops
import machine

# Utterances in the random data set, in batches: enough that batches differ.
DATASET_BATCHES = 4
SEED = 0


def random_dataset(schema: LabelSchema, frames: int, size: int, rng) -> tuple:
    """``size`` examples (spectrogram, generator input, classification target) as the
    corpus's dataset yields them, with random labels in every group, and their label codes."""
    codes = np.stack([rng.integers(0, len(group.classes), size) for group in schema.groups], 1)
    data = [(rng.random((1, frames, 256), dtype=np.float32), schema.generator_input(row),
             schema.classification_target(row)) for row in codes]
    return data, codes


def build_updater(preset: str, batchsize: int, device: chainer.backend.Device,
                  config: TrainingConfig = TrainingConfig()) -> StarGANUpdater:
    """The training updater of ``preset`` with the seed's label sizes, on random data."""
    model = ModelConfig(PRESETS[preset], PRESETS[preset].spectrogram_config(), seed_schema())
    rng = np.random.default_rng(SEED)
    # Chainer's initializers draw from numpy's global generator.
    np.random.seed(SEED)
    gen, dis = model.build_generator(), model.build_discriminator()
    gen.to_device(device)
    dis.to_device(device)
    optimizers = {}
    for name, link in (('gen', gen), ('dis', dis)):
        optimizers[name] = chainer.optimizers.RMSprop(lr=config.lr)
        optimizers[name].setup(link)
    data, codes = random_dataset(model.labels, model.features.frames,
                                 DATASET_BATCHES * batchsize, rng)
    iterators = {name: chainer.iterators.SerialIterator(data, batchsize, shuffle=True)
                 for name in ('main', 'orig')}
    return StarGANUpdater(iterators, optimizers, model.labels, np.unique(codes, axis=0),
                          config, device=device, seed=SEED)


class MemoryMeter:
    """The peak of host RSS (CPU) or of the CuPy memory pool (GPU) for this process; on a GPU
    also the peak of the device's used memory (CUDA context, cuBLAS workspace and the pool)."""

    def __init__(self, device: chainer.backend.Device):
        self.gpu = device.xp is not np
        self.peak = 0
        self.device_peak = None

    @property
    def kind(self) -> str:
        return 'cupy_memory_pool_high_water' if self.gpu else 'host_rss_high_water'

    def sample(self) -> int:
        """Reads the current high-water mark (the pool only grows: its total is its peak)."""
        if self.gpu:
            cupy = chainer.backends.cuda.cupy
            current = cupy.get_default_memory_pool().total_bytes()
            free, total = cupy.cuda.runtime.memGetInfo()
            self.device_peak = max(self.device_peak or 0, total - free)
        else:
            current = host_peak_rss()
        self.peak = max(self.peak, current)
        return self.peak


def host_peak_rss() -> int:
    """This process's peak resident set size in bytes (VmHWM; ru_maxrss where /proc lacks it)."""
    status = Path(f'/proc/{os.getpid()}/status')
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith('VmHWM:'):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def timed_iterations(updater: StarGANUpdater, warmup: int, iterations: int,
                     memory: MemoryMeter, first_hook: chainer.FunctionHook) -> list:
    """Wall seconds of each of ``iterations`` updates after ``warmup`` untimed ones;
    ``first_hook`` watches the first update (the warm-up where there is one)."""
    reporter = chainer.Reporter()
    reporter.add_observer('gen', updater.gen)
    reporter.add_observer('dis', updater.dis)
    device = updater.device
    times = []
    for i in range(warmup + iterations):
        _synchronize(device)
        start = time.perf_counter()
        with reporter.scope({}), first_hook if i == 0 else contextlib.nullcontext():
            updater.update()
        _synchronize(device)
        if i >= warmup:
            times.append(time.perf_counter() - start)
        memory.sample()
    return times


def _synchronize(device: chainer.backend.Device) -> None:
    if device.xp is not np:
        device.device.synchronize()


def use_device(gpu: int) -> chainer.backend.Device:
    """'@cupy:<gpu>' for a GPU id, '@numpy' for a negative one; made current."""
    device = chainer.get_device(f'@cupy:{gpu}' if gpu >= 0 else '@numpy')
    device.use()
    return device


def measure_step(preset: str, batchsize: int, iterations: int, warmup: int = 1,
                 gpu: int = -1) -> dict:
    """One configuration: median seconds per iteration and per sample, peak memory, flops."""
    device = use_device(gpu)
    memory = MemoryMeter(device)
    updater = build_updater(preset, batchsize, device)
    model = PRESETS[preset]
    labels = updater.schema
    by_layer = flops.model_flops_by_layer(updater.gen, updater.dis, model.frames,
                                          labels.input_size)
    n_dis = updater.config.n_dis
    executed = flops.ExecutedCounter()
    with machine.OtherWork() as other_work:
        times = timed_iterations(updater, warmup, iterations, memory, executed)
    seconds = statistics.median(times)
    flops_per_iteration = flops.iteration_flops(by_layer, batchsize, n_dis)
    return {
        'benchmark': 'training_step', 'preset': preset, 'batchsize': batchsize,
        'frames': model.frames, 'label_input_size': labels.input_size,
        'label_class_size': labels.class_size, 'n_dis': n_dis,
        'device': str(device), 'step': step_name(gpu >= 0),
        'vc_fast': getattr(chainer.config, 'vc_fast', None),
        'vc_eager_checks': getattr(chainer.config, 'vc_eager_checks', None),
        'tf32': gpu >= 0 and tf32(),
        'warmup_iterations': warmup, 'timed_iterations': iterations,
        'iteration_seconds': times, 'other_cpu_share': other_work.share,
        'seconds_per_iteration': seconds,
        'seconds_per_sample': seconds / batchsize,
        'epoch_seconds_per_utterance': seconds / (n_dis * batchsize),
        'peak_memory_bytes': memory.peak, 'peak_memory_kind': memory.kind,
        'device_memory_used_bytes': memory.device_peak,
        'flops_per_iteration': flops_per_iteration,
        'flops_per_second': flops_per_iteration / seconds,
        'executed_convolution_flops_per_iteration': executed.flops,
        'forward_flops_per_sample': {k: sum(v.values()) for k, v in by_layer.items()},
        'forward_flops_by_layer': by_layer,
    }


def step_name(gpu: bool = False) -> str:
    """'plain' where ``chainer.config.vc_fast`` is set False, else 'optimised' (the default
    step, whatever it is: before the fast kernels exist the two are the same code); then
    '+deferred_checks' without eager host checks, '+tf32' on a GPU with CUPY_TF32=1."""
    name = 'plain' if getattr(chainer.config, 'vc_fast', None) is False else 'optimised'
    if getattr(chainer.config, 'vc_eager_checks', True) is False:
        name += '+deferred_checks'
    if gpu and tf32():
        name += '+tf32'
    return name


def tf32() -> bool:
    """Whether CuPy was told to use TF32 tensor cores for float32 matrix products."""
    return os.environ.get('CUPY_TF32', '0') not in ('', '0')
