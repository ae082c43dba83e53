"""Context windows for long videos, on ComfyUI's own index-list handler (comfy/context_windows.py).

Core's handler slices the latents and timesteps per window but hands every window the first frames'
ControlNet / T2I-Adapter hints and the unsliced per-frame conditioning. ``LightningContextHandler`` keeps
core's schedules, fuse methods and callbacks and makes everything per frame the window's own: conds whose
batch is the frame count (prompt travel), masks, and control hints (frame i's hint reaches frame i in
whichever window it falls). The motion module sees each window as a video of its own, positions from 0.

Newer core (comfy/context_windows.py@783545f6, 0.33) prepends a "causal anchor" frame (the frame before the
window) to every window that does not start at 0 when ``causal_window_fix`` is on, its default and the
default of core's Context Windows node. That is made for causal-VAE video models; for a motion module it adds a
17th frame to temporal attention and shifts every position, so a window no longer equals that window rendered
alone. Our handler never uses it, also when it takes over a core handler.
"""
from __future__ import annotations

import copy
import logging

import torch
import comfy.context_windows as cw
import comfy.patcher_extension

from ..motion_modules import MotionModuleError

# Our option names (widget values, append only) -> core's names.
SCHEDULES = {"static": cw.ContextSchedules.STATIC_STANDARD, "uniform": cw.ContextSchedules.UNIFORM_STANDARD,
             "looped": cw.ContextSchedules.UNIFORM_LOOPED}
FUSE_METHODS = {"pyramid": cw.ContextFuseMethods.PYRAMID, "flat": cw.ContextFuseMethods.FLAT,
                "overlap-linear": cw.ContextFuseMethods.OVERLAP_LINEAR}
NOISE_TYPES = ("per-frame", "FreeNoise", "FreeNoise (legacy)", "FreeNoise (AnimateDiff-Evolved)")  # append only
KEY = "animatediff_lightning_context"


class LightningContextHandler(cw.IndexListContextHandler):
    def __init__(self, *args, noise_type: str = "per-frame", **kwargs):
        super().__init__(*args, **kwargs)
        self.noise_type = noise_type
        self.causal_window_fix = False  # windows are videos of their own (module docstring)

    @classmethod
    def from_core(cls, handler: cw.IndexListContextHandler) -> "LightningContextHandler":
        """Ours, carrying every setting of a core handler (e.g. from core's Context Windows node): all its
        attributes are copied as they are, so fields newer ComfyUI adds (FreeNoise, retained indices, …)
        keep their values and meaning without this pack knowing them. Core applies its own FreeNoise."""
        ours = cls.__new__(cls)
        ours.__dict__.update(vars(handler))
        ours.noise_type = "per-frame"
        if getattr(handler, "causal_window_fix", False):
            logging.info("[AnimateDiff-Lightning] context windows: causal_window_fix is for causal video models; "
                         "the motion module sees each window without an anchor frame.")
        ours.causal_window_fix = False
        return ours

    def set_step(self, timestep, model_options):
        """Core's step lookup on the first frame's timestep (0.3.75 compares the whole per-frame batch with
        the sigmas, which fails or, worse, matches elementwise). A noise level between two sigmas (a
        sampler's substep) counts as the step it falls in, as newer core tolerates it."""
        first = timestep.flatten()[:1]
        try:
            return super().set_step(first, model_options)
        except Exception:  # noqa: BLE001 — core found no exact match: place the substep ourselves
            pass
        sigmas = model_options["transformer_options"]["sample_sigmas"]
        t = first.to(sigmas)
        if not torch.isfinite(t).all() or sigmas.numel() == 0:
            raise MotionModuleError("context windows: the current noise level is not a number.")
        self._step = max(0, min(int((sigmas >= t * (1 - 1e-4)).sum().item()) - 1, sigmas.numel() - 1))

    def get_context_windows(self, model, x_in, model_options):
        """Core's windows, refused with a message where one reaches past the last frame (slicing would fail with
        an IndexError): with context_stride above 1 the uniform schedule (core's and AnimateDiff-Evolved's, the
        same code) does so exactly when the widest spacing it uses, 2^k, needs more frames than there are,
        (context_length - 1) * 2^k + 1: it shifts that window, which wraps round the end, past the last frame."""
        windows = super().get_context_windows(model, x_in, model_options)
        frames = x_in.size(self.dim)
        for window in windows:
            bad = [i for i in window.index_list if not 0 <= i < frames]
            if bad:
                raise MotionModuleError(
                    f"context windows: context_stride {self.context_stride} on the uniform schedule with {frames} "
                    f"frames gives a window reaching frame {max(bad)}, past the last ({frames - 1}): its widest "
                    f"spacing needs more frames than there are. AnimateDiff-Evolved's uniform schedule makes the "
                    "same window and fails there too. Use the looped schedule, a smaller context_stride, or more "
                    "frames.")
        return windows

    def get_resized_cond(self, cond_in, x_in, window, device=None):
        resized = super().get_resized_cond(cond_in, x_in, window, device)
        if resized is None:
            return None
        frames = x_in.size(self.dim)
        for cond in resized:
            model_conds = cond.get("model_conds")
            if isinstance(model_conds, dict):
                cond["model_conds"] = {k: _window_cond(v, window, frames, device) for k, v in model_conds.items()}
            if cond.get("control") is not None:
                cond["control"] = window_control(cond["control"], window.index_list, frames)
        return resized


