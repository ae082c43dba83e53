"""Checks the diffusers reference (tests/support/oracle.py) on its own, without this pack.

A tiny SD1.5-shaped UNet with random weights is built by ComfyUI itself; an identity motion module (zero
proj_out) must make diffusers' UNetMotionModel reproduce ComfyUI's plain UNet; a random one must change it.
"""
from __future__ import annotations

import math
import os
import re
import time
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import comfy.supported_models
from conftest import REFERENCE_DIR
from support.oracle import (PerFrameGroupNorm, diffusers_motion_unet, diffusers_noise_prediction,
                            motion_config)

FRAMES, LATENT, TIMESTEP, TOKENS = 16, 8, 749, 77
CHANNEL_MULT = [1, 2, 4, 4]
TINY_UNET_CONFIG = {  # the form ComfyUI's model_detection produces for SD1.5, at model_channels 32
    "use_checkpoint": False, "image_size": 32, "use_spatial_transformer": True, "legacy": False,
    "adm_in_channels": None, "in_channels": 4, "out_channels": 4, "model_channels": 32,
    "num_res_blocks": [2, 2, 2, 2], "transformer_depth": [1, 1, 1, 1, 1, 1, 0, 0],
    "transformer_depth_output": [1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0], "channel_mult": CHANNEL_MULT,
    "transformer_depth_middle": 1, "use_linear_in_transformer": False, "context_dim": 768,
    "use_temporal_resblock": False, "use_temporal_attention": False,
}
TSV_CANDIDATES = [os.environ.get("ADL_MOTION_KEYS_TSV", ""), str(REFERENCE_DIR / "motion_module_v2_keys.tsv")]


# ---------------------------------------------------------------- tiny models, made here
def _random_(tensor: torch.Tensor, name: str, gen: torch.Generator) -> None:
    if tensor.dim() >= 2:
        fan_in = math.prod(tensor.shape[1:])
        tensor.copy_(torch.randn(tensor.shape, generator=gen) / math.sqrt(fan_in))
    elif name.endswith("weight"):  # norm scales
        tensor.copy_(1.0 + 0.1 * torch.randn(tensor.shape, generator=gen))
    else:
        tensor.copy_(0.05 * torch.randn(tensor.shape, generator=gen))


def comfy_tiny_unet(seed: int = 0):
    """ComfyUI's own SD1.5 UNet at the tiny config, every parameter re-initialised (its ops leave them empty)."""
    model = comfy.supported_models.SD15(TINY_UNET_CONFIG).get_model({})
    unet = model.diffusion_model.float().eval()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in unet.named_parameters():
            _random_(param, name, gen)
    return unet


def _sinusoid(length: int, dim: int) -> torch.Tensor:
    pos = torch.arange(length, dtype=torch.float64)[:, None]
    freq = torch.exp(-math.log(10000.0) * torch.arange(0, dim, 2, dtype=torch.float64) / dim)
    pe = torch.zeros(1, length, dim, dtype=torch.float64)
    pe[0, :, 0::2], pe[0, :, 1::2] = torch.sin(pos * freq), torch.cos(pos * freq)
    return pe.float()


def motion_module_shapes(channels, per_down=2, per_up=3, mid=True, pe_length=32) -> dict[str, tuple]:
    """Original-AnimateDiff motion keys and shapes (the v2 tsv's pattern) for any per-level channels."""
    slots = [(f"down_blocks.{i}", c, per_down) for i, c in enumerate(channels)]
    slots += [("mid_block", channels[-1], 1)] if mid else []
    slots += [(f"up_blocks.{i}", c, per_up) for i, c in enumerate(reversed(channels))]
    shapes = {}
    for block, c, count in slots:
        for j in range(count):
            p = f"{block}.motion_modules.{j}.temporal_transformer."
            b = p + "transformer_blocks.0."
            shapes.update({p + "norm.weight": (c,), p + "norm.bias": (c,),
                           p + "proj_in.weight": (c, c), p + "proj_in.bias": (c,)})
            for a in (0, 1):
                q = f"{b}attention_blocks.{a}."
                shapes.update({q + "to_q.weight": (c, c), q + "to_k.weight": (c, c), q + "to_v.weight": (c, c),
                               q + "to_out.0.weight": (c, c), q + "to_out.0.bias": (c,),
                               q + "pos_encoder.pe": (1, pe_length, c),
                               f"{b}norms.{a}.weight": (c,), f"{b}norms.{a}.bias": (c,)})
            shapes.update({b + "ff.net.0.proj.weight": (8 * c, c), b + "ff.net.0.proj.bias": (8 * c,),
                           b + "ff.net.2.weight": (c, 4 * c), b + "ff.net.2.bias": (c,),
                           b + "ff_norm.weight": (c,), b + "ff_norm.bias": (c,),
                           p + "proj_out.weight": (c, c), p + "proj_out.bias": (c,)})
    return shapes


