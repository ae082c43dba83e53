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
