"""Initial noise for a video: noise types, seed generators, offsets, noise layers and FreeInit's frequency mix.

The same numbers AnimateDiff-Evolved's sample settings give, so its files' frames stay what they were:

- **seed generators**: ``comfy`` draws the whole batch from one generator seeded with the seed (as ComfyUI's
  own noise); ``auto1111`` draws frame i from a generator seeded with seed + i (as Automatic1111's batches);
  ``[gpu]`` draws on the sampling device's generator instead of the CPU's.
- **noise types**: ``default``; ``constant`` (one noise frame for every frame); ``empty`` (zeros);
  ``repeated context`` (the first context_length frames repeated), ``FreeNoise`` (shuffled repeats across
  context windows, never twice in a window) and ``FreeNoise (AnimateDiff-Evolved)`` (ADE's shuffled repeats,
  frame for frame) are made from the drawn noise by the caller, who knows the windows.
- **batch_offset** skips that many frames of the draw (frame 0 gets what frame batch_offset would have);
  **seed_offset** adds to the seed; a **seed override** replaces the sampler's seed for what is drawn (a
  list: one seed per frame, each on its own generator, always drawn; a single seed with every other setting
  at its default leaves the sampler's noise, as in AnimateDiff-Evolved, and seeds only the layers).
- **noise layers** draw more noise and combine it with what came before: add (old + w·new), add weighted
  (old·(1 − w·balance) + w·new), normalized sum ((1−w)·old + w·new, rescaled to unit variance) or replace,
  inside an optional mask.

Pure torch: the caller hands in the device a ``[gpu]`` generator draws on.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import torch
import torch.nn.functional as F

from .errors import MotionModuleError

NOISE_TYPES = ("default", "constant", "empty", "repeated context", "FreeNoise", "FreeNoise (AnimateDiff-Evolved)")
SEED_GENS = ("comfy", "comfy [gpu]", "auto1111", "auto1111 [gpu]")
USE_EXISTING = "use existing"
APPLICATIONS = ("add", "add weighted", "normalized sum", "replace")
DERIVED = ("repeated context", "FreeNoise", "FreeNoise (AnimateDiff-Evolved)")  # made with the context windows


@dataclass(frozen=True)
class NoiseLayer:
    application: str = "add"
    noise_type: str = "default"
    seed_gen: str = USE_EXISTING
    seed_offset: int = 0
    batch_offset: int = 0
    weight: float = 0.5
    balance: float = 1.0
    seed_override: int | tuple[int, ...] | None = None
    mask: torch.Tensor | None = field(default=None, compare=False)


@dataclass(frozen=True)
class NoiseSettings:
    noise_type: str = "default"
    seed_gen: str = "comfy"
    seed_offset: int = 0
    batch_offset: int = 0
    seed_override: int | tuple[int, ...] | None = None
    layers: tuple[NoiseLayer, ...] = ()

    def changes_noise(self) -> bool:
        """False when the sampler's own noise stays as it is, as in AnimateDiff-Evolved: a single seed
        override alone redraws nothing (it seeds what the other settings and the layers draw)."""
        return bool(self.batch_offset or self.seed_offset or self.noise_type != "default"
                    or self.seed_gen != "comfy")

    def offset(self, seed_offset: int = 0, batch_offset: int = 0) -> "NoiseSettings":
        return replace(self, seed_offset=self.seed_offset + seed_offset, batch_offset=self.batch_offset + batch_offset)


Derive = Callable[[torch.Tensor, str, int], torch.Tensor]  # (noise, noise type, seed) -> noise


def _generator(seed: int, gpu: bool, device) -> tuple[torch.Generator, torch.device | str]:
    where = device if gpu else "cpu"
    return torch.Generator(where).manual_seed(int(seed)), where


def _randn(shape, seed: int, gpu: bool, device, like: torch.Tensor) -> torch.Tensor:
    generator, where = _generator(seed, gpu, device)
    return torch.randn(shape, dtype=like.dtype, layout=like.layout, generator=generator, device=where).to("cpu")


def draw(seed: int, latent: torch.Tensor, seed_gen: str, noise_type: str, batch_offset: int, derive: Derive,
         device=None) -> torch.Tensor:
    """Noise shaped like ``latent`` [frames, C, H, W] from ``seed``, the generator and noise type named."""
    if seed_gen not in SEED_GENS:
        raise MotionModuleError(f"unknown seed_gen '{seed_gen}': use one of {', '.join(SEED_GENS)}.")
    if noise_type not in NOISE_TYPES:
        raise MotionModuleError(f"unknown noise_type '{noise_type}': use one of {', '.join(NOISE_TYPES)}.")
    if noise_type == "empty":
        return torch.zeros_like(latent)
    frames, rest = latent.shape[0], tuple(latent.shape[1:])
    gpu = seed_gen.endswith("[gpu]")
    if seed_gen.startswith("comfy"):
        if noise_type == "constant":
            single = _randn((1 + batch_offset, *rest), seed, gpu, device, latent)[batch_offset:]
            return torch.cat([single] * frames, dim=0)
        noise = _randn((frames + batch_offset, *rest), seed, gpu, device, latent)[batch_offset:]
    else:  # auto1111: a seed per frame
        if noise_type == "constant":
            return torch.cat([_randn((1, *rest), seed + batch_offset, gpu, device, latent)] * frames, dim=0)
        noise = torch.cat([_randn((1, *rest), seed + i + batch_offset, gpu, device, latent) for i in range(frames)])
    return derive(noise, noise_type, seed) if noise_type in DERIVED else noise


def draw_per_frame(seeds: Sequence[int], latent: torch.Tensor, seed_offset: int) -> torch.Tensor:
    """One CPU generator per frame, seeded with ``seeds[i] + seed_offset`` (a per-frame seed override)."""
    frames = latent.shape[0]
    if len(seeds) < frames:
        raise MotionModuleError(f"seed_override holds {len(seeds)} seeds but the video has {frames} frames: give "
                                "one seed per frame (or a single seed).")
    return torch.cat([_randn((1, *latent.shape[1:]), s + seed_offset, False, None, latent) for s in seeds[:frames]])


def layer_mask(mask: torch.Tensor | None, noise: torch.Tensor):
    """The layer's mask at the noise's size, one per frame (repeated to the frame count), or 1."""
    if mask is None:
        return 1
    m = mask.reshape(-1, 1, mask.shape[-2], mask.shape[-1]).to(noise.dtype)
    m = F.interpolate(m, size=tuple(noise.shape[2:4]), mode="bilinear")
    m = torch.cat([m] * noise.shape[1], dim=1)
    if m.shape[0] < noise.shape[0]:
        m = m.repeat((noise.shape[0] + m.shape[0] - 1) // m.shape[0], 1, 1, 1)
    return m[:noise.shape[0]].to(noise.device)


def combine(layer: NoiseLayer, old: torch.Tensor, new: torch.Tensor) -> torch.Tensor:
    if layer.application not in APPLICATIONS:
        raise MotionModuleError(f"unknown noise layer application '{layer.application}': use one of "
                                f"{', '.join(APPLICATIONS)}.")
    m = layer_mask(layer.mask, old)
    if layer.application == "replace":
        mixed = new
    elif layer.application == "add":
        mixed = old + new * layer.weight
    elif layer.application == "add weighted":
        mixed = old * (1.0 - layer.weight * layer.balance) + new * layer.weight
    else:  # normalized sum
        w_old, w_new = 1.0 - layer.weight, layer.weight
        norm = (w_old ** 2 + w_new ** 2) ** 0.5
        mixed = (w_old / norm) * old + (w_new / norm) * new
    return (1 - m) * old + m * mixed


def prepare_noise(settings: NoiseSettings, seed: int, latent: torch.Tensor, noise: torch.Tensor | None,
                  derive: Derive, device=None, force: bool = False) -> torch.Tensor:
    """The noise to sample from: the sampler's ``noise`` unless the settings change it (or ``force``)."""
    if settings.seed_override is not None:
        seed = settings.seed_override
    if isinstance(seed, (tuple, list)):
        noise = draw_per_frame(seed, latent, settings.seed_offset)
        seed = seed[0] + settings.seed_offset
    else:
        seed = seed + settings.seed_offset
        if force or noise is None or settings.changes_noise():
            noise = draw(seed, latent, settings.seed_gen, settings.noise_type, settings.batch_offset, derive, device)
    for layer in settings.layers:
        layer_seed = layer.seed_override if layer.seed_override is not None else seed
        if isinstance(layer_seed, (tuple, list)):
            new = draw_per_frame(layer_seed, latent, layer.seed_offset)
        else:
            gen = settings.seed_gen if layer.seed_gen == USE_EXISTING else layer.seed_gen
            new = draw(layer_seed + layer.seed_offset, latent, gen, layer.noise_type, layer.batch_offset, derive,
                       device)
        noise = combine(layer, noise, new)
    return noise


