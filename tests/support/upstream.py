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


def trimmed_video_class():
    """comfy_api/latest/_input_impl/video_types.py@0c6cfff6: ``VideoFromFile(file, *, start_time, duration,
    crop)`` keeps the trim and crop pending: ``get_components()`` applies them, ``get_stream_source()`` still
    returns the untrimmed file, and ``has_pending_frame_edits()`` says so. (Crop here: left, top, width,
    height.) Built lazily: comfy_api imports the host's video stack."""
    from comfy_api.latest import InputImpl, Types

    class TrimmedVideoFromFile(InputImpl.VideoFromFile):
        def __init__(self, file, *, start_time: float = 0, duration: float = 0, crop=None):
            super().__init__(file)
            self.start_time, self.duration, self.crop = start_time, duration, crop

        def has_pending_frame_edits(self) -> bool:
            return bool(self.start_time or self.duration or self.crop)

        def get_components(self):
            whole = super().get_components()
            rate = float(whole.frame_rate)
            first = round(self.start_time * rate)
            last = whole.images.shape[0] if not self.duration else first + round(self.duration * rate)
            images = whole.images[first:last]
            if self.crop:
                left, top, width, height = self.crop
                images = images[:, top:top + height, left:left + width]
            return Types.VideoComponents(images=images, audio=None, frame_rate=whole.frame_rate)

    return TrimmedVideoFromFile


def context_handler_class():
    """comfy/context_windows.py@0258521e and later: ``set_step`` matches the sigmas on ``timestep[0]`` and
    returns quietly for a substep's noise level (PR #12719); ``get_resized_cond`` slices per-frame
    conditioning tensors (batch = frame count) to the window itself. Newer handlers also carry fields the
    0.3.75 one lacks (freenoise, cond_retain_index_list, split_conds_to_windows, latent_retain_index_list,
    causal_window_fix)."""
    import comfy.context_windows as cw

    class UpstreamContextHandler(cw.IndexListContextHandler):
        def __init__(self, *args, freenoise=False, cond_retain_index_list="", split_conds_to_windows=False,
                     latent_retain_index_list="", causal_window_fix=True, **kwargs):
            super().__init__(*args, **kwargs)
            self.freenoise = freenoise
            self.cond_retain_index_list = [int(i) for i in cond_retain_index_list.split(",")] if cond_retain_index_list else []
            self.split_conds_to_windows = split_conds_to_windows
            self.latent_retain_index_list = [int(i) for i in latent_retain_index_list.split(",")] if latent_retain_index_list else []
            self.causal_window_fix = causal_window_fix
            self.steps_seen = []

        def set_step(self, timestep, model_options):
            sigmas = model_options["transformer_options"]["sample_sigmas"]
            matches = torch.nonzero(torch.isclose(sigmas, timestep[0].to(sigmas), rtol=1e-4))
            self.steps_seen.append(float(timestep[0]))
            if matches.numel():
                self._step = int(matches[0].item())

        def get_resized_cond(self, cond_in, x_in, window, device=None):
            resized = super().get_resized_cond(cond_in, x_in, window, device)
            frames = x_in.size(self.dim)
            for cond in resized or []:
                for key, value in list((cond.get("model_conds") or {}).items()):
                    tensor = getattr(value, "cond", None)
                    if isinstance(tensor, torch.Tensor) and tensor.ndim > 0 and tensor.size(0) == frames:
                        cond["model_conds"][key] = value._copy_with(window.get_tensor(tensor, device, dim=0))
            return resized

    return UpstreamContextHandler


def _dicts_and_lists_copied(value):
    if isinstance(value, dict):
        return {k: _dicts_and_lists_copied(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dicts_and_lists_copied(v) for v in value]
    return value


def sharing_clone(original_clone):
    """comfy/model_patcher.py@08d0e510: ``clone()`` copies ``model_options`` with ``deepcopy_list_dict``
    (dicts and lists copied, every other object shared between the clones), where 0.3.75 deep-copies all."""
    def clone(self, *args, **kwargs):
        n = original_clone(self, *args, **kwargs)
        n.model_options = _dicts_and_lists_copied(self.model_options)
        return n
    return clone
