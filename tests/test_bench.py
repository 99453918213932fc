"""bench/run.py as a script runs it: one configuration's JSON, its arithmetic and its FLOPs;
the memory-budget search's logic."""
import json
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
TINY = ['--preset', 'tiny', '--batchsize', '2']
FIELDS = ('seconds_per_iteration', 'seconds_per_sample', 'epoch_seconds_per_utterance',
          'peak_memory_bytes', 'flops_per_iteration', 'flops_per_second',
          'executed_convolution_flops_per_iteration', 'matmul_peak_flops_per_second',
          'fraction_of_peak')


def bench(*args) -> dict:
    done = subprocess.run([sys.executable, str(REPO / 'bench' / 'run.py'), *args, '--json'],
                          capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope='module')
def tiny():
    # A small matmul keeps the peak measurement quick; the report uses 4096.
    return bench(*TINY, '--iterations', '2', '--peak-size', '1024')


def test_one_configuration_reports_every_figure_positive(tiny):
    for field in FIELDS:
        assert tiny[field] > 0, field
    assert (tiny['preset'], tiny['batchsize'], tiny['n_dis']) == ('tiny', 2, 5)
    assert (tiny['label_input_size'], tiny['label_class_size']) == (1479, 1476)
    assert tiny['timed_iterations'] == len(tiny['iteration_seconds']) == 2
    assert tiny['peak_memory_kind'] == 'host_rss_high_water'
    assert 50 * 2 ** 20 < tiny['peak_memory_bytes'] < 4 * 2 ** 30


def test_figures_are_consistent(tiny):
    seconds = tiny['seconds_per_iteration']
    assert seconds == pytest.approx(statistics.median(tiny['iteration_seconds']))
    assert tiny['seconds_per_sample'] == pytest.approx(seconds / 2)
    assert tiny['epoch_seconds_per_utterance'] == pytest.approx(seconds / (5 * 2))
    assert tiny['flops_per_second'] == pytest.approx(tiny['flops_per_iteration'] / seconds)
    assert tiny['fraction_of_peak'] == pytest.approx(
        tiny['flops_per_second'] / tiny['matmul_peak_flops_per_second'])
    for network, layers in tiny['forward_flops_by_layer'].items():
        assert tiny['forward_flops_per_sample'][network] == sum(layers.values())


def test_layer_flops_match_a_hand_count(tiny):
    layers = tiny['forward_flops_by_layer']
    # down1: 4 output channels x 64 x 256 positions, each 1 x 7 x 7 multiply-adds.
    assert layers['gen']['down1/conv'] == 2 * (4 * 64 * 256) * (1 * 7 * 7)
    # merge: 32 x 8 x 32 outputs over (32 features + 1479 labels) x 3 x 3 taps.
    assert layers['gen']['merge/conv'] == 2 * (32 * 8 * 32) * ((32 + 1479) * 3 * 3)
    # up4 (deconvolution): each of 4 x 64 x 256 inputs scattered to 1 x 7 x 7 outputs.
    assert layers['gen']['up4/conv'] == 2 * (4 * 64 * 256) * (1 * 7 * 7)
    # The classification head: 1476 x 1 x 1 outputs over 128 x 4 x 4.
    assert layers['dis']['clazz'] == 2 * 1476 * (128 * 4 * 4)
    assert set(layers['dis_features']) == {f'conv{i}/conv' for i in range(1, 7)}


def test_iteration_flops_are_what_the_plain_step_executes():
    """The formula (bench/flops.py) against every convolution Chainer runs in an iteration."""
    plain = bench(*TINY, '--plain', '--iterations', '1', '--warmup', '0', '--peak-size', '0')
    assert (plain['step'], plain['vc_fast']) == ('plain', False)
    assert plain['flops_per_iteration'] == pytest.approx(
        plain['executed_convolution_flops_per_iteration'], rel=1e-3)
    assert 'fraction_of_peak' not in plain


def test_bad_flags_are_one_clear_line():
    for args, message in (([], '--preset and --batchsize'),
                          (['--all', '--memory-budget', 'lots'], 'is not a size')):
        done = subprocess.run([sys.executable, str(REPO / 'bench' / 'run.py'), *args],
                              capture_output=True, text=True, timeout=60, cwd=REPO)
        assert done.returncode == 2 and message in done.stderr


@pytest.fixture
def memory_search(monkeypatch):
    monkeypatch.syspath_prepend(str(REPO / 'bench'))
    import memory_search
    return memory_search


def linear_peak(batch):
    return 100 + 10 * batch


def test_search_brackets_the_budget_exactly(memory_search):
    tried = []

    def run(batch):
        tried.append(batch)
        return {'batchsize': batch, 'peak_memory_bytes': linear_peak(batch) + batch ** 2 // 10}

    found = memory_search.search({b: linear_peak(b) for b in (1, 2, 5)}, 400, run,
                                 seconds_per_sample=0.0, time_limit=60)
    assert found['grid_prediction'] == 30
    # 24 fits (100 + 240 + 57 = 397), 25 does not (100 + 250 + 62 = 412).
    assert found['largest_batch'] == 24 and found['status'] == 'exact'
    assert found['smallest_measured_over'] == 25
    assert tried[0] == 28  # a little below the prediction first


def test_search_stops_at_its_time_limit_with_a_prediction(memory_search):
    found = memory_search.search({b: linear_peak(b) for b in (1, 2, 5)}, 400,
                                 lambda batch: pytest.fail('no run fits the time limit'),
                                 seconds_per_sample=100.0, time_limit=60)
    assert (found['largest_batch'], found['status'], found['runs']) == (30, 'predicted', [])
    assert found['stopped'].startswith('time limit')


def test_search_confirms_a_prediction_that_fits(memory_search):
    found = memory_search.search({b: linear_peak(b) for b in (1, 2, 5)}, 405,
                                 lambda batch: {'batchsize': batch,
                                                'peak_memory_bytes': linear_peak(batch)},
                                 seconds_per_sample=0.0, time_limit=60)
    # 30 fits (400) and 31 does not (410): both measured.
    assert (found['largest_batch'], found['status']) == (30, 'exact')
    assert [r['batchsize'] for r in found['runs']] == [28, 30, 31]
    assert np.isclose(found['fit']['bytes_per_sample'], 10)


def test_search_runs_what_the_time_allows_when_the_prediction_costs_too_much(memory_search):
    cost_of_20 = memory_search.STARTUP_SECONDS + memory_search.COST_MARGIN * 1.0 * 20
    found = memory_search.search({b: linear_peak(b) for b in (1, 2, 5)}, 400,
                                 lambda batch: {'batchsize': batch,
                                                'peak_memory_bytes': linear_peak(batch)},
                                 seconds_per_sample=1.0, time_limit=cost_of_20 + 0.5)
    assert [r['batchsize'] for r in found['runs']] == [20]
    assert (found['largest_batch'], found['status']) == (30, 'predicted')
    assert found['largest_measured_within'] == 20
