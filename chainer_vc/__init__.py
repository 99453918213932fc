"""chainer_vc: StarGAN voice conversion in Chainer, reproducing experiment cfcefd21."""
from chainer_vc import compat  # noqa: F401  (must run before anything imports chainer)

__version__ = '0.1.0'
