"""Decode a clip frame by frame into an IMAGE batch, with frame selection, resampling, resizing and audio.
(Opening, probing and reading frames / audio from the file is ``source``'s job; this module plans, selects,
resizes and assembles.)

Order of operations (the node's tooltips say the same):
1. ``force_rate`` (> 0) resamples the clip to that frame rate: with ``resample_rule`` "on screen" output
   frame k shows the source frame on screen at time k / force_rate; "VideoHelperSuite" takes the frames
   VideoHelperSuite's Load Video takes (``video/resample.py`` says how). Frames are repeated or dropped;
   nothing is blended.
2. ``skip_first_frames`` drops that many frames of the (resampled) sequence;
3. ``select_every_nth`` keeps every n-th of the rest;
4. ``frame_load_cap`` (> 0) stops after that many frames.
The fps reported is (force_rate or the clip's rate) / select_every_nth. The audio returned covers the
selected frames' span: from the first selected frame's time for frame_count / fps seconds.

Before decoding, ``plan_load`` estimates the output from the container's metadata and refuses a load whose
IMAGE batch (float32) would exceed the memory cap; while decoding the same cap is enforced frame by frame,
so a file with a wrong or missing frame count cannot slip past it. Decoded frames are kept as uint8 until
the end, then copied one by one into the float32 batch (peak ≈ 1.25× the batch).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import BinaryIO, Callable, Iterator, Optional

import av
import cv2
import numpy as np
import torch

from . import VideoError
from .resample import RESAMPLE_RULES, resample, resampled_count
from .source import ClipInfo, open_video, read_audio

GB = 1e9
RESIZE_MODES = ("crop", "pad")  # widget order: append only
Progress = Callable[[int, Optional[int]], None]


@dataclass(frozen=True)
class LoadOptions:
    frame_load_cap: int = 0
    skip_first_frames: int = 0
    select_every_nth: int = 1
    force_rate: float = 0.0
    width: int = 0
    height: int = 0
    resize_mode: str = "crop"
    memory_cap_gb: float = 4.0
    resample_rule: str = RESAMPLE_RULES[0]

    def check(self) -> None:
        for name, low in (("frame_load_cap", 0), ("skip_first_frames", 0), ("width", 0), ("height", 0),
                          ("select_every_nth", 1), ("force_rate", 0)):
            if getattr(self, name) < low:
                raise VideoError(f"{name} must be {low} or more (got {getattr(self, name)}).")
        if self.resize_mode not in RESIZE_MODES:
            raise VideoError(f"resize_mode must be one of {', '.join(RESIZE_MODES)} (got '{self.resize_mode}').")
        if self.resample_rule not in RESAMPLE_RULES:
            raise VideoError(f"resample_rule must be one of {', '.join(repr(r) for r in RESAMPLE_RULES)} (got "
                             f"{self.resample_rule!r}): which source frame each frame at force_rate shows.")
        if not self.memory_cap_gb > 0:
            raise VideoError(f"memory_cap_gb must be more than 0 (got {self.memory_cap_gb}).")


@dataclass(frozen=True)
class Plan:
    """What a load will produce, known before decoding."""
    width: int
    height: int
    fps: Fraction
    frames: Optional[int]  # expected selected frames; None when the container does not say
    max_frames: int        # frames that fit under the memory cap

    @property
    def frame_bytes(self) -> int:
        return self.width * self.height * 3 * 4


@dataclass
class LoadedClip:
    images: torch.Tensor        # [N, H, W, 3] float32 in 0..1
    fps: Fraction
    audio: Optional[dict]       # {"waveform": [1, C, S] float32, "sample_rate": int} or None
    start: float                # seconds from the clip's first frame to the first selected frame
    info: ClipInfo

    @property
    def frame_count(self) -> int:
        return int(self.images.shape[0])


# --------------------------------------------------------------------------------------------- planning

def round8(value: float) -> int:
    return max(8, int(value / 8 + 0.5) * 8)


def target_size(src_w: int, src_h: int, width: int, height: int) -> tuple[int, int]:
    """(0, 0) keeps the clip's size; otherwise each given side is rounded to a multiple of 8 and a side
    left at 0 follows the clip's aspect ratio."""
    if not width and not height:
        return src_w, src_h
    if width and height:
        return round8(width), round8(height)
    if width:
        return round8(width), round8(round8(width) * src_h / src_w)
    return round8(round8(height) * src_w / src_h), round8(height)


