"""train.py as a user runs it: outputs, resume after kill -9, bad input, edge-case corpora."""
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile
from PIL import Image

from conftest import make_corpus, write_voice

REPO = Path(__file__).resolve().parents[1]
FAST = ['--gpu', '-1', '--preset', 'tiny', '--batchsize', '2', '--no-progress']


def train(*args, timeout=300):
    return subprocess.run([sys.executable, str(REPO / 'train.py'), *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, cwd=REPO)


def log_iterations(out: Path) -> list:
    return [entry['iteration'] for entry in json.loads((out / 'log').read_text())]


def test_a_short_run_leaves_everything_a_user_reads(corpus_manifest, tmp_path):
    out = tmp_path / 'run'
    result = train(*FAST, '--manifest', corpus_manifest, '--iterations', 4, '--out', out,
                   '--log-interval', '2i', '--snapshot-interval', '2i', '--sample-interval', '4i')
    assert result.returncode == 0, result.stderr
    assert log_iterations(out) == [2, 4]
    for family in ('wasserstein', 'gradient_penalty', 'classification', 'accuracy',
                   'reconstruction', 'feature_matching'):
        for suffix in ('', '_loglog'):
            assert Image.open(out / f'{family}{suffix}.png').size[0] > 100
    samples = out / 'samples' / 'iter_4'
    assert Image.open(samples / 'spectrograms.png').size[0] > 100
    wavs = sorted(samples.glob('*.wav'))
    assert len(wavs) == 2 * 4  # 2 utterances x (input, 2 targets, cycle)
    data, rate = soundfile.read(str(wavs[0]))
    assert rate == 16000 and len(data) == 17152 and np.all(np.isfinite(data))
    model = json.loads((out / 'model.json').read_text())
    assert model['preset']['name'] == 'tiny' and model['features']['frames'] == 64
    assert [g['name'] for g in model['labels']['groups']] == ['speaker', 'sex']
    assert model['training']['n_dis'] == 5 and model['training']['lr'] == 1e-5
    assert {p.name for p in out.glob('*_iter_*')} >= {
        'snapshot_iter_2', 'snapshot_iter_4', 'gen_iter_4.npz', 'dis_iter_4.npz'}


def test_kill_9_then_the_same_command_resumes_with_its_generator_average(corpus_manifest,
                                                                         tmp_path):
    out = check_kill_9_then_resume(corpus_manifest, tmp_path, '--gen-average', '0.9')
    # Counted from iteration 1: the average was restored, not started again at the resume.
    with np.load(out / 'snapshot_iter_20') as snapshot:
        assert int(snapshot['extensions/generator_average/updates']) == 20


def check_kill_9_then_resume(corpus_manifest, tmp_path, *extra_args) -> Path:
    """Kill -9 after the 6th iteration's snapshot, rerun the same command: it resumes.
    Returns the run directory."""
    out = tmp_path / 'run'
    command = [sys.executable, str(REPO / 'train.py'), *FAST, *extra_args,
               '--manifest', str(corpus_manifest),
               '--iterations', '20', '--out', str(out), '--log-interval', '2i',
               '--snapshot-interval', '2i', '--plot-interval', '1000i',
               '--sample-interval', '1000i']
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while not (out / 'snapshot_iter_6').exists() and time.time() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert (out / 'snapshot_iter_6').exists()
    killed_at = max(int(p.name.split('_')[-1]) for p in out.glob('snapshot_iter_*'))
    assert killed_at < 20
    logged_before = json.loads((out / 'log').read_text())

    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    # The log keeps, unchanged, what it had at the snapshot (a fresh start would rewrite the
    # elapsed times) and continues from there: no gap, no repeat.
    logged_after = json.loads((out / 'log').read_text())
    assert log_iterations(out) == list(range(2, 21, 2))
    kept = [entry for entry in logged_before if entry['iteration'] <= killed_at]
    assert logged_after[:len(kept)] == kept
    with np.load(out / 'snapshot_iter_20') as snapshot:
        assert int(snapshot['updater/optimizer:gen/t']) == 20
        assert int(snapshot['updater/optimizer:dis/t']) == 100
        assert int(snapshot['updater/iteration']) == 20
    for path in out.glob('snapshot_iter_*'):
        np.load(path).files  # every snapshot on disk is whole
    assert not list(out.glob('tmp*'))
    return out


def test_non_finite_loss_stops_with_one_line_and_keeps_snapshots(corpus_manifest, tmp_path):
    out = tmp_path / 'run'
    result = train(*FAST, '--manifest', corpus_manifest, '--iterations', 3, '--out', out,
                   '--lambda-rec', 'inf')
    assert result.returncode == 3
    assert 'gen/loss_rec became non-finite at iteration 1' in result.stderr
    assert 'Traceback' not in result.stderr


@pytest.mark.parametrize('case', ['missing manifest', 'all unreadable', 'unknown corpus format',
                                  'bad interval', 'no cupy'])
def test_bad_input_is_one_line_exit_2(tmp_path, case):
    manifest = tmp_path / 'm.csv'
    if case == 'all unreadable':
        (tmp_path / 'a.wav').write_bytes(b'junk')
        (tmp_path / 'b.wav').write_bytes(b'junk')
        manifest.write_text('path,speaker\na.wav,x\nb.wav,y\n')
    args = {'missing manifest': ['--manifest', manifest],
            'all unreadable': ['--manifest', manifest],
            'unknown corpus format': ['--corpus', 'timit', tmp_path],
            'bad interval': ['--manifest', manifest, '--log-interval', 'often'],
            'no cupy': ['--manifest', make_corpus(tmp_path / 'c'), '--gpu', '0']}[case]
    result = train(*FAST, *args, '--iterations', 1, '--out', tmp_path / 'run')
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith('error:')]
    assert len(errors) == 1 and 'Traceback' not in result.stderr
    expected = {'missing manifest': str(manifest), 'all unreadable': 'none of the corpus',
                'unknown corpus format': 'timit', 'bad interval': 'often',
                'no cupy': '--gpu'}[case]
    assert expected in errors[0]


