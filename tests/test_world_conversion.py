"""The world kind end to end: train.py --features world, conversion, the baseline, bad input."""
import copy
import dataclasses
import json
import shutil
import subprocess
import sys
import warnings

import numpy as np
import pytest
import soundfile

from chainer_vc.common import audio, errors
from chainer_vc.conversion import baseline
from chainer_vc.features import kinds, world
from chainer_vc.conversion.converter import Converter
from chainer_vc.corpus import read_manifest
from chainer_vc.common.errors import InputError, InputWarning
from chainer_vc.networks.run_directory import ModelConfig, load_generator
from conftest import FORMANT_SPEAKERS, REPO, WORLD_ITERATIONS, formant_voice, make_formant_corpus


def median_f0(samples):
    analysis = world.analyze(samples, world.WorldConfig(), aperiodicity=False)
    return float(np.median(analysis.f0[analysis.f0 > 0]))


def run(script, *args, timeout=300):
    return subprocess.run([sys.executable, str(REPO / script), *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, cwd=REPO)


def test_world_run_records_its_kind_and_statistics(world_run):
    config = ModelConfig.load(world_run)
    features = config.features
    assert isinstance(features, world.WorldConfig) and features.fitted
    data = json.loads((world_run / 'model.json').read_text())['features']
    assert data['kind'] == 'world' and data['f0_method'] == 'dio' and data['axis'] == 'mel'
    assert len(data['statistics']['bin_mean']) == 256
    speakers = data['statistics']['classes']['speaker']
    assert set(speakers) == set(FORMANT_SPEAKERS)
    # Each speaker's ln F0 mean is its own voice's (110 and 220 Hz, within the files' 2 %).
    for name, (_, f0, _) in FORMANT_SPEAKERS.items():
        assert np.exp(speakers[name]['log_f0_mean']) == pytest.approx(f0 * 1.02, rel=0.05)
    assert (world_run / f'gen_iter_{WORLD_ITERATIONS}.npz').is_file()
    assert list((world_run / 'samples').glob('iter_2/*.wav'))
    generator, loaded = load_generator(world_run)
    assert loaded.features == features


def test_world_dataset_windows_are_the_seed_shape(world_run, tmp_path):
    config = ModelConfig.load(world_run)
    manifest = make_formant_corpus(tmp_path / 'c', files_per_speaker=1, seconds=0.5)
    corpus = read_manifest(manifest, config.labels)
    kind = kinds.build(config.features, config.labels)
    dataset = kind.dataset([u.path for u in corpus.utterances], corpus.codes(config.labels),
                           config.labels, seed=0)
    x, labels, target = dataset.get_example(0)
    # 0.5 s is 32 frames of 16 ms: padded to the window's 64 with its last frame.
    assert x.shape == (1, 64, 256) and x.dtype == np.float32
    assert 0 <= x.min() and x.max() <= 1
    assert np.array_equal(x[0, 40], x[0, 63])
    assert labels.shape == (config.labels.input_size,)


def test_conversion_moves_f0_to_the_target_and_keeps_length(world_run):
    converter = Converter.from_run_directory(world_run)
    source = formant_voice(1.5, 110.0, 1.0, seed=3)
    converted = converter.convert(source, {'speaker': 'bright'})
    assert converted.shape == source.shape and np.all(np.isfinite(converted))
    assert median_f0(converted) == pytest.approx(220 * 1.02, rel=0.08)
    # Loudness restored to the source's.
    assert np.sqrt(np.mean(converted ** 2)) == pytest.approx(np.sqrt(np.mean(source ** 2)),
                                                             rel=0.02)


def test_named_source_speaker_uses_its_statistics(world_run):
    converter = Converter.from_run_directory(world_run, source={'speaker': 'deep'})
    classes = converter.features.statistics['classes']['speaker']
    deep, bright = classes['deep'], classes['bright']
    # One standard deviation above the named source's mean, whatever the input's own
    # statistics: one above the target's.
    f0 = np.array([0.0, np.exp(deep['log_f0_mean'] + deep['log_f0_std'])] * 3, np.float32)
    converted = converter.kind.target_f0(f0, converter.target_codes({'speaker': 'bright'}),
                                         converter.source_codes)
    assert converted[0] == 0
    assert converted[1] == pytest.approx(
        np.exp(bright['log_f0_mean'] + bright['log_f0_std']), rel=1e-4)


def test_vocoder_only_path_keeps_the_pitch(world_run):
    converter = Converter.from_run_directory(world_run)
    source = formant_voice(1.0, 150.0, seed=5)
    encoded = converter.kind.encode(source)
    assert encoded.unit.shape[0] % 8 == 0
    resynthesised = converter.kind.decode(encoded.unit, encoded)
    assert median_f0(resynthesised) == pytest.approx(150, rel=0.05)


def test_unvoiced_input_warns_and_keeps_its_f0(world_run):
    converter = Converter.from_run_directory(world_run)
    noise = (0.3 * np.random.default_rng(0).standard_normal(16000)).astype(np.float32)
    with pytest.warns(InputWarning, match='no voiced frames'):
        converted = converter.convert(noise, {'speaker': 'bright'})
    assert converted.shape == noise.shape and np.all(np.isfinite(converted))


def test_input_warnings_name_the_file_once(capsys):
    """An input converted many times (the judge converts it to every target) is named
    once per message; other warnings pass through unchanged."""
    for _ in range(3):
        with errors.warnings_about('a/whispered.wav'):
            warnings.warn(InputWarning('no voiced frames'))
    with errors.warnings_about('b/other.wav'):
        warnings.warn(InputWarning('no voiced frames'))
    assert capsys.readouterr().err.splitlines() == [
        'warning: a/whispered.wav: no voiced frames', 'warning: b/other.wav: no voiced frames']
    with pytest.warns(RuntimeWarning, match='unrelated'):
        with errors.warnings_about('c.wav'):
            warnings.warn('unrelated', RuntimeWarning)
    assert capsys.readouterr().err == ''


def test_target_without_statistics_is_one_line(tmp_path):
    """A speaker whose every recording is whispered (too little voiced) gets no F0
    statistics: converting to it is one line and exit 2, nothing written; converting from
    such input still works (its F0 is kept, with a warning)."""
    manifest = make_formant_corpus(tmp_path / 'corpus', files_per_speaker=2)
    rng = np.random.default_rng(0)
    lines = manifest.read_text().splitlines()
    for i in range(2):
        name = f'whisper/whisper_{i}.wav'
        (tmp_path / 'corpus' / 'whisper').mkdir(exist_ok=True)
        noise = (0.2 * rng.standard_normal(24000)).astype(np.float32)
        soundfile.write(str(tmp_path / 'corpus' / name), noise, 16000)
        lines.append(f'{name},whisper,female')
    manifest.write_text('\n'.join(lines) + '\n')
    converter = baseline.from_corpus(manifest)
    assert converter.features.class_statistics('speaker', 'whisper') is None
    with pytest.raises(InputError, match='whisper') as error:
        converter.check_target({'speaker': 'whisper'})
    assert '\n' not in str(error.value) and 'F0 statistics' in str(error.value)
    source = tmp_path / 'in.wav'
    soundfile.write(str(source), formant_voice(1.0, 110.0), 16000)
    out = tmp_path / 'out.wav'
    result = run('convert.py', '--baseline', '--manifest', manifest, '--input', source,
                 '--output', out, '--target', 'speaker=whisper')
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert 'whisper' in result.stderr and not out.exists()
    whispered = tmp_path / 'whispered.wav'
    soundfile.write(str(whispered), (0.2 * rng.standard_normal(16000)).astype(np.float32),
                    16000)
    result = run('convert.py', '--baseline', '--manifest', manifest, '--input', whispered,
                 '--output', out, '--target', 'speaker=bright')
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        f'warning: {whispered}: no voiced frames (whispered or unvoiced): its F0 is left as '
        'it is; the envelope is converted']
    assert out.is_file()


