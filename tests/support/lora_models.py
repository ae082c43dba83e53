"""Random-weight Motion LoRAs with the real key names and shapes (see ``motion_modules/lora.py``).

Original layout (the v2 Motion LoRAs, e.g. ``v2_lora_PanLeft.ckpt``): for every motion module, both
attention blocks and the four projections,
``<module>.temporal_transformer.transformer_blocks.0.attention_blocks.<a>.processor.<p>_lora.{down,up}.weight``
with down (rank, C) and up (C, rank). At SD1.5 shape and rank 64: 21 modules × 2 × 4 = 168 pairs,
19,333,120 parameters, ~77 MB in fp32 — the size of the released files.

The "peft" layout holds the very same tensors under diffusers ``MotionAdapter`` names with
``lora_A`` (down) / ``lora_B`` (up).
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch

from .model_cache import cached_file, normal
from .models import SD15_CHANNELS, TINY_CHANNELS, diffusers_name, module_prefixes

PROJECTIONS = ("to_q", "to_k", "to_v", "to_out")
REAL_RANK = 64
REAL_LORA_PAIRS = 168
REAL_LORA_PARAMETERS = 19_333_120


def target_key(prefix: str, attention: int, proj: str) -> str:
    """The motion-module weight a LoRA pair updates (original naming)."""
    proj = "to_out.0" if proj == "to_out" else proj
    return f"{prefix}.temporal_transformer.transformer_blocks.0.attention_blocks.{attention}.{proj}.weight"


def motion_lora_sd(channels: Sequence[int] = SD15_CHANNELS, rank: int = REAL_RANK, has_mid: bool = True,
                   dtype: torch.dtype = torch.float32, seed: int = 0, layout: str = "original",
                   up_gain: float = 0.1) -> dict[str, torch.Tensor]:
    """A random Motion LoRA. down ~ N(0, 1/C), up ~ N(0, (up_gain²/rank)), so ``up @ down`` is about
    ``up_gain`` times the size of a motion-module weight (~1/sqrt(C)): a visible but sane change."""
    out: dict[str, torch.Tensor] = {}
    for prefix, c in module_prefixes(tuple(channels), has_mid):
        for a in (0, 1):
            for proj in PROJECTIONS:
                down = normal(f"{prefix}.{a}.{proj}.down", (rank, c), 1 / c ** 0.5, dtype, seed)
                up = normal(f"{prefix}.{a}.{proj}.up", (c, rank), up_gain / rank ** 0.5, dtype, seed)
                if layout == "original":
                    base = f"{prefix}.temporal_transformer.transformer_blocks.0.attention_blocks.{a}.processor."
                    out[f"{base}{proj}_lora.down.weight"] = down
                    out[f"{base}{proj}_lora.up.weight"] = up
                elif layout == "peft":
                    base = diffusers_name(target_key(prefix, a, proj))[: -len(".weight")]
                    out[f"{base}.lora_A.weight"] = down
                    out[f"{base}.lora_B.weight"] = up
                else:
                    raise ValueError(f"layout must be 'original' or 'peft', not {layout!r}")
    return out


def lora_pairs(sd: dict[str, torch.Tensor]) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """``{target weight: (up, down)}`` of an original-layout LoRA made by ``motion_lora_sd`` (test oracle)."""
    out = {}
    for key, down in sd.items():
        if key.endswith("_lora.down.weight"):
            up = sd[key.replace("_lora.down.", "_lora.up.")]
            base, proj = key[: -len("_lora.down.weight")].rsplit(".processor.", 1)
            out[f"{base}.{'to_out.0' if proj == 'to_out' else proj}.weight"] = (up, down)
    return out


def tiny_motion_lora_sd(seed: int = 0, dyadic: bool = False, **kwargs) -> dict[str, torch.Tensor]:
    """Rank 4 at the tiny channels (32, 32, 64, 64) of ``tiny_motion_module_file``, fp32.

    ``dyadic``: every value rounded to a multiple of 1/64, so each ``up @ down`` is exact in fp32 whatever
    order the BLAS kernel sums in. (CPU sgemm does not promise the same rounding from call to call — measured
    here: the same product differed by ~3e-8 between two points of one test session.) Tests that compare
    patched weights bit for bit with ``W + s·up@down`` use it."""
    kwargs.setdefault("channels", TINY_CHANNELS)
    kwargs.setdefault("rank", 4)
    sd = motion_lora_sd(seed=seed, **kwargs)
    return {k: torch.round(v * 64) / 64 for k, v in sd.items()} if dyadic else sd


def real_motion_lora_file(name: str = "v2_lora_RandomPan.safetensors", seed: int = 0) -> Path:
    """The real-shape Motion LoRA (rank 64, SD1.5 channels, mid block, fp32, ~77 MB), cached."""
    return cached_file(name, lambda: motion_lora_sd(seed=seed))


def real_motion_lora_ckpt(name: str = "v2_lora_PanLeft.ckpt", seed: int = 0) -> Path:
    """The same real-shape Motion LoRA as a weights-only ``.ckpt`` pickle, the format guoyww ships."""
    from .model_cache import cache_dir
    path = cache_dir() / name
    if not path.is_file():
        tmp = path.with_name(f".tmp-{name}")
        torch.save(motion_lora_sd(seed=seed), tmp)
        tmp.replace(path)
    return path
