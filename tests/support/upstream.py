"""Upstream ComfyUI behaviour that the 0.3.75 test host does not have, emulated on it, each after the
upstream file and commit named (see ../shared/reference/comfyui-upstream-2026.md). Tests use these to show the
pack handles today's ComfyUI, not only the host's. Written from reading upstream; no upstream code is copied.

Commits: ``783545f6`` is ComfyUI 0.33.0 (upstream master 2026-08-22, mirror yzkee/ComfyUI), which the suite
also runs on for real (docs/compatibility.md); every behaviour here was checked in that tree's file. Older
hashes name the commit where the behaviour was first read (comfyui-upstream-2026.md); it is unchanged at
783545f6 unless said."""
from __future__ import annotations

import inspect
import time

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


def trimmed_video_class(commit: str = "0c6cfff6"):
    """comfy_api/latest/_input_impl/video_types.py, a ``VideoFromFile`` whose trim (and crop) is pending:
    ``get_components()`` applies it, ``get_stream_source()`` still returns the untrimmed file.

    - ``0c6cfff6`` (after 0.33): ``VideoFromFile(file, *, start_time, duration, crop)`` and
      ``has_pending_frame_edits()`` says whether anything is pending. (Crop here: left, top, width, height.)
    - ``783545f6`` (0.33.0): ``VideoFromFile(file, *, start_time, duration)``, no crop and no
      ``has_pending_frame_edits()``; ``get_active_trim_window()`` returns (start_time, duration). Core's Video
      Slice node (comfy_extras/nodes_video.py, ``as_trimmed``) makes such VIDEOs.
    On a host that has the behaviour itself, its own ``VideoFromFile``. Built lazily: comfy_api imports the
    host's video stack."""
    from comfy_api.latest import InputImpl, Types

    class TrimmedVideoFromFile(InputImpl.VideoFromFile):
        def __init__(self, file, *, start_time: float = 0, duration: float = 0, crop=None):
            super().__init__(file)
            self.start_time, self.duration, self.crop = start_time, duration, crop

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

    class PendingEditsVideo(TrimmedVideoFromFile):
        def has_pending_frame_edits(self) -> bool:
            return bool(self.start_time or self.duration or self.crop)

    class TrimWindowVideo(TrimmedVideoFromFile):
        def __init__(self, file, *, start_time: float = 0, duration: float = 0):
            super().__init__(file, start_time=start_time, duration=duration)

        def get_active_trim_window(self) -> tuple[float, float]:
            return float(self.start_time), float(self.duration)

    native = {"0c6cfff6": "has_pending_frame_edits", "783545f6": "get_active_trim_window"}[commit]
    if hasattr(InputImpl.VideoFromFile, native):  # the host has it: its own class, not an emulation on top
        return InputImpl.VideoFromFile
    return {"0c6cfff6": PendingEditsVideo, "783545f6": TrimWindowVideo}[commit]


def throttled_progress_bar_class():
    """comfy/utils.py@783545f6: ``ProgressBar.update_absolute`` hands the hook (the UI's progress *and* the
    server's interrupt check) only the first update, the last (value >= total), any with a preview, and others
    at least 100 ms and 0.5 % after the last one sent. Code that needs Cancel to stop it must check for the
    interrupt itself."""
    import comfy.utils

    class ThrottledProgressBar(comfy.utils.ProgressBar):
        MIN_SECONDS, MIN_PERCENT = 0.1, 0.5

        def __init__(self, total, node_id=None):
            super().__init__(total, node_id=node_id)
            self.sent_at, self.sent_value = 0.0, -1

        def update_absolute(self, value, total=None, preview=None):
            if total is not None:
                self.total = total
            self.current = value = min(value, self.total)
            if self.hook is None:
                return
            now = time.perf_counter()
            always = preview is not None or self.sent_value < 0 or value >= self.total
            percent = 100.0 if self.total <= 0 else (value - max(0, self.sent_value)) / self.total * 100
            if always or (now - self.sent_at >= self.MIN_SECONDS and percent >= self.MIN_PERCENT):
                self.hook(self.current, self.total, preview, node_id=self.node_id)
                self.sent_at, self.sent_value = now, value

    return ThrottledProgressBar


