"""Random-weight stand-ins for the models this pack loads, with the real key names and shapes.

No real weights are reachable from tests or CI, so every test model is generated here and cached (see
``model_cache``). Motion modules live in this file; SD1.5 checkpoints/UNets in ``sd15_models`` and are
re-exported at the bottom, so tests only need ``from support.models import ...``.

Motion-module layouts (original AnimateDiff names, see docs in ``motion_modules/formats.py``):

==========  ==========  ==========  ==========================================
version     mid block   pe length   notes
==========  ==========  ==========  ==========================================
v1          no          24
v2          yes         32          also the AnimateDiff-Lightning layout
v3          no          32
AnimateLCM  yes         (none)      v2 layout without ``pos_encoder.pe`` keys
==========  ==========  ==========  ==========================================

Down level i holds 2 modules of ``channels[i]``; up level i holds 3 modules of ``channels[-1 - i]``;
the mid block holds 1 module of ``channels[-1]``. Key order follows the vendor's
``motion_module_v2_keys.tsv``: module by module (down, mid, up), and inside a module in attribute order.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import torch

from .model_cache import BIAS_STD, cached_file, fan_in, linked_copy, normal, parameter_count  # noqa: F401

SD15_CHANNELS = (320, 640, 1280, 1280)
TINY_CHANNELS = (32, 32, 64, 64)
VERSIONS = {  # version -> (has mid block, stored pe length or 0 for none)
    "v1": (False, 24),
    "v2": (True, 32),
    "v3": (False, 32),
    "AnimateLCM": (True, 0),
}
# The released Lightning files (and anything with exactly this layout in fp16) have this size.
LIGHTNING_FILE_BYTES = 908_929_664
V2_KEYS = 588
V2_PARAMETERS = 453_209_280  # without pe

# original -> diffusers MotionAdapter names inside one module (pe handled separately).
_TO_DIFFUSERS = (
    ("temporal_transformer.", ""),
    ("attention_blocks.0.", "attn1."),
    ("attention_blocks.1.", "attn2."),
    ("norms.0.", "norm1."),
    ("norms.1.", "norm2."),
    ("ff_norm.", "norm3."),
)


def sinusoid(length: int, dim: int) -> torch.Tensor:
    """AnimateDiff's position table, [1, length, dim]: pe[p, 2i] = sin(p·10000^(-2i/dim)), pe[p, 2i+1] = cos."""
    position = torch.arange(length, dtype=torch.float64)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float64) * (-math.log(10000.0) / dim))
    pe = torch.zeros(length, dim, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(position * freq)
    pe[:, 1::2] = torch.cos(position * freq)
    return pe[None].float()


def module_prefixes(channels: Sequence[int], has_mid: bool, per_down: int = 2, per_up: int = 3):
    """``(prefix, channels)`` of every motion module, in file order."""
    out = [(f"down_blocks.{i}.motion_modules.{j}", c) for i, c in enumerate(channels) for j in range(per_down)]
    if has_mid:
        out.append(("mid_block.motion_modules.0", channels[-1]))
    out += [(f"up_blocks.{i}.motion_modules.{j}", c)
            for i, c in enumerate(reversed(channels)) for j in range(per_up)]
    return out


def _module_shapes(c: int, pe_length: int) -> list[tuple[str, tuple[int, ...]]]:
    """Keys (relative to ``<prefix>.temporal_transformer.``) and shapes of one module, in attribute order."""
    block = "transformer_blocks.0."
    keys = [("norm.weight", (c,)), ("norm.bias", (c,)), ("proj_in.weight", (c, c)), ("proj_in.bias", (c,))]
    for a in (0, 1):
        attn = f"{block}attention_blocks.{a}."
        keys += [(attn + "to_q.weight", (c, c)), (attn + "to_k.weight", (c, c)), (attn + "to_v.weight", (c, c)),
                 (attn + "to_out.0.weight", (c, c)), (attn + "to_out.0.bias", (c,))]
        if pe_length:
            keys.append((attn + "pos_encoder.pe", (1, pe_length, c)))
        keys += [(f"{block}norms.{a}.weight", (c,)), (f"{block}norms.{a}.bias", (c,))]
    keys += [(block + "ff.net.0.proj.weight", (8 * c, c)), (block + "ff.net.0.proj.bias", (8 * c,)),
             (block + "ff.net.2.weight", (c, 4 * c)), (block + "ff.net.2.bias", (c,)),
             (block + "ff_norm.weight", (c,)), (block + "ff_norm.bias", (c,)),
             ("proj_out.weight", (c, c)), ("proj_out.bias", (c,))]
    return keys


def diffusers_name(key: str) -> str:
    """An original motion-module key in diffusers ``MotionAdapter`` naming (not for ``pos_encoder.pe``)."""
    for old, new in _TO_DIFFUSERS:
        key = key.replace(old, new)
    return key


def _to_layout(prefixed: dict, layout: str) -> dict:
    """Rename an original-layout dict (values untouched) to ``layout``, keeping the order."""
    if layout == "original":
        return prefixed
    if layout != "diffusers":
        raise ValueError(f"layout must be 'original' or 'diffusers', not {layout!r}")
    out = {}
    for key, value in prefixed.items():
        if not key.endswith("pos_encoder.pe"):
            out[diffusers_name(key)] = value
        elif ".attention_blocks.0." in key:  # diffusers keeps one table per transformer block
            module = key.split(".temporal_transformer.")[0]
            out[f"{module}.transformer_blocks.0.pos_embed.pe"] = value
    return out


def motion_module_shapes(version: str = "v2", channels: Sequence[int] = SD15_CHANNELS,
                         layout: str = "original") -> dict[str, tuple[int, ...]]:
    """Every key and shape of a motion module, in file order, without making any tensor."""
    if version not in VERSIONS:
        raise ValueError(f"unknown motion-module version {version!r}; known: {', '.join(VERSIONS)}")
    has_mid, pe_length = VERSIONS[version]
    original = {f"{prefix}.temporal_transformer.{rest}": shape
                for prefix, c in module_prefixes(tuple(channels), has_mid)
                for rest, shape in _module_shapes(c, pe_length)}
    return _to_layout(original, layout)


def _random_value(key: str, shape: tuple[int, ...], dtype: torch.dtype, seed: int,
                  zero_proj_out: bool = False) -> torch.Tensor:
    """One motion-module tensor: the sinusoid for position tables, else random as ``motion_module_sd`` says."""
    if key.endswith((".pe", ".positional_encoding")):
        return sinusoid(shape[1], shape[2]).to(dtype)
    if ".proj_out." in key and zero_proj_out:
        return torch.zeros(shape, dtype=dtype)
    if len(shape) == 1:
        is_norm_scale = key.endswith("weight")  # every 1-D weight here is a GroupNorm/LayerNorm scale
        return normal(key, shape, BIAS_STD, dtype, seed, mean=1.0 if is_norm_scale else 0.0)
    gain = 0.3 if ".proj_out." in key else 1.0
    return normal(key, shape, gain / fan_in(shape) ** 0.5, dtype, seed)


def motion_module_sd(version: str = "v2", channels: Sequence[int] = SD15_CHANNELS,
                     dtype: torch.dtype = torch.float16, seed: int = 0, zero_proj_out: bool = False,
                     layout: str = "original") -> dict[str, torch.Tensor]:
    """A random-weight motion module with real key names and shapes.

    Linear weights ~ N(0, 1/fan_in), so each layer's output stays O(1); biases ~ N(0, 0.02²); norm scales
    ~ 1 and shifts ~ 0; ``pe`` is the exact sinusoid table (in ``dtype``). ``proj_out`` (the module's
    residual output, zero-initialised in training) is random at 0.3/sqrt(fan_in), or exactly zero with
    ``zero_proj_out`` (then the module is an identity, as an untrained one is). Values are drawn per
    original-layout key, so the ``diffusers`` layout holds the very same tensors under its own names.
    """
    out = {key: _random_value(key, shape, dtype, seed, zero_proj_out)
           for key, shape in motion_module_shapes(version, channels).items()}
    return _to_layout(out, layout)


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).replace("torch.", "")


