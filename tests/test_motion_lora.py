"""Motion LoRA: reading both layouts, matching to a module, weight patches through the ModelPatcher, errors."""
import comfy.cli_args
import pytest
import torch
from safetensors.torch import load_file, save_file

import comfy.model_management
import comfy.sample
from animatediff_lightning.glue.injection import apply_motion_module, load_motion_module_handle
from animatediff_lightning.glue.motion_lora import apply_motion_lora, load_motion_lora, read_lora_for
from animatediff_lightning.glue.sampling import euler_sampler, model_sigmas
from animatediff_lightning.motion_modules import (MotionModuleError, build_motion_modules, describe, match_motion_lora,
                                                  motion_lora_targets, read_motion_module)
from support.lora_models import (REAL_LORA_PAIRS, REAL_LORA_PARAMETERS, lora_pairs, motion_lora_sd,
                                 real_motion_lora_file, tiny_motion_lora_sd)
from support.models import TINY_CHANNELS, motion_module_sd, real_motion_module_file
from support.sd15_models import tiny_model_patcher, tiny_unet_config

TARGET = "down_blocks.1.motion_modules.0.temporal_transformer.transformer_blocks.0.attention_blocks.1.to_out.0.weight"


def module_file(tmp_path, version="v2", dtype=torch.float32, seed=1):
    path = tmp_path / f"mm_{version}_{str(dtype)[6:]}_{seed}.safetensors"
    if not path.exists():
        save_file(motion_module_sd(version, channels=TINY_CHANNELS, dtype=dtype, seed=seed), str(path))
    return path


def lora_file(tmp_path, name="v2_lora_Tiny.safetensors", **kwargs):
    path = tmp_path / name
    sd = tiny_motion_lora_sd(dyadic=True, **kwargs)
    if name.endswith(".ckpt"):
        torch.save(sd, path)
    else:
        save_file(sd, str(path))
    return path, sd


@pytest.fixture(autouse=True)
def unpatched():
    """ComfyUI keeps the last run's model loaded and patched: start every test from the plain weights."""
    comfy.model_management.unload_all_models()


@pytest.fixture(scope="module")
def motion(tmp_path_factory):
    return load_motion_module_handle(str(module_file(tmp_path_factory.mktemp("mm"))))


def weights(model) -> dict:
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def patched_weights(handle) -> dict:
    """The motion module's weights as ComfyUI loads them (patches applied), then unload again."""
    comfy.model_management.load_models_gpu([handle.patcher])
    try:
        return weights(handle.model)
    finally:
        comfy.model_management.unload_all_models()


# --- reading and matching (pure) -------------------------------------------------------------------------

def test_real_shape_lora_matches_every_attention_weight():
    path = real_motion_lora_file()
    assert 76_000_000 < path.stat().st_size < 78_000_000
    sd, info = read_motion_module(str(real_motion_module_file()))
    lora = match_motion_lora(load_file(str(path)), info, path.name)
    assert len(lora.patches) == REAL_LORA_PAIRS and lora.ranks == (64,)
    assert lora.parameters == REAL_LORA_PARAMETERS
    assert {p.target for p in lora.patches} == set(motion_lora_targets(info))
    assert set(motion_lora_targets(info)) <= set(sd)


def test_targets_are_real_module_parameters():
    sd = motion_module_sd("v2", channels=TINY_CHANNELS, dtype=torch.float32)
    model = build_motion_modules(sd, read_info(sd))
    names = dict(model.named_parameters())
    lora = match_motion_lora(tiny_motion_lora_sd(), read_info(sd), "tiny")
    for p in lora.patches:
        assert names[p.target].shape == (p.up.shape[0], p.down.shape[1])


def read_info(sd):
    return describe(sd, "tiny")


def test_peft_layout_gives_the_same_patches():
    info = read_info(motion_module_sd("v2", channels=TINY_CHANNELS))
    original = match_motion_lora(tiny_motion_lora_sd(), info, "a")
    peft = match_motion_lora(tiny_motion_lora_sd(layout="peft"), info, "b")
    assert (original.layout, peft.layout) == ("original", "diffusers")
    mapped = {p.target: p for p in peft.patches}
    assert mapped.keys() == {p.target for p in original.patches}
    for p in original.patches:
        assert torch.equal(mapped[p.target].up, p.up) and torch.equal(mapped[p.target].down, p.down)


def test_prefixed_and_adapter_named_peft_keys():
    info = read_info(motion_module_sd("v2", channels=TINY_CHANNELS))
    sd = {"unet." + k.replace(".lora_A.weight", ".lora_A.default.weight"): v
          for k, v in tiny_motion_lora_sd(layout="peft").items()}
    assert len(match_motion_lora(sd, info, "x").patches) == 168