def context_handler_class():
    """comfy/context_windows.py@0258521e and later (checked at 783545f6): ``set_step`` matches the sigmas on
    ``timestep[0]`` and returns quietly for a substep's noise level (PR #12719); ``get_resized_cond`` slices
    per-frame conditioning tensors (batch = frame count) to the window itself. Newer handlers also carry
    fields the 0.3.75 one lacks (freenoise, cond_retain_index_list, split_conds_to_windows,
    latent_retain_index_list, causal_window_fix).

    ``causal_window_fix`` (783545f6; on by default, in the handler and in core's Context Windows node): every
    window that does not start at frame 0 gets the frame before it, the *causal anchor*, in front —
    ``evaluate_context_windows`` sets ``window.causal_anchor_index``, ``IndexListContextWindow.get_tensor``
    puts that frame first in the latents, timesteps and per-frame conds it slices (17 frames for a 16-frame
    window), and the model's output loses its first frame again before the windows are fused."""
    import comfy.context_windows as cw

    class AnchoredWindow(cw.IndexListContextWindow):
        causal_anchor_index = None

        def get_tensor(self, full, device=None, dim=None):
            dim = self.dim if dim is None else dim
            if self.causal_anchor_index is None or (dim == 0 and full.shape[dim] == 1):
                return super().get_tensor(full, device, dim)
            return full[tuple([slice(None)] * dim + [[self.causal_anchor_index, *self.index_list]])].to(device)

    class CausalAnchor:
        """Emulated only where the host has no causal_window_fix of its own (0.3.75)."""

        def get_context_windows(self, model, x_in, model_options):
            return [AnchoredWindow(w.index_list, dim=w.dim) for w in super().get_context_windows(model, x_in,
                                                                                                 model_options)]

        def evaluate_context_windows(self, calc_cond_batch, model, x_in, conds, timestep, enumerated_context_windows,
                                     model_options, device=None, first_device=None):
            results = []
            for item in enumerated_context_windows:
                window = item[1]
                anchor = window.index_list[0] - 1
                anchored = bool(self.causal_window_fix) and 0 <= anchor < x_in.size(self.dim)
                window.causal_anchor_index = anchor if anchored else None

                def calc(*args, **kwargs):
                    outs = calc_cond_batch(*args, **kwargs)
                    return [o.narrow(self.dim, 1, o.size(self.dim) - 1) for o in outs] if anchored else outs
                results += super().evaluate_context_windows(calc, model, x_in, conds, timestep, [item],
                                                            model_options, device, first_device)
            return results

    native = "causal_window_fix" in inspect.signature(cw.IndexListContextHandler.__init__).parameters

    class UpstreamContextHandler(*(() if native else (CausalAnchor,)), cw.IndexListContextHandler):
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


def keeping_cache_args() -> list[str]:
    """comfy_execution/caching.py + main.py@783545f6: the default cache is ``RAMPressureCache``, an LRU cache
    without a size limit that drops entries only when RAM runs low, so a prompt queued again (same inputs) after
    other prompts is answered from the cache: nothing samples. 0.3.75's default (classic) cache keeps only the
    last prompt's outputs. On such a host, the server arguments that keep many prompts' outputs the same way
    (``--cache-lru``); on a host where that is the default, none."""
    import comfy.cli_args
    return [] if isinstance(comfy.cli_args.args.cache_ram, list) else ["--cache-lru", "256"]


def _dicts_and_lists_copied(value):
    if isinstance(value, dict):
        return {k: _dicts_and_lists_copied(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dicts_and_lists_copied(v) for v in value]
    return value


def sharing_clone(original_clone):
    """comfy/model_patcher.py@08d0e510 (checked at 783545f6): ``clone()`` copies ``model_options`` with
    ``deepcopy_list_dict`` (dicts and lists copied, every other object shared between the clones), where 0.3.75
    deep-copies all."""
    def clone(self, *args, **kwargs):
        n = original_clone(self, *args, **kwargs)
        n.model_options = _dicts_and_lists_copied(self.model_options)
        return n
    return clone
