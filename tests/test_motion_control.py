"""Motion scale and effect per frame, per region and over the steps (glue/motion_control.py, multival.py).

The math is checked against a small attention written out here (einsum + softmax), against the plain path's
numbers where a control must change nothing, and the keyframe stepping against AnimateDiff-Evolved's rules
written out step by step. Parity with a fetched AnimateDiff-Evolved is measured by `make parity-ade`."""
import math

import pytest
import torch

import comfy.patcher_extension
from animatediff_lightning.glue.injection import apply_motion_module
from animatediff_lightning.glue.motion_control import KEY, MotionControl, MotionKeyframe, add_keyframe
from animatediff_lightning.glue.sampling import model_sigmas
from animatediff_lightning.motion_modules import MotionModuleError
from animatediff_lightning.motion_modules import multival
from animatediff_lightning.motion_modules.model import CastOps, MotionModule, sdpa_attention
from animatediff_lightning.nodes.motion_control import MotionKeyframeNode, MotionValueNode
from test_injection import assert_same_unet, handle, noise, sample, unet_fingerprint
from support.sd15_models import tiny_model_patcher

FRAMES = 16


@pytest.fixture(scope="module")
def base():
    return tiny_model_patcher(seed=0)


@pytest.fixture(scope="module")
def motion(tmp_path_factory):
    return handle(tmp_path_factory.mktemp("mm"))


def plain(base, motion, **kwargs):
    return apply_motion_module(base, motion, animatediff_schedule=False, **kwargs)


# --- the module's math --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def module():
    torch.manual_seed(0)
    m = MotionModule(32, 8, 32, 2, CastOps)
    for p in m.parameters():
        torch.nn.init.normal_(p, std=0.2)
    return m.eval()


