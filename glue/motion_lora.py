"""Motion LoRA as weight patches on a clone of the motion module's ModelPatcher.

The module's own tensors are never touched: ComfyUI computes ``W + strength · up @ down`` when it loads the
patched clone (into a fresh tensor; the original is kept as its backup and put back on unpatch), so
changing a strength or removing a LoRA re-patches at the next run without re-reading the motion module,
and several LoRAs on one module stack additively (one patch list per weight, applied in chain order).
"""
from __future__ import annotations

import comfy.model_patcher

from ..motion_modules import MotionLoRA, MotionModuleError, read_motion_lora
from .injection import MotionModuleHandle

try:  # ComfyUI >= 0.3.3x: weight adapters
    from comfy.weight_adapter import LoRAAdapter
except ImportError:  # pragma: no cover - older hosts take the tuple form
    LoRAAdapter = None


def _lora_patch(patch):
    # (up, down, alpha, mid, dora_scale, reshape): alpha None → scale 1, i.e. W += strength · up @ down.
    weights = (patch.up, patch.down, patch.alpha, None, None, None)
    return LoRAAdapter(set(), weights) if LoRAAdapter is not None else ("lora", weights)


def read_lora_for(handle: MotionModuleHandle, path: str) -> MotionLoRA:
    """Read a Motion LoRA file and check it fits ``handle``'s motion module."""
    return read_motion_lora(path, handle.info)


def apply_motion_lora(handle: MotionModuleHandle, lora: MotionLoRA, strength: float) -> MotionModuleHandle:
    """A handle whose ModelPatcher is a clone of ``handle``'s with ``lora`` added at ``strength``."""
    patcher: comfy.model_patcher.ModelPatcher = handle.patcher.clone()
    if strength != 0.0:  # 0 adds nothing: bit-identical to no LoRA, and no patch work at load time
        patches = {p.target: _lora_patch(p) for p in lora.patches}
        added = set(patcher.add_patches(patches, strength_patch=strength))
        if added != set(patches):
            missing = sorted(set(patches) - added)
            raise MotionModuleError(
                f"{lora.name}: {len(missing)} of its weights are not in the loaded motion module "
                f"(e.g. {missing[0]}); it was made for another motion module.")
    return MotionModuleHandle(patcher, handle.info)


def load_motion_lora(handle: MotionModuleHandle, path: str, strength: float) -> tuple[MotionModuleHandle, str]:
    """Read, check and apply; returns the new handle and a one-line description for the UI."""
    lora = read_lora_for(handle, path)
    return apply_motion_lora(handle, lora, strength), f"{lora.summary()}; strength {strength:g}"
