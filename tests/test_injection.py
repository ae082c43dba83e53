"""The motion module inside a real ComfyUI UNet: identity, isolation, cond/uncond, unpatching, errors."""
import pytest
import torch
from safetensors.torch import save_file

import comfy.model_management
import comfy.model_patcher
import comfy.patcher_extension
import comfy.sample
from animatediff_lightning.glue.injection import (KEY, MotionModuleSlot, apply_motion_module,
                                                  load_motion_module_handle)
from animatediff_lightning.glue.sampling import euler_sampler, model_sigmas
from animatediff_lightning.motion_modules import MotionModuleError
from support.models import motion_module_sd
from support.sd15_models import tiny_model_patcher, tiny_unet_config

FRAMES = 16


def tiny_channels():
    config = tiny_unet_config()
    return tuple(config["model_channels"] * m for m in config["channel_mult"])


@pytest.fixture(scope="module")
def base():
    return tiny_model_patcher(seed=0)


def handle(tmp_path, zero_proj_out=False, version="v2", seed=1):
    path = tmp_path / f"animatediff_lightning_4step_{version}_{int(zero_proj_out)}_{seed}.safetensors"
    save_file(motion_module_sd(version, channels=tiny_channels(), zero_proj_out=zero_proj_out, seed=seed),
              str(path))
    return load_motion_module_handle(str(path))


@pytest.fixture(scope="module")
def motion(tmp_path_factory):
    return handle(tmp_path_factory.mktemp("mm"))


def conds(base, seed=0, uncond_seed=None):
    dim = tiny_unet_config()["context_dim"]
    g = torch.Generator().manual_seed(seed)
    pos = [[torch.randn(1, 77, dim, generator=g), {}]]
    neg = [[torch.randn(1, 77, dim, generator=g), {}]]
    return pos, neg


def sample(model, noise, cfg=1.0, steps=4, seed=0, sigmas=None):
    pos, neg = conds(model, seed)
    sigmas = model_sigmas(model, steps, 1.0) if sigmas is None else sigmas
    latent = torch.zeros_like(noise)
    return comfy.sample.sample_custom(model, noise, cfg, euler_sampler(), sigmas, pos, neg, latent,
                                      disable_pbar=True, seed=seed)


def noise(frames=FRAMES, seed=0):
    return torch.randn(frames, 4, 8, 8, generator=torch.Generator().manual_seed(seed))


def unet_fingerprint(model):
    unet = model.model.diffusion_model
    return repr(unet), {k: v.clone() for k, v in unet.state_dict().items()}


def assert_same_unet(model, fingerprint):
    text, state = fingerprint
    unet = model.model.diffusion_model
    assert repr(unet) == text
    assert not any(isinstance(m, MotionModuleSlot) for m in unet.modules())
    now = unet.state_dict()
    assert now.keys() == state.keys()
    assert all(torch.equal(now[k], state[k]) for k in state)


def test_zero_proj_out_is_bit_identical(base, tmp_path):
    identity = apply_motion_module(base, handle(tmp_path, zero_proj_out=True), animatediff_schedule=False)
    sigmas = model_sigmas(base, 4, 1.0)
    assert torch.equal(sample(identity, noise(), sigmas=sigmas), sample(base, noise(), sigmas=sigmas))


def test_frames_interact_only_with_the_module(base, motion):
    patched = apply_motion_module(base, motion)
    nudged = noise().clone()
    nudged[0] += 0.5
    for model, interacts in ((base, False), (patched, True)):
        a, b = sample(model, noise()), sample(model, nudged)
        assert not torch.equal(a[0], b[0])
        assert (not torch.equal(a[1:], b[1:])) == interacts


def test_motion_scale(base, motion):
    plain_schedule = dict(animatediff_schedule=False)
    off = apply_motion_module(base, motion, motion_scale=0.0, **plain_schedule)
    on = apply_motion_module(base, motion, motion_scale=1.0, **plain_schedule)
    half = apply_motion_module(base, motion, motion_scale=0.5, **plain_schedule)
    sigmas = model_sigmas(base, 4, 1.0)
    reference = sample(base, noise(), sigmas=sigmas)
    assert torch.equal(sample(off, noise(), sigmas=sigmas), reference)
    results = [sample(m, noise(), sigmas=sigmas) for m in (half, on)]
    assert not torch.equal(results[0], reference) and not torch.equal(results[0], results[1])


class Unbatched:
    """CALC_COND_BATCH wrapper that evaluates each cond on its own (no cond/uncond batching)."""
    calls = 0

    def __call__(self, executor, model, conds, x_in, timestep, model_options):
        Unbatched.calls += 1
        return [executor(model, [c], x_in, timestep, model_options)[0] for c in conds]


def test_cfg_batches_never_mix_cond_and_uncond(base, motion):
    patched = apply_motion_module(base, motion)
    batched = sample(patched, noise(), cfg=4.0)
    unbatched_model = patched.clone()
    unbatched_model.add_wrapper_with_key(comfy.patcher_extension.WrappersMP.CALC_COND_BATCH, "test", Unbatched())
    unbatched = sample(unbatched_model, noise(), cfg=4.0)
    assert Unbatched.calls > 0
    assert torch.allclose(batched, unbatched, rtol=1e-5, atol=1e-5)


