"""Context windows: schedules, per-window slicing of hints and per-frame conds, FreeNoise, prompt travel."""
import pytest
import torch

import comfy.context_windows as cw
import comfy.model_management
import comfy.sample
import nodes
from animatediff_lightning.glue.context import (LightningContextHandler, apply_context_windows, freenoise,
                                                make_handler)
from animatediff_lightning.glue.injection import apply_motion_module, load_motion_module_handle
from animatediff_lightning.glue.prompt_travel import interpolation_weights, parse_keyframes
from animatediff_lightning.glue.sampling import euler_sampler, model_sigmas
from animatediff_lightning.motion_modules import MotionModuleError
from support.controlnet_models import tiny_controlnet
from support.models import tiny_motion_module_file
from support.sd15_models import tiny_model_patcher, tiny_unet_config
from support.upstream import context_handler_class

FRAMES = 40


@pytest.mark.parametrize("schedule", ["static", "uniform", "looped"])
@pytest.mark.parametrize("frames", [20, 48, 96])
def test_windows_cover_every_frame(schedule, frames):
    handler = make_handler(16, 4, schedule, "pyramid", schedule == "looped", "per-frame")
    x = torch.zeros(frames, 4, 1, 1)
    for step in range(3):
        handler._step = step
        windows = handler.get_context_windows(None, x, {})
        covered = torch.zeros(frames)
        for window in windows:
            assert len(window.index_list) == 16 and len(set(window.index_list)) == 16
            weights = cw.get_context_weights(16, frames, window.index_list, handler)
            assert list(weights) == [1, 2, 3, 4, 5, 6, 7, 8, 8, 7, 6, 5, 4, 3, 2, 1]
            covered[window.index_list] += torch.tensor(weights, dtype=torch.float32)
        assert (covered > 0).all(), f"{schedule}: frames {torch.nonzero(covered == 0).flatten().tolist()} uncovered"


def test_static_windows_are_the_expected_index_lists():
    handler = make_handler(16, 4, "static", "flat", False, "per-frame")
    windows = [w.index_list for w in handler.get_context_windows(None, torch.zeros(40, 1), {})]
    assert windows == [list(range(0, 16)), list(range(12, 28)), list(range(24, 40))]


def test_bad_window_settings():
    with pytest.raises(MotionModuleError, match=r"context_overlap \(16\) must be smaller than context_length \(16\)"):
        make_handler(16, 16, "static", "flat", False, "per-frame")


def test_freenoise_reuses_first_window_noise():
    noise = torch.randn(40, 4, 2, 2)
    out = freenoise(noise, 16, 4, seed=3)
    assert torch.equal(out[:16], noise[:16])
    for frame in range(16, 40):  # every later frame carries some earlier frame's noise
        assert any(torch.equal(out[frame], noise[src]) for src in range(16))
    assert torch.equal(freenoise(noise[:16], 16, 4, seed=3), noise[:16])


# --- the windows' results, each against that window rendered alone -------------------------------------

@pytest.fixture(scope="module")
def setup():
    config = tiny_unet_config()
    base = tiny_model_patcher(seed=0)
    channels = tuple(config["model_channels"] * m for m in config["channel_mult"])
    motion = load_motion_module_handle(str(tiny_motion_module_file("v2", channels=channels)))
    g = torch.Generator().manual_seed(4)
    return {
        "model": apply_motion_module(base, motion),
        "controlnet": tiny_controlnet(config),
        "hints": torch.rand(FRAMES, 64, 64, 3, generator=g),
        "cond": torch.randn(FRAMES, 77, config["context_dim"], generator=g),  # per-frame (prompt travel)
        "noise": torch.randn(FRAMES, 4, 8, 8, generator=g),
    }


def render(model, controlnet, hints, cond, noise):
    positive, negative = nodes.ControlNetApplyAdvanced().apply_controlnet(
        [[cond, {}]], [[torch.zeros_like(cond[:1]), {}]], controlnet, hints, 1.0, 0.0, 1.0)
    sigmas = model_sigmas(model, 1, 1.0)  # one Euler step to σ=0: the output is the model's x0 prediction
    return comfy.sample.sample_custom(model, noise, 1.0, euler_sampler(), sigmas, positive, negative,
                                      torch.zeros_like(noise), disable_pbar=True, seed=0)


def windowed_predictions(setup, handler):
    captured = []
    # core looks callbacks up as handler.callbacks["callbacks"][call type][key]
    handler.callbacks.setdefault("callbacks", {}).setdefault(
        cw.IndexListCallbacks.COMBINE_CONTEXT_WINDOW_RESULTS, {})["test"] = [
        lambda h, x_in, outs, sub_conds, window, *rest: captured.append((window.index_list, outs[0].clone()))]
    model = setup["model"].clone()
    model.model_options["context_handler"] = handler
    render(model, setup["controlnet"], setup["hints"], setup["cond"], setup["noise"])
    return captured


