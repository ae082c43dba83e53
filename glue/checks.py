"""Checks made once per sampling run (an OUTER_SAMPLE wrapper), before any model is loaded or patched,
so a bad graph fails fast with a message that says what to change."""
from __future__ import annotations

import comfy.context_windows as cw

from ..motion_modules import MotionModuleError, MotionModuleInfo
from .context import LightningContextHandler, validate_windows


def control_hints(conds: dict):
    """(control, hint batch) of every ControlNet / T2I-Adapter reachable from the conds."""
    seen = set()
    for cond_list in conds.values():
        for cond in cond_list:
            control = cond.get("control")
            while control is not None and id(control) not in seen:
                seen.add(id(control))
                hint = getattr(control, "cond_hint_original", None)
                if hint is not None:
                    yield control, hint
                control = getattr(control, "previous_controlnet", None)


class SamplingChecks:
    """Frames vs. the position encoding (or the context windows), and hint count vs. frame count.

    A model that carries core ``ContextWindowsManual`` settings gets our handler for this run (same settings),
    so hints and per-frame conds are sliced per window there too."""

    def __init__(self, info: MotionModuleInfo):
        self.limit, self.title = info.frame_limit, info.title

    def __call__(self, executor, noise, *args, **kwargs):
        guider = executor.class_obj
        frames = noise.shape[0]
        handler = guider.model_options.get("context_handler")
        if type(handler) is cw.IndexListContextHandler:
            handler = guider.model_options["context_handler"] = LightningContextHandler.from_core(handler)
        if isinstance(handler, cw.IndexListContextHandler):
            validate_windows(handler.context_length, handler.context_overlap, self.limit, self.title)
        elif frames > self.limit:
            raise MotionModuleError(
                f"{frames} frames is more than the {self.limit} this motion module ({self.title}) can see at "
                f"once. Use at most {self.limit} frames (the latent batch size), or add context windows "
                "(Context Options node) to render longer videos in overlapping windows.")
        for control, hint in control_hints(getattr(guider, "conds", {}) or {}):
            if hasattr(control, "check_controls"):  # frame strengths and masks (glue/controls.py)
                control.check_controls(noise.shape)
            if hasattr(control, "check_frames"):  # sparse hints go to chosen frames (glue/sparsectrl.py)
                control.check_frames(frames)
                continue
            name = type(control).__name__
            if hint.shape[0] not in (1, frames):
                raise MotionModuleError(
                    f"the {name} hint has {hint.shape[0]} images but the video has {frames} frames. Give one "
                    "hint image per frame (e.g. run the preprocessor on the same loaded frames), or a single "
                    "image to use for every frame.")
        return executor(noise, *args, **kwargs)
