"""The whole benchmark (`make bench`): every preset at every batch size, each in its own
process; the plain Chainer step next to the optimised one; the largest batch under a memory
budget; the seed's epoch-time comparison; conversion speed. Every compared figure is a ratio
of two measurements made in this one run."""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

import conversion_speed
import flops
import machine
import memory_search
import step_speed
from chainer_vc.networks.presets import PRESETS

RUN_SCRIPT = Path(__file__).resolve().parent / 'run.py'
# The log's training times for 1000 epochs (SPEC.md, "The result to reproduce").
SEED_HOURS = {'cfcefd21': 10.07, '9ada9179': 22.68}
SEED_PRESET, BASELINE_PRESET = 'cfcefd21', '9ada9179'
# A configuration that runs longer than this is stopped and reported as failed.
CONFIGURATION_TIMEOUT = 1800
# Steps measured at the seed's configuration next to the default ('optimised') one: the plain
# Chainer step everywhere; on a GPU also one host synchronisation per iteration, and TF32
# matrix products (CuPy reads CUPY_TF32 when it is imported, hence a variable).
VARIANTS = {'optimised': ([], {}), 'plain': (['--plain'], {}),
            'optimised+deferred_checks': (['--deferred-checks'], {}),
            'optimised+tf32': ([], {'CUPY_TF32': '1'}),
            'optimised+gpu_kernels': (['--gpu-kernels'], {})}
GPU_VARIANTS = ('plain', 'optimised+deferred_checks', 'optimised+tf32', 'optimised+gpu_kernels')


@dataclasses.dataclass(frozen=True)
class SuiteOptions:
    presets: tuple
    batches: tuple
    iterations: int
    configuration_seconds: float
    memory_budgets: tuple
    search_seconds: float
    conversion_seconds: float
    peak_size: int
    time_limit: float
    gpu: int = -1


def run_configuration(preset: str, batchsize: int, iterations: int, warmup: int = 1,
                      gpu: int = -1, step: str = 'optimised') -> dict:
    """One configuration in a fresh process (``run.py --json``), so its peak memory is its own;
    ``step`` is one of VARIANTS."""
    arguments, variables = VARIANTS[step]
    command = [sys.executable, str(RUN_SCRIPT), '--preset', preset, '--batchsize', str(batchsize),
               '--iterations', str(iterations), '--warmup', str(warmup), '--gpu', str(gpu),
               '--peak-size', '0', '--json'] + arguments
    start = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True,
                              timeout=CONFIGURATION_TIMEOUT, env={**os.environ, **variables})
    except subprocess.TimeoutExpired:
        return _failure(preset, batchsize, step, f'timed out after {CONFIGURATION_TIMEOUT} s')
    wall = time.perf_counter() - start
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or [f'exit status {done.returncode}']
        return _failure(preset, batchsize, step, lines[-1])
    result = json.loads(done.stdout)
    result['process_wall_seconds'] = wall
    _log(f'{preset} @{batchsize} {result["step"]}: '
         f'{result["seconds_per_iteration"]:.2f} s/iteration, '
         f'{result["seconds_per_sample"]:.2f} s/sample, '
         f'{result["peak_memory_bytes"] / 2 ** 30:.2f} GiB peak '
         f'({result["timed_iterations"]} timed, {wall:.0f} s in all, '
         f'others\' CPU share {result["other_cpu_share"] or 0:.0%})')
    return result


