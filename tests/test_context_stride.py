"""Context Options (Lightning)'s context_stride: core's uniform and looped schedules through our handler give
AnimateDiff-Evolved's windows (literal lists from ADE's own functions, and a re-derivation of ADE's definition
over a sweep); a uniform window past the last frame stops with our message; the node's widget is appended and
optional (saved workflows with six values still run at stride 1); strided windows each equal that window rendered
alone (hints and per-frame prompts follow their frames)."""
import math

import pytest
import torch

from animatediff_lightning.glue.context import make_handler
from animatediff_lightning.motion_modules import MotionModuleError
from animatediff_lightning.nodes.context import ContextOptions
from test_context import render, setup, windowed_predictions  # noqa: F401  (setup: the module's fixture)

# ADE's create_windows_uniform_looped / create_windows_uniform_standard (AnimateDiff-Evolved
# animatediff/context.py, the copy read at /tmp/ade), run once by hand on these settings with an options object
# (context_length 16, context_overlap 4, closed_loop False; context_stride and step as named): their output,
# pasted as it came.
ADE_WINDOWS = {
    ("looped", 40, 2, 0): [
        list(range(0, 16)), list(range(12, 28)), list(range(24, 40)),
        [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30],
        [28, 30, 32, 34, 36, 38, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18]],
    ("uniform", 40, 2, 0): [
        list(range(0, 16)), list(range(12, 28)), list(range(24, 40)),
        [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30],
        [9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31, 33, 35, 37, 39]],
    ("looped", 40, 3, 1): [
        list(range(20, 36)), [32, 33, 34, 35, 36, 37, 38, 39, 0, 1, 2, 3, 4, 5, 6, 7], list(range(4, 20)),
        [21, 23, 25, 27, 29, 31, 33, 35, 37, 39, 1, 3, 5, 7, 9, 11],
        [9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31, 33, 35, 37, 39],
        [22, 26, 30, 34, 38, 2, 6, 10, 14, 18, 22, 26, 30, 34, 38, 2]],
    ("uniform", 48, 2, 1): [
        list(range(24, 40)), list(range(32, 48)), list(range(0, 16)), list(range(12, 28)),
        [17, 19, 21, 23, 25, 27, 29, 31, 33, 35, 37, 39, 41, 43, 45, 47], list(range(1, 17)),
        [5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31, 33, 35]],
}


def windows(handler, frames, step):
    handler._step = step
    return [w.index_list for w in handler.get_context_windows(None, torch.zeros(frames, 1), {})]


@pytest.mark.parametrize("case", list(ADE_WINDOWS), ids=lambda c: "%s-%d-frames-stride-%d-step-%d" % c)
def test_windows_are_ade_s_own(case):
    schedule, frames, stride, step = case
    handler = make_handler(16, 4, schedule, "flat", False, "per-frame", stride)
    assert windows(handler, frames, step) == ADE_WINDOWS[case]


# --- AnimateDiff-Evolved's uniform schedules, restated from its definition (animatediff/context.py) ---------
def _ordered_halving(step: int) -> float:
    return int(f"{step:064b}"[::-1], 2) / (1 << 64)


def ade_windows(frames, length, overlap, stride, closed_loop, step, looped):
    if frames < length or (not looped and frames == length):
        return [list(range(frames))]
    levels = min(stride, int(math.ceil(math.log2(frames / length))) + 1)
    h = _ordered_halving(step)
    out = []
    for spacing in (1 << k for k in range(levels)):  # windows of frames 1, 2, 4, … apart
        pad = int(round(frames * h))
        end = frames + pad + (0 if looped and closed_loop else -overlap)
        for start in range(int(h * spacing) + pad, end, length * spacing - overlap):
            out.append([(start + i * spacing) % frames for i in range(length)])
    if looped:
        return out
    # standard: a window that wraps is moved to end at the last frame (a window from its wrap point added
    # after it when the next one lacks that frame); repeats of an earlier window go
    i, repeats = 0, []
    while i < len(out):
        window = out[i]
        wrap = next((p for p in range(1, length) if window[p] < window[p - 1]), None)
        if wrap is not None:
            wrap_value = window[wrap]
            shifted = [((v - window[0]) + frames) % frames for v in window]
            out[i] = [v + frames - shifted[-1] - 1 for v in shifted]
            if wrap_value not in out[(i + 1) % len(out)]:
                out.insert(i + 1, list(range(wrap_value, wrap_value + length)))
        if out[i] in out[:i]:
            repeats.append(i)
        i += 1
    return [w for j, w in enumerate(out) if j not in repeats]


