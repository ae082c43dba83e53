"""Module adjustments (motion_modules/adjust.py) and sample settings (motion_modules/noise.py, glue/noise.py).

Numbers are checked against formulas written out here (torch.randn on the documented generators, interpolation
by hand, the layer mixes), the default path against the plain one bit for bit, and the bad inputs for their
messages. Parity with a fetched AnimateDiff-Evolved is measured by `make parity-ade` (docs/parity.md)."""
import pytest
import torch
from safetensors.torch import save_file

import comfy.sample
from animatediff_lightning.glue.injection import apply_motion_module, load_motion_module_handle
from animatediff_lightning.glue.noise import SampleSettings
from animatediff_lightning.motion_modules import MotionModuleError
from animatediff_lightning.motion_modules.adjust import (PositionAdjust, WeightAdjust, apply_adjustments,
                                                         weight_groups)
from animatediff_lightning.motion_modules.noise import (FreeInit, NoiseLayer, NoiseSettings, combine, draw,
                                                        low_pass_filter, prepare_noise)
from animatediff_lightning.nodes.adjust import AdjustPositions, AdjustWeights
from animatediff_lightning.nodes.motion_module import LoadMotionModule
from animatediff_lightning.nodes.noise import FreeInitNode, NoiseLayerNode, SampleSettingsNode
from support.models import motion_module_sd
from support.sd15_models import tiny_model_patcher
from test_injection import noise, sample, tiny_channels

FRAMES = 16
PE = "down_blocks.0.motion_modules.0.temporal_transformer.transformer_blocks.0.attention_blocks.0.pos_encoder.pe"
Q = "down_blocks.0.motion_modules.0.temporal_transformer.transformer_blocks.0.attention_blocks.0.to_q.weight"
OUT_B = "down_blocks.0.motion_modules.0.temporal_transformer.transformer_blocks.0.attention_blocks.0.to_out.0.bias"
NORM = "down_blocks.0.motion_modules.0.temporal_transformer.norm.weight"


@pytest.fixture(scope="module")
def sd():
    return motion_module_sd("v2", channels=tiny_channels(), seed=3)


@pytest.fixture(scope="module")
def mm_file(tmp_path_factory, sd):
    path = tmp_path_factory.mktemp("mm") / "animatediff_lightning_4step_adjust.safetensors"
    save_file(sd, str(path))
    return str(path)


@pytest.fixture(scope="module")
def base():
    return tiny_model_patcher(seed=0)


def no_derive(noise, _type, _seed):
    return noise


# --- adjustments -------------------------------------------------------------------------------------------

def test_weight_groups_follow_the_key_layout():
    assert weight_groups(PE) == ["all", "positional encoding"]
    assert weight_groups(Q) == ["all", "attention", "attention q"]
    assert weight_groups(OUT_B) == ["all", "attention", "attention out bias"]
    assert weight_groups(NORM) == ["all", "other"]


def test_sweetspot_stretch_is_cap_then_interpolate(sd):
    out = apply_adjustments(sd, (PositionAdjust(cap=16, interpolate_to=40),))
    pe = sd[PE][:, :16]
    by_hand = torch.nn.functional.interpolate(pe[None], size=(40, pe.shape[-1]), mode="bilinear")[0]
    assert out[PE].shape[1] == 40
    torch.testing.assert_close(out[PE], by_hand, rtol=0, atol=0)
    assert torch.equal(sd[PE], motion_module_sd("v2", channels=tiny_channels(), seed=3)[PE])  # input untouched


def test_position_steps_run_in_order(sd):
    a = PositionAdjust(stretch=8, initial_offset=2, cap=20, interpolate_to=24, final_offset=1)
    pe, dim = sd[PE], sd[PE].shape[-1]
    pe = torch.nn.functional.interpolate(pe[None], size=(pe.shape[1] + 8, dim), mode="bilinear")[0][:, 2:][:, :20]
    pe = torch.nn.functional.interpolate(pe[None], size=(24, dim), mode="bilinear")[0][:, 1:]
    torch.testing.assert_close(apply_adjustments(sd, (a,))[PE], pe, rtol=0, atol=0)