@pytest.mark.parametrize('features', ['spectrogram', 'world'])
def test_odd_corpora_still_train(tmp_path, features):
    """One bad file among many is reported once and skipped (the world kind reads each file
    once, for its statistics and its windows); a label group with a single class and a
    speaker with a single file are fine."""
    root = tmp_path / 'c'
    for i in range(3):
        write_voice(root / f'a{i}.wav', 1.5, 130, seed=i)
    write_voice(root / 'b0.wav', 1.5, 230, seed=9)
    (root / 'broken.wav').write_bytes(b'RIFF....WAVEjunk')
    (root / 'm.csv').write_text('path,speaker,sex\na0.wav,a,female\na1.wav,a,female\n'
                                'a2.wav,a,female\nb0.wav,b,female\nbroken.wav,b,female\n')
    result = train(*FAST, '--manifest', root / 'm.csv', '--iterations', 2, '--features', features,
                   '--out', tmp_path / 'run', '--sample-interval', '2i')
    assert result.returncode == 0, result.stderr
    assert result.stderr.count('broken.wav') == 1
    model = json.loads((tmp_path / 'run' / 'model.json').read_text())
    assert model['labels']['groups'][1] == {'name': 'sex', 'classes': ['female']}


def test_resuming_into_a_run_of_another_preset_is_refused(corpus_manifest, tmp_path):
    out = tmp_path / 'run'
    assert train(*FAST, '--manifest', corpus_manifest, '--iterations', 1, '--out', out).returncode == 0
    result = train('--preset', 'cfcefd21', '--manifest', corpus_manifest, '--iterations', 1,
                   '--out', out)
    assert result.returncode == 2 and 'holds a tiny model' in result.stderr


def test_the_same_seed_trains_the_same_weights(corpus_manifest, tmp_path):
    runs = []
    for name in ('a', 'b'):
        out = tmp_path / name
        assert train(*FAST, '--manifest', corpus_manifest, '--iterations', 1, '--out', out,
                     '--sample-interval', '1000i').returncode == 0
        runs.append(np.load(out / 'gen_iter_1.npz'))
    assert sorted(runs[0].files) == sorted(runs[1].files)
    for key in runs[0].files:
        np.testing.assert_array_equal(runs[0][key], runs[1][key])


def test_a_resumed_run_keeps_its_own_settings_and_says_which_differ(corpus_manifest, tmp_path):
    out = tmp_path / 'run'
    common = [*FAST, '--manifest', corpus_manifest, '--out', out, '--log-interval', '1i',
              '--snapshot-interval', '1i', '--sample-interval', '100i', '--plot-interval', '100i']
    first = train(*common, '--iterations', 1, '--lambda-id', 5)
    assert first.returncode == 0, first.stderr
    same = train(*common, '--iterations', 2, '--lambda-id', 5)
    assert same.returncode == 0 and 'warning' not in same.stderr, same.stderr
    other = train(*common, '--iterations', 3, '--lambda-id', 7, '--gen-channels', 4, 8, 16, 32)
    assert other.returncode == 0, other.stderr
    warnings = [line for line in other.stderr.splitlines() if line.startswith('warning')]
    assert len(warnings) == 1 and str(out) in warnings[0], other.stderr
    assert 'lambda_id 5.0 (asked: 7.0)' in warnings[0]
    assert 'gen_channels' not in warnings[0]  # the tiny preset's own widths: no difference
    assert json.loads((out / 'model.json').read_text())['training']['lambda_id'] == 5.0
    # Iteration 3 trained with the stored weight: G's total is its terms weighted as stored
    # (adversarial 1, classification 1, cycle 10, feature matching 10, identity 5).
    last = json.loads((out / 'log').read_text())[-1]
    assert last['iteration'] == 3
    total = (last['gen/loss_adv'] + last['gen/loss_cls'] + 10 * last['gen/loss_rec']
             + 10 * last['gen/loss_fm'] + 5 * last['gen/loss_id'])
    assert last['gen/loss'] == pytest.approx(total, rel=1e-5)
