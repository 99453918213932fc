"""train.py --eval-interval: the judges' values in the log and in their plots."""
import json
import subprocess
import sys
from pathlib import Path

from chainer_vc.training.evaluation_extension import EVAL_KEYS
from conftest import TRAINED_SPEAKERS, make_corpus

REPO = Path(__file__).resolve().parents[1]


def train(manifest, out, *extra):
    return subprocess.run(
        [sys.executable, 'train.py', '--gpu', '-1', '--preset', 'tiny', '--batchsize', '3',
         '--manifest', str(manifest), '--out', str(out), '--iterations', '2',
         '--log-interval', '1i', '--plot-interval', '1i', '--snapshot-interval', '100i',
         '--sample-interval', '100i', '--no-progress', *extra],
        cwd=REPO, capture_output=True, text=True, timeout=600)


def test_eval_interval_reports_the_judges(tmp_path):
    manifest = make_corpus(tmp_path / 'corpus', files_per_speaker=2, seconds=1.5,
                           speakers=dict(list(TRAINED_SPEAKERS.items())[:2]))
    result = train(manifest, tmp_path / 'run', '--eval-interval', '2i')
    assert result.returncode == 0, result.stderr
    log = json.loads((tmp_path / 'run' / 'log').read_text())
    assert [set(EVAL_KEYS) <= set(entry) for entry in log] == [False, True]
    judged = log[-1]
    assert 0 <= judged['eval/target_accepted'] <= 1
    assert -2 <= judged['eval/similarity_margin'] <= 2
    assert judged['eval/cycle_lsd'] > 0
    assert (tmp_path / 'run' / 'eval_speaker.png').is_file()
    assert (tmp_path / 'run' / 'eval_cycle_lsd.png').is_file()


def test_eval_interval_with_one_speaker_stops_before_training(tmp_path):
    manifest = make_corpus(tmp_path / 'corpus', files_per_speaker=2, seconds=1.5,
                           speakers=dict(list(TRAINED_SPEAKERS.items())[:1]))
    result = train(manifest, tmp_path / 'run', '--eval-interval', '1i')
    assert result.returncode == 2
    assert result.stderr.count('\n') == 1 and 'at least 2' in result.stderr
    assert not list((tmp_path / 'run').glob('gen_iter_*.npz'))


def test_eval_interval_off_by_default(tiny_run):
    log = json.loads((tiny_run / 'log').read_text())
    assert log and not any(key.startswith('eval/') for entry in log for key in entry)
