"""Sample settings on a model: the initial noise (motion_modules/noise.py) and FreeInit iterations.

One OUTER_SAMPLE wrapper, set by Apply Motion Module when a Sample Settings node feeds it, so every core sampler
(KSampler, SamplerCustom, SamplerCustomAdvanced) samples from the same noise:

- the noise is redrawn only when the settings change it (a default Sample Settings leaves the sampler's noise
  bit for bit), and never when the sampler adds none (add_noise off: all zeros);
- ``repeated context`` and ``FreeNoise`` use the model's context windows (Context Options (Lightning));
  FreeNoise is the pack's window-safe one. Without windows both leave the noise as drawn;
- context options' own noise_type still acts after the settings' noise (ContextNoise skips its turn and is
  run from here, so the order does not depend on which node came first in the graph);
- a CFG schedule (glue/cfg.py) sets each step's cfg;
- FreeInit runs the sampler ``iterations`` times: after each run the result is noised back to ``sigma_step``,
  its low frequencies kept and fresh high-frequency noise (seed + iter_seed_offset·i) mixed in.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import torch
import comfy.model_management
import comfy.patcher_extension

from ..motion_modules import MotionModuleError
from ..motion_modules.noise import FreeInit, NoiseSettings, frequency_mix, low_pass_filter, prepare_noise
from .cfg import CFGSchedule, CFGScheduleRun
from .schedules import sigma_schedule_sampling
from .context import SAMPLE_SETTINGS_KEY as KEY, apply_context_noise, freenoise, freenoise_ade, run_windows

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SampleSettings:
    noise: NoiseSettings = NoiseSettings()
    freeinit: FreeInit | None = None
    custom_cfg: tuple = ()  # CFG keyframes (glue/cfg.py)
    sigma_schedule: object = None  # a schedules.SigmaSchedule: replaces the model's noise levels


def _deriver(model_options: dict, sigmas):
    handler = model_options.get("context_handler")

    def derive(noise: torch.Tensor, noise_type: str, seed: int) -> torch.Tensor:
        length = getattr(handler, "context_length", None)
        if handler is None or length is None or noise.shape[0] <= length:
            return noise
        if noise_type == "repeated context":
            return torch.cat([noise[:length]] * (noise.shape[0] // length + 1), dim=0)[:noise.shape[0]]
        if noise_type == "FreeNoise (AnimateDiff-Evolved)":
            return freenoise_ade(noise, length, handler.context_overlap, seed)
        windows = run_windows(handler, noise.shape[0], sigmas.shape[-1], model_options)
        return freenoise(noise, length, handler.context_overlap, seed, windows=windows)
    return derive


def _sigma_at(model_sampling, step: int) -> torch.Tensor:
    return model_sampling.sigmas[step - 1000]


class SampleSettingsWrapper:
    def __init__(self, settings: SampleSettings, cfg: CFGSchedule | None = None):
        self.settings = settings
        self.cfg = cfg

    def __call__(self, executor, noise, latent_image, sampler, sigmas, *args, **kwargs):
        if self.cfg is None:
            return self.sample(executor, noise, latent_image, sampler, sigmas, *args, **kwargs)
        self._restart_cfg(executor, noise, sigmas)
        try:
            return self.sample(executor, noise, latent_image, sampler, sigmas, *args, **kwargs)
        finally:
            self.cfg.run = None

    def _restart_cfg(self, executor, noise, sigmas):
        """The CFG keyframes from their first (each FreeInit iteration steps through them again)."""
        if self.cfg is not None:
            self.cfg.run = CFGScheduleRun(self.cfg.keyframes)
            self.cfg.run.start(executor.class_obj.model_patcher.get_model_object("model_sampling"), sigmas,
                               noise.shape[0], noise.shape[-2], noise.shape[-1])

    def sample(self, executor, noise, latent_image, sampler, sigmas, denoise_mask=None, callback=None,
               disable_pbar=False, seed=None, **kwargs):
        guider = executor.class_obj
        options = guider.model_options
        settings = self.settings
        seed = seed or 0
        derive = _deriver(options, sigmas)
        device = comfy.model_management.get_torch_device()
        disabled = math.isclose(float(noise.max()), 0.0)
        if not disabled:
            noise = prepare_noise(settings.noise, seed, latent_image, noise, derive, device)
            if settings.noise.noise_type not in ("FreeNoise", "repeated context"):
                noise = apply_context_noise(options, noise, sigmas, seed)
        fi = settings.freeinit
        if fi is None or fi.iterations <= 1 and not fi.apply_to_first:
            return executor(noise, latent_image, sampler, sigmas, denoise_mask, callback, disable_pbar, seed,
                            **kwargs)
        return self._freeinit(executor, fi, noise, latent_image, sampler, sigmas, denoise_mask, callback,
                              disable_pbar, seed, derive, device, **kwargs)

    def _freeinit(self, executor, fi: FreeInit, noise, latents, sampler, sigmas, denoise_mask, callback,
                  disable_pbar, seed, derive, device, **kwargs):
        model = executor.class_obj.model_patcher
        model_sampling = model.get_model_object("model_sampling")
        scale_factor = model.model.latent_format.scale_factor
        cached_latents, cached_noise = latents.clone(), noise.clone()
        low_pass = low_pass_filter(latents.shape, fi.filter, fi.d_s, fi.d_t, fi.n).to(latents.device)
        result = latents
        for i in range(fi.iterations):
            if fi.iterations > 1:
                log.info("FreeInit iteration %d/%d", i + 1, fi.iterations)
            if i > 0 or fi.apply_to_first:
                fresh = prepare_noise(self.settings.noise.offset(fi.iter_seed_offset * i, fi.iter_batch_offset * i),
                                      seed, result, None, derive, device, force=True)
                sigma = _sigma_at(model_sampling, fi.sigma_step).to(result.device)
                if fi.method == "DinkInit_v1":
                    alpha = 1 / (sigma * sigma + 1)
                    noised = (result + cached_noise.to(result) * sigma) * alpha
                else:
                    sigma = sigma / scale_factor
                    alpha = 1 / (sigma * sigma + 1)
                    noised = result * alpha ** 0.5 + noise.to(result) * (1 - alpha) ** 0.5
                noise = frequency_mix(noised, fresh, low_pass)
                result = cached_latents
            self._restart_cfg(executor, noise, sigmas)
            result = executor(noise, result, sampler, sigmas, denoise_mask, callback, disable_pbar, seed, **kwargs)
        return result


def add_sample_settings(model, settings: SampleSettings | None):
    """Puts (or, for None, leaves out) the settings' wrapper on ``model`` (a clone Apply made)."""
    if settings is None:
        return model
    if settings.freeinit is not None and settings.freeinit.iterations < 1:
        raise MotionModuleError("FreeInit iterations must be at least 1.")
    model.model_options[KEY] = settings
    model.remove_wrappers_with_key(comfy.patcher_extension.WrappersMP.OUTER_SAMPLE, KEY)
    model.remove_wrappers_with_key(comfy.patcher_extension.WrappersMP.PREDICT_NOISE, KEY)
    cfg = CFGSchedule(tuple(settings.custom_cfg)) if settings.custom_cfg else None
    model.add_wrapper_with_key(comfy.patcher_extension.WrappersMP.OUTER_SAMPLE, KEY, SampleSettingsWrapper(settings, cfg))
    if cfg is not None:
        model.add_wrapper_with_key(comfy.patcher_extension.WrappersMP.PREDICT_NOISE, KEY, cfg.predict_noise)
    if settings.sigma_schedule is not None:  # after Apply's beta schedule, which it replaces
        model.add_object_patch("model_sampling", sigma_schedule_sampling(model.get_model_object("model_sampling"),
                                                                         settings.sigma_schedule))
    return model
