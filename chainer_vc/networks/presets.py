"""Network and batch presets, in one place.

- ``cfcefd21``: the seed. 64 frames (17152 samples, 1.07 s), batch 5.
- ``9ada9179``: the model cfcefd21 starts from and compares against. 256 frames
  (66304 samples, 4.14 s), batch 2 (the largest that fitted the author's GPU).
- ``small``: the same topology with half the channels (a quarter of the weights and
  multiply-adds), for CPU training runs.
- ``tiny``: the same topology with 1/8 of the channels, for fast tests and demos.

The Generator's label conditioning, normalisation, skips, residual, levels-only and
motion-only output are options (``gen_conditioning``, ``gen_norm``, ``gen_skips``,
``gen_residual``, ``gen_levels``, ``gen_motion``), and so is the critic's
(``dis_conditioning``); every preset has the seed's ('bottleneck', 'batch', no skips, no
residual, neither levels- nor motion-only, 'none') by default.
"""
from __future__ import annotations

import dataclasses
from typing import Mapping

from chainer_vc.features.spectrogram import SpectrogramConfig


@dataclasses.dataclass(frozen=True)
class Preset:
    name: str
    frames: int
    batchsize: int
    gen_channels: tuple = (32, 64, 128, 256)
    n_res_blocks: int = 6
    dis_channels: tuple = (32, 64, 128, 256, 512, 1024)
    epochs: int = 1000
    description: str = ''
    gen_conditioning: str = 'bottleneck'
    gen_norm: str = 'batch'
    gen_skips: bool = False
    gen_residual: bool = False
    gen_levels: bool = False
    gen_motion: bool = False
    dis_conditioning: str = 'none'

    def __post_init__(self):
        object.__setattr__(self, 'gen_channels', tuple(self.gen_channels))
        object.__setattr__(self, 'dis_channels', tuple(self.dis_channels))

    def spectrogram_config(self, **overrides) -> SpectrogramConfig:
        return SpectrogramConfig(frames=self.frames, **overrides)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping) -> 'Preset':
        return cls(**data)


PRESETS = {
    preset.name: preset for preset in (
        Preset('cfcefd21', frames=64, batchsize=5,
               description='the seed: 64 frames, batch 5 (10.07 h for 1000 epochs)'),
        Preset('9ada9179', frames=256, batchsize=2,
               description='the baseline: 256 frames, batch 2 (22.68 h for 1000 epochs)'),
        Preset('small', frames=64, batchsize=5, gen_channels=(16, 32, 64, 128),
               dis_channels=(16, 32, 64, 128, 256, 512),
               description='cfcefd21 with half the channels, for CPU training'),
        Preset('tiny', frames=64, batchsize=5, gen_channels=(4, 8, 16, 32),
               dis_channels=(4, 8, 16, 32, 64, 128),
               description='cfcefd21 with 1/8 of the channels, for tests and demos'),
    )
}