def output_fps(src_fps: Fraction, opts: LoadOptions) -> Fraction:
    base = Fraction(opts.force_rate).limit_denominator(1001) if opts.force_rate > 0 else src_fps
    return base / opts.select_every_nth


def selected_count(available: int, opts: LoadOptions) -> int:
    """Frames left from ``available`` (after resampling) by skip, every-nth and the cap."""
    n = max(0, math.ceil((available - opts.skip_first_frames) / opts.select_every_nth))
    return min(n, opts.frame_load_cap) if opts.frame_load_cap else n


def _size(n: float) -> str:
    return f"{n / GB:.2f} GB" if n >= 0.1 * GB else f"{n / 1e6:.1f} MB"


def memory_message(name: str, frames: int, plan: Plan, opts: LoadOptions, at_least: bool = False) -> str:
    if plan.max_frames == 0:
        return (f"'{name}': one frame at {plan.width}×{plan.height} takes {_size(plan.frame_bytes)}, more "
                f"than memory_cap_gb = {opts.memory_cap_gb:g}. Lower width/height or raise memory_cap_gb.")
    return (f"'{name}': {'at least ' if at_least else ''}{frames} frames at {plan.width}×{plan.height} would "
            f"take {_size(frames * plan.frame_bytes)} as an IMAGE batch (float32), over memory_cap_gb = "
            f"{opts.memory_cap_gb:g}. "
            f"{plan.max_frames} frames fit: set frame_load_cap to {plan.max_frames} or less (or raise "
            "select_every_nth, lower width/height, or raise memory_cap_gb if this machine has the RAM).")


def empty_message(name: str, available: int, opts: LoadOptions) -> str:
    if available == 0:
        return f"'{name}' contains no video frames. Re-export the clip or pick another file."
    rate = f" at force_rate = {opts.force_rate:g}" if opts.force_rate > 0 else ""
    return (f"'{name}': no frames left to load: the clip has {available} frames{rate} and skip_first_frames = "
            f"{opts.skip_first_frames} skips them all. Set skip_first_frames below {available}.")