# --- FreeInit (Wu et al. 2023): re-noise the result, keep its low frequencies, take fresh high ones ---------

FREEINIT_FILTERS = ("gaussian", "butterworth", "ideal", "box")
FREEINIT_METHODS = ("FreeInit [sampler sigma]", "FreeInit [model sigma]", "DinkInit_v1")


@dataclass(frozen=True)
class FreeInit:
    iterations: int = 2
    filter: str = "gaussian"
    d_s: float = 0.25
    d_t: float = 0.25
    n: int = 4
    sigma_step: int = 999
    apply_to_first: bool = False
    method: str = "FreeInit [sampler sigma]"
    iter_batch_offset: int = 0
    iter_seed_offset: int = 1


def low_pass_filter(shape, kind: str, d_s: float, d_t: float, n: int = 4) -> torch.Tensor:
    """FreeInit's low-pass mask over (frames, H, W) for a latent of ``shape`` [T, C, H, W]."""
    if kind not in FREEINIT_FILTERS:
        raise MotionModuleError(f"unknown FreeInit filter '{kind}': use one of {', '.join(FREEINIT_FILTERS)}.")
    T, H, W = shape[-4], shape[-2], shape[-1]
    mask = torch.zeros(shape)
    if d_s == 0 or d_t == 0:
        return mask
    t = (2 * torch.arange(T, dtype=torch.float64) / T - 1) * (d_s / d_t)
    h = 2 * torch.arange(H, dtype=torch.float64) / H - 1
    w = 2 * torch.arange(W, dtype=torch.float64) / W - 1
    d2 = t[:, None, None] ** 2 + h[None, :, None] ** 2 + w[None, None, :] ** 2  # [T, H, W]
    if kind == "gaussian":
        values = torch.exp(-d2 / (2 * d_s ** 2))
    elif kind == "butterworth":
        values = 1 / (1 + (d2 / d_s ** 2) ** n)
    elif kind == "ideal":
        values = (d2 <= d_s * 2).double()
    else:  # box: a cube around the centre
        values = torch.zeros(T, H, W, dtype=torch.float64)
        ct, ch, cw = T // 2, H // 2, W // 2
        ts, hs = round(T // 2 * d_t), round(H // 2 * d_s)
        values[ct - ts:ct + ts, ch - hs:ch + hs, cw - hs:cw + hs] = 1
    return values.float()[:, None].expand(shape).clone()


def frequency_mix(x: torch.Tensor, noise: torch.Tensor, low_pass: torch.Tensor) -> torch.Tensor:
    """Low frequencies (over frames, H, W) of ``x`` with the high ones of ``noise``."""
    dims = (-4, -2, -1)
    noise = noise.to(dtype=x.dtype, device=x.device)
    low_pass = low_pass.to(dtype=x.dtype, device=x.device)
    x_freq = torch.fft.fftshift(torch.fft.fftn(x, dim=dims), dim=dims)
    noise_freq = torch.fft.fftshift(torch.fft.fftn(noise, dim=dims), dim=dims)
    mixed = x_freq * low_pass + noise_freq * (1 - low_pass)
    return torch.fft.ifftn(torch.fft.ifftshift(mixed, dim=dims), dim=dims).real