@pytest.mark.parametrize("core_handler", ["ours", "core", "upstream core", "upstream core node"],
                         ids=["ours", "core ContextWindowsManual", "on a core that slices per-frame conds itself",
                              "upstream core node with causal_window_fix on"])
def test_each_window_equals_that_window_alone(setup, core_handler):
    handler = make_handler(16, 4, "static", "pyramid", False, "per-frame")
    if core_handler == "core":  # what the core node puts on a model; our motion module swaps in its own handler
        handler = cw.IndexListContextHandler(handler.context_schedule, handler.fuse_method, 16, 4)
    elif core_handler.startswith("upstream core"):
        # newer core slices per-frame conds (ours must not slice them twice) and, by default, puts an anchor
        # frame before every window not starting at 0 (ours must not let it reach the motion module)
        upstream = context_handler_class()
        combined = type("OnUpstreamCore", (LightningContextHandler, upstream), {})
        if core_handler == "upstream core":
            handler = combined(handler.context_schedule, handler.fuse_method, 16, 4)
        else:  # what 0.33's Context Windows (Manual) node makes, taken over as the motion module's samplings do
            handler = combined.from_core(upstream(handler.context_schedule, handler.fuse_method, 16, 4,
                                                  causal_window_fix=True))
    captured = windowed_predictions(setup, handler)
    assert [idx for idx, _ in captured] == [list(range(0, 16)), list(range(12, 28)), list(range(24, 40))]
    for idx, prediction in captured:
        alone = render(setup["model"], setup["controlnet"], setup["hints"][idx], setup["cond"][idx],
                       setup["noise"][idx])
        alone = setup["model"].model.process_latent_in(alone)  # sample_custom returns latent_format.process_out(x0)
        error = float((prediction - alone).norm() / alone.norm())
        assert error < 1e-5, f"window {idx[0]}..{idx[-1]}: {error}"


def test_an_anchor_frame_reaching_the_motion_module_is_a_clear_error(setup):
    """A core that pads windows (0.33's causal_window_fix, on a handler the pack did not take over) would move
    every position of the motion module: the run stops with a message instead of giving other frames."""
    template = make_handler(16, 4, "static", "pyramid", False, "per-frame")
    handler = context_handler_class()(template.context_schedule, template.fuse_method, 16, 4,
                                      causal_window_fix=True)
    with pytest.raises(MotionModuleError, match=r"17 frames for a context window of 16 \(12\.\.27\)"):
        windowed_predictions(setup, handler)


def test_one_window_covering_all_frames_equals_no_windows(setup):
    frames = 16
    args = (setup["controlnet"], setup["hints"][:frames], setup["cond"][:frames], setup["noise"][:frames])
    windowed = apply_context_windows(setup["model"], make_handler(16, 4, "static", "pyramid", False, "per-frame"))
    assert torch.equal(render(windowed, *args), render(setup["model"], *args))


def test_window_longer_than_position_encoding(setup):
    model = apply_context_windows(setup["model"], make_handler(40, 4, "static", "flat", False, "per-frame"))
    with pytest.raises(MotionModuleError, match="context_length 40 is longer than the 32 frames"):
        render(model, setup["controlnet"], setup["hints"], setup["cond"], torch.randn(48, 4, 8, 8))


def test_windows_lift_the_frame_limit(setup):
    model = apply_context_windows(setup["model"], make_handler(16, 4, "uniform", "pyramid", False, "FreeNoise"))
    out = render(model, setup["controlnet"], setup["hints"], setup["cond"], setup["noise"])
    assert out.shape[0] == FRAMES and torch.isfinite(out).all()
    comfy.model_management.unload_all_models()


# --- prompt travel ------------------------------------------------------------------------------------

def test_keyframes_parse_and_interpolate():
    keyframes = parse_keyframes("0: a cat\nin the snow\n\n8: a dog", frames=12)
    assert keyframes == [(0, "a cat in the snow"), (8, "a dog")]
    w = interpolation_weights([0, 8], 12)
    assert torch.equal(w[0], torch.tensor([1.0, 0.0], dtype=w.dtype))
    assert torch.allclose(w[2], torch.tensor([0.75, 0.25], dtype=w.dtype))
    assert torch.equal(w[11], torch.tensor([0.0, 1.0], dtype=w.dtype))


@pytest.mark.parametrize("text,message", [
    ("a cat", "has no frame number"),
    ("0: a cat\n0: a dog", "must come after keyframe 0"),
    ("0: a cat\n99: a dog", "keyframe 99 is past the last frame"),
    ("", "no keyframes"),
])
def test_keyframe_errors(text, message):
    with pytest.raises(MotionModuleError, match=message):
        parse_keyframes(text, frames=16)
