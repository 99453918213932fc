"""A run directory is a self-contained model: ``model.json`` plus weights.

``model.json`` holds everything conversion needs (preset and network sizes, feature
config, label schema with class names). Weights are ``gen_iter_<N>.npz`` and
``dis_iter_<N>.npz``; each also embeds the feature config it was trained with, so
weights moved next to a different ``model.json`` are caught.
"""
from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Mapping, Optional, Tuple, Union

import chainer
import numpy as np

from chainer_vc.common.errors import InputError
from chainer_vc.features import world
from chainer_vc.features.spectrogram import SpectrogramConfig
from chainer_vc.common.files import NPZ_DAMAGE_ERRORS, error_summary, write_text_atomic
from chainer_vc.common.labels import LabelSchema
from chainer_vc.networks.models import Discriminator, Generator
from chainer_vc.networks.presets import Preset

MODEL_JSON = 'model.json'
FORMAT = 'chainer_vc.model/1'
_FEATURES_KEY = 'chainer_vc_features'
# gen_raw: G's own weights where gen_iter_N.npz is their average (train.py --gen-average).
_WEIGHTS_PATTERN = re.compile(r'^(gen|gen_raw|dis)_iter_(\d+)\.npz$')


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    preset: Preset
    features: SpectrogramConfig
    labels: LabelSchema
    training: Mapping = dataclasses.field(default_factory=dict)

    def build_generator(self) -> Generator:
        return Generator(self.labels.input_size, self.preset.gen_channels,
                         self.preset.n_res_blocks, self.preset.gen_conditioning,
                         self.preset.gen_norm, self.preset.gen_skips,
                         self.preset.gen_residual, self.preset.gen_levels,
                         self.preset.gen_motion)

    def build_discriminator(self) -> Discriminator:
        projection = self.labels.input_size if self.preset.dis_conditioning == 'projection' else 0
        return Discriminator(self.labels.class_size, self.features.frames,
                             self.preset.dis_channels, projection)

    def to_dict(self) -> dict:
        return {'format': FORMAT, 'preset': self.preset.to_dict(),
                'features': self.features.to_dict(), 'labels': self.labels.to_dict(),
                'training': dict(self.training)}

    @classmethod
    def from_dict(cls, data: Mapping) -> 'ModelConfig':
        return cls(Preset.from_dict(data['preset']),
                   feature_config_from_dict(data['features']),
                   LabelSchema.from_dict(data['labels']), data.get('training', {}))

    def save(self, run_dir: Union[str, Path]) -> Path:
        path = Path(run_dir) / MODEL_JSON
        write_text_atomic(path, json.dumps(self.to_dict(), indent=2) + '\n')
        return path

    @classmethod
    def load(cls, run_dir: Union[str, Path]) -> 'ModelConfig':
        path = Path(run_dir) / MODEL_JSON
        if not path.is_file():
            raise InputError(f'{run_dir}: not a model directory (no {MODEL_JSON})')
        try:
            data = json.loads(path.read_text())
            if data.get('format') != FORMAT:
                raise ValueError(f'format is {data.get("format")!r}, expected {FORMAT!r}')
            return cls.from_dict(data)
        except (ValueError, KeyError, TypeError) as error:
            raise InputError(f'{path}: not a valid model description ({error})') from None


def feature_config_from_dict(data: Mapping):
    """A model.json's ``features``: the seed's spectrogram unless it names another kind
    (spectrogram configs carry no ``kind``: models trained before kinds existed load as
    they are, weights included)."""
    if data.get('kind') == world.KIND:
        return world.WorldConfig.from_dict(data)
    return SpectrogramConfig.from_dict(data)


def weights_saver(features: SpectrogramConfig):
    """A ``savefun`` for ``snapshot_object`` that embeds the feature config in the npz.

    ``snapshot_object`` hands it the link already serialized (a dict of arrays); a Link is
    accepted too."""
    def save(filename, target):
        if isinstance(target, chainer.Link):
            serializer = chainer.serializers.DictionarySerializer()
            serializer.save(target)
            target = serializer.target
        arrays = dict(target, **{_FEATURES_KEY: np.array(json.dumps(features.to_dict()))})
        with open(filename, 'wb') as file:
            np.savez(file, **arrays)
    return save


def list_weights(run_dir: Union[str, Path], network: str = 'gen') -> dict:
    """``{iteration: path}`` of the weights of ``network`` ('gen', 'gen_raw' or 'dis') in
    ``run_dir``."""
    found = {}
    for path in Path(run_dir).iterdir():
        match = _WEIGHTS_PATTERN.match(path.name)
        if match and match.group(1) == network:
            found[int(match.group(2))] = path
    return found


def find_weights(run_dir: Union[str, Path], snapshot: Optional[str] = None,
                 network: str = 'gen') -> Path:
    """The newest weights, or those named by ``snapshot`` (an iteration number or a path)."""
    if snapshot is not None and not str(snapshot).isdigit():
        path = Path(snapshot)
        if not path.is_file():
            raise InputError(f'{snapshot}: no such weights file')
        return path
    found = list_weights(run_dir, network)
    if not found:
        raise InputError(f'{run_dir}: no {network}_iter_*.npz weights (has training run?)')
    if snapshot is None:
        return found[max(found)]
    if int(snapshot) not in found:
        raise InputError(f'{run_dir}: no weights for iteration {snapshot} '
                         f'(have: {", ".join(map(str, sorted(found)))})')
    return found[int(snapshot)]


def load_weights(path: Path, link: chainer.Link, features: SpectrogramConfig) -> None:
    try:
        # Every array is read (and so checked) before any reaches the link.
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except NPZ_DAMAGE_ERRORS as error:
        raise InputError(f'{path}: cannot load weights, damaged or truncated '
                         f'({error_summary(error)})') from None
    stored = arrays[_FEATURES_KEY].item() if _FEATURES_KEY in arrays else None
    # Through the config class, so that weights saved before a setting existed compare
    # with its default, as their model.json is read.
    if stored is not None and (feature_config_from_dict(json.loads(stored)).to_dict()
                               != features.to_dict()):
        raise InputError(f'{path}: weights were trained with a different feature '
                         f'config than {MODEL_JSON} describes')
    try:
        chainer.serializers.NpzDeserializer(arrays, strict=True).load(link)
    except (ValueError, KeyError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise InputError(f'{path}: cannot load weights ({reason})') from None


def load_generator(run_dir: Union[str, Path],
                   snapshot: Optional[str] = None) -> Tuple[Generator, ModelConfig]:
    """The trained generator of a run directory, and the config it was trained with."""
    config = ModelConfig.load(run_dir)
    generator = config.build_generator()
    path = find_weights(run_dir, snapshot, 'gen')
    try:
        load_weights(path, generator, config.features)
    except InputError as error:
        others = sorted(i for i, other in list_weights(run_dir, 'gen').items() if other != path)
        hint = f'; other weights: --snapshot {", ".join(map(str, others))}' if others else ''
        raise InputError(f'{error}{hint}') from None
    return generator, config