def test_fit_warp_recovers_a_known_factor():
    config = world.WorldConfig()
    frequencies = world.axis_frequencies(config)
    source = -np.log1p(frequencies / 300) + sum(
        2 * np.exp(-((frequencies - f) / 200) ** 2) for f in (500, 1500, 2500))
    for factor in (0.7, 1.0, 1.3):
        target = world.warp_envelope(source[None], factor, config)[0] + 0.8
        assert baseline.fit_warp(source, target, config) == pytest.approx(factor, rel=0.01)


def test_baseline_converts_f0_and_formants(tmp_path):
    manifest = make_formant_corpus(tmp_path / 'corpus', files_per_speaker=2)
    converter = baseline.from_corpus(manifest)
    source = formant_voice(1.5, 110.0, 1.0, seed=7)
    codes = converter.target_codes({'speaker': 'bright'})
    assert converter.warp_factor(source, codes) == pytest.approx(1.3, rel=0.06)
    converted = converter.convert(source, {'speaker': 'bright'})
    assert converted.shape == source.shape
    assert median_f0(converted) == pytest.approx(220 * 1.01, rel=0.08)
    f0_only = baseline.BaselineConverter(converter.config, mode='f0')
    assert median_f0(f0_only.convert(source, {'speaker': 'bright'})) == pytest.approx(
        220 * 1.01, rel=0.08)


