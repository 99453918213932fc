"""The seed's Generator and Discriminator (SPEC.md's tables), as Chainer Chains."""
from __future__ import annotations

from typing import Callable, Optional, Sequence

import chainer
import chainer.functions as F
import chainer.links as L
import numpy

from chainer_vc.networks import kernels


NORMS = ('batch', 'instance')
CONDITIONINGS = ('bottleneck', 'decoder', 'cin')


class ConditionalInstanceNormalization(chainer.Chain):
    """Instance normalisation whose per-channel scale and shift are linear in the labels
    (StarGAN-VC2's CIN). Starts as plain instance normalisation (scale 1, shift 0)."""

    def __init__(self, channels: int, label_size: int):
        super().__init__()
        with self.init_scope():
            self.scale = L.Linear(label_size, channels, initialW=0, initial_bias=1)
            self.shift = L.Linear(label_size, channels, initialW=0, initial_bias=0)

    def forward(self, x, c):
        h = instance_normalization(x)
        return h * self.scale(c)[:, :, None, None] + self.shift(c)[:, :, None, None]


def instance_normalization(x, eps: float = 1e-5):
    """(x - mean) / sqrt(var + eps) over each sample's and channel's spatial map."""
    mean = F.mean(x, axis=(2, 3), keepdims=True)
    centred = x - F.broadcast_to(mean, x.shape)
    variance = F.mean(F.square(centred), axis=(2, 3), keepdims=True)
    return centred * F.broadcast_to(F.rsqrt(variance + eps), x.shape)


def _normalization(norm: Optional[str], channels: int, label_size: int = 0):
    if norm is None:
        return None
    if norm == 'batch':
        return L.BatchNormalization(channels)
    if norm == 'instance':
        return L.GroupNormalization(channels, channels)
    if norm == 'cin':
        return ConditionalInstanceNormalization(channels, label_size)
    raise ValueError(f'unknown normalisation {norm!r} (known: batch, instance, cin)')


class ConvBlock(chainer.Chain):
    """Convolution (or deconvolution), optional normalisation, optional activation.

    ``norm``: 'batch' (the seed's BatchNormalization), 'instance', 'cin' (conditional
    instance normalisation: forward then takes the labels), or None."""

    def __init__(self, in_channels: int, out_channels: int, ksize, stride=1, pad=0, *,
                 deconv: bool = False, batch_norm: bool = True,
                 activation: Optional[Callable] = F.relu, norm: Optional[str] = 'batch',
                 label_size: int = 0):
        super().__init__()
        self.activation = activation
        self.norm = norm if batch_norm else None
        conv_class = L.Deconvolution2D if deconv else L.Convolution2D
        with self.init_scope():
            self.conv = conv_class(in_channels, out_channels, ksize, stride, pad)
            self.bn = _normalization(self.norm, out_channels, label_size)

    def forward(self, x, c=None):
        h = self.conv(x)
        if self.norm == 'cin':
            h = self.bn(h, c)
        elif self.bn is not None:
            h = self.bn(h)
        return self.activation(h) if self.activation is not None else h


class ResBlock(chainer.Chain):
    """conv-BN-ReLU-conv-BN plus the identity, as in StarGAN (the log does not draw it)."""

    def __init__(self, channels: int, norm: str = 'batch', label_size: int = 0):
        super().__init__()
        with self.init_scope():
            self.block1 = ConvBlock(channels, channels, 3, 1, 1, norm=norm,
                                    label_size=label_size)
            self.block2 = ConvBlock(channels, channels, 3, 1, 1, activation=None, norm=norm,
                                    label_size=label_size)

    def forward(self, x, c=None):
        return x + self.block2(self.block1(x, c), c)