def motion_module_file(version: str = "v2", channels: Sequence[int] = SD15_CHANNELS,
                       dtype: torch.dtype = torch.float16, seed: int = 0, zero_proj_out: bool = False,
                       layout: str = "original", name: str | None = None) -> Path:
    """A cached ``.safetensors`` file of ``motion_module_sd(...)``, named after its parameters unless ``name``."""
    if name is None:
        name = (f"mm-{version}-{layout}-{'x'.join(str(c) for c in channels)}-{_dtype_name(dtype)}-s{seed}"
                f"{'-zero' if zero_proj_out else ''}.safetensors")
    return cached_file(name, lambda: motion_module_sd(version, channels, dtype, seed, zero_proj_out, layout))


def tiny_motion_module_file(version: str = "v2", channels: Sequence[int] = TINY_CHANNELS,
                            dtype: torch.dtype = torch.float16, seed: int = 0, zero_proj_out: bool = False,
                            layout: str = "original", name: str | None = None) -> Path:
    """A small motion module (default channels (32, 32, 64, 64), ~2.5 MB) for fast tests. Its channels match
    ``tiny_unet_config()``, so it can be injected into ``tiny_model_patcher()``."""
    return motion_module_file(version, channels, dtype, seed, zero_proj_out, layout, name)


def real_motion_module_file(name: str = "animatediff_lightning_4step_comfyui.safetensors") -> Path:
    """The real-shape v2/Lightning layout in fp16 (908,929,664 bytes, ~3 s to write on 2 cores).

    All names share one set of values (seed 0): the first call writes
    ``mm-v2-original-320x640x1280x1280-float16-s0.safetensors`` and every requested ``name`` is a hard link
    to it (a copy where links fail), so several step-count names cost no extra disk.
    """
    source = motion_module_file("v2", SD15_CHANNELS, torch.float16, 0, False, "original")
    return source if name == source.name else linked_copy(source, name)


