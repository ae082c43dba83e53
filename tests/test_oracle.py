"""Our patched ComfyUI UNet against an independent implementation: diffusers' UNetMotionModel.

Same random weights on both sides; the noise prediction over 16 frames must agree to 1e-4 relative in fp32,
at a tiny configuration and at the real SD1.5 shape (real-shape v2 / Lightning motion module).
"""
import pytest
import torch
from safetensors.torch import save_file

import comfy.model_management
import comfy.model_patcher
import comfy.supported_models
from animatediff_lightning.glue.injection import apply_motion_module, load_motion_module_handle
from support.models import motion_module_sd
from support.oracle import diffusers_motion_unet, diffusers_noise_prediction
from support.sd15_models import SD15_UNET_CONFIG, sd15_unet_sd, tiny_unet_config, tiny_unet_sd

FRAMES = 16


def comfy_patcher(unet_sd, config):
    model = comfy.supported_models.SD15(dict(config)).get_model({})
    model.diffusion_model.load_state_dict(unet_sd, strict=True)
    model.diffusion_model.float()
    cpu = torch.device("cpu")
    return comfy.model_patcher.ModelPatcher(model, cpu, cpu)


def comfy_noise_prediction(patched, x, t, context):
    """ε from the patched UNet for one video: the batch is the frames (cond only, as at cfg 1)."""
    comfy.model_management.load_models_gpu([patched])
    options = dict(patched.model_options["transformer_options"], cond_or_uncond=[0])
    with torch.no_grad():
        return patched.model.diffusion_model(
            x, timesteps=torch.full((x.shape[0],), t, dtype=torch.float32),
            context=context.expand(x.shape[0], -1, -1), transformer_options=options)


def relative_error(a, b):
    return float((a - b).norm() / b.norm())


def compare(tmp_path, unet_sd, config, motion_sd, size):
    path = tmp_path / "animatediff_lightning_4step_comfyui.safetensors"
    save_file(motion_sd, str(path))
    patched = apply_motion_module(comfy_patcher(unet_sd, config), load_motion_module_handle(str(path)))
    g = torch.Generator().manual_seed(3)
    x = torch.randn(FRAMES, 4, size, size, generator=g)
    context = torch.randn(1, 77, config["context_dim"], generator=g)
    ours = comfy_noise_prediction(patched, x, 749, context)
    comfy.model_management.unload_all_models()  # ejects the motion module: the plain UNet again
    with torch.no_grad():
        plain = patched.model.diffusion_model(x, timesteps=torch.full((FRAMES,), 749.0),
                                              context=context.expand(FRAMES, -1, -1))
    # the motion module must matter, or the comparison proves nothing
    assert relative_error(ours, plain) > 1e-2
    oracle = diffusers_motion_unet(unet_sd, config, motion_sd)
    theirs = diffusers_noise_prediction(oracle, x, 749, context, FRAMES)
    assert relative_error(ours, theirs) < 1e-4, relative_error(ours, theirs)


@pytest.mark.parametrize("version", ["v2", "v3", "AnimateLCM"])
def test_tiny_config_matches_diffusers(tmp_path, version):
    config = tiny_unet_config()
    channels = tuple(config["model_channels"] * m for m in config["channel_mult"])
    motion_sd = {k: v.float() for k, v in motion_module_sd(version, channels=channels).items()}
    compare(tmp_path, tiny_unet_sd(), config, motion_sd, size=8)


def test_real_sd15_shape_matches_diffusers(tmp_path):
    unet_sd = {k: v.float() for k, v in sd15_unet_sd().items()}
    motion_sd = {k: v.float() for k, v in motion_module_sd("v2").items()}
    compare(tmp_path, unet_sd, SD15_UNET_CONFIG, motion_sd, size=8)
