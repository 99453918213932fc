"""What a conversion must keep of what was said: how its band levels move in time.

Speakers differ in the level of each frequency band held over an utterance (the colour of
the voice); what was said is in how those levels move from frame to frame. A speech
recogniser's front end sees the second only (mel bands, then cepstral mean normalisation).
"""
import chainer.functions as F
import numpy as np

# Bins per band of dynamics_distance: 256 mel-spaced bins make 32 bands, about the 40 mel
# filters of a speech recogniser's front end.
DYNAMICS_BAND = 8


def dynamics_distance(x, y, band: int = DYNAMICS_BAND):
    """Mean absolute difference of x's and y's band levels (means of ``band`` adjacent bins),
    each less its mean over the window's frames. As a recogniser's cepstral mean normalisation,
    it ignores a band's level held for the whole window (where speakers differ) and sees how
    the bands move from frame to frame (what was said). x, y: (N, 1, frames, bins)."""
    return F.mean_absolute_error(_band_motion(x, band), _band_motion(y, band))


def utterance_distance(converted, source) -> float:
    """:func:`dynamics_distance` of two whole utterances' units (frames, bins), the frames'
    mean taken over the utterance."""
    as_batch = [np.asarray(u, dtype=np.float64)[None, None] for u in (converted, source)]
    return float(dynamics_distance(*as_batch).array)


def scale_motion(source, converted, scale: float):
    """``converted`` with its change of ``source`` split in two: the change of each bin's mean
    over the frames, kept whole (the colour of the voice), and the rest, multiplied by
    ``scale`` (the change in how the envelope moves: where the words are). ``scale`` 1 gives
    ``converted``, 0 ``source`` with each bin shifted by a constant. Units (frames, bins),
    NumPy or CuPy."""
    change = converted - source
    held = change.mean(axis=0, keepdims=True)
    return source + held + scale * (change - held)


def _band_motion(x, band: int):
    """Band levels, each less its mean over the frames."""
    levels = F.average_pooling_2d(x, (1, band), stride=(1, band))
    return levels - F.broadcast_to(F.mean(levels, axis=2, keepdims=True), levels.shape)
