"""ControlNet controls beyond core's strength and start/end percent (the controls Advanced-ControlNet's v2v files
use), as data and arithmetic. Pure torch: the glue (glue/controls.py) applies them to a core ControlNet's outputs.

- **Frame strengths** (ACN's latent keyframes): a strength per video frame, typed as ``"0=1.0, 4:8=0.5, -1"``
  (an index or a ``start:end`` slice of the frames, end excluded, negatives from the end; strength 1 when not
  given; a later entry replaces an earlier one on the same frame). Frames not listed get ``other``.
- **Weights** (ACN's soft / custom weights): a factor per ControlNet output. Soft weights give output k of n the
  factor ``base^(n-k)`` (the shallow, high-resolution residuals weakest) and the middle block 1; block weights
  list the factors; ``uncond_multiplier`` scales the negative prompt's share.
- **Keyframes** (ACN's timestep keyframes): from ``start_percent`` on, a strength, and optionally frame
  strengths, weights and a mask, held for at least ``guarantee_steps`` steps; a keyframe without frame strengths
  / weights keeps the previous keyframe's (``inherit_missing``) or drops them; a mask stays until a later
  keyframe brings its own (as in ACN, whose files this reads). A keyframe starting at 0 — before the run's first
  sigma — holds no guaranteed steps.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import torch

from .errors import MotionModuleError

CONTROLNET, T2I_ADAPTER = "ControlNet", "T2I-Adapter"


@dataclass(frozen=True)
class FrameStrengths:
    entries: tuple[tuple[int, int | None, float, bool], ...]  # (start, end or None = open, strength, is a range)
    text: str = ""

    def resolve(self, frames: int, label: str = "frames") -> dict[int, float]:
        """frame -> strength for a video of ``frames`` frames; an index outside the video is an error."""
        out: dict[int, float] = {}
        for start, end, strength, is_range in self.entries:
            if not is_range:
                index = start + frames if start < 0 else start
                if not 0 <= index < frames:
                    raise MotionModuleError(
                        f"{label} '{self.text}': frame {start} is outside the video's {frames} frames (0 to "
                        f"{frames - 1}, or -1 for the last).")
                out[index] = strength
            else:
                for index in range(frames)[start:end]:
                    out[index] = strength
        return out


def parse_frame_strengths(text: str, label: str = "frames") -> FrameStrengths | None:
    """``"0=1.0, 4:8=0.5, -1"`` -> FrameStrengths; empty text -> None."""
    text = (text or "").strip()
    if not text:
        return None
    entries = []
    for raw in text.replace("\n", ",").split(","):
        part = raw.strip()
        if not part:
            continue
        where, strength = part, 1.0
        if "=" in part:
            where, value = (s.strip() for s in part.split("=", 1))
            strength = _number(value, f"{label}: strength '{value}' in '{part}'")
            if strength < 0:
                raise MotionModuleError(f"{label}: strength {strength} in '{part}' is negative; use 0 to 10.")
        if ":" in where:
            a, b = (s.strip() for s in where.split(":", 1))
            entries.append((_index(a, part, label, 0), _index(b, part, label, None), strength, True))
        else:
            entries.append((_index(where, part, label, None, required=True), None, strength, False))
    if not entries:
        return None
    return FrameStrengths(tuple(entries), text)


def _number(value: str, what: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise MotionModuleError(f"{what} is not a number, e.g. '0=1.0, 4:8=0.5'.") from None
    if not math.isfinite(number):
        raise MotionModuleError(f"{what} is not a finite number.")
    return number


def _index(text: str, part: str, label: str, empty, required: bool = False):
    if text == "" and not required:
        return empty
    try:
        return int(text)
    except ValueError:
        raise MotionModuleError(f"{label}: '{part}' is not a frame, a start:end range or either with =strength "
                                "(e.g. '0=1.0, 4:8=0.5, -1').") from None


def frame_multipliers(strengths: FrameStrengths, other: float, frames: int, indices: list[int] | None = None,
                      label: str = "frames") -> list[float]:
    """The factor of each frame of a window (``indices`` of a ``frames``-frame video; all frames when None)."""
    table = strengths.resolve(frames, label)
    return [table.get(i, other) for i in (range(frames) if indices is None else indices)]


@dataclass(frozen=True)
class ControlWeights:
    base_multiplier: float = 1.0
    uncond_multiplier: float = 1.0
    output: tuple[float, ...] | None = None  # block weights, shallow -> deep
    middle: float | None = None

    @property
    def soft(self) -> bool:
        return self.output is None

    def factor(self, kind: str, key: str, index: int, count: int) -> float:
        """The factor of output ``index`` of the ``count`` under ``key`` ("input" / "middle" / "output")."""
        if self.soft:
            if key == "middle":
                return 1.0
            base = self.base_multiplier
            if kind == T2I_ADAPTER:  # four levels of three features, the deepest weighted 1
                levels = [base ** 7, base ** 2, base ** 1, base ** 0]
                table = [w for w in levels for _ in range(3)]
            else:
                table = [base ** (count - i) for i in range(count)]
            if key == "input":
                table = table[::-1]
            return table[index] if index < len(table) else 1.0
        if key == "middle":
            return 1.0 if self.middle is None else self.middle
        if key == "output":
            return self.output[index] if index < len(self.output) else 1.0
        return 1.0

    def is_default(self) -> bool:
        return self.soft and self.base_multiplier == 1.0 and self.uncond_multiplier == 1.0


def parse_block_weights(text: str, label: str = "block_weights") -> tuple[tuple[float, ...], float | None] | None:
    text = (text or "").strip()
    if not text:
        return None
    values = [_number(v.strip(), f"{label}: '{v.strip()}'") for v in text.replace("\n", ",").split(",") if v.strip()]
    if len(values) not in (12, 13):
        raise MotionModuleError(f"{label}: {len(values)} numbers; give 12 (the ControlNet's outputs, shallow to deep) "
                                "or 13 (and the middle block), or leave it empty for soft weights.")
    if any(v < 0 for v in values):
        raise MotionModuleError(f"{label}: weights are 0 or more.")
    return tuple(values[:12]), (values[12] if len(values) == 13 else None)


@dataclass(frozen=True)
class ControlKeyframe:
    start_percent: float = 0.0
    strength: float = 1.0
    frames: FrameStrengths | None = None
    other_frames: float = 0.0
    weights: ControlWeights | None = None
    mask: torch.Tensor | None = field(default=None, compare=False)
    inherit_missing: bool = True
    guarantee_steps: int = 1


START = ControlKeyframe(guarantee_steps=0)  # always first, as ACN's group starts with it


def add_keyframe(chain: tuple[ControlKeyframe, ...] | None, keyframe: ControlKeyframe) -> tuple[ControlKeyframe, ...]:
    """The chain with ``keyframe`` added, sorted by start_percent (stable: equal starts keep their order)."""
    chain = chain or (START,)
    return tuple(sorted(chain + (keyframe,), key=lambda k: k.start_percent))


@dataclass
class KeyframeState:
    """Which keyframe is current during one sampling run (shared by the window copies of one control)."""
    index: int = -1
    used: int = 0
    last_sigma: float | None = None
    current: ControlKeyframe | None = None
    frames: FrameStrengths | None = None
    weights: ControlWeights | None = None
    mask: torch.Tensor | None = None
    resized: dict = field(default_factory=dict)  # masks at an output's size, per window (glue/controls.py)

    def reset(self):
        self.__init__()


def advance(state: KeyframeState, chain: tuple[ControlKeyframe, ...], starts: list[float], sigma: float,
            max_sigma: float, frames_override: FrameStrengths | None = None,
            weights_override: ControlWeights | None = None) -> None:
    """Move to the keyframe of this step (``sigma``), ACN's rules: once the current keyframe held its
    guarantee_steps, every next keyframe whose start (``starts``, as sigmas) is reached is taken in turn, stopping
    at one that guarantees steps; a keyframe starting before this run's first sigma guarantees none."""
    if state.last_sigma == sigma:
        return
    before = state.index

    def guarantee(i: int) -> int:
        return 0 if starts[i] > max_sigma else chain[i].guarantee_steps

    if state.current is None or state.used >= guarantee(state.index):
        for i in range(state.index + 1, len(chain)):
            if starts[i] < sigma:
                break
            key = chain[i]
            state.index, state.current, state.used = i, key, 0
            if key.weights is not None:
                state.weights = key.weights
            elif not key.inherit_missing:
                state.weights = None
            if key.frames is not None:
                state.frames = key.frames
            elif not key.inherit_missing:
                state.frames = None
            if key.mask is not None:  # a mask stays until a keyframe brings its own, inherit_missing or not
                state.mask = key.mask     # (what ACN does: its resized mask outlives the keyframe that set it)
            if guarantee(i) > 0:
                break
    state.last_sigma = sigma
    state.used += 1
    if before != state.index:
        if weights_override is not None:
            state.weights = weights_override
        if frames_override is not None:
            state.frames = frames_override