def _window_cond(value, window, frames: int, device):
    tensor = getattr(value, "cond", None)
    if isinstance(tensor, torch.Tensor) and tensor.ndim > 0 and tensor.size(0) == frames and frames > 1:
        return value._copy_with(window.get_tensor(tensor, device, dim=0))
    return value


def window_control(control, indices: list[int], frames: int):
    """A shallow copy of a control chain whose per-frame hints are those of ``indices``."""
    previous = control.previous_controlnet
    windowed_previous = window_control(previous, indices, frames) if previous is not None else None
    controlled = hasattr(control, "adl_controls")  # per-frame controls (glue/controls.py) follow the window
    if hasattr(control, "windowed"):  # sparse hints (glue/sparsectrl.py) place themselves on the window's frames
        windowed = control.windowed(indices, frames)
        windowed.previous_controlnet = windowed_previous
    else:
        hint = getattr(control, "cond_hint_original", None)
        if windowed_previous is previous and not controlled and (hint is None or hint.shape[0] != frames
                                                                 or frames == 1):
            return control
        windowed = copy.copy(control)  # keeps pre_run state (timestep range, model sampling) and the model
        windowed.previous_controlnet = windowed_previous
        if hint is not None and hint.shape[0] == frames and frames > 1:
            windowed.cond_hint_original = hint[indices]
            windowed.cond_hint = None  # preprocessed per window
    if controlled:
        windowed.adl_window = (list(indices), frames)
    return windowed


def validate_windows(length: int, overlap: int, limit: int | None = None, title: str = "") -> None:
    if overlap >= length:
        raise MotionModuleError(
            f"context_overlap ({overlap}) must be smaller than context_length ({length}): windows would never "
            "advance. Use an overlap of about a quarter of the length (4 for 16).")
    if limit is not None and length > limit:
        raise MotionModuleError(
            f"context_length {length} is longer than the {limit} frames this motion module ({title}) can see "
            f"at once. Use context_length {min(16, limit)} (as trained) up to {limit}.")


def freenoise_legacy(noise: torch.Tensor, length: int, overlap: int, seed: int) -> torch.Tensor:
    """``"FreeNoise (legacy)"``, the pack's first FreeNoise, kept bit for bit for saved workflows: frames past
    the first window reuse that window's noise, shuffled per window step. On the uniform and looped schedules,
    whose windows shift every step, most windows then hold some noise frame twice (the static schedule's, which
    line up with the blocks, do not); ``freenoise`` never lets that happen. The shuffles are seeded with the
    seed's low 48 bits."""
    return _shuffled_repeats(noise, length, overlap, torch.Generator().manual_seed(int(seed) & 0xFFFFFFFFFFFF))


