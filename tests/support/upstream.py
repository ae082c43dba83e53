"""Upstream ComfyUI behaviour that the 0.3.75 test host does not have, emulated on it, each after the
upstream file named (see ../shared/reference/comfyui-upstream-2026.md). Tests use these to show the pack
handles today's ComfyUI, not only the host's. Written from reading upstream; no upstream code is copied."""
from __future__ import annotations

import torch

import comfy.ops


class DynamicVramOps(comfy.ops.manual_cast):
    """comfy/ops.py@0271a469 with dynamic VRAM (comfy-aimdo) on, the default on NVIDIA since 0.2x:
    ``Linear.__init__`` registers ``weight = None`` and ``bias = None`` and keeps only the features; the
    parameters are created from the state dict inside ``_load_from_state_dict``. A module built with these
    layers has no Linear keys in ``state_dict()`` until a state dict has been loaded into it."""

    class Linear(comfy.ops.manual_cast.Linear):
        def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
            torch.nn.Module.__init__(self)
            self.in_features, self.out_features = in_features, out_features
            self.weight = None
            self.bias = None
            self.lazy_bias = bias

        def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                                  unexpected_keys, error_msgs):
            for name, wanted in (("weight", True), ("bias", self.lazy_bias)):
                key = prefix + name
                if not wanted:
                    continue
                if key not in state_dict:
                    missing_keys.append(key)
                    continue
                setattr(self, name, torch.nn.Parameter(state_dict[key], requires_grad=False))
