"""Lightning's trailing sigmas on AnimateDiff's betas, against the reference table (not our own output)."""
import pytest
import torch

import comfy.model_sampling
from animatediff_lightning.glue.schedules import (animatediff_model_sampling, lightning_sigmas,
                                                  trailing_timesteps)

# ../shared/reference/animatediff-lightning.md §5
REFERENCE_SIGMAS = {
    1: [25.146114],
    2: [25.146114, 2.275963],
    4: [25.146114, 6.557213, 2.275963, 0.867020],
    8: [25.146114, 12.322532, 6.557213, 3.755282, 2.275963, 1.419212, 0.867020, 0.461271],
}


class SD15Sampling(comfy.model_sampling.ModelSamplingDiscrete, comfy.model_sampling.EPS):
    pass


@pytest.fixture(scope="module")
def animatediff_sampling():
    return animatediff_model_sampling(SD15Sampling(model_config=None))


def test_sd15_default_is_the_wrong_schedule():
    assert float(SD15Sampling(model_config=None).sigma_max) == pytest.approx(14.6146, abs=1e-4)


@pytest.mark.parametrize("steps", sorted(REFERENCE_SIGMAS))
def test_trailing_sigmas_match_reference(animatediff_sampling, steps):
    sigmas = lightning_sigmas(animatediff_sampling, steps)
    expected = torch.tensor(REFERENCE_SIGMAS[steps] + [0.0])
    assert sigmas.shape == expected.shape
    assert torch.allclose(sigmas, expected, rtol=1e-5, atol=1e-5), sigmas


def test_schedule_keeps_prediction_type(animatediff_sampling):
    assert isinstance(animatediff_sampling, comfy.model_sampling.EPS)
    assert float(animatediff_sampling.sigma_max) == pytest.approx(25.146114, rel=1e-6)


def test_trailing_timesteps():
    assert trailing_timesteps(4) == [999, 749, 499, 249]
    assert trailing_timesteps(2) == [999, 499]
    assert trailing_timesteps(1) == [999]


@pytest.mark.parametrize("denoise,timesteps", [(0.75, [749, 499, 249]), (0.5, [499, 249]), (0.25, [249]),
                                               (1.0, [999, 749, 499, 249])])
def test_denoise_keeps_trained_timesteps(animatediff_sampling, denoise, timesteps):
    sigmas = lightning_sigmas(animatediff_sampling, 4, denoise)
    expected = animatediff_sampling.sigmas[torch.tensor(timesteps)]
    assert torch.equal(sigmas[:-1], expected.float()) and sigmas[-1] == 0


def test_denoise_zero_runs_nothing(animatediff_sampling):
    assert lightning_sigmas(animatediff_sampling, 4, 0.0).numel() == 0


def test_core_simple_scheduler_agrees(animatediff_sampling):
    """Core KSampler with `simple` hits the same timesteps (reference §5)."""
    import comfy.samplers
    simple = comfy.samplers.calculate_sigmas(animatediff_sampling, "simple", 4)
    assert torch.allclose(simple, lightning_sigmas(animatediff_sampling, 4), rtol=1e-5)


# --- the other beta schedules (AnimateLCM / LCM-LoRA files), against diffusers' schedulers ---------------

def diffusers_sigmas(beta_schedule: str) -> torch.Tensor:
    from diffusers import DDPMScheduler
    scheduler = DDPMScheduler(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012,
                              beta_schedule=beta_schedule)
    ac = scheduler.alphas_cumprod.double()
    return ((1 - ac) / ac).sqrt()


# ComfyUI's names -> diffusers' (ComfyUI's "linear" is diffusers' "scaled_linear", and the other way round)
DIFFUSERS_NAMES = {"linear": "scaled_linear", "sqrt_linear": "linear", "squaredcos_cap_v2": "squaredcos_cap_v2",
                   "cosine": "squaredcos_cap_v2"}


