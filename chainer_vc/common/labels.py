"""Label groups, and the two encodings the seed feeds its networks.

A speaker carries one class (or none) in each label *group* (speaker, sex, region, ...).
We hold a speaker's labels as *codes*: one class index per group, -1 where unlabelled.

- Generator input (``input_size`` values in {0, 1}): the groups' one-hots concatenated,
  then one flag per group saying whether it is labelled. An unlabelled group is all zeros.
- Classification target (``class_size`` values in {-1, 0, 1}): the one-hots concatenated;
  an unlabelled group is all -1, which ``F.sigmoid_cross_entropy`` ignores.

With the seed's groups (speaker 1421, region 53, sex 2) that is 1479 in and 1476 out.
"""
from __future__ import annotations

import dataclasses
from typing import Iterable, Mapping, Optional, Sequence

import numpy as np

from chainer_vc.common.errors import InputError

UNLABELLED = -1


@dataclasses.dataclass(frozen=True)
class LabelGroup:
    name: str
    classes: tuple

    def __post_init__(self):
        object.__setattr__(self, 'classes', tuple(self.classes))
        if not self.classes:
            raise ValueError(f'label group {self.name!r} has no classes')
        if len(set(self.classes)) != len(self.classes):
            raise ValueError(f'label group {self.name!r} has repeated classes')

    def index(self, value: str) -> int:
        try:
            return self.classes.index(value)
        except ValueError:
            raise InputError(
                f'{self.name}={value!r} is not a known class '
                f'(known: {_short_list(self.classes)})') from None


@dataclasses.dataclass(frozen=True)
class LabelSchema:
    groups: tuple

    def __post_init__(self):
        object.__setattr__(self, 'groups', tuple(self.groups))
        if not self.groups:
            raise ValueError('a label schema needs at least one group')

    @property
    def names(self) -> tuple:
        return tuple(group.name for group in self.groups)

    @property
    def class_size(self) -> int:
        return sum(len(group.classes) for group in self.groups)

    @property
    def input_size(self) -> int:
        return self.class_size + len(self.groups)

    @property
    def offsets(self) -> tuple:
        """Start of each group's one-hot in the concatenated vector."""
        sizes = [len(group.classes) for group in self.groups]
        return tuple(int(offset) for offset in np.cumsum([0] + sizes[:-1]))

    def group(self, name: str) -> LabelGroup:
        for group in self.groups:
            if group.name == name:
                return group
        raise InputError(f'unknown label group {name!r} (known: {", ".join(self.names)})')

    def codes(self, values: Mapping[str, Optional[str]]) -> np.ndarray:
        """Codes (n_groups,) int32 from ``{group name: class name or None/''}``."""
        for name in values:
            self.group(name)
        codes = np.full(len(self.groups), UNLABELLED, dtype=np.int32)
        for g, group in enumerate(self.groups):
            value = values.get(group.name)
            if value not in (None, ''):
                codes[g] = group.index(value)
        return codes

    def describe(self, codes: Sequence[int]) -> dict:
        """The inverse of :meth:`codes`: ``{group name: class name}`` for labelled groups."""
        return {group.name: group.classes[code]
                for group, code in zip(self.groups, codes) if code != UNLABELLED}

    def generator_input(self, codes: np.ndarray) -> np.ndarray:
        """Codes (..., n_groups) -> generator input (..., input_size) float32."""
        codes = np.asarray(codes)
        one_hot = np.zeros(codes.shape[:-1] + (self.input_size,), dtype=np.float32)
        for g, offset in enumerate(self.offsets):
            labelled = codes[..., g] != UNLABELLED
            np.put_along_axis(
                one_hot, (offset + np.maximum(codes[..., g], 0))[..., None],
                labelled[..., None].astype(np.float32), axis=-1)
            one_hot[..., self.class_size + g] = labelled
        return one_hot

    def classification_target(self, codes: np.ndarray) -> np.ndarray:
        """Codes (..., n_groups) -> target (..., class_size) int32 in {-1, 0, 1}."""
        codes = np.asarray(codes)
        target = np.zeros(codes.shape[:-1] + (self.class_size,), dtype=np.int32)
        for g, (group, offset) in enumerate(zip(self.groups, self.offsets)):
            block = target[..., offset:offset + len(group.classes)]
            labelled = codes[..., g] != UNLABELLED
            np.put_along_axis(block, np.maximum(codes[..., g], 0)[..., None], 1, axis=-1)
            block[~labelled] = UNLABELLED
        return target

    def to_dict(self) -> dict:
        return {'groups': [{'name': g.name, 'classes': list(g.classes)} for g in self.groups]}

    @classmethod
    def from_dict(cls, data: Mapping) -> 'LabelSchema':
        return cls(tuple(LabelGroup(g['name'], tuple(g['classes'])) for g in data['groups']))

    @classmethod
    def from_rows(cls, group_names: Sequence[str],
                  rows: Iterable[Mapping[str, Optional[str]]]) -> 'LabelSchema':
        """A schema whose classes are the sorted distinct values seen in ``rows``.

        A group with no labelled row cannot be trained and is left out.
        """
        rows = list(rows)
        groups = []
        for name in group_names:
            classes = sorted({row[name] for row in rows if row.get(name) not in (None, '')})
            if classes:
                groups.append(LabelGroup(name, tuple(classes)))
        if not groups:
            raise InputError('no row has any label')
        return cls(tuple(groups))


def drop_groups(codes: np.ndarray, rng: np.random.Generator, p: float = 0.5) -> np.ndarray:
    """fbf548f6's augmentation: unlabel each labelled group with probability ``p``.

    At least one labelled group of each row is kept. ``codes`` is (batch, n_groups).
    """
    codes = np.array(codes, dtype=np.int32, copy=True)
    labelled = codes != UNLABELLED
    drop = labelled & (rng.random(codes.shape) < p)
    for row in np.flatnonzero(labelled.any(axis=1) & ~(labelled & ~drop).any(axis=1)):
        keep = rng.choice(np.flatnonzero(labelled[row]))
        drop[row, keep] = False
    codes[drop] = UNLABELLED
    return codes


def seed_schema() -> LabelSchema:
    """The seed corpus's groups, with placeholder class names (1479 in, 1476 out)."""
    sizes = {'speaker': 1421, 'region': 53, 'sex': 2}
    return LabelSchema(tuple(
        LabelGroup(name, tuple(f'{name}{i:04d}' for i in range(size)))
        for name, size in sizes.items()))


def _short_list(items: Sequence[str], limit: int = 10) -> str:
    shown = ', '.join(items[:limit])
    return shown + (f', ... ({len(items)} in all)' if len(items) > limit else '')
