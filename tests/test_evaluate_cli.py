"""evaluate.py as a user runs it, on the tiny trained model; its listening page rendered in
headless Chromium."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

import evaluate
from chainer_vc.judging import evaluation
from chainer_vc.judging.selection import Limits, select_utterances
from chainer_vc.corpus import read_manifest
from chainer_vc.corpus.split import save_heldout, corpus_root

REPO = Path(__file__).resolve().parents[1]
PAIRS = 3
EXAMPLES = 2
CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
                  '--disable-component-update', '--disable-sync', '--no-first-run']


def manifest_of(run):
    return run.parent / 'corpus' / 'manifest.csv'


@pytest.fixture(scope='module')
def evaluated(tiny_run, tmp_path_factory):
    out = tmp_path_factory.mktemp('evaluation') / 'tiny'
    result = subprocess.run(
        [sys.executable, 'evaluate.py', '--model', str(tiny_run), '--manifest',
         str(manifest_of(tiny_run)), '--pairs', str(PAIRS), '--examples', str(EXAMPLES),
         '--transcribe', 'alice', '--out', str(out)], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    return out, result


def test_report_has_every_row_and_the_judges_calibration(evaluated):
    out, result = evaluated
    report = json.loads((out / 'report.json').read_text())
    assert report['speakers'] == ['alice', 'bob', 'carol']
    assert report['counts']['pairs'] == PAIRS
    assert report['motion_scale'] == 1.0  # G's output as it is, unless asked otherwise
    assert set(report['rows']) == set(evaluation.ROWS)
    # The tiny run holds nothing out (2 utterances per speaker).
    assert 'which the model may have trained on' in report['utterances']
    for row in report['rows'].values():
        assert row['n'] == PAIRS
        assert sorted(row['judge2']) == ['sex', 'speaker']
    # The synthetic voices differ in pitch: real target speech is the target's, unconverted
    # source speech is not (a judge that could not tell would fail here).
    assert report['rows']['target_vocoded']['target_accepted'] == 1.0
    assert report['rows']['source']['target_accepted'] == 0.0
    assert report['rows']['source']['similarity_margin'] < 0 < \
        report['rows']['target_vocoded']['similarity_margin']
    assert report['judge1']['identification']['real_vocoded'] == 1.0
    similarity = np.asarray(report['judge1']['centroid_similarity'])
    assert similarity.shape == (3, 3) and np.allclose(np.diag(similarity), 1, atol=1e-3)
    assert np.allclose(similarity, similarity.T) and similarity.max() <= 1 + 1e-3
    assert 0 <= report['judge1']['equal_error_rate'] <= 0.5
    assert set(report['judge2']['ceiling']) == {'speaker', 'sex'}
    # The signal-processing rows move the voices (they differ in pitch alone) towards the
    # target; per direction, every row says how many pairs it holds.
    for name in evaluation.BASELINE_ROWS:
        assert report['rows'][name]['similarity_margin'] > \
            report['rows']['source_vocoded']['similarity_margin']
    for row in report['rows'].values():
        assert sum(d['n'] for d in row['directions'].values()) == PAIRS
        assert sum(k['n'] for k in row['pairings'].values()) == PAIRS  # all labelled by sex
    # Three pairs are drawn from three different directions (as many from each).
    assert len(report['rows']['converted']['directions']) == PAIRS
    content = report['content']
    assert content['baseline_cycle_lsd'] > 0 and content['baseline_identity_lsd'] > 0
    assert content['vocoder_lsd'] < content['identity_lsd']  # G, barely trained, changes a lot
    assert content['label_sensitivity'] > 0 and content['change_from_input'] > 0
    assert content['motion_from_input'] > 0
    assert 'target accepted' in result.stdout
    # The content judge transcribed every conversion of alice's speech, in every row.
    found = report['transcripts']
    from_alice = [n for n, pair in enumerate(report['pairs']) if pair['source_speaker'] == 'alice']
    assert found['speakers'] == ['alice'] and [p['pair'] for p in found['pairs']] == from_alice
    assert found['n'] == len(from_alice) >= 1 and found['n_truth'] == 0
    for pair in found['pairs']:
        assert set(pair) >= {'source', 'source_vocoded', 'f0_only', 'shift', 'baseline',
                             'converted'}
        assert all(isinstance(pair[row], str) for row in evaluation.TRANSCRIBED_ROWS)
    assert set(found['agreement']) == set(evaluation.TRANSCRIBED_ROWS)
    assert all(0 <= scores['word'] <= 1 for scores in found['agreement'].values())


def test_readme_starts_with_the_command_and_holds_the_table(evaluated):
    out, _ = evaluated
    readme = (out / 'README.md').read_text().splitlines()
    assert readme[2] == '```sh' and readme[3].startswith('python evaluate.py --model ')
    table = [line for line in readme if line.startswith('| ')]
    assert any(line.startswith('| converted |') for line in table)
    assert any('(floor)' in line for line in table) and any('(ceiling)' in line for line in table)
    tables, block = [], []
    for line in readme + ['']:
        if line.startswith('|'):
            block.append(line)
        elif block:
            tables.append(block)
            block = []
    for block in tables:
        assert len({line.count(' | ') for line in block if not line.startswith('|---')}) == 1
    report = json.loads((out / 'report.json').read_text())
    for direction in report['rows']['converted']['directions']:
        assert sum(line.startswith(f'| {direction} | 1 |') for line in table) == 1
    assert any(line.startswith('|  | ') and 'same-sex (' in line for line in table)


def test_plots_and_examples_are_written(evaluated):
    out, _ = evaluated
    for name in ('confusion.png', 'similarity.png'):
        image = matplotlib.image.imread(out / name)
        assert image.shape[0] > 100 and image.std() > 0.05
    # Source, baseline, converted and real target of each example.
    assert len(list((out / 'audio').glob('*.wav'))) == 4 * EXAMPLES
    assert len(list((out / 'spectrograms').glob('*.png'))) == 4 * EXAMPLES


def _chromium():
    for name in ('chromium', 'chromium-browser'):
        if shutil.which(name):
            return shutil.which(name)
    pytest.fail('headless Chromium is needed to render the listening page: '
                'apt-get install chromium (make test does so as root)')


def _render(page: Path, tmp_path: Path, *mode):
    return subprocess.run([_chromium(), *CHROMIUM_FLAGS, f'--user-data-dir={tmp_path / "profile"}',
                           *mode, page.as_uri()],
                          capture_output=True, text=True, timeout=120)


def test_listening_page_renders_in_chromium(evaluated, tmp_path):
    out, _ = evaluated
    page = out / 'index.html'
    dom = _render(page, tmp_path, '--dump-dom')
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    assert html.count('<audio') == 4 * EXAMPLES
    assert html.count('class="example"') == EXAMPLES
    assert 'converted' in html and '(ceiling)' in html
    # Transcribed pairs come first, each with what was heard beside source, baseline and
    # conversion.
    report = json.loads((out / 'report.json').read_text())
    shown = min(EXAMPLES, report['transcripts']['n'])
    assert html.count('class="heard"') == 3 * shown and 'words agree with the source' in html
    for source in ('audio/0_source.wav', 'audio/0_baseline.wav', 'audio/0_converted.wav',
                   'audio/0_target.wav',
                   'spectrograms/1_converted.png'):
        assert f'src="{source}"' in html and (out / source).is_file()
    shot = tmp_path / 'page.png'
    result = _render(page, tmp_path, f'--screenshot={shot}', '--window-size=1400,1600',
                     '--hide-scrollbars')
    assert shot.is_file(), result.stderr[-2000:]
    pixels = matplotlib.image.imread(shot)[..., :3]
    # Drawn spectrograms: many dark, saturated magma colours, which text and empty image
    # frames do not give.
    colours = np.unique((pixels * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    dark = np.mean(pixels.max(axis=-1) < 0.3)
    assert len(colours) > 1000 and dark > 0.02


# --------------------------------------------------------------------------- bad input

def _main(capsys, *args):
    code = evaluate.main([str(a) for a in args])
    err = capsys.readouterr().err.strip()
    return code, err


def test_run_directory_without_weights_is_exit_2(tiny_run, tmp_path, capsys):
    bare = tmp_path / 'bare'
    bare.mkdir()
    shutil.copy(tiny_run / 'model.json', bare / 'model.json')
    code, err = _main(capsys, '--model', bare, '--manifest', manifest_of(tiny_run),
                      '--out', tmp_path / 'out')
    assert code == 2 and '\n' not in err and 'weights' in err
    assert not (tmp_path / 'out').exists()


def test_manifest_with_one_speaker_is_exit_2(tiny_run, tmp_path, capsys):
    lines = manifest_of(tiny_run).read_text().splitlines()
    one = tmp_path / 'one.csv'
    corpus = manifest_of(tiny_run).parent
    one.write_text('\n'.join([lines[0]] + [f'{corpus}/{line}' for line in lines[1:]
                                           if ',alice,' in line]) + '\n')
    code, err = _main(capsys, '--model', tiny_run, '--manifest', one, '--out', tmp_path / 'out')
    assert code == 2 and '\n' not in err and 'at least 2' in err and str(one) in err
    assert not (tmp_path / 'out').exists()


def test_transcribing_an_unknown_speaker_is_exit_2(tiny_run, tmp_path, capsys):
    code, err = _main(capsys, '--model', tiny_run, '--manifest', manifest_of(tiny_run),
                      '--transcribe', 'zed', '--out', tmp_path / 'out')
    assert code == 2 and '\n' not in err and 'zed' in err and 'alice' in err
    assert not (tmp_path / 'out').exists()


def test_negative_motion_scale_is_exit_2(tiny_run, tmp_path, capsys):
    code, err = _main(capsys, '--model', tiny_run, '--manifest', manifest_of(tiny_run),
                      '--motion-scale', '-1', '--out', tmp_path / 'out')
    assert code == 2 and '\n' not in err and '--motion-scale -1.0' in err
    assert not (tmp_path / 'out').exists()


def test_manifest_of_unknown_speakers_is_exit_2(tiny_run, tmp_path, capsys):
    source = next(manifest_of(tiny_run).parent.rglob('*.wav'))
    other = tmp_path / 'other.csv'
    other.write_text(f'path,speaker\n{source},zed\n{source},yan\n')
    code, err = _main(capsys, '--model', tiny_run, '--manifest', other, '--out', tmp_path / 'o')
    assert code == 2 and '\n' not in err and 'zed' in err
    assert not (tmp_path / 'o').exists()


# ----------------------------------------------------------------------- the held-out list

def test_judges_use_the_held_out_list_and_train_judge_2_outside_it(tiny_run, tmp_path):
    corpus = read_manifest(manifest_of(tiny_run))
    run = tmp_path / 'run'
    run.mkdir()
    by_speaker = {}
    for utterance in corpus.utterances:
        by_speaker.setdefault(utterance.labels['speaker'], []).append(utterance)
    heldout = [u for us in by_speaker.values() for u in us[:2]]
    save_heldout(run, heldout, corpus_root(corpus.utterances))
    limits = Limits(references=1, probes=1)
    selection = select_utterances(corpus, run, limits, 'm.csv')
    assert 'held-out list' in selection.description
    held = {u.path for u in heldout}
    assert {u.path for u in selection.references + selection.probes} <= held
    assert not {u.path for u in selection.references} & {u.path for u in selection.probes}
    assert not {u.path for u in selection.classifier_train} & held
    assert len(selection.probes) == len(by_speaker)


def test_too_few_held_out_utterances_fall_back_to_the_whole_manifest(tiny_run, tmp_path):
    corpus = read_manifest(manifest_of(tiny_run))
    run = tmp_path / 'run'
    run.mkdir()
    save_heldout(run, corpus.utterances[:1], corpus_root(corpus.utterances))
    selection = select_utterances(corpus, run, Limits(), 'm.csv')
    assert 'too few for 2 speakers' in selection.description
    assert len(selection.probes) == 3 and len(selection.references) == 3


def test_a_manifest_made_by_the_folders_reader_is_judged(tiny_run, tmp_path):
    """The tiny corpus is laid out root/<speaker>/*.wav: the `folders` reader's manifest
    (speaker only, no sex column) judges the same model."""
    from chainer_vc.corpus import READERS, write_manifest
    manifest = write_manifest(READERS['folders'](manifest_of(tiny_run).parent),
                              tmp_path / 'folders.csv')
    assert tuple(read_manifest(manifest).group_names) == ('speaker',)
    out = tmp_path / 'out'
    result = subprocess.run(
        [sys.executable, 'evaluate.py', '--model', str(tiny_run), '--manifest', str(manifest),
         '--pairs', str(PAIRS), '--examples', '1', '--out', str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    report = json.loads((out / 'report.json').read_text())
    assert report['speakers'] == ['alice', 'bob', 'carol']
    assert report['counts']['pairs'] == PAIRS
    assert (out / 'index.html').is_file() and (out / 'confusion.png').is_file()
