"""SparseCtrl (guoyww, AnimateDiff v3): a ControlNet encoder with motion modules in its down blocks, conditioned on
a few frames only. Pure torch: recognising a file, splitting it into the spatial ControlNet and its motion
modules, and placing K hints on the frames of a video (the conditioning mask SparseCtrl was trained with marks
them).

Both published files (``v3_sd15_sparsectrl_rgb``, ``v3_sd15_sparsectrl_scribble``) use diffusers' names for the
spatial part (``down_blocks.N.resnets`` / ``attentions``, ``controlnet_cond_embedding``, ``controlnet_down_blocks``,
``controlnet_mid_block``) and AnimateDiff's for the motion modules (``down_blocks.N.motion_modules.M.
temporal_transformer.…``, one temporal self-attention per block); diffusers' ``SparseControlNetModel`` saves the
motion modules under its MotionAdapter names, converted here. RGB files embed the VAE latent of a hint frame
(4 channels) with one convolution; scribble files embed an image (3 channels) with ControlNet's strided stack.
Both take one more channel: the mask, 1 on a conditioned frame, 0 elsewhere.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import torch

from .errors import MotionModuleError
from .formats import PE_LENGTH, from_diffusers, is_diffusers_layout

RGB, SCRIBBLE = "RGB", "scribble"
# How K hints are spread over the video when no frame indexes are given (ACN's spread methods; append only).
SPREADS = ("uniform", "starting", "ending", "center")
_MOTION = re.compile(r"^down_blocks\.(\d+)\.motion_modules\.(\d+)\.")


@dataclass(frozen=True)
class SparseCtrlInfo:
    kind: str                      # RGB (latent hints) or scribble (image hints)
    hint_channels: int             # channels of a hint, without the mask channel
    layout: str                    # "original" or "diffusers" (its motion modules converted on load)
    channels: tuple[int, ...]      # motion-module width per level (empty: no motion modules)
    per_down: int
    pe_length: int
    pe_stored: bool
    attention_blocks: int
    dtype: torch.dtype
    parameters: int
    name: str = field(default="", compare=False)

    @property
    def has_motion(self) -> bool:
        return bool(self.channels)

    def summary(self) -> str:
        dtype = str(self.dtype).replace("torch.", "")
        hints = ("VAE latents of the hint images (connect the VAE)" if self.kind == RGB
                 else "images (scribbles, line art, as drawn: white on black)")
        return "\n".join([
            f"SparseCtrl {self.kind}" + (" (converted from the diffusers layout)" if self.layout == "diffusers" else ""),
            f"hints: {hints}, {self.hint_channels} channels + the conditioning mask",
            f"motion modules: {len(self.channels)} levels × {self.per_down}, up to {self.pe_length} frames"
            if self.has_motion else "motion modules: none",
            f"weights: {self.parameters / 1e6:.1f} M parameters, {dtype}",
        ])


def split_sparsectrl(sd: dict[str, torch.Tensor], name: str = "") -> tuple[dict, dict, SparseCtrlInfo]:
    """(spatial ControlNet tensors in diffusers' names, motion-module tensors in AnimateDiff's original names
    (``down_blocks.N.motion_modules.M.temporal_transformer.…``), what the file is). Raises a
    ``MotionModuleError`` naming the file for anything that is not SparseCtrl."""
    label = name or "this file"
    keys = list(sd)
    has_embedding = any(k.startswith("controlnet_cond_embedding.") for k in keys)
    motion_keys = [k for k in keys if ".motion_modules." in k]
    if not has_embedding:
        if any(k.startswith("up_blocks.") and ".motion_modules." in k for k in keys):
            raise MotionModuleError(f"{label} is a motion module, not SparseCtrl: load it with Load Motion Module.")
        if any(k.startswith(("control_model.", "input_hint_block.", "zero_convs.")) for k in keys):
            raise MotionModuleError(f"{label} is a ControlNet without motion modules, not SparseCtrl: load it with "
                                    "core's Load ControlNet Model and apply it with Apply ControlNet.")
        raise MotionModuleError(f"{label} is not SparseCtrl: it has no 'controlnet_cond_embedding' keys (it starts "
                                f"with: {', '.join(keys[:3]) or 'no tensors at all'}). Use v3_sd15_sparsectrl_rgb or "
                                "v3_sd15_sparsectrl_scribble.")
    if any(k.startswith("up_blocks.") for k in keys):
        raise MotionModuleError(f"{label} has up blocks: it is a whole UNet, not a SparseCtrl ControlNet.")
    if "controlnet_cond_embedding.weight" in sd:
        kind, embed_in = RGB, sd["controlnet_cond_embedding.weight"]
    elif "controlnet_cond_embedding.conv_in.weight" in sd:
        kind, embed_in = SCRIBBLE, sd["controlnet_cond_embedding.conv_in.weight"]
    else:
        raise MotionModuleError(f"{label}: unknown SparseCtrl conditioning embedding (neither one convolution nor "
                                "ControlNet's stack). The file is damaged or an unsupported variant.")
    if embed_in.ndim != 4 or embed_in.shape[1] < 2:
        raise MotionModuleError(f"{label}: its conditioning embedding takes {tuple(embed_in.shape)}; SparseCtrl's "
                                "takes the hint channels plus a mask channel.")
    motion = {k: sd[k] for k in motion_keys}
    spatial = {k: v for k, v in sd.items() if ".motion_modules." not in k}
    layout = "original"
    if is_diffusers_layout(motion):
        motion, layout = _without_absent_positions(from_diffusers(motion)), "diffusers"
    levels = sorted({int(m.group(1)) for k in motion if (m := _MOTION.match(k))})
    channels, per_down, attention_blocks, pe_length, pe_stored = (), 0, 1, PE_LENGTH["v3"], False
    if levels:
        channels = tuple(int(motion[f"down_blocks.{i}.motion_modules.0.temporal_transformer.norm.weight"].shape[0])
                         if f"down_blocks.{i}.motion_modules.0.temporal_transformer.norm.weight" in motion else -1
                         for i in levels)
        if levels != list(range(len(levels))) or -1 in channels:
            raise MotionModuleError(f"{label}: its motion modules have an unknown layout (levels {levels}, channels "
                                    f"{channels}). The file is damaged or an unsupported variant.")
        per_down = len({int(m.group(2)) for k in motion if (m := _MOTION.match(k)) and m.group(1) == "0"})
        attention_blocks = len({int(m.group(1)) for k in motion if (m := re.match(
            r"^down_blocks\.0\.motion_modules\.0\.temporal_transformer\.transformer_blocks\.0\.attention_blocks\."
            r"(\d+)\.", k))})
        pe = [k for k in motion if k.endswith("pos_encoder.pe")]
        pe_stored = bool(pe)
        if pe:
            pe_length = int(motion[pe[0]].shape[1])
    counted = [t for k, t in sd.items() if not k.endswith(("pos_encoder.pe", "pos_embed.pe"))]
    floats = [t.dtype for t in counted if t.is_floating_point()]
    dtype = max(set(floats), key=floats.count) if floats else torch.float32
    info = SparseCtrlInfo(kind=kind, hint_channels=int(embed_in.shape[1]) - 1, layout=layout, channels=channels,
                          per_down=per_down, pe_length=pe_length, pe_stored=pe_stored,
                          attention_blocks=attention_blocks, dtype=dtype,
                          parameters=sum(t.numel() for t in counted), name=name)
    return spatial, motion, info


def _without_absent_positions(sd: dict) -> dict:
    """``from_diffusers`` gives each of a block's two attentions the block's position table; SparseCtrl's blocks
    hold one temporal attention, so a table for an attention that has no weights is dropped."""
    out = {}
    for key, tensor in sd.items():
        if key.endswith("pos_encoder.pe"):
            owner = key[: -len("pos_encoder.pe")]
            if not any(k.startswith(owner) and not k.endswith("pos_encoder.pe") for k in sd):
                continue
        out[key] = tensor
    return out


# ------------------------------------------------------------------------------------------------------------
# Where the hints go
# ------------------------------------------------------------------------------------------------------------
def parse_indexes(text: str) -> list[int]:
    """Frame indexes typed as ``0, 24, 47`` (negative: from the end, -1 the last frame)."""
    parts = [p.strip() for p in str(text).replace(";", ",").split(",") if p.strip()]
    if not parts:
        raise MotionModuleError("indexes is empty: type the frames the hint images go to, e.g. '0, 24, 47', or "
                                "choose a spread placement.")
    out = []
    for p in parts:
        try:
            out.append(int(p))
        except ValueError:
            raise MotionModuleError(f"indexes: '{p}' is not a frame number; type whole numbers separated by commas, "
                                    "e.g. '0, 24, 47' (-1 is the last frame).") from None
    return out


def hint_frames(hints: int, frames: int, spread: str = "uniform", indexes: list[int] | None = None) -> list[int]:
    """The frame of each hint, in hint order: the typed ``indexes`` (one per hint; negative from the end), or K
    hints spread over the video as AnimateDiff's SparseCtrl users know it (``uniform``: first and last frame
    included; ``starting`` / ``ending``: K+1 even slots without the last / first; ``center``: K+2 without both).
    More hints than frames: the first ``frames`` hints, one per frame."""
    if hints < 1:
        raise MotionModuleError("SparseCtrl got no hint images: connect at least one image.")
    if indexes is not None:
        if len(indexes) < min(hints, frames):
            raise MotionModuleError(f"{hints} hint images but {len(indexes)} indexes ({', '.join(map(str, indexes))}): "
                                    "type one frame per image, or use fewer images.")
        resolved = []
        for i in indexes[:hints]:
            frame = frames + i if i < 0 else i
            if not 0 <= frame < frames:
                raise MotionModuleError(f"index {i} is past the video: it has {frames} frames (0..{frames - 1}; -1 is "
                                        "the last). Lower the index or make the video longer.")
            if frame in resolved:
                raise MotionModuleError(f"index {i} names frame {frame} twice: each hint image needs a frame of its own.")
            resolved.append(frame)
        return resolved
    if spread not in SPREADS:
        raise MotionModuleError(f"unknown spread '{spread}': use one of {', '.join(SPREADS)}.")
    if hints >= frames:
        return list(range(frames))

    def even(n):  # n slots from the first frame to the last, rounded down as numpy's integer linspace does
        return [int(v) for v in np.linspace(0, frames - 1, n, endpoint=True, dtype=int)]
    if hints == 1:
        return {"uniform": [0], "starting": [0], "ending": [frames - 1], "center": [even(3)[1]]}[spread]
    if spread == "uniform":
        return even(hints)
    if spread == "starting" or (spread == "center" and frames - hints < 3):
        return even(hints + 1)[:-1]
    if spread == "ending":
        return even(hints + 1)[1:]
    return even(hints + 2)[1:-1]


def place_hints(hints: torch.Tensor, frames: list[int], length: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(``length`` frames of hints, zero where a frame has none; the mask, 1 on hinted frames) from K hints
    ``(K, C, H, W)`` and their frames."""
    k = min(len(frames), hints.shape[0])
    full = hints.new_zeros((length, *hints.shape[1:]))
    mask = hints.new_zeros((length, 1, *hints.shape[2:]))
    full[frames[:k]] = hints[:k]
    mask[frames[:k]] = 1.0
    return full, mask
