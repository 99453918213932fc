"""The GPU paths (CuPy without cuDNN) against the CPU ones, and the scripts with --gpu 0.
Marked gpu: deselected where CuPy sees no CUDA device (tests/conftest.py)."""
import json

import chainer
import chainer.functions as F
import numpy as np
import pytest
import soundfile

import test_train
from chainer_vc.common import audio
from chainer_vc.training.updater import NonFiniteLossError, TrainingConfig
from test_convert_cli import convert
from test_conversion import speech_like, write_wav
from test_fast_paths import CONVOLUTIONS, _assert_close, _second_order, _value
from test_updater import make_updater

pytestmark = pytest.mark.gpu
GPU = '@cupy:0'
ON_GPU = ['--gpu', '0']


def _conv(stride, pad):
    return lambda x, W, b: F.convolution_2d(x, W, b, stride, pad)


def _deconv(stride, pad):
    return lambda x, W, b: F.deconvolution_2d(x, W, b, stride, pad)


def _layer_inputs(kind, x_shape, w_shape):
    rng = np.random.default_rng(0)
    if kind == 'conv':
        return rng.standard_normal(x_shape), rng.standard_normal(w_shape), \
            rng.standard_normal(w_shape[0])
    return (rng.standard_normal(x_shape[:1] + (w_shape[0],) + x_shape[2:]),
            rng.standard_normal(w_shape), rng.standard_normal(w_shape[1]))


@pytest.mark.parametrize('kind', ['conv', 'deconv'])
@pytest.mark.parametrize('x_shape,w_shape,stride,pad', CONVOLUTIONS)
def test_gpu_layers_match_the_cpu_in_float64(kind, x_shape, w_shape, stride, pad):
    """Forward, gradients and double backprop: the GPU's fast and plain paths against the CPU."""
    function = (_conv if kind == 'conv' else _deconv)(stride, pad)
    x, W, b = _layer_inputs(kind, x_shape, w_shape)
    with chainer.using_config('vc_fast', False):
        cpu = _second_order(function, x, W, b)
        plain = _second_order(function, x, W, b, GPU)
    with chainer.using_config('vc_fast', True), chainer.using_config('vc_fast_gpu', True):
        fast = _second_order(function, x, W, b, GPU)
    _assert_close(cpu, plain, rtol=1e-12)
    _assert_close(cpu, fast, rtol=1e-12)


def test_float32_convolution_on_gpu_stays_float32():
    rng = np.random.default_rng(0)
    device = chainer.get_device(GPU)
    x = device.send(rng.standard_normal((2, 8, 16, 32), dtype=np.float32))
    W = device.send(rng.standard_normal((16, 8, 4, 4), dtype=np.float32))
    y = F.convolution_2d(x, W, None, 2, 1).array
    assert y.dtype == np.float32 and y.flags.c_contiguous
    with chainer.using_config('vc_fast', False):
        plain = F.convolution_2d(x, W, None, 2, 1).array
    _assert_close([plain.get()], [y.get()], rtol=1e-5)


INTERPOLATION = np.random.default_rng(2).uniform(0, 1, (3, 1, 1, 1))


def _one_update(network: str, device: str):
    """Loss terms and gradients of one D (or G) update on ``device`` in float64, from the same
    weights, batch and gradient-penalty interpolation on every device; lr 0."""
    np.random.seed(0)
    updater, reporter = make_updater(batchsize=3, dtype=np.float64)
    for optimizer in updater.get_all_optimizers().values():
        optimizer.lr = 0.0
    batch = updater._next_batches()
    device = chainer.get_device(device)
    updater.gen.to_device(device)
    updater.dis.to_device(device)
    batch = {key: device.send(value) for key, value in batch.items()}
    updater.interpolation_weights = lambda n, dtype, xp: xp.asarray(INTERPOLATION, dtype=dtype)
    fake = updater.gen(batch['x_real'], batch['c_fake'])
    observation = {}
    with reporter.scope(observation):
        if network == 'dis':
            updater.update_discriminator(batch, fake.array)
        else:
            updater.update_generator(batch, fake)
    link = updater.dis if network == 'dis' else updater.gen
    cpu = chainer.backend.CpuDevice()
    return ({key: _value(cpu.send(getattr(value, 'array', value)))
             for key, value in observation.items()},
            {name: cpu.send(p.grad) for name, p in link.namedparams()})


