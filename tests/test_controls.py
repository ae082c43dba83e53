"""ControlNet controls (ACN's soft / block weights, uncond multiplier, per-frame strengths, timestep keyframes, masks)
on core ControlNet objects: each against its definition computed here from the plain ControlNet's outputs, the
keyframe steps against ACN's rules worked by hand, copies and windows, bad inputs.

A tiny random core ControlNet (tests/support) run through core's get_control in-process; end to end through
sampling with the real-shape one."""
import pytest
import torch

import comfy.controlnet
import comfy.sample
import nodes
from animatediff_lightning.glue.context import window_control
from animatediff_lightning.glue.controls import ControlsMixin, with_controls
from animatediff_lightning.glue.sampling import euler_sampler, model_sigmas
from animatediff_lightning.motion_modules import MotionModuleError
from animatediff_lightning.motion_modules.controls import (ControlKeyframe, Controls, ControlWeights, KeyframeState,
                                                           add_keyframe, advance, parse_frame_strengths)
from animatediff_lightning.nodes.controls import (ControlNetControlsNode, ControlNetKeyframeNode,
                                                  ControlNetWeightsNode)
from support.controlnet_models import tiny_controlnet
from support.sd15_models import tiny_model_patcher, tiny_unet_config

FRAMES = 8


@pytest.fixture(scope="module")
def setup():
    config = tiny_unet_config()
    g = torch.Generator().manual_seed(3)
    return {"model": tiny_model_patcher(seed=0), "controlnet": tiny_controlnet(config),
            "hints": torch.rand(FRAMES, 64, 64, 3, generator=g),
            "x": torch.randn(2 * FRAMES, 4, 8, 8, generator=g),
            "context": torch.randn(2 * FRAMES, 77, config["context_dim"], generator=g)}


def outputs(setup, control, sigma=5.0, cond_or_uncond=(0, 1), window=None, sigmas=None):
    """The control dict core's get_control returns for a cond+uncond batch of FRAMES frames."""
    model = setup["model"].model
    c = control.copy().set_cond_hint(setup["hints"].movedim(-1, 1), 1.0, (0.0, 1.0))
    c.pre_run(model, model.model_sampling.percent_to_sigma)
    if window is not None:
        c = window_control(c, *window)
    frames = FRAMES if window is None else len(window[0])
    x = setup["x"][: 2 * frames]
    batched = len(cond_or_uncond)
    options = {"cond_or_uncond": list(cond_or_uncond),
               "sample_sigmas": torch.tensor(sigmas if sigmas is not None else [sigma, 0.0])}
    out = c.get_control(x[: batched * frames], torch.full((batched * frames,), sigma),
                        {"c_crossattn": setup["context"][: batched * frames]}, batched, options)
    return out


def controlled(setup, **kw):
    return with_controls(setup["controlnet"], Controls(**kw))


def close(a, b, tol=1e-6):
    return float((a - b).detach().norm() / max(float(b.detach().norm()), 1e-12)) < tol


def test_no_controls_is_the_same_object_and_other_controlnets_keep_their_class(setup):
    plain = setup["controlnet"]
    assert with_controls(plain, Controls()) is plain
    c = controlled(setup, weights=ControlWeights(0.5))
    assert isinstance(c, ControlsMixin) and isinstance(c, comfy.controlnet.ControlNet)
    assert type(plain) is comfy.controlnet.ControlNet and type(plain.copy()) is comfy.controlnet.ControlNet
    assert isinstance(c.copy(), ControlsMixin) and c.copy().adl_controls == c.adl_controls
    assert type(with_controls(c, Controls())) is comfy.controlnet.ControlNet  # controls taken off again


def test_soft_weights_are_base_to_the_power_of_depth(setup):
    base = outputs(setup, setup["controlnet"])
    soft = outputs(setup, controlled(setup, weights=ControlWeights(0.825)))
    n = len(base["output"])
    assert n == 12
    for k in range(n):
        assert close(soft["output"][k], base["output"][k] * 0.825 ** (n - k))
    assert close(soft["middle"][0], base["middle"][0])


def test_block_weights_and_middle(setup):
    table = tuple(0.1 * (k + 1) for k in range(12))
    node = ControlNetWeightsNode.execute(0.825, 1.0, ", ".join(map(str, table)) + ", 0.3").args[0]
    base = outputs(setup, setup["controlnet"])
    out = outputs(setup, controlled(setup, weights=node))
    for k in range(12):
        assert close(out["output"][k], base["output"][k] * table[k])
    assert close(out["middle"][0], base["middle"][0] * 0.3)


def test_uncond_multiplier_scales_the_negative_half_only(setup):
    base = outputs(setup, setup["controlnet"], cond_or_uncond=(1, 0))
    out = outputs(setup, controlled(setup, weights=ControlWeights(1.0, 0.4)), cond_or_uncond=(1, 0))
    for a, b in zip(out["output"], base["output"]):
        assert close(a[:FRAMES], b[:FRAMES] * 0.4) and close(a[FRAMES:], b[FRAMES:])