def test_weights_add_then_multiply_per_group_in_chain_order(sd):
    chain = (WeightAdjust("all", add=0.1), WeightAdjust("attention q", multiply=2.0), WeightAdjust("other", 0.0, 0.5))
    out = apply_adjustments(sd, chain)
    torch.testing.assert_close(out[Q], (sd[Q] + 0.1) * 2.0)
    torch.testing.assert_close(out[NORM], (sd[NORM] + 0.1) * 0.5)
    torch.testing.assert_close(out[OUT_B], sd[OUT_B] + 0.1)
    torch.testing.assert_close(out[PE], sd[PE] + 0.1)


def test_an_adjustment_that_leaves_no_positions_is_a_clear_error(sd):
    with pytest.raises(MotionModuleError, match="leaves no positions .* lower the offsets"):
        apply_adjustments(sd, (PositionAdjust(initial_offset=500),), "x.safetensors")
    with pytest.raises(MotionModuleError, match="unknown weight group 'q'"):
        WeightAdjust("q")


def test_load_node_takes_adjustments_and_reports_them(mm_file, monkeypatch):
    import folder_paths
    monkeypatch.setattr(folder_paths, "get_full_path_or_raise", lambda _folder, _name: mm_file)
    chain = AdjustPositions.execute(0, 0, 16, 48, 0).result[0]
    chain = AdjustWeights.execute("attention", 0.0, 0.9, previous=chain).result[0]
    out = LoadMotionModule.execute("x", adjust=chain)
    handle, info = out.result
    assert handle.info.frame_limit == 48
    assert "adjusted at load: positions: cap 16, interpolate to 48; attention weights: +0, ×0.9" in info
    plain = LoadMotionModule.execute("x").result[0]
    assert plain.info.frame_limit == 32 and not plain.info.adjustments


def test_inactive_adjustments_give_the_module_unchanged(mm_file):
    a = load_motion_module_handle(mm_file)
    b = load_motion_module_handle(mm_file, (PositionAdjust(), WeightAdjust("all")))
    for (ka, va), (kb, vb) in zip(a.model.state_dict().items(), b.model.state_dict().items()):
        assert ka == kb and torch.equal(va, vb)


# --- noise -------------------------------------------------------------------------------------------------

LATENT = torch.zeros(6, 4, 5, 7)


def test_comfy_generator_is_one_draw_over_the_batch_and_matches_comfyui():
    ours = draw(42, LATENT, "comfy", "default", 0, no_derive)
    assert torch.equal(ours, comfy.sample.prepare_noise(LATENT, 42))
    shifted = draw(42, LATENT, "comfy", "default", 2, no_derive)
    full = torch.randn((8, 4, 5, 7), generator=torch.Generator().manual_seed(42))
    assert torch.equal(shifted, full[2:])


def test_auto1111_generator_seeds_each_frame():
    ours = draw(7, LATENT, "auto1111", "default", 3, no_derive)
    for i in range(6):
        frame = torch.randn((1, 4, 5, 7), generator=torch.Generator().manual_seed(7 + i + 3))
        assert torch.equal(ours[i:i + 1], frame)


def test_constant_and_empty():
    c = draw(5, LATENT, "comfy", "constant", 1, no_derive)
    first = torch.randn((2, 4, 5, 7), generator=torch.Generator().manual_seed(5))[1:]
    assert all(torch.equal(c[i:i + 1], first) for i in range(6))
    a = draw(5, LATENT, "auto1111", "constant", 1, no_derive)
    assert torch.equal(a[3:4], torch.randn((1, 4, 5, 7), generator=torch.Generator().manual_seed(6)))
    assert not draw(5, LATENT, "comfy", "empty", 0, no_derive).any()


def test_layers_mix_as_documented():
    old, new = torch.randn(2, 4, 3, 3), torch.randn(2, 4, 3, 3)
    torch.testing.assert_close(combine(NoiseLayer("add", weight=0.3), old, new), old + 0.3 * new)
    torch.testing.assert_close(combine(NoiseLayer("add weighted", weight=0.4, balance=0.5), old, new),
                               old * 0.8 + 0.4 * new)
    w = 0.3
    n = (0.7 ** 2 + 0.3 ** 2) ** 0.5
    torch.testing.assert_close(combine(NoiseLayer("normalized sum", weight=w), old, new), (0.7 * old + 0.3 * new) / n)
    mask = torch.zeros(1, 3, 3)
    mask[:, 1] = 1
    replaced = combine(NoiseLayer("replace", mask=mask), old, new)
    assert torch.equal(replaced[:, :, 1], new[:, :, 1]) and torch.equal(replaced[:, :, 0], old[:, :, 0])


