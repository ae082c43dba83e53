"""ControlNet controls (motion_modules/controls.py) on core ControlNet objects.

``with_controls`` gives one CONTROL_NET a class of its own: a subclass of its core class (ControlNet, a diffusers
or Control-LoRA ControlNet, T2IAdapter, this pack's SparseCtrl) with ``ControlsMixin`` in front. Nothing global
changes: other ControlNets, core's classes and the UNet are untouched, and a CONTROL_NET without controls is the
object core made. The mixin

- picks the keyframe of each step in ``get_control`` (ACN's rules; the state is shared by the copies that context
  windows make, and reset by ``pre_run`` / ``cleanup``), skips the ControlNet when the keyframe's strength is 0;
- scales the ControlNet's own outputs in ``control_merge`` before core applies strength and adds the previous
  ControlNet's (which keep their own controls): per-frame strengths (of the window's frames), the mask, the
  uncond multiplier on the negative prompt's half, the keyframe's strength and the soft / block weights;
- keeps the controls on ``copy`` (core's apply node copies the CONTROL_NET it is given).
"""
from __future__ import annotations

import torch

import comfy.controlnet

from ..motion_modules import MotionModuleError
from ..motion_modules.controls import (CONTROLNET, T2I_ADAPTER, Controls, KeyframeState, advance,
                                       frame_multipliers, mask_batch)

_CLASSES: dict[type, type] = {}


def kind_of(control) -> str:
    return T2I_ADAPTER if isinstance(control, comfy.controlnet.T2IAdapter) else CONTROLNET


def with_controls(control, controls: Controls):
    """A copy of ``control`` that carries ``controls`` (replacing any it had); ``control`` itself when it has none
    and they change nothing."""
    controlled = isinstance(control, ControlsMixin)
    base = control.adl_base if controlled else type(control)
    if controls.is_default():
        return base.copy(control) if controlled else control
    c = base.copy(control)
    cls = _CLASSES.get(base)
    if cls is None:
        cls = _CLASSES[base] = type(f"Controlled{base.__name__}", (ControlsMixin, base), {"adl_base": base})
    c.__class__ = cls  # this copy only: core's class and every other ControlNet stay as they are
    c.adl_controls, c.adl_state, c.adl_window, c.adl_starts = controls, KeyframeState(), None, None
    return c


class ControlsMixin:
    adl_base: type
    adl_controls: Controls
    adl_state: KeyframeState
    adl_window: tuple[list[int], int] | None
    adl_starts: list[float] | None

    def copy(self):
        return with_controls(self, self.adl_controls)

    def pre_run(self, model, percent_to_timestep_function):
        super().pre_run(model, percent_to_timestep_function)
        self.adl_starts = [float(percent_to_timestep_function(k.start_percent)) for k in self.adl_controls.keyframes]
        self.adl_state.reset()

    def cleanup(self):
        super().cleanup()
        self.adl_state.reset()

    def check_controls(self, latent_shape) -> None:
        """Before sampling (glue/checks.py): frame strengths and masks fit the video."""
        self.adl_controls.check(latent_shape[0], latent_shape[-2] * 8, latent_shape[-1] * 8)

    def get_control(self, x_noisy, t, cond, batched_number, transformer_options):
        controls, state = self.adl_controls, self.adl_state
        if self.adl_starts is None:  # sampled without pre_run (not through core's samplers)
            raise MotionModuleError("ControlNet Controls: the ControlNet was run without core's sampling set-up.")
        sigmas = transformer_options.get("sample_sigmas")
        max_sigma = float(sigmas.max()) if sigmas is not None and sigmas.numel() else float("inf")
        advance(state, controls.keyframes, self.adl_starts, float(t[0]), max_sigma, controls.frames,
                controls.weights)
        self._adl_call = (batched_number, transformer_options.get("cond_or_uncond"),
                          (x_noisy.shape[-2] * 8, x_noisy.shape[-1] * 8))
        if self.strength == 0.0 or state.current.strength == 0.0:
            if self.previous_controlnet is not None:
                return self.previous_controlnet.get_control(x_noisy, t, cond, batched_number, transformer_options)
            return None
        return super().get_control(x_noisy, t, cond, batched_number, transformer_options)

    def _window(self, count: int):
        """(frame indices or None, video frames) of this call's ``count`` frames."""
        if self.adl_window is None or len(self.adl_window[0]) != count:
            return None, count  # not in our windows, or not their batch: the frames are this batch's
        return self.adl_window

    def _frame_factors(self, x, batched_number: int):
        state = self.adl_state
        if state.frames is None:
            return None
        indices, frames = self._window(x.shape[0] // batched_number)
        factors = frame_multipliers(state.frames, state.current.other_frames, frames, indices,
                                    "ControlNet frame strengths")
        return x.new_tensor(factors * batched_number).reshape(-1, *([1] * (x.ndim - 1)))

    def _mask_factors(self, mask, x, batched_number: int, pixels: tuple[int, int]):
        indices, frames = self._window(x.shape[0] // batched_number)
        key = (id(mask), pixels, None if indices is None else tuple(indices), frames, tuple(x.shape[-2:]),
               batched_number, x.device, x.dtype)
        cached = self.adl_state.resized.get(key)  # the same at every step of the run: resized once
        if cached is None:
            m = mask_batch(mask, frames, indices, pixels).to(x.device)
            m = torch.nn.functional.interpolate(m, size=tuple(x.shape[-2:]), mode="bilinear")
            if m.shape[0] != 1:
                m = m.repeat(batched_number, 1, 1, 1)
            cached = self.adl_state.resized[key] = m.to(x.dtype)
        return cached

    def control_merge(self, control, control_prev, output_dtype):
        state = self.adl_state
        batched_number, cond_or_uncond, pixels = self._adl_call
        weights = state.weights
        kind = kind_of(self)
        masks = [m for m in (self.adl_controls.mask, state.mask) if m is not None]
        scaled = {}
        for key, outputs in control.items():
            new = []
            for i, x in enumerate(outputs):
                if x is None:
                    new.append(x)
                    continue
                memo = (key, id(x))
                if memo in scaled and (weights is None or not weights.soft):
                    new.append(scaled[memo])
                    continue
                y = x
                if weights is not None and weights.uncond_multiplier != 1.0 and cond_or_uncond:
                    share = y.shape[0] // len(cond_or_uncond)
                    factor = y.new_tensor([weights.uncond_multiplier if c == 1 else 1.0 for c in cond_or_uncond])
                    y = y * factor.repeat_interleave(share).reshape(-1, *([1] * (y.ndim - 1)))
                frames = self._frame_factors(y, batched_number)
                if frames is not None:
                    y = y * frames
                for mask in masks:
                    y = y * self._mask_factors(mask, y, batched_number, pixels)
                factor = state.current.strength
                if weights is not None:
                    factor *= weights.factor(kind, key, i, len(outputs))
                if factor != 1.0:
                    y = y * factor
                scaled[memo] = y
                new.append(y)
            control[key] = new
        return super().control_merge(control, control_prev, output_dtype)
