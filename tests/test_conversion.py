"""chainer_vc.conversion: whole utterances through a trained Generator and back to sound."""
import dataclasses
from pathlib import Path

import chainer_vc  # noqa: F401  (patches chainer for numpy 2)
import numpy as np
import pytest
import soundfile

from chainer_vc.common import audio
from chainer_vc.conversion import batch
from chainer_vc.conversion.converter import Converter, OVERLAP_FRAMES, window_starts
from chainer_vc.features import framing
from chainer_vc.features import griffin_lim
from chainer_vc.features import spectrogram
from chainer_vc.features import spectrogram
from chainer_vc.common.errors import InputError
from chainer_vc.common.labels import LabelGroup, LabelSchema

SAMPLE_RATE = spectrogram.SpectrogramConfig().sample_rate
CONFIG = spectrogram.SpectrogramConfig()
# The schema train.py derives from conftest's TRAINED_SPEAKERS corpus.
SCHEMA = LabelSchema((LabelGroup('speaker', ('alice', 'bob', 'carol')),
                      LabelGroup('sex', ('female', 'male'))))
DURATION_S = 2.0
# Griffin-Lim round trip (analyze -> to_magnitude -> Griffin-Lim), log-spectral distance over
# the model's bins, magnitudes clipped at the feature floor, 32 iterations. Measured on
# speech_like(): 0.96 dB from random phase, 0.75 dB from the source phase; random phase with
# no iteration is 3.1 dB, so the first bound also shows that the iterations work.
LSD_BOUND_RANDOM_PHASE_DB = 1.5
LSD_BOUND_SOURCE_PHASE_DB = 1.0


