"""ControlNet on every frame with core ControlNetLoader/ControlNetApplyAdvanced: frame i gets hint i.

Real-shape random SD1.5 UNet and ControlNet (tests/support); core nodes called in-process."""
import pytest
import torch

import comfy.controlnet
import comfy.model_management
import comfy.patcher_extension
import comfy.sample
import nodes
from animatediff_lightning.glue.injection import apply_motion_module, load_motion_module_handle
from animatediff_lightning.glue.sampling import euler_sampler, model_sigmas
from animatediff_lightning.motion_modules import MotionModuleError
from support.controlnet_models import controlnet_file
from support.models import real_motion_module_file
from support.sd15_models import sd15_model_patcher

FRAMES = 16


@pytest.fixture(scope="module")
def unet():
    return sd15_model_patcher()


@pytest.fixture(scope="module")
def controlnet():
    return comfy.controlnet.load_controlnet(str(controlnet_file()))


@pytest.fixture(scope="module")
def hints():
    return torch.rand(FRAMES, 64, 64, 3, generator=torch.Generator().manual_seed(5))


def conds():
    g = torch.Generator().manual_seed(0)
    return [[torch.randn(1, 77, 768, generator=g), {}]], [[torch.randn(1, 77, 768, generator=g), {}]]


def run(model, controlnet, hints, noise, cfg=1.0, steps=1):
    positive, negative = nodes.ControlNetApplyAdvanced().apply_controlnet(
        *conds(), controlnet, hints, 1.0, 0.0, 1.0)
    sigmas = model_sigmas(model, steps, 1.0)
    return comfy.sample.sample_custom(model, noise, cfg, euler_sampler(), sigmas, positive, negative,
                                      torch.zeros_like(noise), disable_pbar=True, seed=0)


def test_permuting_hints_permutes_their_effect(unet, controlnet, hints):
    """Same noise and prompt on every frame, so a frame's result depends on its hint alone."""
    noise = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(1)).repeat(FRAMES, 1, 1, 1)
    perm = torch.randperm(FRAMES, generator=torch.Generator().manual_seed(2))
    out = run(unet, controlnet, hints, noise)
    permuted = run(unet, controlnet, hints[perm], noise)
    assert not torch.allclose(out[0], out[1], atol=1e-3), "hints must change the result"
    assert relative_error(permuted, out[perm]) < 1e-5


def relative_error(a, b):
    return float((a - b).norm() / b.norm())


class Unbatched:
    def __call__(self, executor, model, conds, x_in, timestep, model_options):
        return [executor(model, [c], x_in, timestep, model_options)[0] for c in conds]


def test_hints_stay_with_their_frames_under_cfg_batching(unet, controlnet, hints):
    """With the motion module and cfg > 1 (cond and uncond in one batch) hints line up with frames exactly
    as when each half runs alone."""
    patched = apply_motion_module(unet, load_motion_module_handle(str(real_motion_module_file())))
    noise = torch.randn(FRAMES, 4, 8, 8, generator=torch.Generator().manual_seed(3))
    batched = run(patched, controlnet, hints, noise, cfg=3.0)
    alone = patched.clone()
    alone.add_wrapper_with_key(comfy.patcher_extension.WrappersMP.CALC_COND_BATCH, "test", Unbatched())
    unbatched = run(alone, controlnet, hints, noise, cfg=3.0)
    assert relative_error(batched, unbatched) < 1e-5
    assert not torch.allclose(batched, run(patched, controlnet, hints.flip(0), noise, cfg=3.0), atol=1e-3)


def test_hint_count_must_match_frames(unet, controlnet, hints):
    patched = apply_motion_module(unet, load_motion_module_handle(str(real_motion_module_file())))
    noise = torch.randn(FRAMES, 4, 8, 8)
    with pytest.raises(MotionModuleError, match=r"hint has 5 images but the video has 16 frames"):
        run(patched, controlnet, hints[:5], noise)
    comfy.model_management.unload_all_models()


def test_permuting_hints_permutes_their_effect_in_every_window(unet, controlnet):
    """48 frames in windows of 16 (overlap 4): each window must get its own frames' hints, not the first ones."""
    from animatediff_lightning.glue.context import apply_context_windows, make_handler
    frames = 48
    windowed = apply_context_windows(unet, make_handler(16, 4, "static", "pyramid", False, "per-frame"))
    hints = torch.rand(frames, 64, 64, 3, generator=torch.Generator().manual_seed(6))
    noise = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(1)).repeat(frames, 1, 1, 1)
    perm = torch.randperm(frames, generator=torch.Generator().manual_seed(2))
    out = run(windowed, controlnet, hints, noise)
    permuted = run(windowed, controlnet, hints[perm], noise)
    for start in (0, 16, 32):  # frames of every window
        assert not torch.allclose(out[start], out[start + 1], atol=1e-3)
    assert relative_error(permuted, out[perm]) < 1e-5