def test_mid_block_keys_skipped_without_mid_block():
    info = read_info(motion_module_sd("v3", channels=TINY_CHANNELS))
    lora = match_motion_lora(tiny_motion_lora_sd(), info, "v2_lora_Tiny.ckpt")
    assert len(lora.patches) == 160 and len(lora.skipped) == 8
    assert all(t.startswith("mid_block.") for t in lora.skipped)
    assert "mid-block weights skipped" in lora.summary()


@pytest.mark.parametrize("sd,fragments", [
    ({"lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight": torch.zeros(4, 32)},
     ["not a Motion LoRA", "image model", "LoRA loader"]),
    ({"down_blocks.0.attentions.0.transformer_blocks.0.attn1.processor.to_q_lora.down.weight": torch.zeros(4, 32)},
     ["not a Motion LoRA", "spatial layers"]),
    (motion_module_sd("v2", channels=TINY_CHANNELS), ["not a Motion LoRA", "motion module"]),
    (tiny_motion_lora_sd(channels=(16, 16, 32, 32)), ["another shape", "16x16"]),
    (motion_lora_sd(channels=(32, 32, 64), rank=4, has_mid=False), ["another shape"]),
])
def test_foreign_lora_is_a_clear_error(sd, fragments):
    info = read_info(motion_module_sd("v2", channels=TINY_CHANNELS))
    with pytest.raises(MotionModuleError) as e:
        match_motion_lora(sd, info, "foreign_lora.safetensors")
    assert "foreign_lora.safetensors" in str(e.value)
    for fragment in fragments:
        assert fragment in str(e.value)


def test_damaged_lora_is_a_clear_error():
    info = read_info(motion_module_sd("v2", channels=TINY_CHANNELS))
    sd = tiny_motion_lora_sd()
    no_up = {k: v for k, v in sd.items() if not k.endswith("to_v_lora.up.weight")}
    with pytest.raises(MotionModuleError, match=r"broken.ckpt is incomplete: .* no 'up' matrix"):
        match_motion_lora(no_up, info, "broken.ckpt")
    bad = dict(sd)
    key = next(iter(bad))
    bad[key] = bad[key].clone()
    bad[key][0, 0] = float("nan")
    with pytest.raises(MotionModuleError, match=r"broken.ckpt is damaged: .* NaN"):
        match_motion_lora(bad, info, "broken.ckpt")


def test_corrupt_and_unsafe_files(tmp_path, motion):
    path, _ = lora_file(tmp_path, "v2_lora_Cut.safetensors")
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(MotionModuleError, match=r"v2_lora_Cut.safetensors cannot be read .* download it again"):
        read_lora_for(motion, str(path))
    unsafe = tmp_path / "v2_lora_Unsafe.ckpt"
    torch.save({"state_dict": tiny_motion_lora_sd(), "extra": torch.nn.Linear(2, 2)}, unsafe)
    with pytest.raises(MotionModuleError, match=r"v2_lora_Unsafe.ckpt cannot be loaded safely"):
        read_lora_for(motion, str(unsafe))


def test_ckpt_is_read_weights_only(tmp_path, motion):
    path, sd = lora_file(tmp_path, "v2_lora_Tiny.ckpt")
    lora = read_lora_for(motion, str(path))
    assert len(lora.patches) == 168 and lora.layout == "original"


# --- weight patches through the ModelPatcher ------------------------------------------------------------

def test_patched_weight_is_exactly_w_plus_s_up_down(tmp_path, motion):
    path, sd = lora_file(tmp_path)
    original = weights(motion.model)
    patched = patched_weights(apply_motion_lora(motion, read_lora_for(motion, str(path)), 0.8))
    pairs = lora_pairs(sd)
    assert len(pairs) == 168
    for key, value in original.items():
        if key in pairs:
            up, down = pairs[key]
            assert torch.equal(patched[key], value + 0.8 * (up @ down)), key
        else:
            assert torch.equal(patched[key], value), key
    assert all(torch.equal(v, original[k]) for k, v in weights(motion.model).items())