def freenoise_ade(noise: torch.Tensor, length: int, overlap: int, seed: int) -> torch.Tensor:
    """``"FreeNoise (AnimateDiff-Evolved)"``: AnimateDiff-Evolved's FreeNoise frame for frame, for converted
    workflows — the legacy rule (the same placement and shuffles) seeded with the whole 64-bit seed, as ADE
    seeds its CPU generator (``tests/parity_ade.py`` checks it against ADE's own function)."""
    return _shuffled_repeats(noise, length, overlap, torch.Generator().manual_seed(int(seed) % 2 ** 64))


def _shuffled_repeats(noise: torch.Tensor, length: int, overlap: int, g: torch.Generator) -> torch.Tensor:
    """Frames past the first window take the noise of the frames one window back, in a shuffled order per
    window step of ``length - overlap`` frames (the last step possibly shorter)."""
    frames = noise.shape[0]
    if frames <= length:
        return noise
    out = noise.clone()
    step = max(length - overlap, 1)
    for start in range(length, frames, step):
        end = min(start + step, frames)
        source = torch.arange(start - length, start - length + step)[: end - start]
        order = source[torch.randperm(source.numel(), generator=g)]
        out[start:end] = out[order]
    return out


def run_windows(handler: cw.IndexListContextHandler, frames: int, steps: int,
                model_options: dict | None = None) -> list[tuple[int, ...]]:
    """Every distinct window (index list) ``handler`` will use on ``frames`` frames over a run whose sigmas
    have ``steps`` entries, from core's own schedule function at each step index the handler can take
    (``set_step`` picks one of the sigmas' indices; the last is included for samplers that evaluate there).
    The handler itself is not touched: the schedule runs on a shallow copy."""
    probe = copy.copy(handler)
    seen: dict[tuple[int, ...], None] = {}
    for step in range(max(int(steps), 1)):
        probe._step = step
        for window in probe.context_schedule.func(frames, probe, model_options if model_options is not None else {}):
            seen.setdefault(tuple(window), None)
    return list(seen)


def static_windows(frames: int, length: int, overlap: int) -> list[tuple[int, ...]]:
    """The windows of the static schedule (the same at every step)."""
    handler = make_handler(length, overlap, "static", "flat", False, "per-frame")
    return run_windows(handler, frames, 1)


def freenoise(noise: torch.Tensor, length: int, overlap: int, seed: int,
              windows: list[tuple[int, ...]] | None = None) -> torch.Tensor:
    """FreeNoise (Qiu et al. 2023) that never puts the same noise frame twice into one window.

    Frames 0..length-1 keep their noise; they are the pool. Every later frame, in frame order, takes a pool
    frame's noise drawn (seeded) among those no frame it shares a window with already carries; when every pool
    frame is taken by such a neighbour (it can happen on the looped schedule, whose windows wrap round to the
    first frames) it keeps its own noise, which no other frame carries. ``windows`` are all index lists the
    context handler uses over the run (``run_windows``); by default the static schedule's for
    ``length``/``overlap``. Static windows get seeded shuffles of the pool; uniform and looped windows, which
    shift every step, constrain more and leave fewer choices (fewer the more steps and overlap)."""
    frames = noise.shape[0]
    if frames <= length:
        return noise
    if windows is None:
        windows = static_windows(frames, length, overlap)
    sources = _window_safe_sources(frames, length, windows, seed)
    return noise.index_select(0, torch.tensor(sources, dtype=torch.long, device=noise.device))


def _window_safe_sources(frames: int, length: int, windows: list[tuple[int, ...]], seed: int) -> list[int]:
    """Greedy colouring of the frames' conflict graph (frames sharing a window conflict) with the pool of the
    first ``length`` frames: each window keeps a bit mask of the pool frames its already placed frames use."""
    member_of: list[list[int]] = [[] for _ in range(frames)]
    for w, window in enumerate(windows):
        for frame in window:
            if 0 <= frame < frames:
                member_of[frame].append(w)
    used = [0] * len(windows)
    for frame in range(length):
        for w in member_of[frame]:
            used[w] |= 1 << frame
    pool = (1 << length) - 1
    g = torch.Generator().manual_seed(int(seed) & 0xFFFFFFFFFFFF)
    draws = torch.rand(frames, generator=g, dtype=torch.float64).tolist()
    sources = list(range(frames))
    for frame in range(length, frames):
        taken = 0
        for w in member_of[frame]:
            taken |= used[w]
        free = pool & ~taken
        count = bin(free).count("1")
        if count == 0:
            continue  # every pool frame is in a neighbouring window already: own noise
        for _ in range(min(int(draws[frame] * count), count - 1)):
            free &= free - 1  # drop the lowest free pool frame
        source = (free & -free).bit_length() - 1
        sources[frame] = source
        for w in member_of[frame]:
            used[w] |= 1 << source
    return sources