def speech_like(seconds=DURATION_S, sample_rate=SAMPLE_RATE, f0=140.0, seed=0, peak=0.5,
                breath=0.1):
    """A harmonic tone with vibrato and a syllable-rate envelope, breath noise (relative to
    the tone's peak) and two loud noise bursts."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(seconds * sample_rate))) / sample_rate
    phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.06 * np.sin(2 * np.pi * 5 * t))) / sample_rate
    signal = sum(np.sin(k * phase) / k for k in range(1, 30))
    signal *= (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t)) / np.max(np.abs(signal))
    signal += breath * rng.standard_normal(len(t))
    for start in (0.3, 0.9 * seconds):
        burst = slice(int(start * sample_rate), int((start + 0.05) * sample_rate))
        signal[burst] += 0.3 * rng.standard_normal(len(signal[burst]))
    return (peak * signal / np.max(np.abs(signal))).astype(np.float32)


def write_wav(path, samples, sample_rate=SAMPLE_RATE):
    soundfile.write(str(path), samples, sample_rate, subtype='PCM_16')
    return Path(path)


@pytest.fixture(scope='module')
def run_directory(tiny_run):
    """The `tiny` model train.py trained for a few iterations (conftest.py)."""
    return tiny_run


@pytest.fixture(scope='module')
def converter(run_directory):
    return Converter.from_run_directory(run_directory)


@pytest.fixture(scope='module')
def source_file(tmp_path_factory):
    return write_wav(tmp_path_factory.mktemp('audio') / 'two_seconds.wav', speech_like())


def _read(path):
    samples, rate = soundfile.read(str(path), dtype='float32', always_2d=True)
    return samples, rate


# ----------------------------------------------------------------------- STFT and Griffin-Lim

def test_stft_matches_a_frame_by_frame_computation_and_istft_inverts_it():
    signal = np.random.default_rng(0).standard_normal(5000).astype(np.float32)
    n_frames = spectrogram.frame_count(len(signal), CONFIG)
    spectrum = spectrogram.stft(signal, CONFIG)
    by_frame = np.stack([np.fft.rfft(signal[i * CONFIG.hop:i * CONFIG.hop + CONFIG.fft_size]
                                     * np.hamming(CONFIG.fft_size)) / CONFIG.fft_size
                         for i in range(n_frames)])
    np.testing.assert_allclose(spectrum, by_frame, atol=1e-6)
    weight = spectrogram.istft_weight(n_frames, CONFIG)
    np.testing.assert_allclose(spectrogram.istft(spectrum, CONFIG, weight=weight),
                               spectrogram.istft(spectrum, CONFIG), atol=1e-5)
    used = spectrogram.signal_length(n_frames, CONFIG)
    np.testing.assert_allclose(spectrogram.istft(spectrum, CONFIG), signal[:used], atol=1e-5)


def _round_trip(samples, phase, iterations):
    left, right, _ = framing.padding(len(samples), CONFIG)
    padded = np.pad(samples, (left, right))
    spectrum = spectrogram.stft(padded, CONFIG)
    unit = spectrogram.analyze(padded, SAMPLE_RATE, CONFIG)
    magnitude = griffin_lim.full_magnitude(spectrogram.to_magnitude(unit, CONFIG), spectrum,
                                          CONFIG, griffin_lim.HIGH_BAND_DROP)
    start_phase = spectrum if phase == 'source' else None
    waveform = griffin_lim.griffin_lim(magnitude, CONFIG, start_phase, iterations)
    return waveform[left:left + len(samples)]


def test_griffin_lim_round_trip_log_spectral_distance():
    samples = speech_like()
    iterations = griffin_lim.GRIFFIN_LIM_ITERATIONS
    random_phase = spectrogram.log_spectral_distance(
        samples, _round_trip(samples, 'random', iterations), CONFIG)
    no_iteration = spectrogram.log_spectral_distance(
        samples, _round_trip(samples, 'random', 0), CONFIG)
    source_phase = spectrogram.log_spectral_distance(
        samples, _round_trip(samples, 'source', iterations), CONFIG)
    assert random_phase < LSD_BOUND_RANDOM_PHASE_DB < no_iteration
    assert source_phase < LSD_BOUND_SOURCE_PHASE_DB


def test_floor_subtraction_turns_a_silent_output_into_silence():
    samples = speech_like()
    spectrum = spectrogram.stft(samples, CONFIG)
    silent = np.zeros((len(spectrum), CONFIG.bins), np.float32)
    options = griffin_lim.ReconstructionOptions(phase=griffin_lim.PHASE_SOURCE,
                                               high_band=griffin_lim.HIGH_BAND_DROP)
    subtracted = griffin_lim.reconstruct(silent, spectrum, CONFIG, options)
    kept = griffin_lim.reconstruct(
        silent, spectrum, CONFIG, dataclasses.replace(options, subtract_floor=False))
    assert np.max(np.abs(subtracted)) < 1e-6
    assert 20 * np.log10(np.sqrt(np.mean(np.square(kept)))) > -40


def test_log_spectral_distance_is_zero_for_identical_and_positive_for_different():
    samples = speech_like()
    assert spectrogram.log_spectral_distance(samples, samples, CONFIG) == 0
    assert spectrogram.log_spectral_distance(samples, speech_like(f0=200.0), CONFIG) > 3


@pytest.mark.parametrize('n_samples', [CONFIG.hop, CONFIG.fft_size - 1, 17152, 32000, 32001])
def test_padding_covers_every_sample_and_fits_the_generator(n_samples):
    left, right, n_frames = framing.padding(n_samples, CONFIG)
    assert n_frames % framing.FRAME_MULTIPLE == 0
    assert spectrogram.frame_count(left + n_samples + right, CONFIG) == n_frames
    overlap = CONFIG.fft_size // CONFIG.hop
    coverage = spectrogram.overlap_add(np.ones((n_frames, CONFIG.fft_size)), CONFIG)
    assert np.all(coverage[left:left + n_samples] == overlap)


# ----------------------------------------------------------------------- conversion

def test_converts_a_two_second_file(converter, source_file, tmp_path):
    first = batch.convert_file(converter, source_file, tmp_path / 'alice.wav',
                                    {'speaker': 'alice'})
    second = batch.convert_file(converter, source_file, tmp_path / 'bob.wav',
                                     {'speaker': 'bob', 'sex': 'male'})
    source, _ = _read(source_file)
    outputs = []
    for path in (first, second):
        samples, rate = _read(path)
        assert rate == SAMPLE_RATE and samples.shape[1] == 1
        assert abs(len(samples) - len(source)) <= CONFIG.hop
        assert np.all(np.isfinite(samples))
        assert audio.rms(samples[:, 0]) > 0.5 * audio.rms(source[:, 0])
        outputs.append(samples[:, 0])
    # Measured: 1.26 (the tiny model's label weights are still nearly random).
    difference = audio.rms(outputs[0] - outputs[1]) / audio.rms(outputs[0])
    assert difference > 0.05


def test_targets_change_the_generator_output(converter):
    unit = spectrogram.analyze(speech_like()[:CONFIG.segment_samples], SAMPLE_RATE, CONFIG)
    outputs = [converter.generate(unit, converter.target_codes(target))
               for target in ({'speaker': 'alice'}, {'speaker': 'carol', 'sex': 'female'})]
    assert np.abs(outputs[0] - outputs[1]).mean() > 1e-3


def test_output_keeps_the_source_length_and_loudness(converter):
    for n_samples in (CONFIG.hop, CONFIG.fft_size + 1, 12345):
        quiet = speech_like(peak=0.05)[:n_samples]
        converted = converter.convert(quiet, {'sex': 'female'})
        assert len(converted) == n_samples
        assert audio.rms(converted) == pytest.approx(audio.rms(quiet), rel=1e-3)


def test_windowed_generation_has_no_seams(converter):
    """Cross-faded windows give what one pass over the whole utterance gives, joins included.

    The default overlap with windows twice its size, on 20 s (4 windows); measured: largest
    difference 0.011 (0.7 dB), mean 0.0002, against a mean frame-to-frame change of 0.035.
    """
    unit = spectrogram.analyze(speech_like(seconds=20.0), SAMPLE_RATE, CONFIG)
    unit = unit[:len(unit) // framing.FRAME_MULTIPLE * framing.FRAME_MULTIPLE]
    codes = converter.target_codes({'speaker': 'bob'})
    overlap = OVERLAP_FRAMES
    whole = Converter(converter.generator, converter.config,
                                 window_frames=len(unit)).generate(unit, codes)
    windowed = Converter(converter.generator, converter.config,
                                    window_frames=2 * overlap, overlap_frames=overlap)
    assert len(window_starts(len(unit), 2 * overlap, overlap)) > 3
    difference = np.abs(windowed.generate(unit, codes) - whole)
    assert difference.max() < 0.03
    assert difference.mean() < 0.001


def test_motion_scale_keeps_gs_mean_change_and_scales_the_rest(run_directory, converter):
    unit = spectrogram.analyze(speech_like()[:CONFIG.segment_samples], SAMPLE_RATE, CONFIG)
    codes = converter.target_codes({'speaker': 'carol'})
    output = converter.generate(unit, codes)
    held = Converter.from_run_directory(run_directory, motion_scale=0.0)
    kept = held.generate(unit, codes)
    np.testing.assert_allclose(kept.mean(axis=0), output.mean(axis=0), atol=1e-5)
    # With scale 0, each bin moves over the frames as the input's does.
    np.testing.assert_allclose(kept - kept.mean(axis=0), unit - unit.mean(axis=0), atol=1e-5)
    half = Converter.from_run_directory(run_directory, motion_scale=0.5)
    np.testing.assert_allclose(half.generate(unit, codes), (kept + output) / 2, atol=1e-5)
    with pytest.raises(InputError, match='motion scale -1'):
        Converter.from_run_directory(run_directory, motion_scale=-1)


def test_high_band_is_kept_or_dropped(run_directory):
    source = speech_like()
    # Above the model's band by more than the Hamming window's main lobe (2 bins): the
    # model's own last bins leak that far whatever is done with the band above them.
    high = slice(CONFIG.first_bin + CONFIG.bins + 4, None)

    def high_band_energy(samples):
        return float(np.mean(np.abs(spectrogram.stft(samples, CONFIG)[:, high]) ** 2))

    energies = {}
    for choice in griffin_lim.HIGH_BAND_CHOICES:
        options = griffin_lim.ReconstructionOptions(high_band=choice)
        converter = Converter.from_run_directory(run_directory, options=options)
        energies[choice] = high_band_energy(converter.convert(source, {'speaker': 'carol'}))
    # Measured: dropped 0.002 of kept; kept 0.14 of the source's (the barely trained model's
    # band is loud, and the loudness is restored over the whole band).
    assert energies[griffin_lim.HIGH_BAND_DROP] < 0.01 * energies[griffin_lim.HIGH_BAND_SOURCE]
    assert energies[griffin_lim.HIGH_BAND_SOURCE] > 0.02 * high_band_energy(source)


def test_source_phase_reuse_converts(run_directory):
    options = griffin_lim.ReconstructionOptions(phase=griffin_lim.PHASE_SOURCE)
    converter = Converter.from_run_directory(run_directory, options=options)
    samples = speech_like()
    converted = converter.convert(samples, {'speaker': 'alice'})
    assert len(converted) == len(samples) and np.all(np.isfinite(converted))


def test_snapshot_picks_older_weights(run_directory):
    samples = speech_like()[:CONFIG.segment_samples]
    newest = Converter.from_run_directory(run_directory)
    first = Converter.from_run_directory(run_directory, snapshot='1')
    target = {'speaker': 'alice'}
    assert not np.allclose(newest.convert(samples, target), first.convert(samples, target))


def test_keep_rate_writes_the_input_rate(converter, tmp_path):
    rate = 22050
    source = write_wav(tmp_path / 'in.wav', speech_like(sample_rate=rate), rate)
    output = batch.convert_file(converter, source, tmp_path / 'out.wav',
                                     {'speaker': 'bob'}, keep_rate=True)
    samples, written_rate = _read(output)
    assert written_rate == rate
    assert abs(len(samples) - DURATION_S * rate) <= CONFIG.hop * rate / SAMPLE_RATE


# ----------------------------------------------------------------------- targets and inputs

def test_target_codes_leave_out_groups(converter):
    np.testing.assert_array_equal(converter.target_codes({'sex': 'male'}), [-1, 1])
    labels = SCHEMA.generator_input(converter.target_codes({'speaker': 'carol'}))
    assert labels[SCHEMA.class_size:].tolist() == [1, 0]


def test_unknown_target_lists_the_valid_names(converter):
    with pytest.raises(InputError, match='alice, bob, carol'):
        converter.target_codes({'speaker': 'dave'})
    with pytest.raises(InputError, match='unknown label group .age.*speaker, sex'):
        converter.target_codes({'age': 'old'})


def test_parse_targets():
    assert batch.parse_targets(['speaker=alice', 'sex=male']) == {
        'speaker': 'alice', 'sex': 'male'}
    for bad in (['speaker'], ['=alice'], ['speaker=a', 'speaker=b']):
        with pytest.raises(InputError):
            batch.parse_targets(bad)


@pytest.mark.parametrize('samples, message', [
    (np.zeros(CONFIG.hop - 1, dtype=np.float32) + 0.5, 'shorter than one hop'),
    (np.zeros(SAMPLE_RATE, dtype=np.float32), 'silent'),
    (np.full(SAMPLE_RATE, 1e-4, dtype=np.float32), 'silent'),
])
def test_unconvertible_utterances_are_refused(samples, message):
    with pytest.raises(InputError, match=message):
        framing.check_utterance(samples, CONFIG)


def test_plan_maps_a_folder_to_a_folder(tmp_path):
    folder = tmp_path / 'in'
    folder.mkdir()
    for name in ('b.wav', 'a.flac'):
        write_wav(folder / name, speech_like(seconds=0.1)) if name.endswith('.wav') else \
            soundfile.write(str(folder / name), speech_like(seconds=0.1), SAMPLE_RATE)
    (folder / 'notes.txt').write_text('not audio')
    jobs = batch.plan(folder, tmp_path / 'out')
    assert [(source.name, output.name) for source, output in jobs] == [
        ('a.flac', 'a.wav'), ('b.wav', 'b.wav')]
    assert all(output.parent == tmp_path / 'out' for _, output in jobs)