def sdxl_motion_module_sd(channels: Sequence[int] = (32, 32, 64), dtype: torch.dtype = torch.float16,
                          seed: int = 0) -> dict[str, torch.Tensor]:
    """An SDXL AnimateDiff module (``mm_sdxl_v10_beta`` naming): 3 UNet levels, no ``down_blocks.3``, no mid
    block, pe length 32. The real channels are (320, 640, 1280); small ones by default keep it cheap."""
    out: dict[str, torch.Tensor] = {}
    for prefix, c in module_prefixes(tuple(channels), has_mid=False):
        for rest, shape in _module_shapes(c, 32):
            key = f"{prefix}.temporal_transformer.{rest}"
            out[key] = _random_value(key, shape, dtype, seed)
    return out


def hotshot_sd(channels: Sequence[int] = (32, 64), dtype: torch.dtype = torch.float16,
               seed: int = 0) -> dict[str, torch.Tensor]:
    """The first down levels of a HotshotXL temporal model (``hsxl_temporal_layers``): modules named
    ``down_blocks.<i>.temporal_attentions.<j>.…`` (no ``temporal_transformer.``) whose position table is
    ``…attention_blocks.<a>.pos_encoder.positional_encoding`` [1, 24, C]. Real channels: 320, 640, 1280."""
    out: dict[str, torch.Tensor] = {}
    for i, c in enumerate(channels):
        for j in range(2):
            prefix = f"down_blocks.{i}.temporal_attentions.{j}."
            for rest, shape in _module_shapes(c, 24):
                rest = rest.replace("pos_encoder.pe", "pos_encoder.positional_encoding")
                out[prefix + rest] = _random_value(prefix + rest, shape, dtype, seed)
    return out


def sdxl_motion_module_file() -> Path:
    return cached_file("mm_sdxl_v10_beta-tiny.safetensors", sdxl_motion_module_sd)


def hotshot_file() -> Path:
    return cached_file("hsxl_temporal_layers-tiny.safetensors", hotshot_sd)


# SD1.5 image models (checkpoint, UNet, tiny UNet, ModelPatchers). Importing them costs nothing: they
# import ComfyUI only when called (ComfyUI must then be on sys.path, as tests/conftest.py arranges).
from .sd15_models import (SD15_UNET_CONFIG, sd15_checkpoint_file, sd15_checkpoint_sd,  # noqa: E402,F401
                          sd15_model_patcher, sd15_unet_sd, tiny_model_patcher, tiny_unet_config, tiny_unet_sd,
                          unet_shapes)
