"""convert.py as a user runs it: a subprocess from the repository root."""
import dataclasses
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from chainer_vc.common import audio
from chainer_vc.networks.run_directory import MODEL_JSON, ModelConfig
from conftest import TRAINED_ITERATIONS
from test_conversion import CONFIG, SAMPLE_RATE, speech_like, write_wav

REPO = Path(__file__).resolve().parents[1]
TIMEOUT_S = 120


def convert(*args):
    return subprocess.run([sys.executable, 'convert.py', *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=TIMEOUT_S)


@pytest.fixture(scope='module')
def run_directory(tiny_run):
    return tiny_run


@pytest.fixture
def source(tmp_path):
    return write_wav(tmp_path / 'speech.wav', speech_like())


def _read(path):
    samples, rate = soundfile.read(str(path), dtype='float32', always_2d=True)
    return samples, rate


def test_converts_a_file_to_two_targets(run_directory, source, tmp_path):
    outputs = []
    for name, targets in (('alice', ['speaker=alice']), ('bob', ['speaker=bob', 'sex=male'])):
        flags = [flag for target in targets for flag in ('--target', target)]
        result = convert('--model', run_directory, '--input', source,
                         '--output', tmp_path / f'{name}.wav', *flags)
        assert result.returncode == 0, result.stderr
        samples, rate = _read(tmp_path / f'{name}.wav')
        assert rate == SAMPLE_RATE and samples.shape[1] == 1
        assert abs(len(samples) - len(speech_like())) <= CONFIG.hop
        assert np.all(np.isfinite(samples)) and audio.rms(samples[:, 0]) > 0.01
        outputs.append(samples[:, 0])
    assert audio.rms(outputs[0] - outputs[1]) > 0.05 * audio.rms(outputs[0])


def test_converts_a_folder_with_options(run_directory, tmp_path):
    folder = tmp_path / 'in'
    folder.mkdir()
    write_wav(folder / 'a.wav', speech_like(seconds=0.5))
    soundfile.write(str(folder / 'b.flac'), speech_like(seconds=0.7, sample_rate=22050), 22050)
    result = convert('--model', run_directory, '--input', folder, '--output', tmp_path / 'out',
                     '--target', 'sex=female', '--snapshot', 1, '--phase', 'source',
                     '--high-band', 'drop', '--keep-rate', '--motion-scale', 0.5)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / 'out').iterdir()) == ['a.wav', 'b.wav']
    assert soundfile.info(str(tmp_path / 'out' / 'b.wav')).samplerate == 22050
    assert 'a.wav' in result.stdout and 'b.flac' in result.stdout


def test_overwrite_replaces_an_existing_output(run_directory, source, tmp_path):
    output = tmp_path / 'out.wav'
    output.write_bytes(b'old')
    result = convert('--model', run_directory, '--input', source, '--output', output,
                     '--target', 'speaker=carol', '--overwrite', '--iterations', 4)
    assert result.returncode == 0, result.stderr
    assert soundfile.info(str(output)).samplerate == SAMPLE_RATE


def test_list_targets(run_directory):
    result = convert('--model', run_directory, '--list-targets')
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ['speaker (3): alice, bob, carol',
                                          'sex (2): female, male']


# ----------------------------------------------------------------------- bad input

def _model_without_weights(run_directory, tmp_path):
    model = tmp_path / 'no_weights'
    model.mkdir()
    shutil.copy(run_directory / MODEL_JSON, model)
    return model, model


def _model_without_json(run_directory, tmp_path):
    model = tmp_path / 'no_json'
    model.mkdir()
    shutil.copy(run_directory / f'gen_iter_{TRAINED_ITERATIONS}.npz', model)
    return model, model


def _model_with_other_features(run_directory, tmp_path):
    model = tmp_path / 'other_features'
    model.mkdir()
    config = ModelConfig.load(run_directory)
    floor = config.features.magnitude_floor / 10
    other = dataclasses.replace(config.features, magnitude_floor=floor)
    dataclasses.replace(config, features=other).save(model)
    weights = model / f'gen_iter_{TRAINED_ITERATIONS}.npz'
    shutil.copy(run_directory / weights.name, weights)
    return model, weights


def _write_file(name, samples):
    def make(tmp_path):
        return write_wav(tmp_path / name, samples)
    return make


def _missing(tmp_path):
    return tmp_path / 'missing.wav'


