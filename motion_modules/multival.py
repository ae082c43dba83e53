"""Motion values that vary per frame and per region ("multivals"), as plain torch.

A motion value is a float, or a tensor ``(frames, height, width)``: one value per frame (``(n, 1, 1)``) or a
mask. Two such values act on a motion module:

- **effect** blends the module's output with its input, ``x + residual · effect`` (= ``x·(1−e) + MM(x)·e``);
  1 = as trained, 0 = the module is off (AnimateDiff-Evolved's *effect*, this pack's ``motion_scale``).
- **scale** multiplies the temporal attention's keys, sharpening (> 1) or softening (< 1) attention across
  frames at each position (AnimateDiff-Evolved's *scale*, its legacy loader's ``motion_scale``).

A tensor is resized to each UNet level bilinearly, its frames follow the video's frames (or a context window's),
and the same values serve every video in the batch (cond, uncond).
"""
from __future__ import annotations

from typing import Sequence, Union

import torch
import torch.nn.functional as F

from .errors import MotionModuleError

Multival = Union[float, torch.Tensor]


def per_frame(values: Sequence[float]) -> torch.Tensor:
    """A value per frame as a multival tensor ``(n, 1, 1)``."""
    return torch.tensor([float(v) for v in values], dtype=torch.float32).reshape(-1, 1, 1)


def scaled_mask(mask: torch.Tensor, low: float, high: float, relative: bool = False) -> torch.Tensor:
    """A mask mapped onto [low, high]: absolute maps 0→low, 1→high; relative maps the mask's own min→low and
    max→high (a flat mask gives low)."""
    mask = mask.float()
    if mask.ndim == 2:
        mask = mask.unsqueeze(0)
    if relative:
        lo, hi = mask.min(), mask.max()
        span = hi - lo
        mask = (mask - lo) / span if span > 0 else torch.zeros_like(mask)
    return mask * (high - low) + low


def combine(a: Multival | None, b: Multival | None) -> Multival | None:
    """The product of two values as one value (None = 1); tensors of other sizes are kept apart (a tuple)."""
    if a is None:
        return b
    if b is None:
        return a
    if not isinstance(a, torch.Tensor) and not isinstance(b, torch.Tensor):
        return float(a) * float(b)
    return (a, b)


def factors(value) -> list:
    if value is None:
        return []
    if isinstance(value, tuple):
        return [f for part in value for f in factors(part)]
    return [value]


def is_one(value) -> bool:
    return all(not isinstance(f, torch.Tensor) and float(f) == 1.0 for f in factors(value))


def check(value, frames: int, height: int, width: int, what: str) -> None:
    """A clear error for a value whose frame count fits neither 1 nor the video, or a mask of another aspect
    than the latent (``height`` × ``width``)."""
    for f in factors(value):
        if not isinstance(f, torch.Tensor):
            continue
        if f.ndim != 3:
            raise MotionModuleError(f"{what}: a motion value must be frames × height × width, got {tuple(f.shape)}.")
        if f.shape[0] not in (1, frames):
            raise MotionModuleError(
                f"{what} has {f.shape[0]} frames but the video has {frames}. Give one value (or mask) per frame, "
                "or a single one for every frame.")
        mh, mw = f.shape[1:]
        if (mh, mw) != (1, 1) and abs(mh * width - mw * height) > 0.02 * mh * width:
            raise MotionModuleError(
                f"{what}: the mask is {mw}×{mh}, another aspect ratio than the video's latent ({width}×{height}, "
                f"i.e. {width * 8}×{height * 8} px). Use a mask of the video's size (resize or crop it first).")


def _frames(tensor: torch.Tensor, frames: int, indices: list[int] | None) -> torch.Tensor:
    if tensor.shape[0] == 1:
        return tensor.expand(frames, *tensor.shape[1:])
    if indices is not None:
        return tensor[indices]
    if tensor.shape[0] != frames:
        raise MotionModuleError(f"a motion value has {tensor.shape[0]} frames but the motion module got {frames}.")
    return tensor


def at_level(value, frames: int, height: int, width: int, indices: list[int] | None, like: torch.Tensor):
    """``value`` for one level's frames: a float, or a tensor ``(frames, 1, height, width)`` in ``like``'s
    dtype and device (``indices``: the context window's frames of the whole video)."""
    out = 1.0
    for f in factors(value):
        if not isinstance(f, torch.Tensor):
            out = out * float(f)
            continue
        t = f.to(device=like.device, dtype=torch.float32).unsqueeze(1)
        t = F.interpolate(t, size=(height, width), mode="bilinear")
        out = out * _frames(t, frames, indices).to(like.dtype)
    return out


def effect_for(value, videos: int, frames: int, height: int, width: int, indices, like: torch.Tensor):
    """The effect for a batch of ``videos`` × ``frames``: a float or ``(videos·frames, 1, h, w)``."""
    v = at_level(value, frames, height, width, indices, like)
    return v.repeat(videos, 1, 1, 1) if isinstance(v, torch.Tensor) else v


def key_scale_for(value, videos: int, frames: int, height: int, width: int, indices, like: torch.Tensor):
    """The key scale in the temporal attention's layout: a float or ``(videos·h·w, frames, 1)``."""
    v = at_level(value, frames, height, width, indices, like)
    if not isinstance(v, torch.Tensor):
        return v
    v = v.permute(2, 3, 0, 1).reshape(height * width, frames, 1)
    return v.repeat(videos, 1, 1)


def parse_per_frame(text: str) -> list[float]:
    values = []
    for token in text.replace("\n", ",").replace(";", ",").split(","):
        token = token.strip()
        if not token:
            continue
        try:
            values.append(float(token))
        except ValueError:
            raise MotionModuleError(
                f"per_frame: '{token}' is not a number. Write one value per frame separated by commas, "
                "e.g. '1, 1, 0.8, 0.6'.") from None
    return values


def motion_value(value, per_frame_text: str = "", mask: torch.Tensor | None = None, low: float = 0.0,
                 high: float = 1.0, relative: bool = False) -> Multival:
    """The Motion Value node: ``value`` (a float, or a list / 1-D tensor of floats per frame) × the values in
    ``per_frame_text`` × the mask mapped onto [low, high]: a float, or a tensor (frames, h, w)."""
    parts = []
    if isinstance(value, torch.Tensor) and value.numel() > 1:
        parts.append(("value", per_frame(value.flatten().tolist())))
    elif isinstance(value, (list, tuple)):
        parts.append(("value", per_frame(value)))
    else:
        parts.append(("value", float(value)))
    listed = parse_per_frame(per_frame_text or "")
    if listed:
        parts.append(("per_frame", per_frame(listed)))
    if mask is not None:
        parts.append(("mask", scaled_mask(mask, low, high, relative)))
    out, named = parts[0][1], parts[0][0]
    for name, part in parts[1:]:
        if isinstance(out, torch.Tensor) and isinstance(part, torch.Tensor):
            if out.shape[0] not in (1, part.shape[0]) and part.shape[0] != 1:
                raise MotionModuleError(
                    f"{named} has {out.shape[0]} frames and {name} has {part.shape[0]}: give both the same "
                    "number of frames (or one of them a single one).")
        out, named = out * part, name
    return out
