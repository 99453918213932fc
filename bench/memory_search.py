"""The largest batch whose peak memory fits a budget: a line through the measured peaks
predicts it, single-iteration runs refine it, within a wall-time limit.

The line goes through the measured points nearest the budget: the two that bracket it once
there are such, else the three largest batches. The first run aims a little below the
prediction: peak memory grows slightly faster than linearly, and a run that fits is a
measured answer, where one over the budget is only a bound.
"""
from __future__ import annotations

import math
import time
from typing import Callable, Mapping, Optional

import numpy as np

# A run's cost: process start-up and model building, then one iteration, whose time per
# sample grows by up to ~1.4x from the grid's batches to the budget's (memory traffic).
STARTUP_SECONDS = 15.0
COST_MARGIN = 1.4
# Where the prediction is too dear to run, a run the time allows is made if it reaches at
# least this many times the largest batch measured.
EXTEND = 2
MAX_RUNS = 5
# The first run's batch, as a fraction of the prediction from the grid.
FIRST_AIM = 0.95


def fit_line(points: Mapping[int, int]) -> Optional[tuple]:
    """(bytes per sample, bytes at batch 0) by least squares, or None under two points."""
    if len(points) < 2:
        return None
    batches = np.array(sorted(points), dtype=float)
    slope, intercept = np.polyfit(batches, [points[b] for b in sorted(points)], 1)
    return float(slope), float(intercept)


def nearest(points: Mapping[int, int], budget: int) -> dict:
    """The bracketing pair of points if there is one, else the three largest batches."""
    low, high = bracket(points, budget)
    chosen = (low, high) if low is not None and high is not None else sorted(points)[-3:]
    return {b: points[b] for b in chosen}


def predict(points: Mapping[int, int], budget: int) -> Optional[int]:
    """The largest batch the line through the points nearest the budget keeps under it
    (None if the line does not rise)."""
    line = fit_line(nearest(points, budget))
    if line is None or line[0] <= 0:
        return None
    slope, intercept = line
    # The margin keeps a fit's rounding (29.9999...) from losing a whole sample.
    return max(0, math.floor((budget - intercept) / slope + 1e-6))


def bracket(points: Mapping[int, int], budget: int) -> tuple:
    """(largest measured batch within budget, smallest measured batch over it); None if none."""
    under = [b for b, peak in points.items() if peak <= budget]
    over = [b for b, peak in points.items() if peak > budget]
    return (max(under) if under else None), (min(over) if over else None)


def next_candidate(points: Mapping[int, int], budget: int, aim: float = 1.0) -> Optional[int]:
    """The batch to measure next: ``aim`` x the prediction, kept strictly inside the bracket."""
    predicted = predict(points, budget)
    if predicted is None:
        return None
    predicted = math.floor(aim * predicted)
    low, high = bracket(points, budget)
    candidate = max(predicted, (low or 0) + 1)
    if high is not None:
        candidate = min(candidate, high - 1)
    return None if candidate in points or candidate < 1 else candidate


def search(points: Mapping[int, int], budget: int, run: Callable[[int], dict],
           seconds_per_sample: float, time_limit: float,
           clock: Callable[[], float] = time.monotonic) -> dict:
    """Refine the prediction from ``points`` ({batch: peak bytes}) with ``run(batch)``, which
    returns a configuration's result, while the next run's estimated cost fits ``time_limit``;
    where the prediction costs too much, run the largest batch that fits instead (once it at
    least doubles the largest batch measured).

    ``status`` says how sure ``largest_batch`` is: 'exact' (it fits and one more does not,
    both measured), 'confirmed' (measured to fit at the prediction; one more is predicted
    over) or 'predicted' (the line only).
    """
    measured = dict(points)
    grid_prediction = predict(measured, budget)
    deadline = clock() + time_limit
    runs, stopped = [], 'bracketed'
    while len(runs) < MAX_RUNS:
        candidate = next_candidate(measured, budget, 1.0 if runs else FIRST_AIM)
        if candidate is None:
            break
        affordable = _affordable(deadline - clock(), seconds_per_sample)
        if candidate > affordable:
            stopped = (f'time limit: a run at batch {candidate} would take '
                       f'~{_cost(candidate, seconds_per_sample):.0f} s')
            if affordable < EXTEND * max(measured):
                break
            # The prediction is too dear to run; the largest batch the time allows still
            # shortens the extrapolation.
            candidate = affordable
        result = run(candidate)
        runs.append(result)
        if 'peak_memory_bytes' not in result:
            stopped = f'the run at batch {candidate} failed'
            break
        measured[candidate] = result['peak_memory_bytes']
    return {'budget_bytes': budget, 'grid_prediction': grid_prediction, 'runs': runs,
            'stopped': stopped, **_conclusion(measured, budget)}


def _cost(batch: int, seconds_per_sample: float) -> float:
    return STARTUP_SECONDS + COST_MARGIN * seconds_per_sample * batch


def _affordable(seconds: float, seconds_per_sample: float) -> int:
    """The largest batch whose run's estimated cost fits ``seconds``."""
    per_sample = COST_MARGIN * max(seconds_per_sample, 1e-9)
    return max(0, math.floor((seconds - STARTUP_SECONDS) / per_sample))


def _conclusion(measured: Mapping[int, int], budget: int) -> dict:
    low, high = bracket(measured, budget)
    predicted = predict(measured, budget)
    line = fit_line(nearest(measured, budget))
    fit = {'bytes_per_sample': line[0], 'bytes_at_batch_0': line[1]} if line else None
    if low is not None and high == low + 1:
        largest, status = low, 'exact'
    elif low is not None and predicted is not None and predicted <= low:
        largest, status = low, 'confirmed'
    else:
        largest, status = predicted, 'predicted'
        if largest is not None and high is not None:
            largest = min(largest, high - 1)
    return {'largest_batch': largest, 'status': status, 'largest_measured_within': low,
            'smallest_measured_over': high, 'fit': fit,
            'measured': {str(b): measured[b] for b in sorted(measured)}}
