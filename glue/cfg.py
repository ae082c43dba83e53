"""CFG that changes over the sampling steps (and per frame / region): keyframes of a cfg value.

Sample Settings may carry a CFG schedule: keyframes, each a cfg (a float, or a Motion Value: per frame, a
mask) from a start percent of the run on. They switch as AnimateDiff-Evolved's custom CFG keyframes do, so
converted files keep their frames:

- the first keyframe holds from the first step (whatever its start); at each new noise level, once the current
  one has held ``guarantee_steps`` steps, the next ones whose start has been reached are taken (several at once
  while they guarantee none); a keyframe whose start lies before the run's first noise level guarantees none
  (a start of 0 counts as the model's largest σ);
- the keyframe's cfg replaces the sampler's cfg for that step; a cfg of exactly 1 skips the negative prompt as
  core does, anything else runs it even when the sampler's cfg is 1.

A PREDICT_NOISE wrapper on the guider sets the step's cfg: a float as the guider's own cfg (core's formula, bit
for bit), a tensor through the model's ``sampler_cfg_function`` (uncond + (cond − uncond)·cfg, or the function
already there with the tensor as its cond_scale). Core's CFGGuider only: other guiders have no single cfg.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import comfy.samplers

from ..motion_modules import MotionModuleError
from ..motion_modules import multival


@dataclass(frozen=True)
class CFGKeyframe:
    cfg: object  # a multival: a float, a Motion Value, or their product (multival.combine)
    start_percent: float = 0.0
    guarantee_steps: int = 1


def add_cfg_keyframe(previous: tuple | None, keyframe: CFGKeyframe) -> tuple:
    previous = tuple(previous or ())
    if not 0.0 <= keyframe.start_percent <= 1.0:
        raise MotionModuleError(f"a CFG keyframe's start_percent must be between 0 and 1 (got {keyframe.start_percent}).")
    if previous and keyframe.start_percent < previous[-1].start_percent:
        raise MotionModuleError(
            f"CFG keyframes out of order: this one starts at {keyframe.start_percent}, after one at "
            f"{previous[-1].start_percent}. Chain CFG keyframes from the earliest to the latest start_percent.")
    return previous + (keyframe,)


class CFGScheduleRun:
    """One sampling run's stepping through a CFG schedule."""

    def __init__(self, keyframes: tuple):
        self.keyframes = keyframes
        self.index = 0
        self.used = 0
        self.previous_t = None
        self.starts: list[float] = []
        self.max_sigma = 0.0

    def start(self, model_sampling, sigmas, frames: int, height: int, width: int) -> None:
        for i, kf in enumerate(self.keyframes):
            multival.check(kf.cfg, frames, height, width, f"CFG keyframe {i + 1} (start {kf.start_percent})")
        sigma_max = float(model_sampling.sigma_max)
        self.starts = [sigma_max if kf.start_percent == 0.0 else float(model_sampling.percent_to_sigma(kf.start_percent))
                       for kf in self.keyframes]
        self.max_sigma = float(sigmas.max()) if sigmas.numel() else 0.0
        self.index, self.used, self.previous_t = 0, 0, None

    def _guaranteed(self, i: int) -> int:
        start = self.starts[i]
        if abs(start - self.max_sigma) <= 1e-8 + 1e-5 * abs(self.max_sigma) or start < self.max_sigma:
            return self.keyframes[i].guarantee_steps
        return 0

    def current(self, t: float):
        if t != self.previous_t:
            if self.used >= self._guaranteed(self.index):
                for i in range(self.index + 1, len(self.keyframes)):
                    if self.starts[i] < t:
                        break
                    self.index, self.used = i, 0
                    if self._guaranteed(i) > 0:
                        break
            self.used += 1
            self.previous_t = t
        return self.keyframes[self.index].cfg


def _tensor_cfg_function(scale: torch.Tensor, previous):
    def cfg_function(args):
        if previous is not None:
            return previous({**args, "cond_scale": scale})
        return args["uncond"] + (args["cond"] - args["uncond"]) * scale
    return cfg_function


class CFGSchedule:
    """The PREDICT_NOISE wrapper (``start`` is called by the sample settings' OUTER_SAMPLE wrapper)."""

    def __init__(self, keyframes: tuple):
        self.keyframes = keyframes
        self.run: CFGScheduleRun | None = None

    def predict_noise(self, executor, x, timestep, model_options=None, seed=None, **kwargs):
        guider = executor.class_obj
        model_options = model_options or {}
        if self.run is None or not self.keyframes:
            return executor(x, timestep, model_options, seed, **kwargs)
        if not isinstance(guider, comfy.samplers.CFGGuider) or \
                type(guider).predict_noise is not comfy.samplers.CFGGuider.predict_noise:
            raise MotionModuleError(
                f"a CFG schedule (Sample Settings' custom_cfg) needs a sampler with one cfg (KSampler, SamplerCustom "
                f"or CFGGuider); this run uses {type(guider).__name__}. Remove the CFG keyframes or use CFGGuider.")
        value = self.run.current(float(timestep.flatten()[0]))
        scale = multival.at_level(value, x.shape[0], x.shape[-2], x.shape[-1], None, x)
        previous_cfg = guider.cfg
        if isinstance(scale, torch.Tensor):
            model_options = {**model_options, "disable_cfg1_optimization": True,
                             "sampler_cfg_function": _tensor_cfg_function(
                                 scale, model_options.get("sampler_cfg_function"))}
            guider.cfg = float(scale.mean())
        else:
            guider.cfg = float(scale)
        try:
            return executor(x, timestep, model_options, seed, **kwargs)
        finally:
            guider.cfg = previous_cfg