def reference_attention(layer, x, key_scale):
    """Temporal self-attention written out: softmax((q · (k ⊙ key_scale)ᵀ) / √d) v, per head."""
    x = layer.pos_encoder(x)
    q, k, v = layer.to_q(x), layer.to_k(x) * key_scale, layer.to_v(x)
    b, f, inner = q.shape
    h = layer.heads
    q, k, v = (t.reshape(b, f, h, inner // h).permute(0, 2, 1, 3) for t in (q, k, v))
    w = torch.softmax(torch.einsum("bhid,bhjd->bhij", q, k) / math.sqrt(inner // h), dim=-1)
    out = torch.einsum("bhij,bhjd->bhid", w, v).permute(0, 2, 1, 3).reshape(b, f, inner)
    return layer.to_out[0](out)


def test_key_scale_per_frame_and_region_is_the_written_out_attention(module):
    layer = module.temporal_transformer.transformer_blocks[0].attention_blocks[0]
    x = torch.randn(2 * 3 * 3, 8, 32)  # (videos·h·w, frames, channels)
    value = torch.rand(8, 3, 3) * 2  # a mask per frame
    key_scale = multival.key_scale_for(value, 2, 8, 3, 3, None, x)
    assert key_scale.shape == (18, 8, 1)
    assert torch.equal(key_scale[4, 5, 0], value[5, 1, 1])  # video 0, pixel (1, 1), frame 5
    assert torch.equal(key_scale[9 + 4, 5, 0], value[5, 1, 1])  # video 1: the same mask
    ours = layer(x, sdpa_attention, key_scale)
    torch.testing.assert_close(ours, reference_attention(layer, x, key_scale), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(layer(x, sdpa_attention, 1.7), reference_attention(layer, x, 1.7),
                               rtol=1e-5, atol=1e-5)


def test_effect_blends_the_module_with_its_input(module):
    x = torch.randn(2 * 8, 32, 4, 4)
    full = module(x, 8)
    effect = torch.rand(8, 4, 4)
    e = multival.effect_for(effect, 2, 8, 4, 4, None, x)
    torch.testing.assert_close(module(x, 8, e), x * (1 - e) + full * e, rtol=1e-5, atol=1e-5)
    assert torch.equal(module(x, 8, multival.effect_for(multival.per_frame([0] * 8), 2, 8, 4, 4, None, x)), x)


def test_masks_are_resized_per_level_and_follow_window_frames():
    mask = torch.arange(12 * 8 * 8, dtype=torch.float32).reshape(12, 8, 8)
    like = torch.zeros(1)
    window = [4, 5, 6, 7]
    at = multival.at_level(mask, 4, 4, 4, window, like)
    whole = multival.at_level(mask, 12, 4, 4, None, like)
    assert at.shape == (4, 1, 4, 4) and torch.equal(at, whole[window])
    assert torch.equal(whole[:, 0], torch.nn.functional.interpolate(mask[:, None], size=(4, 4), mode="bilinear")[:, 0])


# --- through sampling ---------------------------------------------------------------------------------

def test_a_control_that_changes_nothing_adds_no_wrapper(base, motion):
    m = plain(base, motion, control=MotionControl(scale=1.0, effect=1.0))
    assert not m.model_options.get("transformer_options", {}).get("wrappers", {}).get(
        comfy.patcher_extension.WrappersMP.APPLY_MODEL, {}).get(KEY)
    assert torch.equal(sample(m, noise()), sample(plain(base, motion), noise()))


def test_a_float_effect_is_motion_scale(base, motion):
    assert torch.equal(sample(plain(base, motion, control=MotionControl(effect=0.5)), noise()),
                       sample(plain(base, motion, motion_scale=0.5), noise()))
    assert torch.equal(sample(plain(base, motion, motion_scale=0.5, control=MotionControl(effect=2.0)), noise()),
                       sample(plain(base, motion), noise()))


def test_effect_zero_on_every_frame_is_the_plain_unet(base, motion):
    off = plain(base, motion, control=MotionControl(effect=multival.per_frame([0.0] * FRAMES)))
    assert torch.equal(sample(off, noise()), sample(base, noise(), sigmas=model_sigmas(base, 4, 1.0)))


def test_per_frame_scale_of_ones_and_a_float_scale(base, motion):
    reference = sample(plain(base, motion), noise())
    ones = sample(plain(base, motion, control=MotionControl(scale=multival.per_frame([1.0] * FRAMES))), noise())
    torch.testing.assert_close(ones, reference, rtol=0, atol=0)
    sharp = sample(plain(base, motion, control=MotionControl(scale=1.5)), noise())
    masked = sample(plain(base, motion, control=MotionControl(scale=torch.full((1, 8, 8), 1.5))), noise())
    assert not torch.equal(sharp, reference)
    torch.testing.assert_close(masked, sharp, rtol=1e-5, atol=1e-6)


class Recorder:
    """An APPLY_MODEL wrapper after the control's: what each model call handed the slots."""

    def __init__(self):
        self.seen = []

    def __call__(self, executor, x, t, *args, **kwargs):
        step = (args[3] if len(args) > 3 else kwargs["transformer_options"]).get(KEY)
        self.seen.append((float(t[0]), step.effect, step.scale))
        return executor(x, t, *args, **kwargs)


def stepped(base, motion, control, steps=4):
    m = plain(base, motion, control=control)
    recorder = Recorder()
    m.add_wrapper_with_key(comfy.patcher_extension.WrappersMP.APPLY_MODEL, "test", recorder)
    sample(m, noise(), steps=steps)
    return recorder.seen


def test_keyframes_step_as_animatediff_evolved(base, motion):
    sampling = base.get_model_object("model_sampling")
    sigmas = model_sigmas(base, 4, 1.0)[:-1].tolist()
    # start_percent → σ as ComfyUI maps it; a keyframe takes over once its σ is reached
    half = sampling.percent_to_sigma(0.5)
    keyframes = add_keyframe(add_keyframe(None, MotionKeyframe(0.0, effect=0.2)), MotionKeyframe(0.5, effect=0.6))
    seen = stepped(base, motion, MotionControl(keyframes=keyframes))
    assert [e for _, e, _ in seen] == [0.2 if s > half else 0.6 for s in sigmas]
    # guarantee_steps: a keyframe holds its steps even when the next one's start is passed
    # (σ at t = 999, 749, 499, 249; the keyframes start at t ≈ 799 and 699)
    for guarantee, expected in ((1, [None, 0.2, 0.6, 0.6]), (2, [None, 0.2, 0.2, 0.6])):
        keyframes = add_keyframe(add_keyframe(None, MotionKeyframe(0.2, effect=0.2, guarantee_steps=guarantee)),
                                 MotionKeyframe(0.3, effect=0.6))
        assert [e for _, e, _ in stepped(base, motion, MotionControl(keyframes=keyframes))] == expected
    # inherit_missing: an unset value keeps the previous keyframe's (on) or is 1 (off); values multiply the run's
    for inherit, expected in ((True, 0.5 * 0.2), (False, 0.5)):
        keyframes = add_keyframe(add_keyframe(None, MotionKeyframe(0.0, effect=0.2, scale=1.5)),
                                 MotionKeyframe(0.3, inherit_missing=inherit))
        seen = stepped(base, motion, MotionControl(effect=0.5, keyframes=keyframes))
        assert seen[-1][1] == pytest.approx(expected) and seen[-1][2] == (1.5 if inherit else None)


def test_start_and_end_percent_turn_the_module_off_outside(base, motion):
    sampling = base.get_model_object("model_sampling")
    sigmas = model_sigmas(base, 4, 1.0)[:-1].tolist()
    lo, hi = sampling.percent_to_sigma(0.3), sampling.percent_to_sigma(0.8)
    seen = stepped(base, motion, MotionControl(start_percent=0.3, end_percent=0.8))
    assert [e for _, e, _ in seen] == [None if lo >= s >= hi else 0.0 for s in sigmas]


def test_per_frame_effect_follows_frames_into_context_windows(base, motion):
    from animatediff_lightning.glue.context import apply_context_windows, make_handler
    values = multival.per_frame([0.0] * 12 + [1.0] * 12)
    windowed = apply_context_windows(plain(base, motion, control=MotionControl(effect=values)),
                                     make_handler(12, 4, "static", "flat", False, "per-frame"))
    out = sample(windowed, noise(24))
    # frames 0..11 (module off in the window that covers them alone) are the plain UNet's frames
    alone = sample(base, noise(24)[:8], sigmas=model_sigmas(base, 4, 1.0))
    assert float((out[:8] - alone).norm() / alone.norm()) < 1e-5  # (other batch sizes: other rounding)
    with_motion = sample(apply_context_windows(plain(base, motion), make_handler(12, 4, "static", "flat", False,
                                                                                  "per-frame")), noise(24))
    assert (with_motion[:8] - alone).abs().max() > 1e-3  # the module does act on those frames otherwise


# --- nodes and bad input ------------------------------------------------------------------------------

def test_motion_value_node():
    assert MotionValueNode.execute(0.8, "", 0.0, 1.0, "absolute").result[0] == 0.8
    listed = MotionValueNode.execute(2.0, "1, 0.5,0.25", 0.0, 1.0, "absolute").result[0]
    assert torch.equal(listed.flatten(), torch.tensor([2.0, 1.0, 0.5]))
    mask = torch.tensor([[[0.0, 1.0], [0.5, 0.25]]])
    scaled = MotionValueNode.execute(1.0, "", 0.5, 1.5, "absolute", mask=mask).result[0]
    assert torch.allclose(scaled, torch.tensor([[[0.5, 1.5], [1.0, 0.75]]]))
    relative = MotionValueNode.execute(1.0, "", 0.0, 2.0, "relative", mask=mask * 0.5 + 0.25).result[0]
    assert torch.allclose(relative, mask * 2)
    assert torch.equal(MotionValueNode.execute([1.0, 0.5], "", 0.0, 1.0, "absolute").result[0].flatten(),
                       torch.tensor([1.0, 0.5]))


@pytest.mark.parametrize("args, message", [
    ((1.0, "1, x, 2", 0.0, 1.0, "absolute"), "per_frame: 'x' is not a number"),
    ((1.0, "1, 2, 3", 0.0, 1.0, "absolute", torch.ones(2, 4, 4)), "per_frame has 3 frames and mask has 2"),
])
def test_motion_value_errors(args, message):
    kwargs = {"mask": args[5]} if len(args) > 5 else {}
    with pytest.raises(MotionModuleError, match=message):
        MotionValueNode.execute(*args[:5], **kwargs)


def test_keyframes_out_of_order_are_refused():
    first = MotionKeyframeNode.execute(0.5, 1, True).result[0]
    with pytest.raises(MotionModuleError, match="out of order: this one starts at 0.2, after one at 0.5"):
        MotionKeyframeNode.execute(0.2, 1, True, previous=first)


@pytest.mark.parametrize("control, message", [
    (MotionControl(effect=multival.per_frame([1.0] * 5)), "the motion effect has 5 frames but the video has 16"),
    (MotionControl(scale=torch.ones(16, 8, 16)),
     r"the mask is 16×8, another aspect ratio than the video's latent \(8×8"),
    (MotionControl(keyframes=(MotionKeyframe(0.4, scale=torch.ones(3, 1, 1)),)),
     r"motion keyframe 1 \(start 0.4\)'s scale has 3 frames"),
])
def test_values_that_do_not_fit_the_video_stop_before_sampling(base, motion, control, message):
    fingerprint = unet_fingerprint(base)
    with pytest.raises(MotionModuleError, match=message):
        sample(plain(base, motion, control=control), noise())
    assert_same_unet(base, fingerprint)


def test_start_after_end_is_refused(base, motion):
    with pytest.raises(MotionModuleError, match=r"start_percent \(0.8\) and end_percent \(0.2\)"):
        plain(base, motion, control=MotionControl(start_percent=0.8, end_percent=0.2))


def test_autoselect_gives_animatelcm_its_lcm_schedule(base, tmp_path):
    import comfy_extras.nodes_model_advanced as advanced
    from animatediff_lightning.glue.schedules import AUTOSELECT, animatediff_model_sampling
    lcm = apply_motion_module(base, handle(tmp_path, version="AnimateLCM"), animatediff_schedule=AUTOSELECT)
    assert isinstance(lcm.get_model_object("model_sampling"), advanced.LCM)
    lightning = apply_motion_module(base, handle(tmp_path), animatediff_schedule=AUTOSELECT)
    expected = animatediff_model_sampling(base.get_model_object("model_sampling")).sigmas
    assert torch.equal(lightning.get_model_object("model_sampling").sigmas, expected)