def test_slot_splits_batch_into_videos(motion):
    """Directly: two videos in one batch give the same result as each alone."""
    module = motion.model.down_blocks[0].motion_modules[0]
    slot = MotionModuleSlot(module, 1.0, "test")
    x = torch.randn(2 * FRAMES, module.temporal_transformer.proj_in.in_features, 4, 4)
    both = slot(x, {"cond_or_uncond": [0, 1]})
    alone = torch.cat([slot(x[:FRAMES], {"cond_or_uncond": [0]}), slot(x[FRAMES:], {"cond_or_uncond": [1]})])
    assert torch.allclose(both, alone, rtol=1e-5, atol=1e-6)


def test_unpatch_restores_unet_and_clones_stay_isolated(base, motion):
    fingerprint = unet_fingerprint(base)
    before = sample(base, noise())
    patched = apply_motion_module(base, motion)
    assert KEY not in base.injections and KEY not in base.additional_models
    assert base.get_model_object("model_sampling") is not patched.get_model_object("model_sampling")
    sample(patched, noise())
    loaded = [m.model.model for m in comfy.model_management.current_loaded_models]
    assert motion.model in loaded, "the motion module is loaded and counted as an additional model"
    after = sample(base, noise())  # loading the plain clone ejects the motion module
    assert torch.equal(before, after)
    assert_same_unet(base, fingerprint)
    sample(patched, noise())
    comfy.model_management.unload_all_models()
    assert_same_unet(base, fingerprint)


def test_clone_of_patched_model_keeps_module_but_base_does_not(base, motion):
    patched = apply_motion_module(base, motion)
    assert KEY in patched.clone().injections
    assert KEY not in base.clone().injections


def test_too_many_frames_is_a_clear_error_and_leaves_unet_clean(base, motion):
    fingerprint = unet_fingerprint(base)
    patched = apply_motion_module(base, motion)
    with pytest.raises(MotionModuleError, match=r"40 frames is more than the 32 .* context windows"):
        sample(patched, noise(frames=40))
    comfy.model_management.unload_all_models()
    assert_same_unet(base, fingerprint)


def test_applying_twice_replaces_the_module(base, motion, tmp_path):
    other = handle(tmp_path, seed=7)
    twice = apply_motion_module(apply_motion_module(base, motion), other)
    once = apply_motion_module(base, other)
    assert torch.equal(sample(twice, noise()), sample(once, noise()))
    slots = [m for m in twice.model.diffusion_model.modules() if isinstance(m, MotionModuleSlot)]
    assert len(slots) == 21


def test_model_without_sd15_unet_is_refused(motion):
    import comfy.supported_models
    config = dict(tiny_unet_config(), num_res_blocks=[1, 1, 1, 1])
    model = comfy.supported_models.SD15(config).get_model({})
    patcher = comfy.model_patcher.ModelPatcher(model, torch.device("cpu"), torch.device("cpu"))
    with pytest.raises(MotionModuleError, match="does not fit this model's UNet"):
        apply_motion_module(patcher, motion)


def test_weight_patches_on_the_model_still_apply(base, tmp_path):
    """A LoRA-style weight patch keyed by UNet names (here the mid block's last resblock, which a slot
    precedes) reaches the same weight with the motion module in, and is undone on unpatch."""
    key = "diffusion_model.middle_block.2.in_layers.0.weight"
    weight = base.model.diffusion_model.middle_block[2].in_layers[0].weight
    original = weight.detach().clone()
    lora = base.clone()
    lora.add_patches({key: (torch.full_like(weight, 0.05),)})
    identity = apply_motion_module(lora, handle(tmp_path, zero_proj_out=True), animatediff_schedule=False)
    sigmas = model_sigmas(base, 4, 1.0)
    with_lora = sample(lora, noise(), sigmas=sigmas)
    assert not torch.equal(with_lora, sample(base, noise(), sigmas=sigmas))
    assert torch.equal(sample(identity, noise(), sigmas=sigmas), with_lora)
    comfy.model_management.unload_all_models()
    assert torch.equal(base.model.diffusion_model.middle_block[2].in_layers[0].weight, original)


# --- the module's dtype follows ComfyUI's policy for the UNet it rides in ---------------------------------

def test_module_kept_in_the_dtype_comfyui_picks_for_the_unet(tmp_path, base, monkeypatch):
    """On this CPU ComfyUI keeps the SD1.5 UNet in fp32: the fp16 file is converted once at load (no cast
    per call); with --fp16-unet (what a GPU computing in fp16 gets) the stored fp16 is kept as it is."""
    import comfy.cli_args
    from support.models import tiny_motion_module_file
    path = str(tiny_motion_module_file("v2", channels=tiny_channels()))
    assert base.model.get_dtype() == torch.float32
    cpu = load_motion_module_handle(path)
    assert {p.dtype for p in cpu.model.parameters()} == {torch.float32}
    monkeypatch.setattr(comfy.cli_args.args, "fp16_unet", True)
    gpu_like = load_motion_module_handle(path)
    assert {p.dtype for p in gpu_like.model.parameters()} == {torch.float16}
    x = torch.randn(FRAMES, tiny_channels()[0], 4, 4)
    with torch.no_grad():
        a = cpu.model.down_blocks[0].motion_modules[0](x, FRAMES)
        b = gpu_like.model.down_blocks[0].motion_modules[0](x, FRAMES)  # manual_cast: fp16 weights, fp32 input
    assert a.dtype == b.dtype == torch.float32 and torch.allclose(a, b, rtol=1e-5, atol=1e-5)