@pytest.mark.parametrize("name", sorted(DIFFUSERS_NAMES))
def test_beta_schedules_are_diffusers_schedules(name):
    from animatediff_lightning.glue.schedules import beta_model_sampling
    ours = beta_model_sampling(SD15Sampling(model_config=None), name)
    assert isinstance(ours, SD15Sampling)  # the model's own prediction type
    expected = diffusers_sigmas(DIFFUSERS_NAMES[name])
    # cosine: the same formula, cut at β ≤ 0.999, where σ is 5e3..6e5 at the last few timesteps
    # (diffusers keeps ᾱ in float32: its σ near t = 0, ~0.03, are 1e-5 off)
    torch.testing.assert_close(ours.sigmas.double(), expected, rtol=2e-4 if "cos" in name else 1e-5,
                               atol=2e-6)


def test_sqrt_beta_schedule_is_the_square_root_of_a_linspace():
    from animatediff_lightning.glue.schedules import beta_model_sampling
    betas = torch.linspace(0.00085, 0.012, 1000, dtype=torch.float64) ** 0.5
    ac = torch.cumprod(1 - betas, 0)
    ours = beta_model_sampling(SD15Sampling(model_config=None), "sqrt")
    torch.testing.assert_close(ours.sigmas.double(), ((1 - ac) / ac).sqrt(), rtol=1e-5, atol=0)


@pytest.mark.parametrize("name, original_steps, diffusers_beta", [
    ("lcm", 50, "scaled_linear"), ("lcm[100_ots]", 100, "scaled_linear"), ("lcm[25_ots]", 25, "scaled_linear"),
    ("lcm >> sqrt_linear", 50, "linear")])
def test_lcm_schedules_are_the_lcm_schedulers_timesteps(name, original_steps, diffusers_beta):
    import comfy_extras.nodes_model_advanced as advanced
    from diffusers import LCMScheduler
    from animatediff_lightning.glue.schedules import beta_model_sampling
    ours = beta_model_sampling(SD15Sampling(model_config=None), name)
    assert isinstance(ours, advanced.LCM)
    scheduler = LCMScheduler(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012,
                             beta_schedule=diffusers_beta, original_inference_steps=original_steps)
    scheduler.set_timesteps(original_steps, original_inference_steps=original_steps)
    timesteps = scheduler.timesteps.flip(0)
    ac = scheduler.alphas_cumprod.double()[timesteps]
    torch.testing.assert_close(ours.sigmas.double(), ((1 - ac) / ac).sqrt(), rtol=1e-5, atol=0)


@pytest.mark.parametrize("name, parts", [("avg(sqrt_linear,linear)", ("linear", "sqrt_linear")),
                                         ("lcm avg(sqrt_linear,linear)", ("lcm", "lcm >> sqrt_linear"))])
def test_averaged_schedules(name, parts):
    from animatediff_lightning.glue.schedules import beta_model_sampling
    ours = beta_model_sampling(SD15Sampling(model_config=None), name)
    a, b = (beta_model_sampling(SD15Sampling(model_config=None), p).sigmas for p in parts)
    assert torch.equal(ours.sigmas, (a + b) / 2)


def test_every_choice_builds_and_unknown_is_a_clear_error():
    from animatediff_lightning.glue.schedules import SCHEDULE_CHOICES, beta_model_sampling
    from animatediff_lightning.motion_modules import MotionModuleError
    for name in SCHEDULE_CHOICES[3:]:
        assert torch.isfinite(beta_model_sampling(SD15Sampling(model_config=None), name).sigmas).all()
    with pytest.raises(MotionModuleError, match="unknown beta_schedule 'lcm9'"):
        beta_model_sampling(SD15Sampling(model_config=None), "lcm9")


def test_autoselect_picks_as_animatediff_evolved_does():
    from animatediff_lightning.glue.schedules import autoselect
    assert autoselect("AnimateLCM") == "lcm" and autoselect("AnimateDiff") is True


# --- Sigma Schedule (Lightning): a schedule, zsnr, blends -------------------------------------------------------