def _unreadable(tmp_path):
    path = tmp_path / 'broken.wav'
    path.write_bytes(b'RIFF not really a wave file')
    return path


# Each case: (what the input is, extra arguments, what stderr must also say).
INPUT_CASES = {
    'missing': (_missing, [], 'no such file'),
    'unreadable': (_unreadable, [], 'cannot decode'),
    'empty': (_write_file('empty.wav', np.zeros(0, dtype=np.float32)), [], 'no audio'),
    'silent': (_write_file('silent.wav', np.zeros(SAMPLE_RATE, dtype=np.float32)), [],
               'silent'),
    'shorter_than_a_hop': (_write_file('short.wav', speech_like()[:CONFIG.hop - 1]), [],
                           'shorter than one hop'),
}


@pytest.mark.parametrize('case', sorted(INPUT_CASES))
def test_bad_input_file(run_directory, tmp_path, case):
    make_input, extra, message = INPUT_CASES[case]
    path = make_input(tmp_path)
    output = tmp_path / 'out.wav'
    result = convert('--model', run_directory, '--input', path, '--output', output,
                     '--target', 'speaker=alice', *extra)
    _assert_refused(result, str(path), message)
    assert not output.exists()


MODEL_CASES = {
    'no_weights': (_model_without_weights, 'no gen_iter'),
    'no_json': (_model_without_json, 'no model.json'),
    'other_features': (_model_with_other_features, 'different feature config'),
}


@pytest.mark.parametrize('case', sorted(MODEL_CASES))
def test_bad_model_directory(run_directory, source, tmp_path, case):
    make_model, message = MODEL_CASES[case]
    model, named = make_model(run_directory, tmp_path)
    output = tmp_path / 'out.wav'
    result = convert('--model', model, '--input', source, '--output', output,
                     '--target', 'speaker=alice')
    _assert_refused(result, str(named), message)
    assert not output.exists()


@pytest.mark.parametrize('target, message', [
    ('speaker=dave', 'alice, bob, carol'),
    ('age=old', 'unknown label group'),
    ('speaker', 'GROUP=NAME'),
])
def test_bad_target(run_directory, source, tmp_path, target, message):
    output = tmp_path / 'out.wav'
    result = convert('--model', run_directory, '--input', source, '--output', output,
                     '--target', target)
    _assert_refused(result, target.partition('=')[0], message)
    assert not output.exists()


def test_bad_motion_scale(run_directory, source, tmp_path):
    output = tmp_path / 'out.wav'
    result = convert('--model', run_directory, '--input', source, '--output', output,
                     '--target', 'speaker=alice', '--motion-scale', -0.5)
    _assert_refused(result, 'motion scale -0.5', 'must be >= 0')
    result = convert('--baseline', '--manifest', tmp_path / 'any.csv', '--input', source,
                     '--output', output, '--target', 'speaker=alice', '--motion-scale', 0)
    assert result.returncode == 2 and '--baseline has none' in result.stderr
    assert not output.exists()


def test_output_equal_to_input_is_refused(run_directory, source):
    before = source.read_bytes()
    result = convert('--model', run_directory, '--input', source, '--output', source,
                     '--target', 'speaker=alice', '--overwrite')
    _assert_refused(result, str(source), 'the output is the input')
    assert source.read_bytes() == before


def test_existing_output_is_kept_without_overwrite(run_directory, source, tmp_path):
    output = tmp_path / 'out.wav'
    output.write_bytes(b'keep me')
    result = convert('--model', run_directory, '--input', source, '--output', output,
                     '--target', 'speaker=alice')
    _assert_refused(result, str(output), '--overwrite')
    assert output.read_bytes() == b'keep me'


def test_one_bad_file_in_a_folder_writes_nothing(run_directory, tmp_path):
    folder = tmp_path / 'in'
    folder.mkdir()
    write_wav(folder / 'a.wav', speech_like(seconds=0.5))
    write_wav(folder / 'b.wav', np.zeros(SAMPLE_RATE, dtype=np.float32))
    result = convert('--model', run_directory, '--input', folder, '--output', tmp_path / 'out',
                     '--target', 'speaker=alice')
    _assert_refused(result, str(folder / 'b.wav'), 'silent')
    assert not (tmp_path / 'out').exists() or not any((tmp_path / 'out').iterdir())


def _assert_refused(result, named, message):
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert named in lines[0] and message in lines[0], lines[0]
    assert result.stdout == ''
