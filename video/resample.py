"""``force_rate``: which source frame each output frame shows, under one of two rules.

- "on screen" (the default): output frame k, at time k / force_rate, is the source frame on screen then;
  the output runs to the clip's end time (its last frame's time plus one source frame).
- "VideoHelperSuite": the rule of VideoHelperSuite's OpenCV loader (VHS Load Video / Load Video Path), in
  its float arithmetic, so a converted graph gets the same frames. A time budget starts at one output
  frame's time (1 / force_rate) with the first source frame current; while the budget is under one output
  frame's time the next source frame becomes current and adds 1 / fps; otherwise one output frame's time
  is taken off and the current frame is output. It stops when the source runs out. At 12 fps → 8 it takes
  source frames 0, 2, 4, 5, 7, 8, 10, 11 (rounding makes it 4, not 3), where "on screen" takes 0, 1, 3, 4,
  6, 7, 9, 10.

Both yield (seconds, frame) with output frame k at k / force_rate; nothing is blended.
"""
from __future__ import annotations

import math
from fractions import Fraction
from typing import Iterable, Iterator

RESAMPLE_RULES = ("on screen", "VideoHelperSuite")  # saved widget values: append only
EPS = 1e-6


def on_screen(frames: Iterable, src_fps: Fraction, force_rate: float) -> Iterator:
    """``frames``: (seconds from the first frame, frame)."""
    step, k, prev, last_t = 1.0 / force_rate, 0, None, 0.0
    for t, frame in frames:
        if prev is not None:
            while k * step < t - EPS:  # output time k·step falls while `prev` is on screen
                yield k * step, prev
                k += 1
        prev, last_t = frame, t
    if prev is not None:
        end = last_t + 1.0 / float(src_fps)
        while k * step < end - EPS:
            yield k * step, prev
            k += 1


def videohelpersuite(frames: Iterable, src_fps: Fraction, force_rate: float) -> Iterator:
    """VideoHelperSuite's accumulator; frame times are ignored (only the stream's rate counts, as there)."""
    base, target = 1 / float(src_fps), 1 / force_rate
    source = iter(frames)
    current = next(source, None)
    if current is None:
        return
    budget, k = target, 0
    while True:
        if budget < target:
            current = next(source, None)
            if current is None:
                return
            budget += base
        if budget < target:
            continue
        budget -= target
        yield k * target, current[1]
        k += 1


RULES = {"on screen": on_screen, "VideoHelperSuite": videohelpersuite}


def resample(frames: Iterable, src_fps: Fraction, force_rate: float, rule: str) -> Iterator:
    return RULES[rule](frames, src_fps, force_rate)


def resampled_count(source_frames: int, src_fps: Fraction, force_rate: float, rule: str = RESAMPLE_RULES[0]) -> int:
    """How many frames force_rate makes of ``source_frames``; "VideoHelperSuite" runs its rule over the
    indices (one float step per output frame: a tenth of a second for an hour of video)."""
    if force_rate <= 0:
        return source_frames
    if rule == "VideoHelperSuite":
        return sum(1 for _ in videohelpersuite(((0.0, i) for i in range(source_frames)), src_fps, force_rate))
    return max(0, math.ceil(source_frames / float(src_fps) * force_rate - EPS))