def test_baseline_shift_moves_the_mean_envelope_and_keeps_how_it_moves(tmp_path):
    manifest = make_formant_corpus(tmp_path / 'corpus', files_per_speaker=2)
    shift = baseline.BaselineConverter(baseline.from_corpus(manifest).config, mode='shift')
    source = formant_voice(1.5, 110.0, 1.0, seed=7)
    analysis = world.analyze(audio.peak_normalize(source), shift.features, aperiodicity=False)
    codes = shift.target_codes({'speaker': 'bright'})
    change = shift.convert_envelope(analysis, codes) - analysis.log_envelope
    # One constant per bin, for every frame: the target's mean less this input's.
    expected = shift.target_envelope(codes) - shift.source_envelope(analysis)
    assert np.abs(expected).max() > 0.5
    np.testing.assert_allclose(change, np.broadcast_to(expected, change.shape), atol=1e-4)
    voiced = analysis.f0 > 0
    np.testing.assert_allclose((analysis.log_envelope + change)[voiced].mean(axis=0),
                               shift.target_envelope(codes), atol=1e-4)
    assert median_f0(shift.convert(source, {'speaker': 'bright'})) == pytest.approx(
        220 * 1.01, rel=0.08)


def test_baseline_spread_gives_each_bin_the_targets_mean_and_spread(tmp_path):
    manifest = make_formant_corpus(tmp_path / 'corpus', files_per_speaker=2)
    config = baseline.from_corpus(manifest).config
    spread = baseline.BaselineConverter(config, mode='spread')
    source = formant_voice(1.5, 110.0, 1.0, seed=7)
    analysis = world.analyze(audio.peak_normalize(source), spread.features, aperiodicity=False)
    codes = spread.target_codes({'speaker': 'bright'})
    converted = spread.convert_envelope(analysis, codes)
    voiced = analysis.f0 > 0
    statistics = spread.kind.statistics_of(codes)
    target_std = np.asarray(statistics['envelope_std'])
    source_std = analysis.log_envelope[voiced].std(axis=0)
    ratio = target_std / source_std
    # Where the ratio is inside the limit, the voiced frames take the target's spread...
    inside = (ratio > 1 / world.SPREAD_LIMIT) & (ratio < world.SPREAD_LIMIT)
    assert inside.sum() > 100
    np.testing.assert_allclose(converted[voiced].std(axis=0)[inside], target_std[inside],
                               rtol=1e-3)
    # ...and every bin the target's mean, each frame's deviation scaled by one factor per bin.
    np.testing.assert_allclose(converted[voiced].mean(axis=0), statistics['envelope'],
                               atol=1e-3)
    deviation = analysis.log_envelope - analysis.log_envelope[voiced].mean(axis=0)
    scale = np.clip(ratio, 1 / world.SPREAD_LIMIT, world.SPREAD_LIMIT)
    np.testing.assert_allclose(converted - converted[voiced].mean(axis=0), deviation * scale,
                               atol=1e-3)
    # Statistics fitted before the spread was kept are fitted again for it.
    old = copy.deepcopy(config.features.statistics)
    for group in old['classes'].values():
        for entry in group.values():
            del entry['envelope_std']
    stale = dataclasses.replace(config, features=dataclasses.replace(config.features,
                                                                     statistics=old))
    with pytest.raises(InputError, match='spread'):
        baseline.BaselineConverter(stale, mode='spread').convert_envelope(analysis, codes)
    corpus = read_manifest(manifest)
    refitted = baseline.with_spread(stale, [u.path for u in corpus.utterances],
                                    corpus.codes(config.labels))
    np.testing.assert_allclose(
        baseline.BaselineConverter(refitted, mode='spread').convert_envelope(analysis, codes),
        converted, atol=1e-4)
    assert baseline.with_spread(config, [], None) is config


