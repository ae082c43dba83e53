"""Motion LoRA: read a LoRA state dict, map it onto motion-module weights, check it fits. Pure torch.

Layouts read (keys alone decide, per key):

- original AnimateDiff (the v2 Motion LoRAs, ``v2_lora_PanLeft.ckpt`` …)::

    <module>.temporal_transformer.transformer_blocks.0.attention_blocks.<a>.processor.<p>_lora.{down,up}.weight

- diffusers / PEFT, on diffusers ``MotionAdapter`` names (``attn1``/``attn2``, no ``temporal_transformer``)::

    <module>.transformer_blocks.0.attn<a+1>.<p>.lora_A.weight   (down)   … .lora_B.weight (up)
    <module>.transformer_blocks.0.attn<a+1>.<p>.lora.{down,up}.weight   (older diffusers)
    <module>.transformer_blocks.0.attn<a+1>.processor.<p>_lora.{down,up}.weight

  optionally under ``unet.`` or ``base_model.model.``, PEFT adapter names (``lora_A.default.weight``) allowed.

The target weight drops ``processor.`` and ``_lora`` and maps ``to_out`` to ``to_out.0``; the update is
``W + strength · up @ down`` — no alpha/rank rescale unless the file stores an ``alpha`` for that layer
(kohya/PEFT convention: then ``· alpha / rank``). Nothing here computes or changes a tensor: the result is a
list of (target, up, down, alpha) that the glue layer turns into weight patches.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Mapping, Optional

import torch

from .errors import MotionModuleError
from .formats import MotionModuleInfo, from_diffusers
from .loading import read_state_dict  # safetensors memory-mapped; pickles only weights-only

PROJECTIONS = ("to_q", "to_k", "to_v", "to_out.0")
_PREFIXES = ("base_model.model.", "unet.")
_PROJ = r"(?P<proj>to_q|to_k|to_v|to_out)(?:\.0)?"
# (pattern, which part of the pair) — "down"/"up"/"alpha" from the named group ``kind``.
_PATTERNS = (
    re.compile(rf"^(?P<base>.+)\.processor\.{_PROJ}_lora\.(?P<kind>down|up)\.weight$"),
    re.compile(rf"^(?P<base>.+)\.{_PROJ}\.lora\.(?P<kind>down|up)\.weight$"),
    re.compile(rf"^(?P<base>.+)\.{_PROJ}\.lora_(?P<kind>A|B)(?:\.[\w-]+)?\.weight$"),
    re.compile(rf"^(?P<base>.+?)\.(?:processor\.)?{_PROJ}(?:_lora)?\.(?P<kind>alpha)$"),
)
_KIND = {"down": "down", "A": "down", "up": "up", "B": "up", "alpha": "alpha"}


@dataclass(frozen=True)
class LoRAPatch:
    """One weight's low-rank update: ``W + strength · scale · up @ down``, scale = alpha/rank or 1."""
    target: str                # motion-module parameter name, e.g. ``…attention_blocks.0.to_q.weight``
    up: torch.Tensor           # (out, rank)
    down: torch.Tensor         # (rank, in)
    alpha: Optional[float] = None

    @property
    def rank(self) -> int:
        return int(self.down.shape[0])


@dataclass(frozen=True)
class MotionLoRA:
    """A Motion LoRA matched to one motion module."""
    name: str
    layout: str                          # "original" or "diffusers"
    patches: tuple[LoRAPatch, ...]
    skipped: tuple[str, ...] = ()        # targets left out (mid block of a module without one)

    @property
    def ranks(self) -> tuple[int, ...]:
        return tuple(sorted({p.rank for p in self.patches}))

    @property
    def parameters(self) -> int:
        return sum(p.up.numel() + p.down.numel() for p in self.patches)

    def summary(self) -> str:
        ranks = "/".join(str(r) for r in self.ranks)
        text = f"{self.name}: {len(self.patches)} attention weights, rank {ranks} ({self.layout} layout)"
        if self.skipped:
            text += f"; {len(self.skipped)} mid-block weights skipped (this motion module has no mid block)"
        return text


def _target(base: str, proj: str) -> str:
    """The motion-module weight a LoRA key updates, in the original AnimateDiff naming."""
    target = f"{base}.{'to_out.0' if proj == 'to_out' else proj}.weight"
    if ".temporal_transformer." not in target:  # diffusers MotionAdapter naming
        target = next(iter(from_diffusers({target: None})))
    return target


def _strip_prefix(key: str) -> str:
    for prefix in _PREFIXES:
        if key.startswith(prefix):
            return key[len(prefix):]
    return key


def _foreign_hint(keys: list[str]) -> str:
    if any(k.startswith(("lora_unet_", "lora_te_", "lora_te1_")) for k in keys):
        return ("It is a LoRA for the image model (kohya 'lora_unet_' keys): load it with ComfyUI's "
                "LoRA loader on the checkpoint, not as a Motion LoRA.")
    if any(".attentions." in k or ".transformer_blocks." in k and ".motion_modules." not in k for k in keys):
        return ("Its keys target the image UNet's spatial layers (e.g. the AnimateDiff v3 domain adapter): "
                "load it with ComfyUI's LoRA loader on the checkpoint, not as a Motion LoRA.")
    if any(".motion_modules." in k and not k.endswith(("weight", "alpha")) for k in keys) or any(
            "temporal_attentions." in k for k in keys):
        return "It looks like a motion module or an SDXL/HotshotXL temporal LoRA, not an SD1.5 Motion LoRA."
    return "It is not a Motion LoRA."


