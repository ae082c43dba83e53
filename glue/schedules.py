"""Noise schedules: AnimateDiff's betas on a cloned model, and Lightning's trailing timesteps.

AnimateDiff trained with betas = linspace(0.00085, 0.012, 1000), which ComfyUI calls ``sqrt_linear``
(ComfyUI's SD1.5 default, ``linear``, squares a linspace of square roots: σ_max 14.61 instead of 25.15).
"""
from __future__ import annotations

import torch
import comfy.model_sampling

from ..motion_modules import MotionModuleError

ANIMATEDIFF_BETAS = {"beta_schedule": "sqrt_linear", "linear_start": 0.00085, "linear_end": 0.012,
                     "timesteps": 1000}

# Choices of the Apply node's `beta_schedule` input, in widget order (append only).
SCHEDULE_CHOICES = ("animatediff (sqrt_linear, as trained)", "keep model's schedule")


def animatediff_model_sampling(model_sampling):
    """A copy of ``model_sampling`` (same prediction type) on AnimateDiff's betas."""
    if not isinstance(model_sampling, comfy.model_sampling.ModelSamplingDiscrete):
        raise MotionModuleError(
            f"this model samples with {type(model_sampling).__name__}, not the discrete 1000-step schedule of "
            "SD1.5: motion modules work with SD1.5 checkpoints only.")
    sampling = type(model_sampling)(model_config=None)
    sampling._register_schedule(given_betas=None, beta_schedule=ANIMATEDIFF_BETAS["beta_schedule"],
                                timesteps=ANIMATEDIFF_BETAS["timesteps"],
                                linear_start=ANIMATEDIFF_BETAS["linear_start"],
                                linear_end=ANIMATEDIFF_BETAS["linear_end"])
    return sampling


def trailing_timesteps(steps: int, train_steps: int = 1000) -> list[int]:
    """Lightning's trained timesteps: t_i = round(T − i·T/N) − 1, e.g. N=4 → 999, 749, 499, 249."""
    if steps < 1:
        raise MotionModuleError(f"steps must be at least 1 (got {steps}).")
    return [round(train_steps - i * train_steps / steps) - 1 for i in range(steps)]


def lightning_sigmas(model_sampling, steps: int, denoise: float = 1.0) -> torch.Tensor:
    """σ at the trailing timesteps, then 0. ``denoise < 1`` keeps the trained grid and runs its tail:
    4 steps at 0.75 → t = 749, 499, 249 (never a new fractional schedule)."""
    if not 0.0 <= denoise <= 1.0:
        raise MotionModuleError(f"denoise must be between 0 and 1 (got {denoise}).")
    if denoise == 0.0:
        return torch.zeros(0)
    timesteps = trailing_timesteps(steps, int(model_sampling.num_timesteps))
    keep = max(1, round(steps * denoise))
    t = torch.tensor(timesteps[steps - keep:], dtype=torch.long)
    sigmas = model_sampling.sigmas.detach().cpu()[t].float()
    return torch.cat([sigmas, sigmas.new_zeros(1)])
