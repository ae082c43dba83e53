"""Checks of the random-weight stand-in models (tests/support/models.py) that every other test relies on.

Fast tests use shapes only or tiny files. The ``real_`` tests write and load the real-shape files
(908 MB motion module, 2.1 GB SD1.5 checkpoint; ~15 s to generate once, then cached) and run a short
real-shape sampling; deselect them with ``-k "not real_"`` when iterating.
"""
import logging
import math

import pytest
import torch

from conftest import REFERENCE_DIR
from support import model_cache
from support.models import (LIGHTNING_FILE_BYTES, SD15_CHANNELS, TINY_CHANNELS, V2_KEYS, V2_PARAMETERS,
                            hotshot_file, motion_module_sd, motion_module_shapes, real_motion_module_file,
                            sd15_checkpoint_file, sd15_model_patcher, sdxl_motion_module_file, sinusoid,
                            tiny_model_patcher, tiny_motion_module_file, tiny_unet_config)

REFERENCE_TSV = REFERENCE_DIR / "motion_module_v2_keys.tsv"
SD15_UNET_PARAMETERS = 859_520_964


def _params(shapes, skip_pe=True):
    return sum(math.prod(s) for k, s in shapes.items() if not (skip_pe and k.endswith(".pe")))


# --- motion modules: layout -------------------------------------------------------------------------

def test_v2_real_layout_counts_without_writing_anything():
    shapes = motion_module_shapes("v2", SD15_CHANNELS)
    assert len(shapes) == V2_KEYS == 588
    assert _params(shapes) == V2_PARAMETERS == 453_209_280
    pe = {k: s for k, s in shapes.items() if k.endswith("pos_encoder.pe")}
    assert len(pe) == 42 and all(s[:2] == (1, 32) for s in pe.values())
    # fp16 payload + the safetensors header of these exact names = the vendor's file size.
    assert _params(shapes, skip_pe=False) * 2 < LIGHTNING_FILE_BYTES


@pytest.mark.parametrize("version, keys, mid, pe", [
    ("v1", 560, False, 24), ("v2", 588, True, 32), ("v3", 560, False, 32), ("AnimateLCM", 546, True, None)])
def test_version_layouts(version, keys, mid, pe):
    shapes = motion_module_shapes(version, SD15_CHANNELS)
    assert len(shapes) == keys
    assert any(k.startswith("mid_block.") for k in shapes) == mid
    lengths = {s[1] for k, s in shapes.items() if k.endswith(".pe")}
    assert lengths == ({pe} if pe else set())
    assert [k.split(".motion_modules")[0] for k in shapes][-1] == "up_blocks.3"


def test_diffusers_layout_names():
    shapes = motion_module_shapes("v2", SD15_CHANNELS, layout="diffusers")
    assert len(shapes) == 588 - 42 + 21
    assert not any("temporal_transformer" in k or "attention_blocks" in k for k in shapes)
    assert shapes["up_blocks.3.motion_modules.2.transformer_blocks.0.pos_embed.pe"] == (1, 32, 320)
    assert "mid_block.motion_modules.0.transformer_blocks.0.norm3.weight" in shapes
    assert not any(k.endswith(".pe") for k in motion_module_shapes("AnimateLCM", layout="diffusers"))
    original = motion_module_sd("v2", TINY_CHANNELS)
    diffusers = motion_module_sd("v2", TINY_CHANNELS, layout="diffusers")  # same tensors, other names
    assert torch.equal(diffusers["down_blocks.1.motion_modules.0.transformer_blocks.0.attn2.to_v.weight"],
                       original["down_blocks.1.motion_modules.0.temporal_transformer.transformer_blocks.0"
                                ".attention_blocks.1.to_v.weight"])


@pytest.mark.skipif(not REFERENCE_TSV.is_file(), reason="reference key list not available")
def test_matches_reference_key_list():
    rows = [line.rstrip("\n").split("\t") for line in REFERENCE_TSV.read_text().splitlines()[1:]]
    shapes = motion_module_shapes("v2", SD15_CHANNELS)
    assert list(shapes) == [r[0] for r in rows]  # same order too
    assert all(list(shapes[r[0]]) == [int(x) for x in r[1].strip("[]").split(",")] for r in rows)
    diffusers = [k for k in motion_module_shapes("v2", layout="diffusers") if not k.endswith(".pe")]
    assert diffusers == [r[2] for r in rows if not r[2].startswith("(")]


def test_diffusers_layout_loads_strictly_into_diffusers_motion_adapter():
    from diffusers import MotionAdapter
    adapter = MotionAdapter(block_out_channels=TINY_CHANNELS, motion_layers_per_block=2,
                            motion_mid_block_layers_per_block=1, motion_norm_num_groups=32,
                            use_motion_mid_block=True, motion_max_seq_length=32)
    reference = {k: v.clone() for k, v in adapter.state_dict().items()}
    sd = motion_module_sd("v2", TINY_CHANNELS, torch.float32, layout="diffusers")
    adapter.load_state_dict(sd, strict=True)
    pe = [k for k in reference if k.endswith("pos_embed.pe")]
    assert len(pe) == 21 and all(torch.allclose(sd[k], reference[k], atol=1e-6) for k in pe)


