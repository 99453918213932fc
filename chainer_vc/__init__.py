"""chainer_vc: StarGAN voice conversion in Chainer, reproducing experiment cfcefd21.

Stages, each importing only those before it: ``common``, ``corpus``, ``features``,
``networks``, ``conversion``, ``judging``, ``training``. The public API:

- :class:`Converter`: a trained run directory; samples in, converted samples out.
- :func:`baseline_from_corpus`: the signal-processing voice changer fitted on a manifest.
- :func:`convert_file`: one recording through a converter into a WAV.
- :func:`evaluate_run`: the judge's report (a dict) of a run's conversions.
"""
from chainer_vc.common import compat  # noqa: F401  (must run before anything imports chainer)
from chainer_vc.networks import kernels  # noqa: F401  (faster exact CPU kernels; see its docstring)
from chainer_vc.networks import gpu_kernels  # noqa: F401  (the same for CuPy without cuDNN)
from chainer_vc.conversion.baseline import BaselineConverter, from_corpus as baseline_from_corpus
from chainer_vc.conversion.batch import convert_file
from chainer_vc.conversion.converter import Converter
from chainer_vc.judging.evaluation import evaluate_run

__version__ = '0.1.0'
__all__ = ['Converter', 'BaselineConverter', 'baseline_from_corpus', 'convert_file',
           'evaluate_run']
