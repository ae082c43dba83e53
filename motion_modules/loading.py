"""Read a motion-module file and build the module from it, without copying or upcasting the weights."""
from __future__ import annotations

import os
from dataclasses import replace

import torch
from safetensors import SafetensorError, safe_open

from .errors import MotionModuleError
from .formats import (MotionModuleInfo, describe, from_diffusers, is_diffusers_layout, lightning_steps,
                      with_lightning_steps)
from .model import CastOps, MotionModuleSet, sinusoidal_positions

SAFETENSORS_SUFFIXES = (".safetensors", ".sft")
PICKLE_SUFFIXES = (".ckpt", ".pt", ".pth", ".bin")


def read_state_dict(path: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Tensors and metadata of a file: safetensors memory-mapped, pickles only through weights-only loading."""
    name = os.path.basename(path)
    suffix = os.path.splitext(path)[1].lower()
    if not os.path.isfile(path):
        raise MotionModuleError(f"{name}: file not found at {path}. Check the file name and folder.")
    if suffix in SAFETENSORS_SUFFIXES:
        try:
            with safe_open(path, framework="pt", device="cpu") as f:
                metadata = dict(f.metadata() or {})
                return {k: f.get_tensor(k) for k in f.keys()}, metadata
        except (SafetensorError, OSError, ValueError, RuntimeError) as e:
            raise MotionModuleError(
                f"{name} cannot be read as safetensors ({e}). The file is truncated or corrupt: "
                "download it again.") from e
    if suffix in PICKLE_SUFFIXES:
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except Exception:  # old (non-zip) pickles cannot be memory-mapped; a bad file fails again below
            try:
                obj = torch.load(path, map_location="cpu", weights_only=True)
            except Exception as e:
                raise MotionModuleError(
                    f"{name} cannot be loaded safely ({type(e).__name__}: {str(e)[:200]}). It is corrupt, "
                    "or it holds more than tensors (only weights-only pickles are loaded): use a "
                    ".safetensors copy.") from e
        if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
            obj = obj["state_dict"]
        if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
            raise MotionModuleError(f"{name} holds no state dict of tensors; it is not a motion module.")
        return obj, {}
    raise MotionModuleError(
        f"{name}: '{suffix or 'no extension'}' files are not loaded. Motion modules are .safetensors "
        f"(preferred) or .ckpt/.pt/.pth.")


def expected_layout(info: MotionModuleInfo) -> dict[str, torch.Size]:
    """Every key and shape a file of this kind must hold, from a skeleton of plain torch layers: the host's
    layer classes may create their parameters only when the state dict is loaded (ComfyUI's dynamic VRAM
    leaves ``Linear.weight`` None until then), so a module built with them cannot say what it expects."""
    with torch.device("meta"):
        skeleton = MotionModuleSet(info.channels, info.per_down, info.per_up, info.has_mid, info.pe_length,
                                   attention_blocks=info.attention_blocks, ops=CastOps)
    return {k: v.shape for k, v in skeleton.state_dict(keep_vars=True).items()}


def _layout_error(info: MotionModuleInfo, missing, unexpected, wrong, sd, expected) -> MotionModuleError:
    parts = []
    if missing:
        parts.append(f"{len(missing)} missing (e.g. {missing[0]})")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected (e.g. {unexpected[0]})")
    if wrong:
        k = wrong[0]
        parts.append(f"{len(wrong)} with the wrong shape (e.g. {k}: {tuple(sd[k].shape)}, "
                     f"expected {tuple(expected[k])})")
    return MotionModuleError(
        f"{info.name or 'the file'} does not match the {info.title} layout: keys {'; '.join(parts)}. "
        "It is damaged or an unsupported variant.")


def build_motion_modules(sd: dict[str, torch.Tensor], info: MotionModuleInfo, ops=CastOps) -> MotionModuleSet:
    """The module with the file's tensors assigned in place (no copy, stored dtype)."""
    expected = expected_layout(info)
    sd = dict(sd)
    if not info.pe_stored:
        for key, shape in expected.items():
            if key.endswith("pos_encoder.pe"):
                sd[key] = sinusoidal_positions(info.pe_length, shape[-1])
    missing = [k for k in expected if k not in sd]
    unexpected = [k for k in sd if k not in expected]
    wrong = [k for k in expected if k in sd and tuple(sd[k].shape) != tuple(expected[k])]
    if missing or unexpected or wrong:
        raise _layout_error(info, missing, unexpected, wrong, sd, expected)
    with torch.device("meta"):
        model = MotionModuleSet(info.channels, info.per_down, info.per_up, info.has_mid, info.pe_length,
                                attention_blocks=info.attention_blocks, ops=ops)
    model.load_state_dict(sd, strict=False, assign=True)  # layers without parameters yet create them here
    loaded = model.state_dict(keep_vars=True)
    left = [k for k in expected if k not in loaded or loaded[k] is None or loaded[k].is_meta
            or tuple(loaded[k].shape) != tuple(expected[k])]
    if left or len(loaded) != len(expected):
        raise MotionModuleError(
            f"{info.name or 'the file'}: ComfyUI's layers ({getattr(ops, '__qualname__', ops)}) did not take "
            f"{len(left) or abs(len(loaded) - len(expected))} of the module's weights (e.g. "
            f"{(left or sorted(set(loaded) ^ set(expected)) or ['?'])[0]}). This ComfyUI loads weights in a way "
            "the pack does not know yet: update AnimateDiff-Lightning, or report this message.")
    return model.eval().requires_grad_(False)


def read_motion_module(path: str) -> tuple[dict[str, torch.Tensor], MotionModuleInfo]:
    """Tensors in the original layout, and what they are."""
    name = os.path.basename(path)
    sd, metadata = read_state_dict(path)
    layout = "original"
    if is_diffusers_layout(sd):
        sd, layout = from_diffusers(sd), "diffusers"
    info = replace(describe(sd, name), layout=layout)
    return sd, with_lightning_steps(info, lightning_steps(name, metadata))


def load_motion_module(path: str, ops=CastOps) -> tuple[MotionModuleSet, MotionModuleInfo]:
    """Read, recognise, convert and build a motion module from a file."""
    sd, info = read_motion_module(path)
    return build_motion_modules(sd, info, ops), info