def _failure(preset: str, batchsize: int, step: str, error: str) -> dict:
    _log(f'{preset} @{batchsize} {step}: FAILED: {error}')
    return {'preset': preset, 'batchsize': batchsize, 'step': step, 'error': error}


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def planned_iterations(previous: Optional[dict], batchsize: int, options: SuiteOptions) -> int:
    """``options.iterations`` timed iterations, fewer (at least 1) where the previous batch size
    of the preset predicts they would take more than ``options.configuration_seconds``."""
    if previous is None or 'seconds_per_sample' not in previous:
        return options.iterations
    estimate = previous['seconds_per_sample'] * batchsize
    return max(1, min(options.iterations, int(options.configuration_seconds // estimate)))


def run_grid(options: SuiteOptions) -> list:
    """Every preset at every batch size, optimised; the seed's configuration in the other
    steps as well (plain; on a GPU also deferred checks and TF32), right after its optimised
    run and with as many timed iterations."""
    results = []
    variants = GPU_VARIANTS if options.gpu >= 0 else ('plain',)
    for preset in options.presets:
        previous = None
        for batchsize in options.batches:
            iterations = planned_iterations(previous, batchsize, options)
            previous = run_configuration(preset, batchsize, iterations, gpu=options.gpu)
            results.append(previous)
            if (preset, batchsize) == plain_comparison_key():
                results += [run_configuration(preset, batchsize, iterations, gpu=options.gpu,
                                              step=step) for step in variants]
    return results


def plain_comparison_key() -> tuple:
    return SEED_PRESET, PRESETS[SEED_PRESET].batchsize


def find(results: list, preset: str, batchsize: int, step: str = 'optimised') -> Optional[dict]:
    for result in results:
        if (result['preset'], result['batchsize'], result['step']) == (preset, batchsize, step) \
                and 'error' not in result:
            return result
    return None


def plain_comparison(results: list) -> Optional[dict]:
    """Optimised / plain seconds per iteration at the seed's configuration."""
    preset, batchsize = plain_comparison_key()
    fast, plain = find(results, preset, batchsize), find(results, preset, batchsize, 'plain')
    if fast is None or plain is None:
        return None
    return {'preset': preset, 'batchsize': batchsize,
            'optimised_seconds_per_iteration': fast['seconds_per_iteration'],
            'plain_seconds_per_iteration': plain['seconds_per_iteration'],
            'optimised_over_plain': fast['seconds_per_iteration'] / plain['seconds_per_iteration'],
            'vc_fast_present': fast.get('vc_fast') is not None}


def variant_comparison(results: list) -> list:
    """Each measured step at the seed's configuration over the optimised one (time ratios)."""
    preset, batchsize = plain_comparison_key()
    fast = find(results, preset, batchsize)
    if fast is None:
        return []
    compared = []
    for step in VARIANTS:
        other = find(results, preset, batchsize, step)
        if step != 'optimised' and other is not None:
            compared.append({'step': step, 'seconds_per_iteration': other['seconds_per_iteration'],
                             'over_optimised': other['seconds_per_iteration']
                             / fast['seconds_per_iteration']})
    return compared


def seed_comparison(results: list) -> Optional[dict]:
    """The log's comparison: epoch time and peak memory of cfcefd21 at its batch over
    9ada9179 at its batch. An epoch is one pass of the D updates' iterator over the corpus,
    so its time per utterance is seconds_per_iteration / (n_dis x batchsize)."""
    seed = find(results, SEED_PRESET, PRESETS[SEED_PRESET].batchsize)
    baseline = find(results, BASELINE_PRESET, PRESETS[BASELINE_PRESET].batchsize)
    if seed is None or baseline is None:
        return None
    return {
        'seed': f'{SEED_PRESET}@{seed["batchsize"]}',
        'baseline': f'{BASELINE_PRESET}@{baseline["batchsize"]}',
        'epoch_time_ratio': seed['epoch_seconds_per_utterance']
        / baseline['epoch_seconds_per_utterance'],
        'seed_epoch_time_ratio': SEED_HOURS[SEED_PRESET] / SEED_HOURS[BASELINE_PRESET],
        'seed_hours': dict(SEED_HOURS),
        'peak_memory_ratio': seed['peak_memory_bytes'] / baseline['peak_memory_bytes'],
        'formula': 'epoch seconds per utterance = seconds_per_iteration / (n_dis x batchsize)',
    }


def search_memory(results: list, options: SuiteOptions, deadline: float) -> list:
    """Per budget and preset, the largest batch under the budget, each search within
    ``options.search_seconds`` and its share of the time left before ``deadline``. A run's
    time is estimated from the largest batch measured, the closest in time per sample; each
    search starts from every peak measured so far (the grid's and earlier searches')."""
    searches = []
    count = len(options.memory_budgets) * len(options.presets)
    for budget in options.memory_budgets:
        found = {}
        for preset in options.presets:
            measured = [r for r in results if r['preset'] == preset and r['step'] == 'optimised'
                        and 'error' not in r]
            measured += [run for search in searches for run in search['presets'].get(
                preset, {}).get('runs', []) if 'peak_memory_bytes' in run]
            if len(measured) < 2:
                continue
            share = (deadline - time.monotonic()) / (count - len(searches) * len(options.presets)
                                                    - len(found))
            limit = max(0.0, min(options.search_seconds, share))
            _log(f'{preset}: searching the largest batch under {budget / 2 ** 30:g} GiB '
                 f'({limit:.0f} s at most)')
            largest = max(measured, key=lambda r: r['batchsize'])
            found[preset] = memory_search.search(
                {r['batchsize']: r['peak_memory_bytes'] for r in measured}, budget,
                lambda batch, p=preset: run_configuration(p, batch, 1, warmup=0, gpu=options.gpu),
                largest['seconds_per_sample'], limit)
            _log(f'{preset}: largest batch {found[preset]["largest_batch"]} '
                 f'({found[preset]["status"]}; {found[preset]["stopped"]})')
        searches.append({'budget_bytes': budget, 'presets': found})
    return searches


def add_memory_per_sample_ratio(comparison: Optional[dict], searches: list) -> None:
    """Peak memory counts the weights, optimizer state and libraries once: the slopes of the
    memory lines (bytes per sample) compare what the batch itself takes (first budget's fit)."""
    search = searches[0]['presets'] if searches else {}
    if comparison is None or not all(search.get(p, {}).get('fit')
                                     for p in (SEED_PRESET, BASELINE_PRESET)):
        return
    comparison['memory_per_sample_ratio'] = (search[SEED_PRESET]['fit']['bytes_per_sample']
                                             / search[BASELINE_PRESET]['fit']['bytes_per_sample'])


def measure_peak(options: SuiteOptions) -> float:
    peak = flops.matmul_peak(options.peak_size, xp=step_speed.use_device(options.gpu).xp)
    _log(f'matmul peak ({options.peak_size}^3 float32): {peak / 1e9:.1f} GFLOP/s')
    return peak


def measure_conversion(options: SuiteOptions) -> dict:
    _log(f'conversion speed: {options.conversion_seconds:g} s of audio')
    return conversion_speed.measure_conversion_speed(options.conversion_seconds, SEED_PRESET,
                                                     options.gpu)


def run_all(options: SuiteOptions, command: str) -> dict:
    """Everything, in an order that keeps the compared runs close together in time."""
    start, started = time.perf_counter(), datetime.now(timezone.utc)
    deadline = time.monotonic() + options.time_limit
    load_start = machine.load_average()
    peak = measure_peak(options)
    results = run_grid(options)
    for result in results:
        flops.add_fraction_of_peak(result, peak)
    conversion = measure_conversion(options)
    searches = search_memory(results, options, deadline)
    for run in (run for search in searches for found in search['presets'].values()
                for run in found['runs']):
        flops.add_fraction_of_peak(run, peak)
    comparison = seed_comparison(results)
    add_memory_per_sample_ratio(comparison, searches)
    return {
        'command': command, 'started': started.isoformat(timespec='seconds'),
        'wall_seconds': time.perf_counter() - start,
        'options': dataclasses.asdict(options),
        'machine': machine.describe(options.gpu),
        'load_average': {'start': load_start, 'end': machine.load_average()},
        'matmul_peak': {'size': options.peak_size, 'flops_per_second': peak},
        'configurations': results,
        'plain_comparison': plain_comparison(results),
        'variant_comparison': variant_comparison(results),
        'seed_comparison': comparison,
        'memory_searches': searches,
        'conversion': conversion,
    }
