"""The world feature kind: axis, mapping, F0 transform, analysis, cache, statistics."""
import dataclasses
import json

import numpy as np
import pytest

from chainer_vc.features import world
from chainer_vc.common.errors import InputError
from chainer_vc.common.labels import LabelGroup, LabelSchema
from conftest import formant_voice

CONFIG = world.WorldConfig()


def fitted(config=CONFIG, mean=0.0, std=1.0):
    return dataclasses.replace(config, statistics={
        'bin_mean': [mean] * config.bins, 'bin_std': [std] * config.bins, 'classes': {}})


def test_mel_axis_spans_the_band_and_is_finer_at_the_bottom():
    frequencies = world.axis_frequencies(CONFIG)
    assert frequencies.shape == (256,)
    assert frequencies[0] == 0 and frequencies[-1] == pytest.approx(8000)
    steps = np.diff(frequencies)
    assert np.all(steps > 0) and steps[0] < 8 < 80 < steps[-1]
    linear = world.axis_frequencies(dataclasses.replace(CONFIG, axis='linear'))
    assert np.allclose(np.diff(linear), 8000 / 255)


def test_reduce_then_expand_keeps_a_smooth_envelope():
    fft = np.arange(CONFIG.fft_size // 2 + 1) * 16000 / CONFIG.fft_size
    log_power = -2 * np.log1p(fft / 1000) + np.sin(fft / 700)  # smooth over the band
    power = np.exp(np.stack([log_power, log_power - 1]))
    reduced = world.reduce_envelope(power, CONFIG)
    assert reduced.shape == (2, 256) and reduced.dtype == np.float32
    expanded = np.log(world.expand_envelope(reduced, CONFIG))
    assert np.max(np.abs(expanded[0] - log_power)) < 0.05
    assert np.allclose(expanded[0] - expanded[1], 1, atol=1e-4)


def test_unit_mapping_is_the_inverse_within_the_spread():
    config = fitted(mean=-3.0, std=2.0)
    log_envelope = np.array([[-3.0, -3 + 2 * 4.0, -3 - 2 * 4.0, -1.0]] * 2)
    config = dataclasses.replace(config, bins=4, statistics={
        'bin_mean': [-3.0] * 4, 'bin_std': [2.0] * 4, 'classes': {}})
    unit = config.to_unit(log_envelope)
    # Hand computation: 0.5 + (x - mean) / (2 * 4 * std).
    assert np.allclose(unit[0], [0.5, 1.0, 0.0, 0.5 + 2 / 16])
    assert np.allclose(config.to_log_envelope(unit), log_envelope, atol=1e-5)
    assert config.to_unit(np.array([[100.0] * 4])).max() == 1.0


def test_unfitted_config_cannot_map():
    with pytest.raises(InputError, match='statistics'):
        CONFIG.to_unit(np.zeros((1, 256)))


def test_warp_moves_a_peak_by_the_factor():
    frequencies = world.axis_frequencies(CONFIG)
    peak = np.exp(-((frequencies - 1000) / 150) ** 2)[None]
    warped = world.warp_envelope(peak, 1.5, CONFIG)
    assert frequencies[np.argmax(warped[0])] == pytest.approx(1500, abs=40)
    assert np.allclose(world.warp_envelope(peak, 1.0, CONFIG), peak, atol=1e-6)


def test_log_gaussian_f0_transform_by_hand():
    f0 = np.array([0.0, 100.0, 200.0, 0.0], dtype=np.float32)
    source, target = (np.log(141.42), 0.3), (np.log(220.0), 0.15)
    converted = world.convert_f0(f0, source, target)
    assert converted[0] == 0 and converted[3] == 0
    expected = np.exp((np.log(100.0) - source[0]) / 0.3 * 0.15 + np.log(220.0))
    assert converted[1] == pytest.approx(expected, rel=1e-5)
    # The geometric mean of the voiced input maps onto the target's mean.
    assert np.sqrt(converted[1] * converted[2]) == pytest.approx(220.0, rel=1e-3)
    assert world.log_f0_statistics(np.zeros(10)) is None


def test_analysis_finds_the_pitch_and_synthesis_gives_the_signal_back():
    samples = formant_voice(1.0, 150.0)
    config = fitted()
    analysis = world.analyze(samples, config)
    frames = len(analysis.f0)
    assert frames == pytest.approx(1000 / config.frame_period, abs=2)
    assert analysis.log_envelope.shape == (frames, 256)
    assert analysis.aperiodicity.shape == (frames, config.fft_size // 2 + 1)
    voiced = analysis.f0[analysis.f0 > 0]
    assert len(voiced) > 0.8 * frames
    assert np.median(voiced) == pytest.approx(150, rel=0.05)
    resynthesised = world.synthesize(analysis.f0, analysis.log_envelope,
                                     analysis.aperiodicity, config)
    assert abs(len(resynthesised) - len(samples)) <= config.hop
    again = world.analyze(resynthesised, config)
    assert np.median(again.f0[again.f0 > 0]) == pytest.approx(150, rel=0.05)


def test_cache_analyses_once_and_tells_settings_and_content_apart(tmp_path, monkeypatch,
                                                                  analysis_cache):
    import soundfile
    path = tmp_path / 'a.wav'
    soundfile.write(str(path), formant_voice(0.5, 140.0), 16000)
    calls = []
    real = world.analyze

    def counting(samples, config, aperiodicity=True):
        calls.append(config.frame_period)
        return real(samples, config, aperiodicity)
    monkeypatch.setattr(world, 'analyze', counting)

    def load(p):
        return soundfile.read(str(p), dtype='float32')[0]
    first = world.cached_analysis(path, CONFIG, load)
    second = world.cached_analysis(path, CONFIG, load)
    assert len(calls) == 1
    assert np.array_equal(first.log_envelope, second.log_envelope)
    entry = world.cache_path(path.read_bytes(), CONFIG)
    assert entry.is_file() and analysis_cache in entry.parents
    world.cached_analysis(path, dataclasses.replace(CONFIG, frame_period=10.0), load)
    assert calls == [16.0, 10.0]
    soundfile.write(str(path), formant_voice(0.5, 180.0), 16000)
    world.cached_analysis(path, CONFIG, load)
    assert len(calls) == 3


def test_damaged_cache_entry_is_reported_and_replaced(tmp_path):
    import soundfile
    path = tmp_path / 'a.wav'
    soundfile.write(str(path), formant_voice(0.5, 140.0), 16000)

    def load(p):
        return soundfile.read(str(p), dtype='float32')[0]
    good = world.cached_analysis(path, CONFIG, load)
    entry = world.cache_path(path.read_bytes(), CONFIG)
    entry.write_bytes(entry.read_bytes()[:40])
    warnings = []
    again = world.cached_analysis(path, CONFIG, load, warn=warnings.append)
    assert len(warnings) == 1 and str(entry) in warnings[0] and 'damaged' in warnings[0]
    assert np.allclose(again.log_envelope, good.log_envelope)
    with np.load(entry) as npz:  # replaced by a whole entry
        assert npz['f0'].shape == good.f0.shape


def test_statistics_by_hand():
    schema = LabelSchema((LabelGroup('speaker', ('a', 'b')),))
    config = dataclasses.replace(CONFIG, bins=2)
    analyses = [world.Analysis(np.array([100.0, 0.0, 100.0], np.float32),
                               np.array([[1.0, 2.0], [-50.0, -50.0], [3.0, 4.0]], np.float32)),
                world.Analysis(np.array([200.0, 400.0], np.float32),
                               np.array([[5.0, 6.0], [7.0, 8.0]], np.float32))]
    result = world.fit_statistics(config, analyses, np.array([[0], [1]]), schema)
    stats = result.statistics
    # Speech frames: all but the one 51 (> ln 1e4) below its utterance's loudest.
    assert np.allclose(stats['bin_mean'], [4.0, 5.0])
    assert np.allclose(stats['bin_std'], np.std([[1, 2], [3, 4], [5, 6], [7, 8]], axis=0))
    a, b = stats['classes']['speaker']['a'], stats['classes']['speaker']['b']
    assert a['log_f0_mean'] == pytest.approx(np.log(100))
    assert b['log_f0_mean'] == pytest.approx(np.log(np.sqrt(200 * 400)))
    assert b['log_f0_std'] == pytest.approx(np.log(2) / 2)
    assert np.allclose(a['envelope'], [2.0, 3.0])  # voiced frames only
    assert json.loads(json.dumps(result.to_dict())) == result.to_dict()
    assert world.WorldConfig.from_dict(result.to_dict()) == result


def test_bad_settings_are_input_errors():
    with pytest.raises(InputError, match='f0 method'):
        world.WorldConfig(f0_method='yin')
    with pytest.raises(InputError, match='axis'):
        world.WorldConfig(axis='bark')
    with pytest.raises(InputError, match='normalisation'):
        world.WorldConfig(normalisation='speaker')
    with pytest.raises(InputError, match='spread'):
        world.WorldConfig(spread=0)