def test_two_loras_stack_additively(tmp_path, motion):
    path_a, sd_a = lora_file(tmp_path, "v2_lora_A.safetensors", seed=1)
    path_b, sd_b = lora_file(tmp_path, "v2_lora_B.safetensors", seed=2)
    handle, _ = load_motion_lora(motion, str(path_a), 0.8)
    handle, _ = load_motion_lora(handle, str(path_b), 0.5)
    patched = patched_weights(handle)
    original = weights(motion.model)
    (up_a, down_a), (up_b, down_b) = lora_pairs(sd_a)[TARGET], lora_pairs(sd_b)[TARGET]
    assert torch.equal(patched[TARGET], original[TARGET] + 0.8 * (up_a @ down_a) + 0.5 * (up_b @ down_b))
    assert not motion.patcher.patches, "the loader's handle stays unpatched"


def test_alpha_rescales(tmp_path, motion):
    sd = tiny_motion_lora_sd(dyadic=True)
    alpha_key = TARGET.replace("to_out.0.weight", "processor.to_out_lora.alpha")
    lora = match_motion_lora(dict(sd, **{alpha_key: torch.tensor(2.0)}), motion.info, "alpha")
    patch = next(p for p in lora.patches if p.target == TARGET)
    assert patch.alpha == 2.0 and patch.rank == 4
    patched = patched_weights(apply_motion_lora(motion, lora, 1.0))
    up, down = lora_pairs(sd)[TARGET]
    assert torch.equal(patched[TARGET], weights(motion.model)[TARGET] + 0.5 * (up @ down))


def conds():
    g = torch.Generator().manual_seed(0)
    dim = tiny_unet_config()["context_dim"]
    return [[torch.randn(1, 77, dim, generator=g), {}]], [[torch.randn(1, 77, dim, generator=g), {}]]


def sample(model, frames=8):
    noise = torch.randn(frames, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    pos, neg = conds()
    return comfy.sample.sample_custom(model, noise, 1.0, euler_sampler(), model_sigmas(model, 4, 1.0), pos, neg,
                                      torch.zeros_like(noise), disable_pbar=True, seed=0)


@pytest.fixture(scope="module")
def base():
    return tiny_model_patcher(seed=0)


def test_strength_zero_is_bit_identical_to_none(tmp_path, base, motion):
    path, _ = lora_file(tmp_path)
    zero, _ = load_motion_lora(motion, str(path), 0.0)
    assert not zero.patcher.patches
    plain = sample(apply_motion_module(base, motion))
    assert torch.equal(sample(apply_motion_module(base, zero)), plain)
    assert not torch.equal(sample(apply_motion_module(base, load_motion_lora(motion, str(path), 0.8)[0])), plain)


def test_module_untouched_by_runs_and_strength_changes(tmp_path, base, motion):
    path, sd = lora_file(tmp_path)
    up, down = lora_pairs(sd)[TARGET]
    layer = motion.model.down_blocks[1].motion_modules[0].temporal_transformer.transformer_blocks[0] \
        .attention_blocks[1].to_out[0]
    before = {k: (v.data_ptr(), v.detach().clone()) for k, v in motion.model.state_dict().items()}
    seen = []
    hook = layer.register_forward_pre_hook(lambda module, args: seen.append(module.weight.detach().to("cpu", copy=True)))
    try:
        for strength in (0.8, 0.5):
            handle, _ = load_motion_lora(motion, str(path), strength)
            seen.clear()
            sample(apply_motion_module(base, handle))
            assert seen and all(torch.equal(w, before[TARGET][1] + strength * (up @ down)) for w in seen)
            assert handle.model is motion.model, "a strength change never reloads the module"
        comfy.model_management.unload_all_models()
    finally:
        hook.remove()
    for key, value in motion.model.state_dict().items():
        assert value.data_ptr() == before[key][0] and torch.equal(value, before[key][1]), key


def test_fp16_module_takes_fp32_lora(tmp_path, monkeypatch):
    monkeypatch.setattr(comfy.cli_args.args, "fp16_unet", True)  # a module kept in fp16, as on a GPU
    handle = load_motion_module_handle(str(module_file(tmp_path, dtype=torch.float16)))
    path, sd = lora_file(tmp_path)
    patched = patched_weights(load_motion_lora(handle, str(path), 0.8)[0])
    up, down = lora_pairs(sd)[TARGET]
    expected = (weights(handle.model)[TARGET].float() + 0.8 * (up @ down)).half()
    assert patched[TARGET].dtype == torch.float16 and torch.equal(patched[TARGET], expected)


def test_lora_for_another_module_is_refused_naming_the_file(tmp_path, motion):
    path = tmp_path / "v2_lora_SD15.safetensors"
    save_file(motion_lora_sd(rank=2), str(path))  # SD1.5 channels, our module is tiny
    with pytest.raises(MotionModuleError, match=r"v2_lora_SD15.safetensors was made for a motion module of another"):
        load_motion_lora(motion, str(path), 0.8)
