"""One rank of a test job: train.py's trainer, watched after every update.

    mpiexec -n 2 python tests/mpi_worker.py RECORD.json TRAIN_ARGS...

Runs the trainer train.py builds from TRAIN_ARGS and records, per rank and iteration, a
digest of the weights of G and D, a digest of everything else they hold (BatchNorm's running
statistics), the optimizers' step counts, and one reported value before and after it is
averaged over ranks. Rank 0 writes the records of all ranks to RECORD.json.
"""
import hashlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import train  # noqa: E402  (imports chainer_vc first)
import chainer  # noqa: E402
from chainer.training import extension  # noqa: E402

from chainer_vc.training import distributed  # noqa: E402

WATCHED_KEY = 'dis/loss_gp'


def digest(arrays) -> str:
    hashed = hashlib.sha256()
    for name, array in arrays:
        hashed.update(name.encode())
        hashed.update(chainer.backend.CpuDevice().send(array).tobytes())
    return hashed.hexdigest()[:16]


def persistent_values(link):
    return sorted((f'{path}/{name}', getattr(sublink, name))
                  for path, sublink in link.namedlinks() for name in sublink._persistent)


class Watch(extension.Extension):
    """Records the state right after each update; runs before every other extension."""

    trigger = 1, 'iteration'
    priority = extension.PRIORITY_WRITER + 1

    def __init__(self, records):
        self.records = records

    def __call__(self, trainer):
        updater = trainer.updater
        observed = trainer.observation.get(WATCHED_KEY)
        self.records.append({
            'iteration': updater.iteration,
            'weights': digest(sorted((n, p.array) for link in (updater.gen, updater.dis)
                                     for n, p in link.namedparams())),
            'persistent': digest(persistent_values(updater.gen)),
            'gen_t': updater.get_optimizer('gen').t,
            'dis_t': updater.get_optimizer('dis').t,
            'local': None if observed is None else float(chainer.as_array(observed)),
        })


class WatchMean(extension.Extension):
    """Records the watched value after the mean over ranks (and before LogReport)."""

    trigger = 1, 'iteration'
    priority = extension.PRIORITY_READER + 1

    def __init__(self, records):
        self.records = records

    def __call__(self, trainer):
        observed = trainer.observation.get(WATCHED_KEY)
        self.records[-1]['mean'] = None if observed is None else float(observed)


def main(record_path: str, argv) -> None:
    args = train.parse_args(argv)
    dist = distributed.Distribution.connect(args.communicator, args.gpu)
    trainer = train.build_trainer(args, dist)
    records = []
    trainer.extend(Watch(records))
    trainer.extend(WatchMean(records))
    trainer.run()
    everyone = dist.comm.gather_obj(records)
    if dist.is_writer:
        Path(record_path).write_text(json.dumps(everyone))


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2:])
