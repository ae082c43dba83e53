"""Recognise a motion-module state dict from its keys and shapes alone, and convert foreign layouts.

Never from the file name: the name only tells a Lightning step count (see ``lightning_steps``).
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Mapping, Optional

import torch

from .errors import MotionModuleError

# Position-encoding lengths of the known families (keys alone decide which one a file is).
PE_LENGTH = {"v1": 24, "v2": 32, "v3": 32, "AnimateLCM": 64}
SD15_CHANNELS = (320, 640, 1280, 1280)

# diffusers MotionAdapter names -> original AnimateDiff names, inside one motion module.
DIFFUSERS_RENAMES = (
    (".attn1.", ".attention_blocks.0."),
    (".attn2.", ".attention_blocks.1."),
    (".norm1.", ".norms.0."),
    (".norm2.", ".norms.1."),
    (".norm3.", ".ff_norm."),
)
_MODULE_PREFIX = re.compile(r"^((?:down_blocks|up_blocks)\.\d+|mid_block)\.motion_modules\.(\d+)\.(.*)$")


@dataclass(frozen=True)
class MotionModuleInfo:
    """What a motion-module file is, read from its tensors (and, for the step count, its name or metadata)."""
    family: str                      # "AnimateDiff" or "AnimateLCM"
    version: str                     # "v1", "v2", "v3" or "AnimateLCM"
    layout: str                      # "original" or "diffusers" (converted on load)
    channels: tuple[int, ...]        # per UNet level
    per_down: int                    # modules per down level
    per_up: int                      # modules per up level
    has_mid: bool
    pe_length: int                   # frames the position encoding holds
    pe_stored: bool
    attention_blocks: int
    dtype: torch.dtype
    parameters: int
    lightning_steps: Optional[int] = None
    name: str = field(default="", compare=False)
    adjustments: tuple[str, ...] = ()  # what was changed at load (motion_modules/adjust.py), in order

    @property
    def frame_limit(self) -> int:
        return self.pe_length

    @property
    def title(self) -> str:
        if self.lightning_steps:
            return f"AnimateDiff-Lightning {self.lightning_steps}-step (v2 layout)"
        if self.version == "AnimateLCM":
            return "AnimateLCM"
        return f"AnimateDiff SD1.5 {self.version}" + (" or Lightning" if self.version == "v2" else "")

    def summary(self) -> str:
        dtype = str(self.dtype).replace("torch.", "")
        lines = [
            f"{self.title}",
            f"family: {self.family}, version: {self.version}"
            + (" (converted from the diffusers layout)" if self.layout == "diffusers" else ""),
            f"frames: up to {self.frame_limit} without context windows",
            f"weights: {self.parameters / 1e6:.1f} M parameters, {dtype}",
            f"mid block: {'yes' if self.has_mid else 'no'}",
        ]
        if self.adjustments:
            lines.append("adjusted at load: " + "; ".join(self.adjustments))
        n = self.lightning_steps
        if n:
            lines.append(f"Lightning: distilled for {n} step{'s' if n != 1 else ''}")
            note = {1: " (its authors release the 1-step model for research only)",
                    2: " (3 steps also work well on the 2-step model)"}.get(n, "")
            lines.append(f"recommended: Euler, trailing (Lightning) schedule, cfg 1.0, steps {n}{note}")
        elif self.version == "v2":
            lines.append("Lightning: step count unknown (a Lightning file names it, e.g. ..._4step_...). "
                         "If it is Lightning: Euler, trailing schedule, cfg 1.0, steps = its N; plain "
                         "AnimateDiff v2 needs many steps with CFG (the paper's baseline: 32 Euler steps, cfg 7.5)")
        else:
            lines.append("recommended: not a Lightning model, so the few-step settings do not apply; sample it "
                         "as its authors recommend")
        return "\n".join(lines)


def lightning_steps(name: str, metadata: Optional[Mapping[str, str]] = None) -> Optional[int]:
    """The step count a Lightning file was distilled for: from its metadata, else its file name."""
    for key, value in (metadata or {}).items():
        if "step" in key.lower() and str(value).strip().isdigit():
            return int(str(value).strip())
    match = re.search(r"lightning[^/\\]*?(\d+)[-_ ]?step", name, re.IGNORECASE)
    return int(match.group(1)) if match else None


def is_diffusers_layout(keys) -> bool:
    return any(".motion_modules." in k and ".transformer_blocks.0.attn1." in k for k in keys)


def from_diffusers(sd: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """diffusers ``MotionAdapter`` keys -> original AnimateDiff keys. ``pos_embed.pe`` moves into each attention."""
    out: dict[str, torch.Tensor] = {}
    for key, tensor in sd.items():
        m = _MODULE_PREFIX.match(key)
        if m is None:
            out[key] = tensor
            continue
        head, index, rest = m.groups()
        prefix = f"{head}.motion_modules.{index}.temporal_transformer."
        if rest.endswith("pos_embed.pe"):
            block = rest[: -len("pos_embed.pe")]
            for a in (0, 1):
                out[f"{prefix}{block}attention_blocks.{a}.pos_encoder.pe"] = tensor
            continue
        rest = "." + rest
        for old, new in DIFFUSERS_RENAMES:
            rest = rest.replace(old, new)
        out[prefix + rest[1:]] = tensor
    return out


def _indices(keys, pattern: str) -> list[int]:
    rx = re.compile(pattern)
    return sorted({int(m.group(1)) for k in keys if (m := rx.match(k))})


def describe(sd: Mapping[str, torch.Tensor], name: str = "") -> MotionModuleInfo:
    """Family, version, levels, channels, mid block, pe length and attention blocks, from keys and shapes.

    ``sd`` must already be in the original layout (see ``from_diffusers``). Raises ``MotionModuleError``
    for SDXL/HotshotXL modules and for anything that is not a motion module.
    """
    keys = list(sd.keys())
    label = name or "this file"
    if any("temporal_attentions." in k or "positional_encoding" in k for k in keys):
        raise MotionModuleError(
            f"{label} is a HotshotXL temporal model (SDXL). This pack runs SD1.5 motion modules "
            "(AnimateDiff v1/v2/v3, AnimateLCM, AnimateDiff-Lightning); use an SD1.5 motion module.")
    if not any(".motion_modules." in k for k in keys):
        sample = ", ".join(keys[:3]) or "no tensors at all"
        raise MotionModuleError(
            f"{label} is not a motion module: it has no 'motion_modules' keys (it starts with: {sample}). "
            "Put AnimateDiff / Lightning motion modules in models/animatediff_models; checkpoints, LoRAs "
            "and ControlNets belong in their own folders.")
    levels = _indices(keys, r"^down_blocks\.(\d+)\.motion_modules\.")
    up_levels = _indices(keys, r"^up_blocks\.(\d+)\.motion_modules\.")
    channels = tuple(
        int(sd[f"down_blocks.{i}.motion_modules.0.temporal_transformer.norm.weight"].shape[0])
        if f"down_blocks.{i}.motion_modules.0.temporal_transformer.norm.weight" in sd else -1
        for i in levels)
    if len(levels) == 3 and 3 not in levels:
        raise MotionModuleError(
            f"{label} is an SDXL motion module (3 UNet levels, channels {channels}). This pack runs SD1.5 "
            "motion modules; use an SD1.5 one such as animatediff_lightning_4step_comfyui.safetensors.")
    if levels != [0, 1, 2, 3] or up_levels != levels or -1 in channels:
        raise MotionModuleError(
            f"{label} has an unknown motion-module layout (down levels {levels}, channels {channels}, "
            f"up levels {up_levels}); expected 4 SD1.5 levels with channels {SD15_CHANNELS}. "
            "The file may be damaged or for another base model.")
    has_mid = any(k.startswith("mid_block.") for k in keys)
    pe_keys = [k for k in keys if k.endswith("pos_encoder.pe")]
    if not pe_keys:
        version, pe_length = "AnimateLCM", PE_LENGTH["AnimateLCM"]
    else:
        pe_length = int(sd[pe_keys[0]].shape[1])
        version = "v2" if has_mid else ("v1" if pe_length == PE_LENGTH["v1"] else "v3")
    per_down = len(_indices(keys, r"^down_blocks\.0\.motion_modules\.(\d+)\."))
    per_up = len(_indices(keys, r"^up_blocks\.0\.motion_modules\.(\d+)\."))
    attention_blocks = len(_indices(
        keys, r"^down_blocks\.0\.motion_modules\.0\.temporal_transformer\.transformer_blocks\.0\."
              r"attention_blocks\.(\d+)\."))
    weights = [t for k, t in sd.items() if not k.endswith("pos_encoder.pe")]
    dtypes = Counter(t.dtype for t in weights if t.is_floating_point()).most_common(1)
    dtype = dtypes[0][0] if dtypes else torch.float32
    return MotionModuleInfo(
        family="AnimateLCM" if version == "AnimateLCM" else "AnimateDiff", version=version,
        layout="original", channels=channels, per_down=per_down, per_up=per_up, has_mid=has_mid,
        pe_length=pe_length, pe_stored=bool(pe_keys), attention_blocks=attention_blocks, dtype=dtype,
        parameters=sum(t.numel() for t in weights), name=name)


def with_lightning_steps(info: MotionModuleInfo, steps: Optional[int]) -> MotionModuleInfo:
    return replace(info, lightning_steps=steps) if steps and info.version == "v2" else info
