"""What `make bench` leaves in its output folder: the results as JSON, a README with the
Markdown table and the key figures, and two plots (memory and time per sample vs batch)."""
from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

RESULTS_JSON = 'results.json'
README = 'README.md'
MEMORY_PLOT = 'memory_vs_batch.png'
TIME_PLOT = 'time_per_sample_vs_batch.png'
GIB = 2 ** 30


def write(results: dict, out: Path) -> list:
    """Writes every output into ``out``; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / RESULTS_JSON, out / README, out / MEMORY_PLOT, out / TIME_PLOT]
    paths[0].write_text(json.dumps(results, indent=2) + '\n')
    paths[1].write_text(readme(results))
    plot_memory(results, paths[2])
    plot_time(results, paths[3])
    return paths


def _ok(results: dict, step: str = 'optimised') -> list:
    return [r for r in results['configurations'] if 'error' not in r and r['step'] == step]


def _presets(results: dict) -> list:
    return list(dict.fromkeys(r['preset'] for r in results['configurations']))


def plot_memory(results: dict, path: Path) -> None:
    figure, axes = plt.subplots(figsize=(7, 4.5))
    searches = results['memory_searches']
    for preset in _presets(results):
        points = {r['batchsize']: r['peak_memory_bytes'] for r in _ok(results)
                  if r['preset'] == preset}
        for search in searches:
            found = search['presets'].get(preset)
            points.update({int(b): p for b, p in (found or {}).get('measured', {}).items()})
        batches = sorted(points)
        line, = axes.plot(batches, [points[b] / GIB for b in batches], 'o', label=preset)
        for search in searches:
            found = search['presets'].get(preset)
            if found and found['fit']:
                last = max(batches + [found['largest_batch'] or 0]) + 1
                fit = found['fit']
                axes.plot([0, last], [fit['bytes_at_batch_0'] / GIB,
                                      (fit['bytes_at_batch_0'] + fit['bytes_per_sample'] * last)
                                      / GIB], '--', color=line.get_color(), linewidth=1,
                          label=f'{preset}: fit, largest batch {found["largest_batch"]} under '
                                f'{search["budget_bytes"] / GIB:g} GiB')
    for search in searches:
        budget = search['budget_bytes'] / GIB
        axes.axhline(budget, color='grey', linewidth=1, label=f'budget {budget:g} GiB')
    kind = 'CuPy pool high-water' if results['options']['gpu'] >= 0 else 'host RSS high-water'
    _finish(figure, axes, 'batch size', f'peak memory (GiB, {kind})',
            'Peak memory of one training iteration', path)


def plot_time(results: dict, path: Path) -> None:
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for preset in _presets(results):
        runs = sorted((r for r in _ok(results) if r['preset'] == preset),
                      key=lambda r: r['batchsize'])
        line, = axes.plot([r['batchsize'] for r in runs], [r['seconds_per_sample'] for r in runs],
                          'o-', label=preset)
        plain = [r for r in _ok(results, 'plain') if r['preset'] == preset]
        if plain:
            axes.plot([r['batchsize'] for r in plain], [r['seconds_per_sample'] for r in plain],
                      's', color=line.get_color(), fillstyle='none',
                      label=f'{preset}, plain Chainer step')
    axes.set_ylim(bottom=0)
    axes.set_xticks(results['options']['batches'])
    _finish(figure, axes, 'batch size', 'seconds per sample (one iteration / batch)',
            'Training time per sample (5 D + 1 G updates)', path)


def _finish(figure, axes, xlabel: str, ylabel: str, title: str, path: Path) -> None:
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def readme(results: dict) -> str:
    sections = [_header(results), _key_figures(results), _table(results), _search_table(results),
                '## Plots\n\n'
                f'![peak memory vs batch]({MEMORY_PLOT})\n'
                f'![time per sample vs batch]({TIME_PLOT})\n',
                _methods(results), _machine(results)]
    return '\n'.join(sections)


def device_name(results: dict) -> str:
    """The GPU's name, or the CPU's where the run was on the CPU."""
    machine = results['machine']
    if 'gpu' in machine:
        gpu = machine['gpu']
        return f'{gpu["name"]} (GPU {gpu["id"]}, CuPy {gpu["cupy"]})'
    return f'{machine["cpu"]} (CPU, {machine["usable_cpus"]} usable cores)'


def _header(results: dict) -> str:
    minutes = results['wall_seconds'] / 60
    return (
        f'# Training-step and conversion benchmarks on {device_name(results)}\n\n'
        f'Written by `{results["command"]}` (`make bench` runs '
        f'`bench/run.py --all --out results/benchmarks`), started {results["started"]}, '
        f'{minutes:.1f} minutes in all. Everything here comes from that one run '
        f'({RESULTS_JSON} has every figure): rerun it rather than edit this file.\n')


def _key_figures(results: dict) -> str:
    lines = ['## Key figures\n']
    lines += _speed_lines(results)
    lines += _search_lines(results)
    lines += _seed_lines(results)
    lines += _flops_lines(results)
    lines += _conversion_lines(results)
    lines += _plain_lines(results)
    lines += _variant_lines(results)
    return '\n'.join(lines) + '\n'


def _speed_lines(results: dict) -> list:
    lines = ['Time per sample and peak memory (optimised step):\n',
             '| preset | ' + ' | '.join(f'batch {b}' for b in results['options']['batches']) + ' |',
             '|---|' + '---|' * len(results['options']['batches'])]
    for preset in _presets(results):
        cells = []
        for batch in results['options']['batches']:
            run = next((r for r in _ok(results)
                        if (r['preset'], r['batchsize']) == (preset, batch)), None)
            cells.append(f'{run["seconds_per_sample"]:.2f} s, '
                         f'{run["peak_memory_bytes"] / GIB:.2f} GiB' if run else 'failed')
        lines.append(f'| {preset} | ' + ' | '.join(cells) + ' |')
    return lines + ['']


def _search_lines(results: dict) -> list:
    return [f'- Largest {preset} batch under {search["budget_bytes"] / GIB:g} GiB: '
            f'**{found["largest_batch"]}** ({_search_evidence(found)}).'
            for search in results['memory_searches'] for preset, found in search['presets'].items()]


def _search_evidence(found: dict) -> str:
    measured = {int(b): peak / GIB for b, peak in found['measured'].items()}
    low, high = found['largest_measured_within'], found['smallest_measured_over']
    within = f'{low} measured at {measured[low]:.2f} GiB' if low is not None else 'none measured'
    over = (f'{high} measured over, at {measured[high]:.2f} GiB' if high is not None
            else 'none measured over')
    if found['status'] == 'predicted':
        return f'predicted by the line near the budget; {within}; {over}'
    if found['status'] == 'confirmed':
        return f'{within}; one more predicted over; {over}'
    return f'{within}; {over}'


def _seed_lines(results: dict) -> list:
    seed = results['seed_comparison']
    if seed is None:
        return ['- Seed comparison: not measured (a configuration failed or was not run).']
    hours = ' / '.join(f'{h:g} h' for h in seed['seed_hours'].values())
    return [f'- Epoch-time ratio {seed["seed"]} / {seed["baseline"]}: '
            f'**{seed["epoch_time_ratio"]:.2f}**, next to the log\'s '
            f'**{seed["seed_epoch_time_ratio"]:.2f}** ({hours} for 1000 epochs); epoch time per '
            f'utterance = seconds per iteration / (n_dis x batch).',
            f'- Peak-memory ratio {seed["seed"]} / {seed["baseline"]}: '
            f'**{seed["peak_memory_ratio"]:.2f}**' + _per_sample_memory(seed) + '.']


def _per_sample_memory(seed: dict) -> str:
    if 'memory_per_sample_ratio' not in seed:
        return ''
    return (f'; per sample (the slopes of the memory lines, leaving out what every batch size '
            f'holds: weights, optimizer state, libraries): '
            f'**{seed["memory_per_sample_ratio"]:.2f}**')


def _flops_lines(results: dict) -> list:
    peak = results['matmul_peak']
    parts = [f'{r["preset"]}@{r["batchsize"]}: {r["flops_per_iteration"] / 1e9:.0f} GFLOP, '
             f'{r["fraction_of_peak"]:.1%}' for r in _ok(results)]
    return [f'- FLOPs per iteration and achieved fraction of the measured matmul peak '
            f'({peak["flops_per_second"] / 1e9:.0f} GFLOP/s, float32 {peak["size"]}^3): '
            + '; '.join(parts) + '.']


def _conversion_lines(results: dict) -> list:
    conversion = results['conversion']
    return [f'- Conversion of {conversion["audio_s"]:g} s of speech ({conversion["preset"]}, '
            f'Griffin-Lim {conversion["griffin_lim_iterations"]} iterations included): '
            f'real-time factor **{conversion["whole"]["real_time_factor"]:.3f}** in one pass, '
            f'{conversion["windowed"]["real_time_factor"]:.3f} in windows of '
            f'{conversion["window_frames"]} frames; Griffin-Lim alone '
            f'{conversion["griffin_lim"]["real_time_factor"]:.3f}.']


def _plain_lines(results: dict) -> list:
    plain = results['plain_comparison']
    if plain is None:
        return ['- Optimised / plain step time ratio: not measured.']
    note = '' if plain['vc_fast_present'] else (
        ' (chainer.config.vc_fast did not exist: both runs were the same code)')
    return [f'- **Optimised / plain step time ratio** at {plain["preset"]}@{plain["batchsize"]}: '
            f'**{plain["optimised_over_plain"]:.2f}** '
            f'({plain["optimised_seconds_per_iteration"]:.2f} s / '
            f'{plain["plain_seconds_per_iteration"]:.2f} s per iteration){note}.']


def _variant_lines(results: dict) -> list:
    return [f'- {v["step"]} / optimised step time at {results["plain_comparison"]["preset"]}@'
            f'{results["plain_comparison"]["batchsize"]}: **{v["over_optimised"]:.2f}** '
            f'({v["seconds_per_iteration"]:.3f} s per iteration).'
            for v in results.get('variant_comparison', [])
            if v['step'] != 'plain' and results['plain_comparison']]


def _table(results: dict) -> str:
    header = ('| preset | batch | step | timed iterations | s / iteration | s / sample | '
              'epoch s / utterance | peak memory (GiB) | GFLOP / iteration | GFLOP/s | '
              'fraction of peak | others\' CPU share | device memory used (GiB) |\n'
              + '|---' * 13 + '|')
    rows = [_row(r) for r in results['configurations']]
    note = ('\n"Others\' CPU share": the share of the machine\'s CPU time that other processes '
            'used during the configuration\'s iterations (/proc/stat less its own time); '
            'anything much above 0% slowed it down.\n')
    return '## All configurations\n\n' + '\n'.join([header] + rows) + '\n' + note


def _row(r: dict) -> str:
    if 'error' in r:
        return (f'| {r["preset"]} | {r["batchsize"]} | {r["step"]} | failed: {r["error"]} |'
                + ' |' * 9)
    return (f'| {r["preset"]} | {r["batchsize"]} | {r["step"]} | {r["timed_iterations"]} | '
            f'{r["seconds_per_iteration"]:.2f} | {r["seconds_per_sample"]:.3f} | '
            f'{r["epoch_seconds_per_utterance"]:.3f} | {r["peak_memory_bytes"] / GIB:.2f} | '
            f'{r["flops_per_iteration"] / 1e9:.1f} | {r["flops_per_second"] / 1e9:.1f} | '
            f'{r.get("fraction_of_peak", float("nan")):.1%} | {_share(r.get("other_cpu_share"))} | '
            f'{_gib(r.get("device_memory_used_bytes"))} |')


def _gib(value) -> str:
    return '-' if value is None else f'{value / GIB:.2f}'


def _share(value) -> str:
    return 'unknown' if value is None else f'{value:.0%}'



def _search_table(results: dict) -> str:
    lines = ['## Memory-budget search\n',
             '| budget | preset | grid prediction | runs (batch: peak GiB) | '
             'fit (GiB/sample, GiB at 0) | largest batch | status | stopped |',
             '|---|---|---|---|---|---|---|---|']
    for search in results['memory_searches']:
        for preset, found in search['presets'].items():
            runs = ', '.join(f'{r["batchsize"]}: {r["peak_memory_bytes"] / GIB:.2f}'
                             if 'peak_memory_bytes' in r else f'{r["batchsize"]}: failed'
                             for r in found['runs']) or 'none'
            fit = found['fit']
            fit_text = (f'{fit["bytes_per_sample"] / GIB:.3f}, {fit["bytes_at_batch_0"] / GIB:.2f}'
                        if fit else 'none')
            lines.append(f'| {search["budget_bytes"] / GIB:g} GiB | {preset} | '
                         f'{found["grid_prediction"]} | {runs} | {fit_text} | '
                         f'{found["largest_batch"]} | {found["status"]} | {found["stopped"]} |')
    return '\n'.join(lines) + '\n'


def _methods(results: dict) -> str:
    options = results['options']
    return f'''## How these numbers are made

- **Configuration.** The seed's label sizes (1479 generator inputs, 1476 classes) on random
  spectrograms, so no corpus is needed. One iteration is the library's own
  `StarGANUpdater.update()` (5 D updates, then 1 G update, RMSprop), nothing copied.
- **Timing.** Each configuration runs in its own process (`bench/run.py --json`): 1 warm-up
  iteration, then up to {options["iterations"]} timed ones, fewer (at least 1) where the
  preset's previous batch size predicts more than {options["configuration_seconds"]:g} s of
  timed work; the "timed iterations" column gives the count. Figures are medians. Seconds per
  sample = seconds per iteration / batch.
- **Memory.** CPU: the process's peak resident set (VmHWM), imports and models included. GPU:
  the CuPy memory pool's high-water mark (what the budget search uses); the device's used
  memory (CUDA context, cuBLAS workspace and the pool, from cudaMemGetInfo) is in its own
  column.
- **Largest batch under the budget.** A line through the measured peaks nearest the budget
  predicts it; single-iteration runs (no warm-up; the first a little below the prediction)
  refine it while the next run's estimated time fits {options["search_seconds"]:g} s per
  preset and the whole run's {options["time_limit"]:g} s. Where a run at the prediction would
  take too long, the largest batch the time allows is run instead, to shorten the
  extrapolation (`bench/memory_search.py`). "exact": it fits and one more does not, both
  measured; "confirmed": measured to fit, one more predicted not to; "predicted": the line
  through the measured points nearest the budget.
- **FLOPs.** 2 x multiply-adds of every convolution and deconvolution, from the layer shapes of
  one forward pass per network, combined by which forward and backward passes (and the
  gradient penalty's double backprop) the updater runs: the formula is in `bench/flops.py`,
  and matches the convolutions Chainer's plain step actually executes (tests/test_bench.py).
  The fraction of peak divides the achieved rate by a float32 {results["matmul_peak"]["size"]}^3
  matrix product's rate on the same threads, measured in the same run.
- **Epoch time.** An epoch is one pass of the D updates' iterator over the corpus (one window
  per utterance, whatever its length), so epoch time per utterance = seconds per iteration /
  (n_dis x batch), and the ratio of two configurations' epoch times is the ratio of these.
- **Optimised vs plain.** The plain Chainer step (`--plain`, `chainer.config.vc_fast = False`)
  runs right after the optimised one, with as many iterations. On a GPU so do the optimised
  step with one host synchronisation per iteration (`--deferred-checks`,
  `chainer.config.vc_eager_checks = False`) and with TF32 matrix products (`CUPY_TF32=1`;
  its fraction of peak is still against the float32 peak).
- **Conversion.** `bench/conversion_speed.py`'s `measure_conversion_speed` on synthetic speech,
  random weights, Griffin-Lim included: the best of 2 runs after an untimed one (its own
  method); real-time factor = wall time / audio length.
'''


def _machine(results: dict) -> str:
    machine = results['machine']
    blas = machine['blas']
    load = results['load_average']
    lines = ['## Machine\n',
             f'- CPU: {machine["cpu"]} ({machine["machine"]}), {machine["usable_cpus"]} usable of '
             f'{machine["logical_cpus"]} logical CPUs; memory '
             f'{machine["memory_bytes"] / GIB:.1f} GiB.',
             f'- BLAS: {blas.get("name")} {blas.get("version")}, kernel '
             f'{blas.get("runtime_corename", "?")}, {blas.get("runtime_threads", "?")} threads; '
             f'thread variables {machine["thread_variables"]}.',
             f'- Python {machine["python"]}, numpy {machine["numpy"]}, '
             f'Chainer {machine["chainer"]}; {machine["os"]}.',
             f'- Load average (1, 5, 15 min) before the first measurement {_load(load["start"])}, '
             f'at the end {_load(load["end"])} (this run\'s own work included); the table\'s '
             f'"others\' CPU share" says whether other work overlapped a measurement.']
    if 'gpu' in machine:
        gpu = machine['gpu']
        lines.append(f'- GPU {gpu["id"]}: {gpu["name"]}, {gpu["memory_bytes"] / GIB:.1f} GiB, '
                     f'CuPy {gpu["cupy"]}.')
    return '\n'.join(lines) + '\n'


def _load(values) -> str:
    return ', '.join(f'{v:.2f}' for v in values) if values else 'unknown'