def test_layer_seeds_build_on_the_settings_seed():
    s = NoiseSettings(seed_offset=10, layers=(NoiseLayer("replace", seed_offset=1),))
    assert torch.equal(prepare_noise(s, 100, LATENT, None, no_derive),
                       torch.randn((6, 4, 5, 7), generator=torch.Generator().manual_seed(111)))


def test_a_single_seed_override_seeds_what_is_drawn_as_in_ade():
    sampler_noise = torch.randn(6, 4, 5, 7)
    alone = prepare_noise(NoiseSettings(seed_override=9), 0, LATENT, sampler_noise, no_derive)
    assert torch.equal(alone, sampler_noise)  # nothing else set: the sampler's noise stays
    shifted = prepare_noise(NoiseSettings(seed_override=9, seed_offset=1), 0, LATENT, sampler_noise, no_derive)
    assert torch.equal(shifted, torch.randn((6, 4, 5, 7), generator=torch.Generator().manual_seed(10)))
    layered = prepare_noise(NoiseSettings(seed_override=9, layers=(NoiseLayer("replace"),)), 0, LATENT,
                            sampler_noise, no_derive)
    assert torch.equal(layered, torch.randn((6, 4, 5, 7), generator=torch.Generator().manual_seed(9)))


def test_seed_override_per_frame_and_its_count():
    s = NoiseSettings(seed_override=tuple(range(20, 26)))
    out = prepare_noise(s, 0, LATENT, None, no_derive)
    assert torch.equal(out[4:5], torch.randn((1, 4, 5, 7), generator=torch.Generator().manual_seed(24)))
    with pytest.raises(MotionModuleError, match="seed_override holds 2 seeds but the video has 6 frames"):
        prepare_noise(NoiseSettings(seed_override=(1, 2)), 0, LATENT, None, no_derive)


def test_freeinit_gaussian_filter_matches_its_formula():
    f = low_pass_filter((4, 2, 6, 6), "gaussian", 0.25, 0.5)
    t, h, w = 3, 1, 4
    d2 = ((0.25 / 0.5) * (2 * t / 4 - 1)) ** 2 + (2 * h / 6 - 1) ** 2 + (2 * w / 6 - 1) ** 2
    assert f[t, 1, h, w].item() == pytest.approx(torch.exp(torch.tensor(-d2 / (2 * 0.25 ** 2))).item(), rel=1e-6)
    assert low_pass_filter((4, 2, 6, 6), "box", 0.5, 0.5)[2, 0, 2:4, 2:4].eq(1).all()


# --- on a model --------------------------------------------------------------------------------------------

def test_default_settings_leave_the_frames_bit_for_bit(base, mm_file):
    handle = load_motion_module_handle(mm_file)
    n = noise()
    plain = sample(apply_motion_module(base, handle, animatediff_schedule=False), n, seed=3)
    settings = SampleSettingsNode.execute("default", "comfy", 0, 0).result[0]
    with_settings = sample(apply_motion_module(base, handle, animatediff_schedule=False, sample_settings=settings),
                           n, seed=3)
    assert torch.equal(plain, with_settings)


def test_settings_redraw_the_noise_and_freeinit_samples_again(base, mm_file):
    handle = load_motion_module_handle(mm_file)
    n = comfy.sample.prepare_noise(torch.zeros(FRAMES, 4, 8, 8), 3)
    offset = SampleSettings(NoiseSettings(seed_offset=1))
    a = sample(apply_motion_module(base, handle, animatediff_schedule=False, sample_settings=offset), n, seed=3)
    n4 = comfy.sample.prepare_noise(torch.zeros(FRAMES, 4, 8, 8), 4)
    # the sampler's seed 3 + offset 1 is seed 4's noise (sample()'s seed also picks the prompts: kept at 3)
    b = sample(apply_motion_module(base, handle, animatediff_schedule=False), n4, seed=3)
    assert not torch.equal(a, sample(apply_motion_module(base, handle, animatediff_schedule=False), n, seed=3))
    assert torch.equal(a, b)
    fi = FreeInitNode.execute(2, "butterworth", 0.25, 0.25, 4, 999, False, "FreeInit [model sigma]", 0, 1).result[0]
    settings = SampleSettingsNode.execute("default", "comfy", 0, 0, freeinit=fi).result[0]
    twice = sample(apply_motion_module(base, handle, animatediff_schedule=False, sample_settings=settings), n, seed=3)
    once = sample(apply_motion_module(base, handle, animatediff_schedule=False), n, seed=3)
    assert not torch.equal(twice, once) and torch.isfinite(twice).all()
    one = SampleSettingsNode.execute("default", "comfy", 0, 0, freeinit=FreeInitNode.execute(
        1, "gaussian", 0.25, 0.25, 4, 999, False, "FreeInit [sampler sigma]", 0, 1).result[0]).result[0]
    assert torch.equal(sample(apply_motion_module(base, handle, animatediff_schedule=False, sample_settings=one),
                              n, seed=3), once)