def parse_motion_lora(sd: Mapping[str, torch.Tensor], name: str = "") -> tuple[str, dict[str, dict]]:
    """``(layout, {target: {"down": t, "up": t, "alpha": t?}})`` from a LoRA state dict, without checking fit."""
    label = name or "this file"
    found: dict[str, dict] = {}
    layouts, unknown = set(), []
    for key, value in sd.items():
        m = next((m for p in _PATTERNS if (m := p.match(_strip_prefix(key)))), None)
        if m is None or ".motion_modules." not in m.group("base"):
            unknown.append(key)
            continue
        kind = _KIND[m.group("kind")]
        if not isinstance(value, torch.Tensor) or kind != "alpha" and not value.is_floating_point():
            raise MotionModuleError(f"{label}: '{key}' is not a floating-point tensor; the file is damaged.")
        target = _target(m.group("base"), m.group("proj"))
        layouts.add("original" if ".temporal_transformer." in m.group("base") else "diffusers")
        found.setdefault(target, {})[kind] = value
    keys = list(sd.keys())
    if not found:
        sample = ", ".join(keys[:3]) or "no tensors at all"
        raise MotionModuleError(
            f"{label} is not a Motion LoRA: none of its keys is a motion-module attention LoRA (it starts with: "
            f"{sample}). {_foreign_hint(keys)} Motion LoRAs (e.g. v2_lora_PanLeft.ckpt) go in "
            "models/animatediff_motion_lora.")
    if unknown:
        raise MotionModuleError(
            f"{label} mixes Motion LoRA keys with {len(unknown)} others it cannot place (e.g. '{unknown[0]}'). "
            f"{_foreign_hint(unknown)}")
    for target, parts in found.items():
        if "down" not in parts or "up" not in parts:
            missing = "up" if "up" not in parts else "down"
            raise MotionModuleError(
                f"{label} is incomplete: the LoRA for {target} has no '{missing}' matrix. The file is damaged "
                "or truncated: download it again.")
    return ("mixed" if len(layouts) > 1 else layouts.pop()), found


def motion_lora_targets(info: MotionModuleInfo) -> dict[str, tuple[int, int]]:
    """Every weight a Motion LoRA may update in a module described by ``info``, with its (out, in) shape."""
    ch = info.channels
    modules = [(f"down_blocks.{i}.motion_modules.{j}", c) for i, c in enumerate(ch) for j in range(info.per_down)]
    if info.has_mid:
        modules.append(("mid_block.motion_modules.0", ch[-1]))
    modules += [(f"up_blocks.{i}.motion_modules.{j}", c)
                for i, c in enumerate(reversed(ch)) for j in range(info.per_up)]
    return {f"{prefix}.temporal_transformer.transformer_blocks.0.attention_blocks.{a}.{p}.weight": (c, c)
            for prefix, c in modules for a in range(info.attention_blocks) for p in PROJECTIONS}


def match_motion_lora(sd: Mapping[str, torch.Tensor], info: MotionModuleInfo, name: str = "") -> MotionLoRA:
    """The LoRA's patches for the module ``info`` describes; ``MotionModuleError`` if it was made for another."""
    label = name or "this file"
    layout, found = parse_motion_lora(sd, name)
    targets = motion_lora_targets(info)
    patches, skipped = [], []
    for target, parts in found.items():
        if target.startswith("mid_block.") and not info.has_mid:
            skipped.append(target)
            continue
        if target not in targets:
            raise MotionModuleError(
                f"{label} was made for another motion module: it updates {target}, which {info.title} "
                f"does not have. Use a Motion LoRA for SD1.5 AnimateDiff v2 / Lightning.")
        up, down = parts["up"], parts["down"]
        if up.ndim != 2 or down.ndim != 2 or up.shape[1] != down.shape[0]:
            raise MotionModuleError(
                f"{label} is damaged: the LoRA for {target} has up {tuple(up.shape)} and down "
                f"{tuple(down.shape)}, which do not multiply.")
        if (up.shape[0], down.shape[1]) != targets[target]:
            raise MotionModuleError(
                f"{label} was made for a motion module of another shape: its LoRA for {target} is "
                f"{up.shape[0]}x{down.shape[1]}, the weight of {info.title} there is "
                f"{targets[target][0]}x{targets[target][1]} (SDXL or another base model?). Use a Motion LoRA "
                "for SD1.5 AnimateDiff v2 / Lightning.")
        if not (torch.isfinite(up).all() and torch.isfinite(down).all()):
            raise MotionModuleError(f"{label} is damaged: the LoRA for {target} holds NaN or infinite values.")
        alpha = parts.get("alpha")
        patches.append(LoRAPatch(target, up, down, None if alpha is None else float(alpha.float().reshape(-1)[0])))
    if not patches:
        raise MotionModuleError(
            f"{label} has nothing that applies to {info.title}: all {len(skipped)} of its weights are in the "
            "mid block, which this module does not have.")
    return MotionLoRA(name, layout, tuple(patches), tuple(skipped))


def read_motion_lora(path: str, info: MotionModuleInfo) -> MotionLoRA:
    """Read a Motion LoRA file (safetensors, or a weights-only pickle) and match it to ``info``'s module."""
    name = os.path.basename(path)
    try:
        sd, _ = read_state_dict(path)
    except MotionModuleError as e:
        raise MotionModuleError(str(e).replace("not a motion module", "not a Motion LoRA")) from e
    return match_motion_lora(sd, info, name)