def test_utterance_normalisation_makes_an_unchanged_g_the_spread_baseline(tmp_path):
    manifest = make_formant_corpus(tmp_path / 'corpus', files_per_speaker=2)
    config = baseline.from_corpus(manifest).config
    features = dataclasses.replace(config.features, normalisation='utterance')
    kind = kinds.build(features, config.labels)
    source = formant_voice(1.5, 110.0, 1.0, seed=7)
    encoded = kind.encode(source)
    analysis, frames = encoded.state.analysis, encoded.state.frames
    voiced = analysis.f0 > 0
    # G's input: the utterance's voiced frames standardised by their own mean and std.
    unit = encoded.unit[:frames]
    standard = (unit - 0.5) * 2 * features.spread
    inside = ((unit > 0) & (unit < 1)).all(axis=0)
    assert inside.sum() > 200
    expected = ((analysis.log_envelope - analysis.log_envelope[voiced].mean(axis=0))
                / analysis.log_envelope[voiced].std(axis=0))
    np.testing.assert_allclose(standard[:, inside], expected[:, inside], atol=1e-3)
    # Put back unconverted: the source's envelope; converted: the spread baseline's.
    np.testing.assert_allclose(
        features.to_log_envelope(unit, kind.target_scale(encoded.state.scale))[:, inside],
        analysis.log_envelope[:, inside], atol=1e-3)
    codes = config.labels.codes({'speaker': 'bright'})
    spread = baseline.BaselineConverter(config, mode='spread')
    np.testing.assert_allclose(
        features.to_log_envelope(unit, kind.target_scale(encoded.state.scale, codes))[:, inside],
        spread.convert_envelope(analysis, codes)[:, inside], atol=1e-3)
    # The corpus normalisation (the default) is one scale for every utterance.
    assert kinds.build(config.features, config.labels).encode(source).state.scale is None


def test_train_cli_records_the_envelope_normalisation(tmp_path):
    manifest = make_formant_corpus(tmp_path / 'corpus', files_per_speaker=1)
    out = tmp_path / 'run'
    result = run('train.py', '--features', 'world', '--preset', 'tiny', '--batchsize', '2',
                 '--envelope-normalisation', 'utterance', '--envelope-spread', '6',
                 '--residual', '--motion-only',
                 '--manifest', manifest, '--out', out, '--iterations', '1',
                 '--heldout-fraction', '0', '--no-progress')
    assert result.returncode == 0, result.stderr
    config = ModelConfig.load(out)
    assert config.features.normalisation == 'utterance' and config.features.spread == 6
    assert config.preset.gen_motion and config.build_generator().motion
    converted = Converter.from_run_directory(out).convert(formant_voice(1.0, 110.0, seed=3),
                                                {'speaker': 'bright'})
    assert converted.shape == (16000,) and np.isfinite(converted).all()
    refused = run('train.py', '--envelope-normalisation', 'utterance', '--manifest', manifest,
                  '--out', tmp_path / 'spectrogram', '--iterations', '1', '--no-progress')
    assert refused.returncode == 2 and 'world settings' in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert not (tmp_path / 'spectrogram').exists()