@pytest.mark.parametrize('step', ['optimised', 'plain'])
@pytest.mark.parametrize('network', ['dis', 'gen'])
def test_one_update_on_gpu_matches_the_cpu(network, step):
    with chainer.using_config('vc_fast', False):
        obs_cpu, grads_cpu = _one_update(network, '@numpy')
    with chainer.using_config('vc_fast', step == 'optimised'), \
            chainer.using_config('vc_fast_gpu', step == 'optimised'):
        obs_gpu, grads_gpu = _one_update(network, GPU)
    assert set(obs_cpu) == set(obs_gpu)
    for key in obs_cpu:
        assert obs_gpu[key] == pytest.approx(obs_cpu[key], rel=1e-10, abs=1e-14), key
    cpu = np.concatenate([g.ravel() for g in grads_cpu.values()])
    gpu = np.concatenate([grads_gpu[name].ravel() for name in grads_cpu])
    assert gpu.dtype == np.float64 and np.linalg.norm(cpu) > 0
    assert np.linalg.norm(gpu - cpu) <= 1e-10 * np.linalg.norm(cpu)


def _update_on_gpu(config=TrainingConfig(), eager=True):
    """One iteration's reported values as LogReport averages them (the deferred accuracy is
    a (value, weight) pair on the device)."""
    np.random.seed(0)
    updater, reporter = make_updater(config=config, device=GPU)
    updater.interpolation_weights = lambda n, dtype, xp: xp.asarray(INTERPOLATION, dtype=dtype)
    observation = {}
    with chainer.using_config('vc_eager_checks', eager), reporter.scope(observation):
        updater.update()
    summary = chainer.reporter.DictSummary()
    summary.add(observation)
    return {key: float(value) for key, value in summary.compute_mean().items()}


def test_deferred_checks_report_what_eager_checks_do_on_gpu():
    eager, deferred = _update_on_gpu(), _update_on_gpu(eager=False)
    assert set(eager) == set(deferred)
    for key in eager:
        assert deferred[key] == pytest.approx(eager[key], rel=1e-5, abs=1e-6), key


@pytest.mark.parametrize('eager', [True, False])
def test_non_finite_loss_on_gpu_names_the_term(eager):
    with pytest.raises(NonFiniteLossError, match='dis/loss_gp became non-finite at iteration 1'):
        _update_on_gpu(TrainingConfig(lambda_gp=float('inf')), eager)


def test_train_py_on_gpu(corpus_manifest, tmp_path):
    out = tmp_path / 'run'
    result = test_train.train(*test_train.FAST, *ON_GPU, '--manifest', corpus_manifest,
                              '--iterations', 3, '--out', out, '--log-interval', '1i',
                              '--snapshot-interval', '3i', '--sample-interval', '3i')
    assert result.returncode == 0, result.stderr
    for noise in ('cuDNN', 'pkg_resources', 'Traceback'):
        assert noise not in result.stderr, result.stderr
    log = json.loads((out / 'log').read_text())
    assert [entry['iteration'] for entry in log] == [1, 2, 3]
    assert all(np.isfinite(entry['dis/loss']) and np.isfinite(entry['gen/loss'])
               and 0 <= entry['dis/acc'] <= 1 for entry in log)
    with np.load(out / 'gen_iter_3.npz') as weights:
        arrays = [weights[k] for k in weights.files if weights[k].dtype.kind == 'f']
        assert arrays and all(np.all(np.isfinite(a)) for a in arrays)
    assert len(list((out / 'samples' / 'iter_3').glob('*.wav'))) == 8


def test_train_py_resumes_on_gpu_after_kill_9(corpus_manifest, tmp_path):
    test_train.check_kill_9_then_resume(corpus_manifest, tmp_path, *ON_GPU)


def test_train_py_non_finite_loss_on_gpu(corpus_manifest, tmp_path):
    result = test_train.train(*test_train.FAST, *ON_GPU, '--manifest', corpus_manifest,
                              '--iterations', 3, '--out', tmp_path / 'run', '--lambda-rec', 'inf')
    assert result.returncode == 3
    assert 'gen/loss_rec became non-finite at iteration 1' in result.stderr
    assert 'Traceback' not in result.stderr


def test_convert_py_on_gpu_matches_the_cpu(tiny_run, tmp_path):
    source = write_wav(tmp_path / 'speech.wav', speech_like())
    outputs = {}
    for name, gpu in (('cpu', '-1'), ('gpu', '0')):
        result = convert('--model', tiny_run, '--input', source,
                         '--output', tmp_path / f'{name}.wav',
                         '--target', 'speaker=alice', '--iterations', 8, '--gpu', gpu)
        assert result.returncode == 0, result.stderr
        outputs[name], _ = soundfile.read(str(tmp_path / f'{name}.wav'), dtype='float64')
    assert outputs['cpu'].shape == outputs['gpu'].shape
    assert audio.rms(outputs['cpu']) > 0.01
    difference = audio.rms(outputs['gpu'] - outputs['cpu'])
    assert difference < 1e-2 * audio.rms(outputs['cpu'])
