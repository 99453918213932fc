"""Where arrays live: the Chainer device a ``--gpu`` names, and numpy copies of device arrays."""
from __future__ import annotations

from typing import Union

import chainer
import numpy as np

from chainer_vc.common.errors import InputError


def to_cpu(array) -> np.ndarray:
    """A numpy copy of a numpy or CuPy array (the array itself when it is numpy)."""
    return chainer.backend.CpuDevice().send(array)


def resolve(gpu: Union[int, str]):
    if isinstance(gpu, str):
        return chainer.get_device(gpu)
    if gpu < 0:
        return chainer.get_device('@numpy')
    if not chainer.backends.cuda.available:
        raise InputError(f'GPU {gpu}: CuPy is not available (pip install cupy-cuda12x)')
    return chainer.get_device(f'@cupy:{gpu}')