def tiny_motion_sd(identity: bool, seed: int = 1, mid: bool = True, pe_length: int = 32) -> dict:
    channels = [TINY_UNET_CONFIG["model_channels"] * m for m in CHANNEL_MULT]
    gen = torch.Generator().manual_seed(seed)
    sd = {}
    for key, shape in motion_module_shapes(channels, mid=mid, pe_length=pe_length).items():
        if key.endswith(".pe"):
            sd[key] = _sinusoid(shape[1], shape[2])
            continue
        sd[key] = torch.empty(shape)
        _random_(sd[key], key, gen)
        if identity and ".proj_out." in key:
            sd[key].zero_()
    return sd


# ---------------------------------------------------------------- fixtures and helpers
@pytest.fixture(scope="module")
def comfy_unet():
    return comfy_tiny_unet()


@pytest.fixture(scope="module")
def comfy_sd(comfy_unet):
    return {k: v.detach().clone() for k, v in comfy_unet.state_dict().items()}


@pytest.fixture(scope="module")
def inputs():
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(FRAMES, 4, LATENT, LATENT, generator=gen)
    context = torch.randn(1, TOKENS, TINY_UNET_CONFIG["context_dim"], generator=gen)
    return x, context


@pytest.fixture(scope="module")
def comfy_eps(comfy_unet, inputs):
    x, context = inputs
    with torch.no_grad():
        return comfy_unet(x, timesteps=torch.full((FRAMES,), float(TIMESTEP)),
                          context=context.expand(FRAMES, -1, -1)).float()


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).abs().max() / b.abs().max()).item()


# ---------------------------------------------------------------- tests
def test_config_mirrors_comfy_unet_config():
    cfg = motion_config(TINY_UNET_CONFIG, tiny_motion_sd(identity=True))
    assert cfg["block_out_channels"] == (32, 64, 128, 128)
    assert cfg["layers_per_block"] == (2, 2, 2, 2)
    assert cfg["down_block_types"] == ("CrossAttnDownBlockMotion",) * 3 + ("DownBlockMotion",)
    assert cfg["up_block_types"] == ("UpBlockMotion",) + ("CrossAttnUpBlockMotion",) * 3
    assert cfg["num_attention_heads"] == (8, 8, 8, 8) and cfg["cross_attention_dim"] == 768
    assert cfg["motion_max_seq_length"] == 32 and cfg["use_motion_mid_block"] is True
    no_mid = motion_config(TINY_UNET_CONFIG, tiny_motion_sd(identity=True, mid=False, pe_length=24))
    assert no_mid["use_motion_mid_block"] is False and no_mid["motion_max_seq_length"] == 24


def test_identity_motion_module_reproduces_comfy_unet(comfy_sd, comfy_eps, inputs):
    x, context = inputs
    start = time.perf_counter()
    model = diffusers_motion_unet(comfy_sd, TINY_UNET_CONFIG, tiny_motion_sd(identity=True))
    eps = diffusers_noise_prediction(model, x, TIMESTEP, context, FRAMES)
    elapsed = time.perf_counter() - start
    assert eps.shape == (FRAMES, 4, LATENT, LATENT)
    err = rel_err(eps, comfy_eps)
    print(f"\nidentity motion module: max rel err vs ComfyUI UNet {err:.3e} (build+forward {elapsed:.2f}s)")
    assert err < 1e-4
    # a per-frame context gives the same answer as the broadcast one
    eps_full = diffusers_noise_prediction(model, x, TIMESTEP, context.expand(FRAMES, -1, -1), FRAMES)
    assert torch.equal(eps, eps_full)


def test_identity_without_mid_block_reproduces_comfy_unet(comfy_sd, comfy_eps, inputs):
    x, context = inputs
    model = diffusers_motion_unet(comfy_sd, TINY_UNET_CONFIG, tiny_motion_sd(identity=True, mid=False))
    assert not hasattr(model.mid_block, "motion_modules")
    assert rel_err(diffusers_noise_prediction(model, x, TIMESTEP, context, FRAMES), comfy_eps) < 1e-4


def test_random_motion_module_changes_output(comfy_sd, comfy_eps, inputs):
    x, context = inputs
    model = diffusers_motion_unet(comfy_sd, TINY_UNET_CONFIG, tiny_motion_sd(identity=False))
    eps = diffusers_noise_prediction(model, x, TIMESTEP, context, FRAMES)
    assert torch.isfinite(eps).all()
    err = rel_err(eps, comfy_eps)
    print(f"\nrandom motion module: rel diff vs ComfyUI UNet {err:.3e}")
    assert err > 1e-2
    # frames now see each other: changing the last frame moves the first frame's prediction
    x2 = x.clone()
    x2[-1] += 1.0
    eps2 = diffusers_noise_prediction(model, x2, TIMESTEP, context, FRAMES)
    assert (eps2[0] - eps[0]).abs().max() > 1e-4