def make_handler(length: int, overlap: int, schedule: str, fuse_method: str, closed_loop: bool,
                 noise_type: str, stride: int = 1) -> LightningContextHandler:
    """``stride`` is core's context_stride (AnimateDiff-Evolved's, the same schedules): with the uniform and looped
    schedules, windows of consecutive frames and, for k = 1 … stride-1, windows of frames 2^k apart (a level only
    while the video is long enough: at most ceil(log2(frames / length)) + 1 levels in all). Static ignores it."""
    validate_windows(length, overlap)
    if isinstance(stride, bool) or not isinstance(stride, int) or stride < 1:
        raise MotionModuleError(f"context_stride {stride!r} must be a whole number of at least 1 (1: consecutive "
                                "frames only).")
    return LightningContextHandler(
        cw.get_matching_context_schedule(SCHEDULES[schedule]), cw.get_matching_fuse_method(FUSE_METHODS[fuse_method]),
        context_length=length, context_overlap=overlap, context_stride=stride, closed_loop=closed_loop, dim=0,
        noise_type=noise_type)


SAMPLE_SETTINGS_KEY = "animatediff_lightning_sample_settings"  # glue/noise.py: it runs the context noise itself


def apply_context_noise(model_options: dict, noise: torch.Tensor, sigmas, seed) -> torch.Tensor:
    """The context options' noise_type on ``noise``: FreeNoise over this run's windows, or the legacy one."""
    handler = model_options.get("context_handler")
    noise_type = getattr(handler, "noise_type", None)
    if noise_type == "FreeNoise" and noise.shape[0] > handler.context_length:  # our handlers: frames on dim 0
        windows = run_windows(handler, noise.shape[0], sigmas.shape[-1], model_options)
        noise = freenoise(noise, handler.context_length, handler.context_overlap, seed or 0, windows=windows)
    elif noise_type == "FreeNoise (legacy)":
        noise = freenoise_legacy(noise, handler.context_length, handler.context_overlap, seed or 0)
    elif noise_type == "FreeNoise (AnimateDiff-Evolved)":
        noise = freenoise_ade(noise, handler.context_length, handler.context_overlap, seed or 0)
    return noise


class ContextNoise:
    """OUTER_SAMPLE wrapper: FreeNoise rearranges the initial noise before sampling starts. The new FreeNoise
    reads the handler's windows for every step of this run's sigmas (``run_windows``). With sample settings on
    the model their wrapper applies it, after drawing its own noise."""

    def __call__(self, executor, noise, latent_image, sampler, sigmas, denoise_mask=None, callback=None,
                 disable_pbar=False, seed=None, **kwargs):
        options = executor.class_obj.model_options
        if SAMPLE_SETTINGS_KEY not in options:
            noise = apply_context_noise(options, noise, sigmas, seed)
        return executor(noise, latent_image, sampler, sigmas, denoise_mask, callback, disable_pbar, seed, **kwargs)


def apply_context_windows(model, handler: LightningContextHandler):
    m = model.clone()
    m.model_options["context_handler"] = handler
    cw.create_prepare_sampling_wrapper(m)  # memory estimates for one window, as core does
    m.remove_wrappers_with_key(comfy.patcher_extension.WrappersMP.OUTER_SAMPLE, KEY)
    m.add_wrapper_with_key(comfy.patcher_extension.WrappersMP.OUTER_SAMPLE, KEY, ContextNoise())
    return m