def test_frame_strengths_scale_their_frames_and_others_get_other_frames(setup):
    text = "0=1.0, 2:5=0.5, -1=0.25, 3=2"
    want = [1.0, 0.0, 0.5, 2.0, 0.5, 0.0, 0.0, 0.25]
    base = outputs(setup, setup["controlnet"])
    out = outputs(setup, controlled(setup, frames=parse_frame_strengths(text)))
    factor = torch.tensor(want * 2).reshape(-1, 1, 1, 1)
    for a, b in zip(out["output"] + out["middle"], base["output"] + base["middle"]):
        assert close(a, b * factor)
    keyed = add_keyframe(None, ControlKeyframe(0.0, 1.0, parse_frame_strengths("1"), other_frames=0.3))
    out = outputs(setup, controlled(setup, keyframes=keyed))
    factor = torch.tensor([0.3, 1.0] + [0.3] * 6).repeat(2).reshape(-1, 1, 1, 1)
    assert close(out["output"][3], base["output"][3] * factor)


def test_frame_strengths_follow_their_frames_into_a_window(setup):
    """A window holding frames 4..7 gets the strengths of frames 4..7 (and -1 is the video's last frame)."""
    strengths = parse_frame_strengths("4=0.2, 5=0.4, -1=0.8")
    window = ([4, 5, 6, 7], FRAMES)
    base = outputs(setup, setup["controlnet"], window=window)
    out = outputs(setup, controlled(setup, frames=strengths), window=window)
    factor = torch.tensor([0.2, 0.4, 0.0, 0.8] * 2).reshape(-1, 1, 1, 1)
    assert close(out["output"][0], base["output"][0] * factor)


def test_mask_scales_each_output_as_resized_from_the_video_size(setup):
    mask = torch.rand(FRAMES, 64, 64, generator=torch.Generator().manual_seed(9))
    base = outputs(setup, setup["controlnet"])
    out = outputs(setup, controlled(setup, mask=mask))
    for a, b in zip(out["output"], base["output"]):
        m = torch.nn.functional.interpolate(mask[:, None], size=b.shape[-2:], mode="bilinear").repeat(2, 1, 1, 1)
        assert close(a, b * m)


def _strengths(chain, sigmas, model):
    """The keyframe strength chosen at each step of ``sigmas``."""
    ms = model.model_sampling
    starts = [float(ms.percent_to_sigma(k.start_percent)) for k in chain]
    state = KeyframeState()
    out = []
    for s in sigmas[:-1]:
        advance(state, chain, starts, float(s), float(max(sigmas)))
        advance(state, chain, starts, float(s), float(max(sigmas)))  # a second call at the same step: no change
        out.append(state.current.strength)
    return out


def test_keyframes_take_effect_at_their_step_and_hold_their_guaranteed_steps(setup):
    model = setup["model"].model
    sigmas = [float(s) for s in model_sigmas(setup["model"], 8, 1.0)]
    percents = [float(1 - i / 8) for i in range(8)]  # not used: the check is by sigma as ACN compares
    assert len(percents) == 8
    at = lambda p: float(model.model_sampling.percent_to_sigma(p))  # noqa: E731
    first = next(i for i, s in enumerate(sigmas[:-1]) if at(0.5) >= s)  # the first step at or past 50 %
    chain = add_keyframe(None, ControlKeyframe(0.5, 0.4))
    assert _strengths(chain, sigmas, model) == [1.0] * first + [0.4] * (8 - first)
    # two keyframes reached at one step: the first holds its guaranteed 2 steps, then the next takes over
    chain = add_keyframe(add_keyframe(None, ControlKeyframe(0.3, 0.5, guarantee_steps=2)), ControlKeyframe(0.31, 0.7))
    step = next(i for i, s in enumerate(sigmas[:-1]) if at(0.3) >= s)
    got = _strengths(chain, sigmas, model)
    assert got[:step] == [1.0] * step and got[step:step + 2] == [0.5, 0.5] and set(got[step + 2:]) == {0.7}
    # guarantee 0: reached keyframes are passed over in one step to the last reached
    chain = add_keyframe(add_keyframe(None, ControlKeyframe(0.3, 0.5, guarantee_steps=0)), ControlKeyframe(0.31, 0.7))
    assert _strengths(chain, sigmas, model)[step] == 0.7
    # sorted by start whatever the order they were chained in
    chain = add_keyframe(add_keyframe(None, ControlKeyframe(0.6, 0.2)), ControlKeyframe(0.1, 0.9))
    assert [k.start_percent for k in chain] == [0.0, 0.1, 0.6]


def test_inherit_missing_keeps_or_drops_the_earlier_keyframes_weights(setup):
    w = ControlWeights(0.5)
    chain = add_keyframe(add_keyframe(None, ControlKeyframe(0.0, 1.0, weights=w)), ControlKeyframe(0.0, 1.0))
    state = KeyframeState()
    advance(state, chain, [1e9, 1e9, 1e9], 5.0, 5.0)
    assert state.weights is w  # the default start keyframe, then w's (guarantee 1 stops there)
    drop = add_keyframe(add_keyframe(None, ControlKeyframe(0.0, 1.0, weights=w, guarantee_steps=0)),
                        ControlKeyframe(0.0, 1.0, inherit_missing=False))
    state = KeyframeState()
    advance(state, drop, [1e9, 1e9, 1e9], 5.0, 5.0)
    assert state.weights is None and state.current is drop[2]