class Generator(chainer.Chain):
    """G(x, c): spectrogram (B, 1, frames, 256) in [0, 1] and labels (B, label_size) ->
    spectrogram (B, 1, frames, 256) in (0, 1). ``frames`` must be a multiple of 8.

    Options, the seed's by default: ``conditioning`` 'bottleneck' (the seed: labels tiled
    and concatenated before the merge convolution only), 'decoder' (also concatenated to the
    input of every up layer) or 'cin' (also through conditional instance normalisation in
    every ResBlock and up layer); ``norm`` 'batch' (the seed) or 'instance' everywhere else;
    ``skips`` False (the seed) or True: each up layer's output plus the down layer's output
    of the same size (U-Net's skips, added rather than concatenated), so that detail finer
    than the 8x-downsampled bottleneck reaches the output; ``residual`` False (the seed) or
    True: the last layer's output (no sigmoid of its own) is a change to the input, added
    to its logit, so that G(x) = sigmoid(logit(x) + change): a change of 0 is the identity,
    and what G leaves alone keeps all of its detail; ``levels`` False (the seed) or True (with
    ``residual``): the change averaged over the frames, one constant per bin, so that G
    changes each bin's level and never how the input's bins move in time; ``motion`` False
    (the seed) or True (with ``residual``): the change less its mean over the frames, so that
    G changes how the input's bins move in time and never a bin's level (on
    utterance-normalised envelopes the level is the target's statistics').
    """

    def __init__(self, label_size: int, channels: Sequence[int] = (32, 64, 128, 256),
                 n_res_blocks: int = 6, conditioning: str = 'bottleneck', norm: str = 'batch',
                 skips: bool = False, residual: bool = False, levels: bool = False,
                 motion: bool = False):
        super().__init__()
        if (levels or motion) and not residual:
            raise ValueError('a levels-only or motion-only G needs the residual output')
        if levels and motion:
            raise ValueError('G is levels-only or motion-only, not both')
        if conditioning not in CONDITIONINGS:
            raise ValueError(f'unknown label conditioning {conditioning!r}')
        if norm not in NORMS:
            raise ValueError(f'unknown normalisation {norm!r}')
        c1, c2, c3, c4 = channels
        self.label_size = label_size
        self.n_res_blocks = n_res_blocks
        self.conditioning = conditioning
        self.skips = skips
        self.residual = residual
        self.levels = levels
        self.motion = motion
        extra = label_size if conditioning == 'decoder' else 0
        late_norm = 'cin' if conditioning == 'cin' else norm
        late = dict(norm=late_norm, label_size=label_size)
        with self.init_scope():
            self.down1 = ConvBlock(1, c1, 7, 1, 3, norm=norm)
            self.down2 = ConvBlock(c1, c2, 4, 2, 1, norm=norm)
            self.down3 = ConvBlock(c2, c3, 4, 2, 1, norm=norm)
            self.down4 = ConvBlock(c3, c4, 4, 2, 1, norm=norm)
            # Input width c4 + label_size (1735 for the seed); the log's 1607 is a copy slip.
            self.merge = ConvBlock(c4 + label_size, c4, 3, 1, 1, norm=norm)
            for i in range(1, n_res_blocks + 1):
                setattr(self, f'res{i}', ResBlock(c4, **late))
            self.up1 = ConvBlock(c4 + extra, c3, 4, 2, 1, deconv=True, **late)
            self.up2 = ConvBlock(c3 + extra, c2, 4, 2, 1, deconv=True, **late)
            self.up3 = ConvBlock(c2 + extra, c1, 4, 2, 1, deconv=True, **late)
            self.up4 = ConvBlock(c1 + extra, 1, 7, 1, 3, deconv=True, batch_norm=False,
                                 activation=None if residual else F.sigmoid)
        if residual:
            # A residual G starts as the identity: its last layer's weights start at 0.
            self.up4.conv.W.array[...] = 0
            self.up4.conv.b.array[...] = 0

    def encode(self, x) -> list:
        """The outputs of down1 .. down4 (the last is the bottleneck)."""
        outputs = []
        for down in (self.down1, self.down2, self.down3, self.down4):
            x = down(x)
            outputs.append(x)
        return outputs

    def condition(self, h, c):
        """Tile the labels over the bottleneck, concatenate, merge."""
        if kernels.enabled() and self.merge.norm == 'batch':
            return self.merge.activation(self.merge.bn(self._factored_merge(h, c)))
        return self.merge(self._with_labels(h, c))

    def _with_labels(self, h, c):
        batch, _, height, width = h.shape
        tiled = F.broadcast_to(F.reshape(c, (batch, self.label_size, 1, 1)),
                               (batch, self.label_size, height, width))
        return F.concat((h, tiled), axis=1)

    def _factored_merge(self, h, c):
        """The merge convolution of [h; c tiled], without tiling c: a label channel is constant
        over space, so its part of the convolution is sum over kernel taps (k, l) of
        (W_label[:, :, k, l] @ c) x [tap (k, l) falls inside the map], which depends on c and
        the border position only. Same sums as the plain path, in another order."""
        conv = self.merge.conv
        features = h.shape[1]
        out_channels, _, kh, kw = conv.W.shape
        batch, _, height, width = h.shape
        y = F.convolution_2d(h, conv.W[:, :features], conv.b, conv.stride, conv.pad)
        label_w = F.reshape(F.transpose(conv.W[:, features:], (1, 0, 2, 3)),
                            (self.label_size, out_channels * kh * kw))
        taps = F.reshape(F.matmul(c, label_w), (batch * out_channels, kh * kw))
        inside = self.xp.asarray(tap_masks((kh, kw), conv.pad, (height, width)))
        label_term = F.reshape(F.matmul(taps, inside), (batch, out_channels, height, width))
        return y + label_term

    def decode(self, h, c=None, skips: Sequence = ()):
        """Bottleneck -> output; ``skips``: down3, down2, down1's outputs, added to the
        outputs of up1, up2, up3 (the ``skips`` option; none for the seed)."""
        for i in range(1, self.n_res_blocks + 1):
            h = getattr(self, f'res{i}')(h, c)
        ups = (self.up1, self.up2, self.up3, self.up4)
        for i, up in enumerate(ups):
            h = up(self._with_labels(h, c) if self.conditioning == 'decoder' else h, c)
            if i < len(skips):
                h = h + skips[i]
        return h

    def forward(self, x, c):
        outputs = self.encode(x)
        skips = outputs[-2::-1] if self.skips else ()
        h = self.decode(self.condition(outputs[-1], c), c, skips)
        if not self.residual:
            return h
        if self.levels or self.motion:
            level = F.broadcast_to(F.mean(h, axis=2, keepdims=True), h.shape)
            h = level if self.levels else h - level
        return F.sigmoid(logit(x) + h)


