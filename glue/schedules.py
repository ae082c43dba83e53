"""Noise schedules: AnimateDiff's betas on a cloned model, and Lightning's trailing timesteps.

AnimateDiff trained with betas = linspace(0.00085, 0.012, 1000), which ComfyUI calls ``sqrt_linear``
(ComfyUI's SD1.5 default, ``linear``, squares a linspace of square roots: σ_max 14.61 instead of 25.15).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import comfy.model_sampling
from comfy.ldm.modules.diffusionmodules.util import make_beta_schedule

from ..motion_modules import MotionModuleError

ANIMATEDIFF_BETAS = {"beta_schedule": "sqrt_linear", "linear_start": 0.00085, "linear_end": 0.012,
                     "timesteps": 1000}

# Beta schedules beyond AnimateDiff's, as AnimateDiff-Evolved names them (so AnimateLCM and LCM-LoRA files run as
# they did): core's beta formulas on SD1.5's 0.00085..0.012; "lcm" ones are core's distilled LCM sampling
# (comfy_extras.nodes_model_advanced) on ``original_timesteps`` of the 1000; "avg" ones average two schedules' σ.
BETA_SCHEDULES = {
    "lcm": {"beta": "linear", "lcm": 50},
    "lcm[100_ots]": {"beta": "linear", "lcm": 100},
    "lcm[25_ots]": {"beta": "linear", "lcm": 25},
    "lcm >> sqrt_linear": {"beta": "sqrt_linear", "lcm": 50},
    "lcm avg(sqrt_linear,linear)": {"average": ("lcm", "lcm >> sqrt_linear")},
    "avg(sqrt_linear,linear)": {"average": ("linear", "sqrt_linear")},
    "linear": {"beta": "linear"},
    "sqrt_linear": {"beta": "sqrt_linear"},
    "sqrt": {"beta": "sqrt"},
    "cosine": {"beta": "cosine"},
    "squaredcos_cap_v2": {"beta": "squaredcos_cap_v2"},
}

# Choices of the Apply node's `beta_schedule` input, in widget order (append only).
AUTOSELECT = "autoselect (lcm for AnimateLCM, else sqrt_linear)"
SCHEDULE_CHOICES = ("animatediff (sqrt_linear, as trained)", "keep model's schedule", AUTOSELECT,
                    *(name for name in BETA_SCHEDULES if name != "sqrt_linear"))


def autoselect(family: str) -> bool | str:
    """AnimateDiff-Evolved's autoselect for SD1.5 modules: 'lcm' for AnimateLCM, AnimateDiff's betas otherwise."""
    return "lcm" if family == "AnimateLCM" else True


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


def beta_model_sampling(model_sampling, name: str):
    """A copy of ``model_sampling`` on the beta schedule ``name`` (a key of BETA_SCHEDULES)."""
    import comfy_extras.nodes_model_advanced as advanced
    animatediff_model_sampling(model_sampling)  # the same SD1.5-only check
    spec = BETA_SCHEDULES.get(name)
    if spec is None:
        raise MotionModuleError(f"unknown beta_schedule '{name}': use one of {', '.join(SCHEDULE_CHOICES)}.")
    if "average" in spec:
        first, second = (beta_model_sampling(model_sampling, part) for part in spec["average"])
        first.set_sigmas((first.sigmas + second.sigmas) / 2)
        return first
    config = _BetaConfig(spec["beta"])
    if spec.get("lcm"):
        base = type("Distilled", (advanced.ModelSamplingDiscreteDistilled,), {"original_timesteps": spec["lcm"]})
        return type("LCMSampling", (base, advanced.LCM), {})(config)
    # core's own formula, handed in as betas: its squaredcos_cap_v2 comes back as a numpy array, which core's
    # _register_schedule cannot take itself (0.3.75 and 0.33)
    betas = torch.as_tensor(make_beta_schedule(spec["beta"], 1000, linear_start=ANIMATEDIFF_BETAS["linear_start"],
                                               linear_end=ANIMATEDIFF_BETAS["linear_end"]), dtype=torch.float64)
    sampling = type(model_sampling)(model_config=None)
    sampling._register_schedule(given_betas=betas, beta_schedule=spec["beta"], timesteps=1000,
                                linear_start=ANIMATEDIFF_BETAS["linear_start"],
                                linear_end=ANIMATEDIFF_BETAS["linear_end"])
    return sampling


def with_beta_schedule(model, name: str):
    """A clone of ``model`` (a ModelPatcher) sampling on the beta schedule ``name`` (a key of BETA_SCHEDULES;
    sqrt_linear is AnimateDiff's own), as AnimateDiff-Evolved's checkpoint loader with a beta_schedule sets it."""
    sampling = model.get_model_object("model_sampling")
    m = model.clone()
    m.add_object_patch("model_sampling", animatediff_model_sampling(sampling) if name == "sqrt_linear"
                       else beta_model_sampling(sampling, name))
    return m


class _BetaConfig:
    """The part of a model config that ComfyUI's discrete samplings read."""

    def __init__(self, beta_schedule: str):
        self.sampling_settings = {"beta_schedule": beta_schedule, "linear_start": ANIMATEDIFF_BETAS["linear_start"],
                                  "linear_end": ANIMATEDIFF_BETAS["linear_end"]}


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


# --- sigma schedules: a beta schedule (optionally zero-terminal-SNR) blended with another over the levels ------

INTERPOLATIONS = ("linear", "ease_in", "ease_out", "ease_in_out")


@dataclass(frozen=True)
class SigmaSchedule:
    """The noise levels to sample on, in place of the model's: ``beta_schedule`` (a key of BETA_SCHEDULES), its
    σ rescaled to zero terminal SNR if ``zsnr``, then blended with ``blend``: weight of this one from
    ``weight_start`` at the largest σ to ``weight_end`` at the smallest, along ``interpolation``."""
    beta_schedule: str = "sqrt_linear"
    zsnr: bool = False
    blend: "SigmaSchedule | None" = None
    weight_start: float = 0.5
    weight_end: float = 0.5
    interpolation: str = "linear"


def _weights(start: float, end: float, length: int, method: str) -> torch.Tensor:
    """From ``start`` to ``end`` over ``length`` levels, the largest σ first, then reversed to core's order
    (σ ascending), as AnimateDiff-Evolved weighs its interpolated averages."""
    index = torch.linspace(0, 1, length)
    diff = end - start
    if method == "linear":
        w = torch.linspace(start, end, length)
    elif method == "ease_in":
        w = diff * index ** 2 + start
    elif method == "ease_out":
        w = diff * (1 - (1 - index) ** 2) + start
    elif method == "ease_in_out":
        w = diff * ((1 - torch.cos(index * math.pi)) / 2) + start
    else:
        raise MotionModuleError(f"unknown interpolation '{method}': use one of {', '.join(INTERPOLATIONS)}.")
    return w.flip(0)


def sigma_schedule_sampling(model_sampling, schedule: SigmaSchedule):
    """A model sampling on ``schedule``'s levels (a copy; ``model_sampling`` is only read for its kind)."""
    sampling = beta_model_sampling(model_sampling, schedule.beta_schedule)
    if schedule.zsnr:
        sampling.set_sigmas(comfy.model_sampling.rescale_zero_terminal_snr_sigmas(sampling.sigmas))
    if schedule.blend is not None:
        other = sigma_schedule_sampling(model_sampling, schedule.blend)
        if other.sigmas.shape != sampling.sigmas.shape:
            raise MotionModuleError(
                f"the sigma schedules '{schedule.beta_schedule}' ({sampling.sigmas.numel()} levels) and "
                f"'{schedule.blend.beta_schedule}' ({other.sigmas.numel()} levels) cannot be blended: an lcm "
                "schedule has fewer levels than the others. Blend two lcm ones or two of the others.")
        w = _weights(schedule.weight_start, schedule.weight_end, sampling.sigmas.numel(), schedule.interpolation)
        w = w.to(sampling.sigmas)
        sampling.set_sigmas(sampling.sigmas * w + other.sigmas * (1.0 - w))
    return sampling