def test_layer_node_chains_in_order_and_settings_node_carries_them():
    first = NoiseLayerNode.execute("add", "default", "use existing", 1, 0, 0.3, 1.0).result[0]
    both = NoiseLayerNode.execute("replace", "constant", "auto1111", 2, 0, 0.5, 1.0, previous=first).result[0]
    assert [layer.application for layer in both] == ["add", "replace"]
    s = SampleSettingsNode.execute("constant", "auto1111", 3, 2, noise_layers=both, seed_override=[1, 2]).result[0]
    assert s.noise == NoiseSettings("constant", "auto1111", 3, 2, (1, 2), both)
    assert s.freeinit is None and FreeInit().iterations == 2


def test_context_freenoise_acts_once_whichever_node_comes_first(base, mm_file):
    from animatediff_lightning.glue.context import apply_context_windows, make_handler
    handle = load_motion_module_handle(mm_file)
    n = noise(24)
    default = SampleSettingsNode.execute("default", "comfy", 0, 0).result[0]

    def windows(m):
        return apply_context_windows(m, make_handler(16, 4, "static", "flat", False, "FreeNoise"))

    alone = sample(windows(apply_motion_module(base, handle, animatediff_schedule=False)), n, seed=3)
    after = sample(windows(apply_motion_module(base, handle, animatediff_schedule=False, sample_settings=default)),
                   n, seed=3)
    before = sample(apply_motion_module(windows(base), handle, animatediff_schedule=False, sample_settings=default),
                    n, seed=3)
    assert torch.equal(alone, after) and torch.equal(alone, before)


def test_repeated_context_and_freenoise_use_the_models_windows():
    from animatediff_lightning.glue.context import make_handler
    from animatediff_lightning.glue.noise import _deriver
    options = {"context_handler": make_handler(8, 2, "static", "flat", False, "per-frame")}
    n = torch.randn(20, 4, 2, 2)
    repeated = _deriver(options, torch.zeros(5))(n.clone(), "repeated context", 0)
    assert torch.equal(repeated[8:16], n[:8]) and torch.equal(repeated[16:], n[:4])
    free = _deriver(options, torch.zeros(5))(n.clone(), "FreeNoise", 0)
    assert torch.equal(free[:8], n[:8]) and not torch.equal(free[8:], n[8:])
    assert torch.equal(_deriver({}, torch.zeros(5))(n, "FreeNoise", 0), n)  # no windows: as drawn


def test_a_sigma_schedule_replaces_the_apply_nodes_beta_schedule(base, mm_file):
    from animatediff_lightning.glue.schedules import SigmaSchedule, beta_model_sampling
    from animatediff_lightning.nodes.sampling import SigmaScheduleNode
    handle = load_motion_module_handle(mm_file)
    lcm = SigmaScheduleNode.execute("lcm", False).result[0]
    assert lcm == SigmaSchedule("lcm")
    settings = SampleSettingsNode.execute("default", "comfy", 0, 0, sigma_schedule=lcm).result[0]
    m = apply_motion_module(base, handle, animatediff_schedule=True, sample_settings=settings)
    expected = beta_model_sampling(base.get_model_object("model_sampling"), "lcm")
    assert torch.equal(m.get_model_object("model_sampling").sigmas, expected.sigmas)
    assert base.get_model_object("model_sampling").sigmas.numel() == 1000  # the input model is untouched
