"""Motion scale and effect per frame, per region and over the sampling steps.

The Apply node may carry a ``MotionControl``: a scale and an effect for the whole run (floats, values per frame,
masks; motion_modules/multival.py says what each does), keyframes that change them from a start percent of the
run on, and a start/end percent outside which the motion module is off. Keyframes switch as
AnimateDiff-Evolved's do, so converted files step the same way:

- keyframes are taken in start-percent order; at each new noise level, once the current keyframe has held for
  its ``guarantee_steps``, the next ones whose start has been reached are taken (several at once when they
  guarantee no steps); a keyframe that starts before the run's first noise level guarantees none;
- a keyframe without a scale or effect keeps the one before it (``inherit_missing``), or falls back to 1;
- the keyframe's values multiply the run's.

Two wrappers carry it, added only to a model that has a control (a plain Apply adds neither, so its path is the
one without controls): OUTER_SAMPLE checks the values against the latent and starts the keyframes afresh;
APPLY_MODEL works out the current step's values once per model call and hands them to the motion module slots
in ``transformer_options``, where each slot sizes them to its level and its window's frames.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import comfy.patcher_extension

from ..motion_modules import MotionModuleError
from ..motion_modules import multival

KEY = "animatediff_lightning_motion_control"


@dataclass(frozen=True)
class MotionKeyframe:
    start_percent: float
    scale: object = None
    effect: object = None
    guarantee_steps: int = 1
    inherit_missing: bool = True
    default: bool = False


def add_keyframe(previous: tuple | None, keyframe: MotionKeyframe) -> tuple:
    """``previous`` + ``keyframe``, which must not start before the last of them."""
    previous = tuple(previous or ())
    if not 0.0 <= keyframe.start_percent <= 1.0:
        raise MotionModuleError(f"a motion keyframe's start_percent must be between 0 and 1 "
                                f"(got {keyframe.start_percent}).")
    if previous and keyframe.start_percent < previous[-1].start_percent:
        raise MotionModuleError(
            f"motion keyframes out of order: this one starts at {keyframe.start_percent}, after one at "
            f"{previous[-1].start_percent}. Chain keyframes from the earliest to the latest start_percent.")
    return previous + (keyframe,)


@dataclass(frozen=True)
class MotionControl:
    scale: object = None
    effect: object = None
    keyframes: tuple = ()
    start_percent: float = 0.0
    end_percent: float = 1.0

    def is_default(self) -> bool:
        return (multival.is_one(self.scale) and multival.is_one(self.effect) and not self.keyframes
                and self.start_percent <= 0.0 and self.end_percent >= 1.0)

    def check(self) -> None:
        if not 0.0 <= self.start_percent <= self.end_percent <= 1.0:
            raise MotionModuleError(
                f"start_percent ({self.start_percent}) and end_percent ({self.end_percent}) must satisfy "
                "0 ≤ start ≤ end ≤ 1.")

    def values(self):
        """(what, value) of every value, for checks."""
        yield "the motion scale", self.scale
        yield "the motion effect", self.effect
        for i, kf in enumerate(self.keyframes):
            yield f"motion keyframe {i + 1} (start {kf.start_percent})'s scale", kf.scale
            yield f"motion keyframe {i + 1} (start {kf.start_percent})'s effect", kf.effect


@dataclass(frozen=True)
class MotionStep:
    """What the slots read for the current model call."""
    scale: object
    effect: object


@dataclass
class _State:
    keyframes: list
    starts: list
    max_sigma: float
    index: int = -1
    used: int = 0
    scale: object = None
    effect: object = None
    previous_t: float | None = None
    step: MotionStep | None = None
    in_range: bool = True
    range_: tuple = field(default=(float("inf"), 0.0))


class MotionControlRun:
    """The two wrappers of one Apply node's control (see the module docstring)."""

    def __init__(self, control: MotionControl):
        self.control = control
        self.state: _State | None = None

    def outer_sample(self, executor, noise, latent_image, sampler, sigmas, *args, **kwargs):
        frames, height, width = noise.shape[0], noise.shape[-2], noise.shape[-1]
        for what, value in self.control.values():
            multival.check(value, frames, height, width, what)
        sampling = executor.class_obj.model_patcher.get_model_object("model_sampling")
        keyframes = [MotionKeyframe(0.0, guarantee_steps=1, default=True)]
        for kf in self.control.keyframes:  # as ADE: a keyframe at 0 replaces the default one
            keyframes = [k for k in keyframes if not (k.default and k.start_percent == kf.start_percent)]
            keyframes.append(kf)
        keyframes.sort(key=lambda k: k.start_percent)
        self.state = _State(
            keyframes=keyframes, starts=[float(sampling.percent_to_sigma(k.start_percent)) for k in keyframes],
            max_sigma=float(sigmas.max()) if sigmas.numel() else 0.0,
            range_=(float(sampling.percent_to_sigma(self.control.start_percent)),
                    float(sampling.percent_to_sigma(self.control.end_percent))))
        try:
            return executor(noise, latent_image, sampler, sigmas, *args, **kwargs)
        finally:
            self.state = None

    def _guaranteed(self, i: int) -> int:
        s = self.state
        return 0 if s.starts[i] > s.max_sigma else s.keyframes[i].guarantee_steps

    def _advance(self, t: float) -> None:
        s = self.state
        if s.index < 0 or s.used >= self._guaranteed(s.index):
            for i in range(s.index + 1, len(s.keyframes)):
                if s.starts[i] < t:
                    break
                kf = s.keyframes[i]
                s.index, s.used = i, 0
                if kf.scale is not None or not kf.inherit_missing:
                    s.scale = kf.scale
                if kf.effect is not None or not kf.inherit_missing:
                    s.effect = kf.effect
                if self._guaranteed(i) > 0:
                    break
        s.in_range = not (t > s.range_[0] or t < s.range_[1])
        effect = multival.combine(self.control.effect, s.effect) if s.in_range else 0.0
        s.step = MotionStep(multival.combine(self.control.scale, s.scale), effect)
        s.used += 1
        s.previous_t = t

    def apply_model(self, executor, x, t, c_concat=None, c_crossattn=None, control=None, transformer_options=None,
                    **kwargs):
        transformer_options = dict(transformer_options or {})
        if self.state is not None:
            current = float(t.flatten()[0])
            if current != self.state.previous_t:
                self._advance(current)
            transformer_options[KEY] = self.state.step
        return executor(x, t, c_concat, c_crossattn, control, transformer_options, **kwargs)