def plan_load(info: ClipInfo, opts: LoadOptions) -> Plan:
    """Output size, rate and frame count from the metadata; refuses an empty or oversized load."""
    opts.check()
    width, height = target_size(info.width, info.height, opts.width, opts.height)
    frames = None
    if info.frame_count is not None:
        available = resampled_count(info.frame_count, info.fps, opts.force_rate, opts.resample_rule)
        frames = selected_count(available, opts)
        if frames == 0 and info.exact:  # an estimate from a duration may be short: let decoding decide
            raise VideoError(empty_message(info.name, available, opts))
    plan = Plan(width, height, output_fps(info.fps, opts), frames or None,
                int(opts.memory_cap_gb * GB // (width * height * 3 * 4)))
    if plan.max_frames == 0 or (frames is not None and frames > plan.max_frames):
        raise VideoError(memory_message(info.name, frames or 1, plan, opts))
    return plan


# -------------------------------------------------------------------------------------------- selection

class Selection:
    """Applies force_rate, skip, every-nth and cap to a stream of (time, frame); yields (seconds from the
    first frame, frame)."""

    def __init__(self, frames: Iterator, src_fps: Fraction, opts: LoadOptions):
        self.src_fps, self.opts = src_fps, opts
        self.origin = None  # time of the first frame
        self.seen = 0       # frames of the (resampled) sequence looked at
        self.frames = self._relative(frames)

    def _relative(self, frames):
        for t, frame in frames:
            self.origin = t if self.origin is None else self.origin
            yield t - self.origin, frame

    def __iter__(self):
        opts = self.opts
        sequence = (resample(self.frames, self.src_fps, opts.force_rate, opts.resample_rule)
                    if opts.force_rate > 0 else self.frames)
        taken = 0
        for t, frame in sequence:
            j = self.seen
            self.seen += 1
            if j < opts.skip_first_frames or (j - opts.skip_first_frames) % opts.select_every_nth:
                continue
            yield t, frame
            taken += 1
            if opts.frame_load_cap and taken >= opts.frame_load_cap:
                return


# ---------------------------------------------------------------------------------------------- resizing

def fit_layout(src_w: int, src_h: int, w: int, h: int, mode: str) -> tuple[int, int, int, int]:
    """(scaled width, scaled height, x, y): crop scales to cover w×h and cuts the centre out (x, y = offset
    into the scaled frame); pad scales to fit inside w×h and centres it on black (x, y = offset in the
    output)."""
    if (src_w, src_h) == (w, h):
        return w, h, 0, 0
    scale = (max if mode == "crop" else min)(w / src_w, h / src_h)
    sw, sh = max(1, round(src_w * scale)), max(1, round(src_h * scale))
    if mode == "crop":
        sw, sh = max(sw, w), max(sh, h)
        return sw, sh, (sw - w) // 2, (sh - h) // 2
    sw, sh = min(sw, w), min(sh, h)
    return sw, sh, (w - sw) // 2, (h - sh) // 2


class Fitter:
    """One frame (PyAV frame, or a [H, W, C] float tensor) → [h, w, 3] array (uint8, or float32 for tensors).
    PyAV frames are turned upright by ``quarter_turns`` (their display rotation) first."""

    def __init__(self, width: int, height: int, mode: str, quarter_turns: int = 0):
        self.width, self.height, self.mode, self.turns = width, height, mode, quarter_turns

    def _scaled(self, frame, sw: int, sh: int) -> np.ndarray:
        if isinstance(frame, av.VideoFrame):
            w, h = (sh, sw) if self.turns % 2 else (sw, sh)  # scale in stored orientation, then rotate
            # the frame's own colour matrix and range (full-range phone clips would look washed out otherwise)
            kwargs = {"format": "rgb24", "src_color_range": frame.color_range}
            if (w, h) != (frame.width, frame.height):
                kwargs.update(width=w, height=h,
                              interpolation="AREA" if w * h < frame.width * frame.height else "BICUBIC")
            arr = frame.to_ndarray(**kwargs)
            return np.rot90(arr, self.turns) if self.turns else arr
        arr = frame.detach().to("cpu", torch.float32).numpy()
        arr = np.repeat(arr, 3, axis=-1) if arr.shape[-1] == 1 else arr[..., :3]
        if (sw, sh) == (arr.shape[1], arr.shape[0]):
            return np.ascontiguousarray(arr)
        shrink = sw * sh < arr.shape[0] * arr.shape[1]
        out = cv2.resize(arr, (sw, sh), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)
        return np.clip(out, 0.0, 1.0, out=out)

    def __call__(self, frame) -> np.ndarray:
        if isinstance(frame, av.VideoFrame):
            src_w, src_h = (frame.height, frame.width) if self.turns % 2 else (frame.width, frame.height)
        else:
            src_h, src_w = int(frame.shape[0]), int(frame.shape[1])
        sw, sh, x, y = fit_layout(src_w, src_h, self.width, self.height, self.mode)
        arr = self._scaled(frame, sw, sh)
        if (sw, sh) == (self.width, self.height):
            return arr
        if self.mode == "crop":
            return arr[y:y + self.height, x:x + self.width]
        canvas = np.zeros((self.height, self.width, 3), arr.dtype)
        canvas[y:y + sh, x:x + sw] = arr
        return canvas


# -------------------------------------------------------------------------------------------- decoding

def _collect(selection: Selection, fitter: Fitter, plan: Plan, name: str, opts: LoadOptions,
             progress: Optional[Progress]) -> tuple[list, float]:
    arrays, start = [], 0.0
    last_frame, last_array = None, None
    for t, frame in selection:
        if len(arrays) >= plan.max_frames:
            raise VideoError(memory_message(name, len(arrays) + 1, plan, opts, at_least=True))
        if frame is not last_frame:  # force_rate repeats a frame: convert it once, keep it once
            last_frame, last_array = frame, fitter(frame)
        if not arrays:
            start = t
        arrays.append(last_array)
        if progress:
            progress(len(arrays), plan.frames)
    if not arrays:
        raise VideoError(empty_message(name, selection.seen, opts))
    return arrays, start


def assemble(arrays: list, height: int, width: int) -> torch.Tensor:
    """uint8 / float32 frames → one [N, H, W, 3] float32 batch, releasing each frame as it is copied."""
    out = torch.empty((len(arrays), height, width, 3), dtype=torch.float32)
    target = out.numpy()
    for i in range(len(arrays)):
        array, arrays[i] = arrays[i], None
        if array.dtype == np.uint8:  # one pass, uint8 → float32 (numpy: ~10× torch's copy_ + div_ here)
            np.multiply(array, np.float32(1 / 255), out=target[i], casting="unsafe")
        else:
            np.copyto(target[i], array)
    return out


def load_file(source: str | BinaryIO, name: str, opts: LoadOptions,
              progress: Optional[Progress] = None) -> LoadedClip:
    """Decode ``source`` (a path or a file object) as ``opts`` asks; ``name`` is how messages call it."""
    with open_video(source, name) as (container, stream, info, frames):
        plan = plan_load(info, opts)
        selection = Selection(frames, info.fps, opts)
        fitter = Fitter(plan.width, plan.height, opts.resize_mode, info.quarter_turns)
        arrays, start = _collect(selection, fitter, plan, name, opts, progress)
        origin = selection.origin or 0.0
    images = assemble(arrays, plan.height, plan.width)
    audio = None
    if info.audio:
        duration = images.shape[0] / float(plan.fps)
        audio = read_audio(source, name, origin + start, duration)
    return LoadedClip(images, plan.fps, audio, start, info)


def load_tensor(images: torch.Tensor, fps: Fraction, audio: Optional[dict], name: str, opts: LoadOptions,
                progress: Optional[Progress] = None) -> LoadedClip:
    """The same selection, resizing and audio trimming on frames already in memory (a core VIDEO)."""
    if images.ndim != 4 or images.shape[0] == 0:
        raise VideoError(f"{name} holds no frames (image batch of shape {tuple(images.shape)}).")
    info = ClipInfo(name, int(images.shape[2]), int(images.shape[1]), Fraction(fps), int(images.shape[0]),
                    "tensor", audio is not None)
    plan = plan_load(info, opts)
    frames = ((i / float(info.fps), images[i]) for i in range(images.shape[0]))
    selection = Selection(frames, info.fps, opts)
    arrays, start = _collect(selection, Fitter(plan.width, plan.height, opts.resize_mode), plan, name, opts,
                             progress)
    out = assemble(arrays, plan.height, plan.width)
    trimmed = trim_audio(audio, start, out.shape[0] / float(plan.fps)) if audio is not None else None
    return LoadedClip(out, plan.fps, trimmed, start, info)


def trim_audio(audio: dict, start: float, duration: float) -> Optional[dict]:
    """The [start, start + duration) seconds of an AUDIO dict (first item of its batch)."""
    waveform, rate = audio["waveform"], int(audio["sample_rate"])
    a, b = max(0, round(start * rate)), max(0, round((start + duration) * rate))
    clip = waveform[:1, :, a:b]
    if clip.shape[-1] == 0:
        return None
    return {"waveform": clip.to(torch.float32).contiguous(), "sample_rate": rate}