# --- motion modules: values ---------------------------------------------------------------------------

def test_sinusoid_formula():
    pe = sinusoid(32, 320)
    p, i = 7, 5
    assert pe.shape == (1, 32, 320)
    assert pe[0, p, 2 * i].item() == pytest.approx(math.sin(p * 10000 ** (-2 * i / 320)), abs=1e-6)
    assert pe[0, p, 2 * i + 1].item() == pytest.approx(math.cos(p * 10000 ** (-2 * i / 320)), abs=1e-6)
    from animatediff_lightning.motion_modules import sinusoidal_positions
    assert torch.allclose(pe, sinusoidal_positions(32, 320), atol=1e-6)


def test_random_values_are_sane_and_deterministic():
    sd = motion_module_sd("v2", TINY_CHANNELS, torch.float32, seed=3)
    assert all(t.dtype == torch.float32 for t in sd.values())
    w = sd["down_blocks.0.motion_modules.0.temporal_transformer.transformer_blocks.0.ff.net.0.proj.weight"]
    assert w.std().item() == pytest.approx(1 / math.sqrt(32), rel=0.1)
    assert sd["up_blocks.0.motion_modules.0.temporal_transformer.norm.weight"].mean().item() == pytest.approx(1, abs=0.02)
    out = sd["mid_block.motion_modules.0.temporal_transformer.proj_out.weight"]
    assert 0 < out.std().item() < 0.5 / math.sqrt(64)
    again = motion_module_sd("v2", TINY_CHANNELS, torch.float32, seed=3)
    assert all(torch.equal(sd[k], again[k]) for k in sd)
    other = motion_module_sd("v2", TINY_CHANNELS, torch.float32, seed=4)
    assert not torch.equal(w, other["down_blocks.0.motion_modules.0.temporal_transformer.transformer_blocks.0"
                                    ".ff.net.0.proj.weight"])
    zero = motion_module_sd("v2", TINY_CHANNELS, zero_proj_out=True)
    assert all(not t.any() for k, t in zero.items() if ".proj_out." in k)
    assert zero["down_blocks.0.motion_modules.0.temporal_transformer.proj_in.weight"].dtype == torch.float16


@pytest.mark.parametrize("layout", ["original", "diffusers"])
@pytest.mark.parametrize("version, mid, pe_length", [
    ("v1", False, 24), ("v2", True, 32), ("v3", False, 32), ("AnimateLCM", True, 64)])
def test_tiny_files_load_through_the_pack(version, mid, pe_length, layout):
    from animatediff_lightning.motion_modules import load_motion_module
    path = tiny_motion_module_file(version, layout=layout)
    model, info = load_motion_module(str(path))
    assert (info.version, info.layout, info.channels) == (version, layout, TINY_CHANNELS)
    assert (info.has_mid, info.pe_length, info.per_down, info.per_up) == (mid, pe_length, 2, 3)
    x = torch.randn(2 * 16, 64, 4, 4)
    y = model.up_blocks[0].motion_modules[0](x, frames=16)
    assert y.shape == x.shape and torch.isfinite(y).all() and not torch.allclose(x, y)


def test_zero_proj_out_module_is_identity():
    from animatediff_lightning.motion_modules import load_motion_module
    model, _ = load_motion_module(str(tiny_motion_module_file("v2", zero_proj_out=True)))
    x = torch.randn(16, 32, 4, 4)
    assert torch.equal(model.down_blocks[0].motion_modules[1](x, frames=16), x)


def test_sdxl_and_hotshot_stand_ins_are_recognised():
    from animatediff_lightning.motion_modules import MotionModuleError, read_motion_module
    with pytest.raises(MotionModuleError, match="SDXL"):
        read_motion_module(str(sdxl_motion_module_file()))
    with pytest.raises(MotionModuleError, match="HotshotXL"):
        read_motion_module(str(hotshot_file()))


def test_cache_writes_atomically_and_reuses(tmp_path, monkeypatch):
    monkeypatch.setenv("ADL_TEST_CACHE", str(tmp_path))
    calls = []

    def broken():
        calls.append(1)
        raise KeyboardInterrupt  # as if the run was interrupted mid-generation

    with pytest.raises(KeyboardInterrupt):
        model_cache.cached_file("x.safetensors", broken)
    folder = tmp_path / f"gen{model_cache.GENERATOR_VERSION}"
    assert list(folder.iterdir()) == []

    def build():
        calls.append(2)
        return {"a": torch.zeros(3)}

    path = model_cache.cached_file("x.safetensors", build)
    assert path == folder / "x.safetensors" and path.is_file()
    assert model_cache.cached_file("x.safetensors", build) == path
    assert calls == [1, 2]


