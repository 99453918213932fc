"""chainer_vc: StarGAN voice conversion in Chainer, reproducing experiment cfcefd21."""
from chainer_vc.common import compat  # noqa: F401  (must run before anything imports chainer)
from chainer_vc.networks import kernels  # noqa: F401  (faster exact CPU kernels; see its docstring)
from chainer_vc.networks import gpu_kernels  # noqa: F401  (the same for CuPy without cuDNN)

__version__ = '0.1.0'