@pytest.mark.parametrize("schedule", ["uniform", "looped"])
@pytest.mark.parametrize("length,overlap", [(16, 4), (8, 2), (12, 0)])
def test_windows_match_ade_s_definition_over_a_sweep(schedule, length, overlap):
    for closed_loop in (False, True):
        for stride in (1, 2, 3, 4):
            handler = make_handler(length, overlap, schedule, "flat", closed_loop, "per-frame", stride)
            for frames in (length - 1, length, length + 1, 2 * length + 3, 40, 61, 96, 130):
                for step in range(5):
                    expected = ade_windows(frames, length, overlap, stride, closed_loop, step, schedule == "looped")
                    handler._step = step
                    got = handler.context_schedule.func(frames, handler, {})
                    assert got == expected, (closed_loop, stride, frames, step)


def test_static_ignores_stride():
    for frames in (20, 40, 96):
        assert windows(make_handler(16, 4, "static", "flat", False, "per-frame", 3), frames, 0) == \
            windows(make_handler(16, 4, "static", "flat", False, "per-frame", 1), frames, 0)


def test_a_uniform_window_past_the_last_frame_is_our_message():
    # 40 frames, stride 3: the spacing 4 needs 15 * 4 + 1 = 61 frames; ADE's window is [19, 23, …, 55, 19, …]
    handler = make_handler(16, 4, "uniform", "flat", False, "per-frame", 3)
    with pytest.raises(MotionModuleError, match=r"context_stride 3 on the uniform schedule with 40 frames gives a "
                                                r"window reaching frame 55, past the last \(39\)"):
        windows(handler, 40, 0)
    assert len(windows(handler, 61, 0)) > 3  # long enough for it: no error
    looped = make_handler(16, 4, "looped", "flat", False, "per-frame", 3)
    assert all(0 <= i < 40 for w in windows(looped, 40, 0) for i in w)  # looped wraps them round


def test_bad_stride():
    with pytest.raises(MotionModuleError, match="context_stride 0 must be a whole number of at least 1"):
        make_handler(16, 4, "uniform", "flat", False, "per-frame", 0)


def test_the_widget_is_appended_and_optional():
    schema = ContextOptions.define_schema()
    names = [i.id for i in schema.inputs]
    assert names == ["model", "context_length", "context_overlap", "context_schedule", "fuse_method", "closed_loop",
                     "noise_type", "context_stride"]
    stride = schema.inputs[-1]
    assert stride.optional and stride.default == 1 and stride.min == 1 and stride.max == 32
    assert "static ignores it" in stride.tooltip and "2^(n-1)" in stride.tooltip
    model = setup_model()
    six = ContextOptions.execute(model, 16, 4, "uniform", "pyramid", False, "per-frame").result[0]
    assert six.model_options["context_handler"].context_stride == 1
    seven = ContextOptions.execute(model, 16, 4, "looped", "pyramid", False, "per-frame", 3).result[0]
    assert seven.model_options["context_handler"].context_stride == 3


def setup_model():
    from support.sd15_models import tiny_model_patcher
    return tiny_model_patcher(seed=0)


def test_each_strided_window_equals_that_window_alone(setup):  # noqa: F811
    handler = make_handler(16, 4, "looped", "pyramid", False, "per-frame", 2)
    captured = windowed_predictions(setup, handler)
    assert [idx for idx, _ in captured] == ADE_WINDOWS[("looped", 40, 2, 0)]
    for idx, prediction in captured:
        alone = render(setup["model"], setup["controlnet"], setup["hints"][idx], setup["cond"][idx],
                       setup["noise"][idx])
        alone = setup["model"].model.process_latent_in(alone)
        error = float((prediction - alone).norm() / alone.norm())
        assert error < 1e-5, f"window {idx}: {error}"