# Inputs of a residual G are clipped to this far inside (0, 1) before the logit: the world
# features hold exact 0s and 1s (values past +-spread sigmas), whose logits are infinite.
LOGIT_MARGIN = 1e-3


def logit(x):
    """ln(x / (1 - x)), x clipped to [LOGIT_MARGIN, 1 - LOGIT_MARGIN]."""
    x = F.clip(x, LOGIT_MARGIN, 1 - LOGIT_MARGIN)
    return F.log(x) - F.log(1 - x)


def tap_masks(ksize, pad, size) -> numpy.ndarray:
    """(kh * kw, H * W) float32: 1 where kernel tap (k, l) of a stride-1 convolution at
    output position (y, x) reads inside the (H, W) input, 0 where it reads padding."""
    (kh, kw), (ph, pw), (height, width) = ksize, pad, size
    rows = numpy.arange(height)[None, :] + numpy.arange(kh)[:, None] - ph
    cols = numpy.arange(width)[None, :] + numpy.arange(kw)[:, None] - pw
    inside_rows = (rows >= 0) & (rows < height)
    inside_cols = (cols >= 0) & (cols < width)
    masks = inside_rows[:, None, :, None] & inside_cols[None, :, None, :]
    return masks.reshape(kh * kw, height * width).astype(numpy.float32)


def _leaky_relu(x):
    return F.leaky_relu(x, slope=0.2)


DIS_CONDITIONINGS = ('none', 'projection')


class Discriminator(chainer.Chain):
    """D(x) -> (feature (B, 1024, 4, 4), classification (B, class_size),
    adversarial (B, 1, 4, 4)) for x (B, 1, frames, 256).

    ``projection_size`` > 0 (an option; the seed's critic is unconditional): a projection
    critic (Miyato & Koyama 2018, as StarGAN-VC2 conditions its critic). D(x, c) adds
    <embed(c), feature> at every position of the adversarial map, so the critic judges
    whether x is real speech *of the labels c*, not just real speech."""

    def __init__(self, class_size: int, frames: int = 64,
                 channels: Sequence[int] = (32, 64, 128, 256, 512, 1024),
                 projection_size: int = 0):
        super().__init__()
        self.n_convs = len(channels)
        self.conditional = projection_size > 0
        with self.init_scope():
            height, in_channels = frames, 1
            for i, out_channels in enumerate(channels, start=1):
                # Halve the height down to 4, then keep it: gives cfcefd21's k4 s2 x4 then
                # k(3,4) s(1,2) x2 on 64 frames, and 9ada9179's k4 s2 x6 on 256 frames.
                if height > 4:
                    ksize, stride, height = 4, 2, height // 2
                else:
                    ksize, stride = (3, 4), (1, 2)
                setattr(self, f'conv{i}', ConvBlock(
                    in_channels, out_channels, ksize, stride, 1,
                    batch_norm=False, activation=_leaky_relu))
                in_channels = out_channels
            # Pad 0, not the log's 1: pad 1 gives 3 x 3, the log's own output is 1 x 1.
            self.clazz = L.Convolution2D(in_channels, class_size, 4, 1, 0)
            self.discriminate = L.Convolution2D(in_channels, 1, 3, 1, 1)
            if self.conditional:
                self.embed = L.Linear(projection_size, in_channels, nobias=True)

    def features(self, x):
        h = x
        for i in range(1, self.n_convs + 1):
            h = getattr(self, f'conv{i}')(h)
        return h

    def forward(self, x, c=None):
        """``c``: the labels x is judged as (generator-input form); only a projection
        critic takes them."""
        feature = self.features(x)
        # A feature map larger than 4 x 4 (longer inputs) gives a map of class scores: average it.
        classification = F.mean(self.clazz(feature), axis=(2, 3))
        adversarial = self.discriminate(feature)
        if self.conditional:
            if c is None:
                raise ValueError('a projection critic judges x with its labels: D(x, c)')
            embedded = F.broadcast_to(self.embed(c)[:, :, None, None], feature.shape)
            adversarial = adversarial + F.sum(embedded * feature, axis=1, keepdims=True)
        return feature, classification, adversarial