def test_sigma_schedule_is_the_beta_schedule_and_matches_animatediffs_betas(animatediff_sampling):
    from animatediff_lightning.glue.schedules import SigmaSchedule, sigma_schedule_sampling
    ours = sigma_schedule_sampling(SD15Sampling(model_config=None), SigmaSchedule("sqrt_linear"))
    torch.testing.assert_close(ours.sigmas, animatediff_sampling.sigmas)
    assert float(ours.sigma_max) == pytest.approx(REFERENCE_SIGMAS[1][0], rel=1e-6)


def test_sigma_schedule_blend_weights_go_from_the_largest_sigma():
    import math
    from animatediff_lightning.glue.schedules import SigmaSchedule, beta_model_sampling, sigma_schedule_sampling
    base = SD15Sampling(model_config=None)
    a, b = (beta_model_sampling(base, n).sigmas for n in ("linear", "sqrt_linear"))
    other = SigmaSchedule("sqrt_linear")
    flat = sigma_schedule_sampling(base, SigmaSchedule("linear", blend=other, weight_start=0.3, weight_end=0.3))
    torch.testing.assert_close(flat.sigmas, a * 0.3 + b * 0.7)
    eased = sigma_schedule_sampling(base, SigmaSchedule("linear", blend=other, weight_start=0.9, weight_end=0.1,
                                                        interpolation="ease_in_out")).sigmas
    # index 999 (largest σ) gets weight_start, index 0 weight_end, cosine easing between
    for i in (0, 250, 999):
        u = (999 - i) / 999
        w = 0.9 + (0.1 - 0.9) * (1 - math.cos(u * math.pi)) / 2
        assert float(eased[i]) == pytest.approx(float(a[i] * w + b[i] * (1 - w)), rel=1e-5)


def test_sigma_schedule_zsnr_and_incompatible_blends():
    from animatediff_lightning.glue.schedules import SigmaSchedule, sigma_schedule_sampling
    from animatediff_lightning.motion_modules import MotionModuleError
    base = SD15Sampling(model_config=None)
    z = sigma_schedule_sampling(base, SigmaSchedule("sqrt_linear", zsnr=True))
    expected = comfy.model_sampling.rescale_zero_terminal_snr_sigmas(
        sigma_schedule_sampling(base, SigmaSchedule("sqrt_linear")).sigmas)
    torch.testing.assert_close(z.sigmas, expected.float())
    with pytest.raises(MotionModuleError, match="cannot be blended: an lcm schedule has fewer levels"):
        sigma_schedule_sampling(base, SigmaSchedule("lcm", blend=SigmaSchedule("linear")))


def test_beta_schedule_node_puts_a_model_on_animatediffs_betas():
    """Beta Schedule (Lightning) (AnimateDiff-Evolved's checkpoint loader with a beta_schedule): the patched model
    samples on the reference's σ, the input model keeps SD1.5's; lcm / other names are the same levels as
    beta_model_sampling's (checked above against diffusers)."""
    from animatediff_lightning.glue.schedules import beta_model_sampling
    from animatediff_lightning.nodes.sampling import BetaScheduleNode
    from support.sd15_models import tiny_model_patcher

    model = tiny_model_patcher()
    [patched] = BetaScheduleNode.execute(model, "sqrt_linear").result
    sampling = patched.get_model_object("model_sampling")
    assert float(sampling.sigma_max) == pytest.approx(REFERENCE_SIGMAS[1][0], abs=1e-5)
    assert torch.allclose(lightning_sigmas(sampling, 4), torch.tensor(REFERENCE_SIGMAS[4] + [0.0]), rtol=1e-5, atol=1e-5)
    assert float(model.get_model_object("model_sampling").sigma_max) == pytest.approx(14.6146, abs=1e-4)
    [lcm] = BetaScheduleNode.execute(model, "lcm").result
    expected = beta_model_sampling(model.get_model_object("model_sampling"), "lcm")
    assert torch.equal(lcm.get_model_object("model_sampling").sigmas, expected.sigmas)
    schema = BetaScheduleNode.define_schema()
    assert [i.id for i in schema.inputs] == ["model", "beta_schedule"]
