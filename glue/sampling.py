"""Few-step sampling with ComfyUI's own samplers on Lightning's trained timesteps."""
from __future__ import annotations

import comfy.sample
import comfy.samplers
import comfy.utils
import latent_preview

from .injection import motion_info
from .schedules import lightning_sigmas

DEFAULT_STEPS = 4


def resolve_steps(model, steps: int) -> int:
    """0 means: the step count the model's motion module was distilled for (4 when unknown)."""
    if steps > 0:
        return steps
    info = motion_info(model)
    return (info.lightning_steps if info and info.lightning_steps else None) or DEFAULT_STEPS


def model_sigmas(model, steps: int, denoise: float):
    return lightning_sigmas(model.get_model_object("model_sampling"), resolve_steps(model, steps), denoise)


def euler_sampler():
    """Plain Euler (no churn): x ← x + (σ_next − σ)·ε̂, the sampler Lightning was distilled for."""
    return comfy.samplers.sampler_object("euler")


def sample_lightning(model, positive, negative, latent: dict, seed: int, steps: int, cfg: float,
                     denoise: float) -> dict:
    latent_image = comfy.sample.fix_empty_latent_channels(model, latent["samples"])
    sigmas = model_sigmas(model, steps, denoise)
    noise = comfy.sample.prepare_noise(latent_image, seed, latent.get("batch_index"))
    callback = latent_preview.prepare_callback(model, sigmas.shape[-1] - 1)
    samples = comfy.sample.sample_custom(
        model, noise, cfg, euler_sampler(), sigmas, positive, negative, latent_image,
        noise_mask=latent.get("noise_mask"), callback=callback,
        disable_pbar=not comfy.utils.PROGRESS_BAR_ENABLED, seed=seed)
    out = latent.copy()
    out["samples"] = samples
    return out