def test_a_keyframe_mask_stays_until_a_keyframe_brings_its_own(setup):
    """ACN's behaviour, which shared files were made under: a later keyframe without a mask keeps the earlier
    keyframe's mask even with inherit_missing off (only frame strengths and weights are dropped)."""
    m, m2 = torch.ones(1, 8, 8), torch.zeros(1, 8, 8)
    for inherit in (True, False):
        chain = add_keyframe(add_keyframe(None, ControlKeyframe(0.0, 1.0, mask=m, guarantee_steps=0)),
                             ControlKeyframe(0.0, 1.0, inherit_missing=inherit))
        state = KeyframeState()
        advance(state, chain, [1e9, 1e9, 1e9], 5.0, 5.0)
        assert state.mask is m and state.current is chain[2]
    chain = add_keyframe(add_keyframe(None, ControlKeyframe(0.0, 1.0, mask=m, guarantee_steps=0)),
                         ControlKeyframe(0.0, 1.0, mask=m2))
    state = KeyframeState()
    advance(state, chain, [1e9, 1e9, 1e9], 5.0, 5.0)
    assert state.mask is m2


def test_a_keyframe_at_strength_0_skips_the_controlnet(setup):
    chain = add_keyframe(None, ControlKeyframe(0.0, 0.0))
    assert outputs(setup, controlled(setup, keyframes=chain)) is None


def test_sampling_with_every_frame_at_0_is_sampling_without_the_controlnet():
    """End to end through core's sampler: the UNet adds zeros, so the frames are bit-identical to no ControlNet
    at all; a keyframe at strength 0 from the start skips it likewise."""
    config = tiny_unet_config()
    model = tiny_model_patcher(seed=0)
    g = torch.Generator().manual_seed(5)
    noise = torch.randn(FRAMES, 4, 8, 8, generator=g)
    cond = [[torch.randn(1, 77, 768, generator=g), {}]]
    hints = torch.rand(FRAMES, 64, 64, 3, generator=g)
    net = tiny_controlnet(config)

    def run(control):
        pos, neg = cond, cond
        if control is not None:
            pos, neg = nodes.ControlNetApplyAdvanced().apply_controlnet(cond, cond, control, hints, 1.0, 0.0, 1.0)
        return comfy.sample.sample_custom(model, noise, 1.0, euler_sampler(), model_sigmas(model, 2, 1.0), pos, neg,
                                          torch.zeros_like(noise), disable_pbar=True, seed=0)

    plain = run(None)
    assert not torch.equal(run(net), plain)
    zero = ControlNetControlsNode.execute(net, "0:8=0").args[0]
    assert torch.equal(run(zero), plain)
    off = ControlNetKeyframeNode.execute(0.0, 0.0, "", 0.0, True, 1).args[0]
    assert torch.equal(run(ControlNetControlsNode.execute(net, "", keyframes=off).args[0]), plain)
    half = ControlNetControlsNode.execute(net, "0:4=1").args[0]  # frames 4..7 unsteered
    out = run(half)
    assert not torch.equal(out[:4], plain[:4])


@pytest.mark.parametrize("text, message", [
    ("0=x", r"strength 'x'.*not a number"), ("a", r"'a' is not a frame"), ("1=-2", r"negative"),
    ("0=inf", r"not a finite number")])
def test_bad_frame_strengths(text, message):
    with pytest.raises(MotionModuleError, match=message):
        parse_frame_strengths(text, "frames")


def test_bad_inputs_name_the_input_and_what_to_do(setup):
    net = setup["controlnet"]
    with pytest.raises(MotionModuleError, match=r"frame 9 is outside the video's 8 frames"):
        Controls(frames=parse_frame_strengths("9=1")).check(FRAMES)
    with pytest.raises(MotionModuleError, match=r"mask has 3 frames but the video has 8"):
        Controls(mask=torch.ones(3, 64, 64)).check(FRAMES)
    with pytest.raises(MotionModuleError, match=r"another aspect ratio"):
        Controls(mask=torch.ones(1, 64, 32)).check(FRAMES, 64, 64)
    Controls(mask=torch.ones(1, 32, 32)).check(FRAMES, 64, 64)  # same aspect: resized
    with pytest.raises(MotionModuleError, match=r"block_weights: 5 numbers; give 12"):
        ControlNetWeightsNode.execute(0.825, 1.0, "1,1,1,1,1")
    with pytest.raises(MotionModuleError, match=r"control_net is empty"):
        ControlNetControlsNode.execute(None, "")
    with pytest.raises(MotionModuleError, match=r"connect a MASK"):
        ControlNetControlsNode.execute(net, "", mask=torch.ones(2, 2, 2, 2))
