"""Random-weight SparseCtrl files with the real key names and shapes of guoyww's ``v3_sd15_sparsectrl_rgb`` and
``v3_sd15_sparsectrl_scribble``: diffusers' ``SparseControlNetModel`` with the SD1.5 configuration those files were
converted with (one temporal self-attention per motion block, 32 positions), its shapes read on the meta device.
The file holds the original layout (diffusers names for the ControlNet, AnimateDiff's for the motion modules, as
diffusers' conversion script reads them); ``sparsectrl_sd(layout="diffusers")`` gives the same tensors under
diffusers' names, which is what the oracle loads. Zero-convs are random so every hint visibly acts."""
from __future__ import annotations

import functools
import os
from pathlib import Path

import torch

from .model_cache import cached_file, random_param
from .models import sinusoid

KINDS = {"rgb": dict(conditioning_channels=4, use_simplified_condition_embedding=True),
         "scribble": dict(conditioning_channels=3, use_simplified_condition_embedding=False)}
TO_ORIGINAL = ((".attn1.", ".attention_blocks.0."), (".norm1.", ".norms.0."), (".norm3.", ".ff_norm."))


def diffusers_sparsectrl(kind: str, device="meta"):
    from diffusers import SparseControlNetModel
    with torch.device(device):
        return SparseControlNetModel(**KINDS[kind])  # diffusers' defaults are SD1.5's (320/640/1280/1280, 768)


@functools.lru_cache(maxsize=2)
def sparsectrl_shapes(kind: str) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in diffusers_sparsectrl(kind).state_dict().items()}


def original_name(key: str) -> str:
    """diffusers' name of a SparseCtrl tensor -> the original file's."""
    if ".motion_modules." not in key:
        return key
    head, rest = key.split(".motion_modules.", 1)
    index, rest = rest.split(".", 1)
    rest = "." + rest.replace("pos_embed.pe", "attn1.pos_encoder.pe")
    for new, old in TO_ORIGINAL:
        rest = rest.replace(new, old)
    return f"{head}.motion_modules.{index}.temporal_transformer{rest}"


def sparsectrl_sd(kind: str = "rgb", dtype: torch.dtype = torch.float16, seed: int = 0,
                  layout: str = "original") -> dict[str, torch.Tensor]:
    out = {}
    for key, shape in sparsectrl_shapes(kind).items():
        name = original_name(key)
        value = sinusoid(shape[1], shape[2]).to(dtype) if key.endswith(".pe") else random_param(name, shape, dtype, seed)
        out[name if layout == "original" else key] = value
    return out


def sparsectrl_ckpt(kind: str = "rgb", seed: int = 0) -> Path:
    """The same stand-in as a weights-only ``.ckpt`` pickle under the published name, the format guoyww ships."""
    from .model_cache import cache_dir
    name = f"v3_sd15_sparsectrl_{kind}.ckpt"
    path = cache_dir() / name
    if not path.is_file():
        tmp = path.with_name(f".tmp-{os.getpid()}-{name}")
        torch.save(sparsectrl_sd(kind, torch.float16, seed), tmp)
        tmp.replace(path)
    return path


def sparsectrl_file(kind: str = "rgb", seed: int = 0) -> Path:
    """The cached fp16 real-shape SparseCtrl (``kind`` rgb or scribble), named as the published files."""
    return cached_file(f"v3_sd15_sparsectrl_{kind}-random.safetensors", lambda: sparsectrl_sd(kind, torch.float16, seed))
