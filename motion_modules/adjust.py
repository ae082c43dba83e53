"""Adjustments to a motion module's tensors before it is built: positional-encoding stretch and weight multipliers.

They act on the state dict in AnimateDiff's original key layout, in the order they were chained, each over
every key, as AnimateDiff-Evolved's ``AnimateDiffSettings`` applies them at load (so a module adjusted here
gives the frames it gives there):

- a **position adjustment** changes the table ``…attention_blocks.N.pos_encoder.pe`` [1, length, dim]: first
  a plain stretch by ``stretch`` positions (bilinear, to length + stretch), then drop the first
  ``initial_offset`` positions, keep the first ``cap`` ones, interpolate to ``interpolate_to`` positions, drop
  the first ``final_offset`` ones (0 = that step off). "Sweetspot stretch" is cap = the length the module
  works best at (16) and interpolate_to = the new one (e.g. 32): 32 frames then move as 16 did.
- a **weight adjustment** adds ``add`` to, then multiplies by ``multiply``, every tensor of a group (see
  ``WEIGHT_GROUPS``); a tensor of the attention blocks matches "attention" and its own projection group.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .errors import MotionModuleError

PE_SUFFIX = "pos_encoder.pe"

# group name -> (what it covers, for tooltips and messages)
WEIGHT_GROUPS = {
    "all": "every tensor of the module (position tables included)",
    "positional encoding": "the position tables (pos_encoder.pe)",
    "attention": "every tensor of the temporal attention blocks but the position tables",
    "attention q": "the attention's query projections (to_q)",
    "attention k": "the attention's key projections (to_k)",
    "attention v": "the attention's value projections (to_v)",
    "attention out weight": "the attention's output projection weights (to_out …weight)",
    "attention out bias": "the attention's output projection biases (to_out …bias)",
    "other": "everything outside the attention blocks: norms, feed-forward, proj_in / proj_out",
}


@dataclass(frozen=True)
class PositionAdjust:
    stretch: int = 0
    initial_offset: int = 0
    cap: int = 0
    interpolate_to: int = 0
    final_offset: int = 0

    def active(self) -> bool:
        return any(v > 0 for v in (self.stretch, self.initial_offset, self.cap, self.interpolate_to,
                                   self.final_offset))

    def describe(self) -> str:
        parts = [f"{name} {value}" for name, value in (
            ("stretch", self.stretch), ("initial offset", self.initial_offset), ("cap", self.cap),
            ("interpolate to", self.interpolate_to), ("final offset", self.final_offset)) if value > 0]
        return "positions: " + ", ".join(parts)


@dataclass(frozen=True)
class WeightAdjust:
    group: str
    add: float = 0.0
    multiply: float = 1.0

    def __post_init__(self):
        if self.group not in WEIGHT_GROUPS:
            raise MotionModuleError(f"unknown weight group '{self.group}': use one of {', '.join(WEIGHT_GROUPS)}.")

    def active(self) -> bool:
        return not math.isclose(self.add, 0.0) or not math.isclose(self.multiply, 1.0)

    def describe(self) -> str:
        return f"{self.group} weights: +{self.add:g}, ×{self.multiply:g}"


Adjust = PositionAdjust | WeightAdjust


def weight_groups(key: str) -> list[str]:
    """The groups ``key`` belongs to, in the order their adjustments act on it."""
    groups = ["all"]
    if "attention_blocks" not in key:
        return groups + ["other"]
    if PE_SUFFIX.split(".")[0] in key:
        return groups + ["positional encoding"]
    groups.append("attention")
    for part, group in (("to_q", "attention q"), ("to_k", "attention k"), ("to_v", "attention v")):
        if part in key:
            return groups + [group]
    if "to_out" in key:
        if key.strip().endswith("weight"):
            groups.append("attention out weight")
        elif key.strip().endswith("bias"):
            groups.append("attention out bias")
    return groups


def _interpolate(pe: torch.Tensor, length: int) -> torch.Tensor:
    """[1, n, dim] -> [1, length, dim], bilinear over (position, channel) with the channels kept."""
    return F.interpolate(pe.unsqueeze(0), size=(length, pe.shape[-1]), mode="bilinear").squeeze(0)


def _adjust_positions(pe: torch.Tensor, a: PositionAdjust) -> torch.Tensor:
    if a.stretch > 0:
        pe = _interpolate(pe, pe.shape[1] + a.stretch)
    if a.initial_offset > 0:
        pe = pe[:, a.initial_offset:]
    if a.cap > 0:
        pe = pe[:, :a.cap]
    if a.interpolate_to > 0:
        pe = _interpolate(pe, a.interpolate_to)
    if a.final_offset > 0:
        pe = pe[:, a.final_offset:]
    return pe


def apply_adjustments(sd: dict[str, torch.Tensor], adjusts: tuple[Adjust, ...], name: str = "the module"
                      ) -> dict[str, torch.Tensor]:
    """A new state dict with ``adjusts`` applied (position adjustments first, then weights, each in order);
    ``sd`` is left as it is. Raises MotionModuleError when a table would end up empty."""
    out = dict(sd)
    for a in (a for a in adjusts if isinstance(a, PositionAdjust) and a.active()):
        for key in [k for k in out if "attention_blocks" in k and PE_SUFFIX.split(".")[0] in k]:
            before = out[key].shape[1]
            pe = _adjust_positions(out[key], a)
            if pe.shape[1] < 1:
                raise MotionModuleError(
                    f"{name}: the position adjustment ({a.describe()}) leaves no positions of the {before} "
                    "the module has: lower the offsets or the cap.")
            out[key] = pe.contiguous()
    # each adjustment over every key, in the chained order: per key that is the order AnimateDiff-Evolved's
    # one-node-several-groups adjustments use too (all, then the key's group) when chained in WEIGHT_GROUPS order
    for a in (a for a in adjusts if isinstance(a, WeightAdjust) and a.active()):
        for key in out:
            if a.group in weight_groups(key):
                tensor = out[key]
                if not math.isclose(a.add, 0.0):
                    tensor = tensor + a.add
                if not math.isclose(a.multiply, 1.0):
                    tensor = tensor * a.multiply
                out[key] = tensor
    return out


def position_length(sd: dict[str, torch.Tensor]) -> int | None:
    """The length of the (first) stored position table, or None when the module stores none."""
    for key, tensor in sd.items():
        if key.endswith(PE_SUFFIX):
            return int(tensor.shape[1])
    return None
