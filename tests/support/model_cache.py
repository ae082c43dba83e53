"""Shared plumbing for the random-weight test models: the cache folder, atomic writes, deterministic init.

Every generated file lives in ``<cache>/gen<GENERATOR_VERSION>/``. The cache is ``$ADL_TEST_CACHE`` or
``<repo>/.cache/test-models`` (git-ignored). Bump ``GENERATOR_VERSION`` whenever a change to a generator
would change a file's keys, shapes or values: the next run then writes fresh files into a new folder
(old ``gen*`` folders are never deleted automatically; remove them by hand). The version lives in the
folder rather than in the file name, because file names carry meaning (``..._4step_...`` is how a
Lightning step count is read).

Values are drawn per tensor from a generator seeded by ``(seed, key)``, so a tensor does not depend on
which other keys exist or on their order, and a key generated twice gets the same values.
"""
from __future__ import annotations

import os
import re
import zlib
from pathlib import Path
from typing import Callable, Mapping, Optional, Sequence

import torch
from safetensors.torch import save_file

GENERATOR_VERSION = "3"
ROOT = Path(__file__).resolve().parents[2]


def cache_dir() -> Path:
    """The folder generated files go to (created on demand)."""
    base = Path(os.environ.get("ADL_TEST_CACHE", ROOT / ".cache" / "test-models"))
    folder = base / f"gen{GENERATOR_VERSION}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def cached_file(name: str, build: Callable[[], Mapping[str, torch.Tensor]],
                metadata: Optional[dict[str, str]] = None) -> Path:
    """``<cache>/gen<N>/<name>``, written once from ``build()`` and reused afterwards.

    The tensors go to a temporary name first and are moved into place with ``os.replace``, so an
    interrupted run leaves no half-written file under the final name (at worst a stray ``.tmp-*``).
    Two processes racing on the same file both write complete files; the last rename wins.
    """
    path = cache_dir() / name
    if path.is_file():
        return path
    tmp = path.with_name(f".tmp-{os.getpid()}-{name}")
    try:
        # No metadata unless asked for: the header size (and so the file size) then matches the
        # vendor files, which carry none.
        save_file(dict(build()), str(tmp), metadata=metadata)
        os.chmod(tmp, 0o644)  # safetensors creates files as 0600
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def linked_copy(source: Path, name: str) -> Path:
    """``source`` under another name in the cache, as a hard link where the file system allows."""
    path = cache_dir() / name
    if path.is_file():
        return path
    tmp = path.with_name(f".tmp-{os.getpid()}-{name}")
    try:
        try:
            os.link(source, tmp)
        except OSError:
            import shutil
            shutil.copyfile(source, tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def _generator(seed: int, key: str) -> torch.Generator:
    return torch.Generator().manual_seed((seed * 1_000_003 + zlib.crc32(key.encode())) % (2 ** 63))


def normal(key: str, shape: Sequence[int], std: float, dtype: torch.dtype, seed: int,
           mean: float = 0.0) -> torch.Tensor:
    """N(mean, std²) drawn directly in ``dtype`` (drawing in fp16 is ~2x faster than fp32 + cast)."""
    out = torch.empty(tuple(shape), dtype=dtype)
    return out.normal_(mean, std, generator=_generator(seed, key))


def fan_in(shape: Sequence[int]) -> int:
    n = 1
    for s in shape[1:]:
        n *= int(s)
    return max(n, 1)


# Layers whose output is added straight back onto a residual stream (UNet ResBlock/attention/ff outputs,
# VAE ResnetBlock conv2 and attention proj_out, CLIP attention/MLP outputs). Scaling them down keeps the
# residual stream's variance growth small across the ~25 resblocks and ~16 transformers of SD1.5.
RESIDUAL_OUTPUT = re.compile(
    r"(out_layers\.3|attn[12]\.to_out\.0|ff\.net\.2|\.proj_out|\.conv2|self_attn\.out_proj|mlp\.fc2)\.weight$")
RESIDUAL_GAIN = 0.5
BIAS_STD = 0.02


def random_param(key: str, shape: Sequence[int], dtype: torch.dtype, seed: int, gain: float = 1.0) -> torch.Tensor:
    """A sane random value for a parameter, judged from its name and shape alone.

    1-D ``weight``: a norm scale, ~1. 1-D ``bias``: ~0. Anything with 2+ dims (linear, conv, embedding):
    N(0, (gain/sqrt(fan_in))²), so each layer keeps its activations O(1).
    """
    if len(shape) <= 1:
        if key.endswith("weight"):
            return normal(key, shape, BIAS_STD, dtype, seed, mean=1.0)
        return normal(key, shape, BIAS_STD, dtype, seed)
    if RESIDUAL_OUTPUT.search(key):
        gain = gain * RESIDUAL_GAIN
    return normal(key, shape, gain / fan_in(shape) ** 0.5, dtype, seed)


def parameter_count(sd: Mapping[str, torch.Tensor]) -> int:
    return sum(t.numel() for t in sd.values())