def test_baseline_needs_world_statistics(tiny_run):
    with pytest.raises(InputError, match='WORLD statistics'):
        baseline.from_arguments(tiny_run, None)
    with pytest.raises(InputError, match='statistics'):
        baseline.BaselineConverter(ModelConfig.load(tiny_run))


def test_convert_cli_baseline_from_a_manifest(tmp_path):
    manifest = make_formant_corpus(tmp_path / 'corpus', files_per_speaker=2)
    source = tmp_path / 'in.wav'
    soundfile.write(str(source), formant_voice(1.2, 110.0, seed=9), 16000)
    out = tmp_path / 'out.wav'
    result = run('convert.py', '--baseline', '--manifest', manifest, '--input', source,
                 '--output', out, '--target', 'speaker=bright')
    assert result.returncode == 0, result.stderr
    converted, rate = soundfile.read(str(out), dtype='float32')
    assert rate == 16000 and len(converted) == int(1.2 * 16000)
    assert median_f0(converted) == pytest.approx(220 * 1.01, rel=0.1)
    again = run('convert.py', '--baseline', '--manifest', manifest, '--input', source,
                '--output', out, '--target', 'speaker=nobody')
    assert again.returncode == 2 and len(again.stderr.strip().splitlines()) == 1
    assert 'nobody' in again.stderr


def test_convert_cli_world_model(world_run, tmp_path):
    source = tmp_path / 'in.wav'
    soundfile.write(str(source), formant_voice(1.0, 220.0, 1.3, seed=2), 16000)
    out = tmp_path / 'out.wav'
    result = run('convert.py', '--model', world_run, '--input', source, '--output', out,
                 '--target', 'speaker=deep')
    assert result.returncode == 0, result.stderr
    converted, _ = soundfile.read(str(out), dtype='float32')
    assert median_f0(converted) == pytest.approx(110 * 1.02, rel=0.08)
    baseline_out = tmp_path / 'baseline.wav'
    result = run('convert.py', '--model', world_run, '--baseline', '--input', source,
                 '--output', baseline_out, '--target', 'speaker=deep')
    assert result.returncode == 0, result.stderr


def test_magnitude_floor_is_refused_for_world(tmp_path):
    manifest = make_formant_corpus(tmp_path / 'corpus', files_per_speaker=1)
    result = run('train.py', '--features', 'world', '--magnitude-floor', '1e-5', '--manifest',
                 manifest, '--out', tmp_path / 'run', '--iterations', '1', '--no-progress')
    assert result.returncode == 2 and 'magnitude-floor' in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def _without_later_settings(features: dict) -> dict:
    """A world features dict as written before the envelope normalisation settings."""
    return {key: value for key, value in features.items()
            if key not in ('normalisation', 'spread')}


def test_world_model_written_before_later_settings_still_loads(world_run, tmp_path):
    old = tmp_path / 'old'
    shutil.copytree(world_run, old)
    model = json.loads((old / 'model.json').read_text())
    model['features'] = _without_later_settings(model['features'])
    (old / 'model.json').write_text(json.dumps(model))
    weights = sorted(old.glob('gen_iter_*.npz'))[-1]
    with np.load(weights) as npz:
        arrays = {key: npz[key] for key in npz.files}
    stored = json.loads(arrays['chainer_vc_features'].item())
    arrays['chainer_vc_features'] = np.array(json.dumps(_without_later_settings(stored)))
    np.savez(weights, **arrays)
    generator, config = load_generator(old)
    assert config.features.normalisation == 'corpus'
    np.testing.assert_array_equal(generator.up4.conv.W.array,
                                  load_generator(world_run)[0].up4.conv.W.array)
    # A setting that differs from model.json is still refused.
    model['features']['spread'] = config.features.spread * 2
    (old / 'model.json').write_text(json.dumps(model))
    with pytest.raises(InputError, match='different feature config'):
        load_generator(old)