def add_motion_control(model, control: MotionControl | None) -> None:
    """Puts ``control``'s wrappers on ``model`` (a fresh clone), replacing an earlier Apply's; none for None or a
    control that changes nothing."""
    for kind in (comfy.patcher_extension.WrappersMP.OUTER_SAMPLE, comfy.patcher_extension.WrappersMP.APPLY_MODEL):
        model.remove_wrappers_with_key(kind, KEY)
    if control is None or control.is_default():
        return
    control.check()
    run = MotionControlRun(control)
    model.add_wrapper_with_key(comfy.patcher_extension.WrappersMP.OUTER_SAMPLE, KEY, run.outer_sample)
    model.add_wrapper_with_key(comfy.patcher_extension.WrappersMP.APPLY_MODEL, KEY, run.apply_model)


def slot_values(step: MotionStep, motion_scale: float, x, videos: int, frames: int, indices):
    """(effect, key_scale) for one slot call: floats or tensors sized to ``x``'s level and frames."""
    _, _, height, width = x.shape
    effect = multival.effect_for(multival.combine(motion_scale, step.effect), videos, frames, height, width,
                                 indices, x)
    key_scale = None if multival.is_one(step.scale) else multival.key_scale_for(
        step.scale, videos, frames, height, width, indices, x)
    return effect, key_scale