@dataclass(frozen=True)
class Controls:
    """What ControlNet Controls (Lightning) attaches to a CONTROL_NET."""
    keyframes: tuple[ControlKeyframe, ...] = (START,)
    frames: FrameStrengths | None = None      # override of every keyframe's frame strengths
    weights: ControlWeights | None = None     # override of every keyframe's weights
    mask: torch.Tensor | None = field(default=None, compare=False)

    def is_default(self) -> bool:
        return (self.keyframes == (START,) and self.frames is None and self.mask is None
                and (self.weights is None or self.weights.is_default()))

    def with_(self, **kw) -> "Controls":
        return replace(self, **kw)

    def masks(self):
        yield "the mask", self.mask
        for k in self.keyframes:
            yield f"the keyframe at {k.start_percent}'s mask", k.mask

    def check(self, frames: int, height: int | None = None, width: int | None = None) -> None:
        """Before sampling: every frame list and mask fits a video of ``frames`` frames (``height`` × ``width``
        px)."""
        for label, strengths in [("ControlNet Controls' frames", self.frames)] + [
                (f"ControlNet Keyframe (start {k.start_percent})'s frames", k.frames) for k in self.keyframes]:
            if strengths is not None:
                strengths.resolve(frames, label)
        for label, mask in self.masks():
            if mask is not None and mask.shape[0] not in (1, frames):
                raise MotionModuleError(
                    f"ControlNet Controls: {label} has {mask.shape[0]} frames but the video has {frames}: give one "
                    "mask for every frame or a single mask for all.")
            if mask is not None and height and width:
                check_mask_shape(mask, height, width, label)


def mask_batch(mask: torch.Tensor, frames: int, indices: list[int] | None, size: tuple[int, int]) -> torch.Tensor:
    """The mask at the hint's pixel ``size`` for the frames of a window: (n, 1, h, w); n = 1 for a single mask."""
    m = torch.nn.functional.interpolate(mask.reshape(-1, 1, mask.shape[-2], mask.shape[-1]).float(), size=size,
                                        mode="bilinear")
    if m.shape[0] == 1:
        return m
    if m.shape[0] != frames:
        raise MotionModuleError(f"ControlNet Controls: the mask has {m.shape[0]} frames but the video has {frames}.")
    return m if indices is None else m[indices]


def check_mask_shape(mask: torch.Tensor, height: int, width: int, label: str = "the mask") -> None:
    """A mask of another aspect ratio than the image would be stretched: refuse it (resize it first)."""
    mh, mw = mask.shape[-2], mask.shape[-1]
    if abs(mh * width - mw * height) > max(mh, height, mw, width):
        raise MotionModuleError(
            f"ControlNet Controls: {label} is {mw}×{mh} px, the video {width}×{height} px (another aspect ratio): "
            "it would be stretched. Resize or crop the mask to the video's size first.")