# --- real-shape motion module ------------------------------------------------------------------------

def test_real_motion_module_file_has_the_vendor_size_and_loads():
    from animatediff_lightning.motion_modules import load_motion_module
    path = real_motion_module_file()
    assert path.name == "animatediff_lightning_4step_comfyui.safetensors"
    assert path.stat().st_size == LIGHTNING_FILE_BYTES == 908_929_664
    model, info = load_motion_module(str(path))
    assert (info.version, info.lightning_steps, info.has_mid, info.pe_length) == ("v2", 4, True, 32)
    assert info.parameters == V2_PARAMETERS and info.dtype == torch.float16
    assert info.channels == SD15_CHANNELS
    two = real_motion_module_file("animatediff_lightning_2step_comfyui.safetensors")
    assert two.name.endswith("2step_comfyui.safetensors") and two.stat().st_size == LIGHTNING_FILE_BYTES


# --- SD1.5 image models ------------------------------------------------------------------------------

def test_tiny_model_patcher_runs():
    patcher = tiny_model_patcher(seed=1)
    unet = patcher.model.diffusion_model
    config = tiny_unet_config()
    assert [config["model_channels"] * m for m in config["channel_mult"]] == list(TINY_CHANNELS)
    assert type(patcher.model.model_config).__name__ == "SD15"
    x = torch.randn(4, 4, 8, 8)
    sigma = torch.full((4,), 14.6)
    context = torch.randn(4, 77, 768)
    out = patcher.model.apply_model(x, sigma, c_crossattn=context)
    assert out.shape == x.shape and torch.isfinite(out).all()
    assert sum(p.numel() for p in unet.parameters()) < 5_000_000


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_tiny_unet_mirrors_sd15_key_names():
    from support.sd15_models import unet_shapes
    real = unet_shapes()
    assert len(real) == 686 and sum(math.prod(s) for s in real.values()) == SD15_UNET_PARAMETERS
    assert set(unet_shapes(tiny_unet_config(channel_mult=(1, 2, 4, 4)))) == set(real)
    default = set(unet_shapes(tiny_unet_config()))
    assert set(real) - default == {"input_blocks.4.0.skip_connection.weight", "input_blocks.4.0.skip_connection.bias"}


@pytest.fixture(scope="module")
def checkpoint():
    """The real-shape checkpoint loaded once through ComfyUI, with the warnings logged while loading."""
    import comfy.sd
    path = sd15_checkpoint_file()
    collect = _Collect()
    logging.getLogger().addHandler(collect)
    try:
        loaded = comfy.sd.load_checkpoint_guess_config(str(path))
    finally:
        logging.getLogger().removeHandler(collect)
    return path, loaded, collect.messages


def test_real_checkpoint_is_detected_as_sd15_without_missing_keys(checkpoint):
    path, (patcher, clip, vae, _), warnings = checkpoint
    assert 2.0e9 < path.stat().st_size < 2.3e9
    assert type(patcher.model.model_config).__name__ == "SD15"
    assert clip is not None and vae is not None and vae.first_stage_model is not None
    assert sum(p.numel() for p in patcher.model.diffusion_model.parameters()) == SD15_UNET_PARAMETERS
    assert [m for m in warnings if "missing" in m.lower() or "unexpected" in m.lower()] == []


def test_real_checkpoint_samples_finite_video(checkpoint):
    """4 Euler steps over 16 frames at 64x64 px, then VAE decode: random weights must stay finite."""
    import comfy.sample
    _, (patcher, clip, vae, _), _ = checkpoint
    cond = clip.encode_from_tokens_scheduled(clip.tokenize("a cat walking in the snow"))
    assert torch.isfinite(cond[0][0]).all()
    noise = torch.randn(16, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    samples = comfy.sample.sample(patcher, noise, 4, 1.0, "euler", "simple", cond, cond,
                                  torch.zeros_like(noise), disable_pbar=True)
    assert torch.isfinite(samples).all() and samples.abs().max() < 1e4
    raw = vae.first_stage_model.decode(samples[:2].to(vae.vae_dtype))  # before clamping to [0, 1]
    assert torch.isfinite(raw).all()
    images = vae.decode(samples)
    assert images.shape == (16, 64, 64, 3) and torch.isfinite(images).all() and images.std() > 0.01


def test_real_unet_patcher_is_the_checkpoint_unet():
    patcher = sd15_model_patcher()
    assert type(patcher.model.model_config).__name__ == "SD15"
    weight = patcher.model.diffusion_model.input_blocks[0][0].weight
    expected = model_cache.random_param("input_blocks.0.0.weight", (320, 4, 3, 3), torch.float16, 0)
    assert torch.equal(weight.to(torch.float16), expected)
