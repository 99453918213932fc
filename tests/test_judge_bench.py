"""bench/judge_speed.py as `make bench` runs it, on a few short utterances."""
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_judge_speed_reports_seconds_per_utterance(tmp_path):
    done = subprocess.run([sys.executable, 'bench/judge_speed.py', '--utterances', '2',
                           '--seconds', '1', '--repeats', '1', '--out', str(tmp_path)],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    result = json.loads((tmp_path / 'judge.json').read_text())
    assert printed == result['seconds_per_utterance']
    for name in ('embed', 'embed_one_by_one', 'vocoder'):
        assert 0 < result['seconds_per_utterance'][name] < 60
    assert result['partials_per_utterance'] == 1
    assert result['judged_utterance_s'] > result['seconds_per_utterance']['embed']
    readme = (tmp_path / 'README.md').read_text()
    assert 'python bench/judge_speed.py --utterances 2' in readme and '| vocoder path' in readme