def test_motion_groupnorm_is_patched_per_frame(comfy_sd):
    model = diffusers_motion_unet(comfy_sd, TINY_UNET_CONFIG, tiny_motion_sd(identity=False))
    norms = [m.norm for n, m in model.named_modules() if re.search(r"motion_modules\.\d+$", n)]
    assert len(norms) == 2 * 4 + 1 + 3 * 4 and all(isinstance(n, PerFrameGroupNorm) for n in norms)
    norm = norms[0]
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(2, 32, FRAMES, 4, 4, generator=gen) * torch.linspace(0.5, 4.0, FRAMES)[:, None, None]
    out = norm(x)
    for f in range(FRAMES):  # each frame alone, with the same weights and eps
        ref = F.group_norm(x[:, :, f], 32, norm.weight, norm.bias, 1e-6)
        torch.testing.assert_close(out[:, :, f], ref, rtol=1e-5, atol=1e-5)
    across = F.group_norm(x, 32, norm.weight, norm.bias, 1e-6)  # what stock diffusers would do
    assert (across - out).abs().max() > 1e-2
    # the class itself is untouched: a fresh diffusers transformer still uses nn.GroupNorm
    from diffusers.models.unets.unet_motion_model import AnimateDiffTransformer3D
    assert type(AnimateDiffTransformer3D(8, 4, in_channels=32).norm) is torch.nn.GroupNorm


def test_strict_loading_reports_bad_keys(comfy_sd):
    motion = tiny_motion_sd(identity=True)
    with pytest.raises(KeyError, match="unexpected motion key"):
        diffusers_motion_unet(comfy_sd, TINY_UNET_CONFIG, {**motion, "down_blocks.0.bogus": torch.zeros(1)})
    partial = dict(motion)
    partial.pop("up_blocks.1.motion_modules.2.temporal_transformer.proj_in.bias")
    with pytest.raises(KeyError, match="missing key up_blocks.1.motion_modules.2.proj_in.bias"):
        diffusers_motion_unet(comfy_sd, TINY_UNET_CONFIG, partial)
    with pytest.raises(KeyError, match="unexpected UNet key"):
        diffusers_motion_unet({**comfy_sd, "input_blocks.99.0.weight": torch.zeros(1)}, TINY_UNET_CONFIG, motion)
    unet = dict(comfy_sd)
    unet.pop("out.2.bias")
    with pytest.raises(KeyError, match="missing key conv_out.bias"):
        diffusers_motion_unet(unet, TINY_UNET_CONFIG, motion)
    odd_pe = dict(motion)
    key = "down_blocks.0.motion_modules.0.temporal_transformer.transformer_blocks.0.attention_blocks.1.pos_encoder.pe"
    odd_pe[key] = odd_pe[key] + 1.0
    with pytest.raises(KeyError, match="diffusers shares one pe per block"):
        diffusers_motion_unet(comfy_sd, TINY_UNET_CONFIG, odd_pe)


def test_pe_comes_from_the_motion_file(comfy_sd):
    motion = tiny_motion_sd(identity=True)
    for k in motion:
        if k.endswith(".pe"):
            motion[k] = motion[k] * 0.5
    model = diffusers_motion_unet(comfy_sd, TINY_UNET_CONFIG, motion)
    pe = model.down_blocks[1].motion_modules[1].transformer_blocks[0].pos_embed.pe
    torch.testing.assert_close(pe, _sinusoid(32, 64) * 0.5)


def test_generated_layout_matches_reference_tsv():
    path = next((p for p in TSV_CANDIDATES if p and Path(p).is_file()), None)
    if path is None:
        pytest.skip("motion_module_v2_keys.tsv not available")
    rows = [line.rstrip("\n").split("\t") for line in Path(path).read_text().splitlines()[1:] if line.strip()]
    tsv = {r[0]: tuple(int(s) for s in r[1].strip("[]").split(",")) for r in rows}
    assert tsv == motion_module_shapes([320, 640, 1280, 1280])
    # and the tsv's diffusers names are what the oracle converts to (pe rows are dropped there)
    from support.oracle import convert_motion_keys
    converted, errors = convert_motion_keys({k: torch.zeros(0) for k in tsv if not k.endswith(".pe")})
    assert not errors
    assert set(converted) == {r[2] for r in rows if not r[0].endswith(".pe")}
