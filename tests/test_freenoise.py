"""FreeNoise that never repeats a noise frame inside a context window, and the kept legacy rule.

"FreeNoise" (``glue/context.py: freenoise``) colours the frames of the run's window graph with the first
window's noise frames; "FreeNoise (legacy)" (``freenoise_legacy``) is the pack's first rule, kept bit for bit
for saved workflows. Windows are those of the host's own schedules (``comfy/context_windows.py``) at every
step. Run with ``-s`` to see the grid's counts.
"""
import types

import pytest
import torch

import comfy.context_windows as cw
import comfy.model_management
import comfy.sample
from animatediff_lightning.glue.context import (NOISE_TYPES, ContextNoise, apply_context_windows, freenoise,
                                                freenoise_ade, freenoise_legacy, make_handler, run_windows)
from animatediff_lightning.glue.injection import apply_motion_module, load_motion_module_handle
from animatediff_lightning.glue.sampling import euler_sampler, model_sigmas
from support.models import tiny_motion_module_file
from support.sd15_models import tiny_model_patcher, tiny_unet_config

SCHEDULES = ("static", "uniform", "looped")
LENGTHS = (16, 8, 24)
OVERLAPS = (0, 2, 4, 8, 12)
FRAMES = (17, 37, 64, 100, 253, 669)
STEPS = (4, 8)


def sigmas_of(steps: int) -> torch.Tensor:
    """A run's sigmas: ``steps`` model steps, then 0. Only their count shapes the windows."""
    return torch.linspace(14.6, 0.0, steps + 1)


def through_wrapper(noise, handler, sigmas, seed):
    """The noise ``ContextNoise`` (the pack's OUTER_SAMPLE wrapper) hands on to core's sampling."""
    executor = lambda noise, *args, **kwargs: noise  # noqa: E731  (stands in for core's outer_sample)
    executor.class_obj = types.SimpleNamespace(model_options={"context_handler": handler})
    return ContextNoise()(executor, noise, torch.zeros_like(noise), None, sigmas, seed=seed)


def row_ids(out: torch.Tensor, noise: torch.Tensor) -> list[int]:
    """For each output frame, the index of the input frame whose noise it carries (rows compared exactly)."""
    ids = []
    flat_in, flat_out = noise.reshape(noise.shape[0], -1), out.reshape(out.shape[0], -1)
    lookup = {tuple(row): i for i, row in enumerate(flat_in.tolist())}
    assert len(lookup) == noise.shape[0], "the test noise must have distinct rows"
    for row in flat_out.tolist():
        ids.append(lookup[tuple(row)])
    return ids


def windows_per_step(handler, frames: int, steps: int) -> list[list[int]]:
    """The windows the handler evaluates at each of the run's steps, through its own API."""
    x = torch.zeros(frames, 1)
    windows = []
    for step in range(steps):
        handler._step = step
        windows += [list(w.index_list) for w in handler.get_context_windows(None, x, {})]
    handler._step = 0
    return windows


def repeated(ids: list[int], windows: list[list[int]]) -> int:
    return sum(len({ids[i] for i in w}) < len(w) for w in windows)


def grid():
    for schedule in SCHEDULES:
        for closed_loop in (False, True):
            for length in LENGTHS:
                for overlap in (o for o in OVERLAPS if o < length):
                    for frames in FRAMES:
                        for steps in STEPS:
                            yield schedule, closed_loop, length, overlap, frames, steps


def test_grid_no_window_repeats_a_noise_frame():
    """Every window of every step, over the grid: 0 windows with a repeated noise frame for "FreeNoise"; the
    legacy rule's count is reported. Static and uniform later frames all carry first-window noise; looped ones
    carry first-window noise or, where every first-window frame is in a neighbouring window, their own."""
    new_bad = legacy_bad = total = runs = 0
    by_schedule = {s: [0, 0] for s in SCHEDULES}  # legacy repeats, windows
    later = own = 0  # looped: frames past the first window, and those that kept their own noise
    for schedule, closed_loop, length, overlap, frames, steps in grid():
        runs += 1
        handler = make_handler(length, overlap, schedule, "pyramid", closed_loop, "FreeNoise")
        noise = torch.randn(frames, 2, 1, 1, generator=torch.Generator().manual_seed(runs))
        seed = 1000 + runs
        ids = row_ids(through_wrapper(noise, handler, sigmas_of(steps), seed), noise)
        handler.noise_type = "FreeNoise (legacy)"
        legacy_ids = row_ids(through_wrapper(noise, handler, sigmas_of(steps), seed), noise)
        windows = windows_per_step(handler, frames, steps)
        bad, lbad = repeated(ids, windows), repeated(legacy_ids, windows)
        new_bad, legacy_bad, total = new_bad + bad, legacy_bad + lbad, total + len(windows)
        by_schedule[schedule][0] += lbad
        by_schedule[schedule][1] += len(windows)
        assert bad == 0, (schedule, closed_loop, length, overlap, frames, steps)
        assert ids[:length] == list(range(min(length, frames)))
        if frames <= length:
            assert ids == list(range(frames))
        elif schedule == "looped":
            assert all(src < length or src == f for f, src in enumerate(ids))
            later += frames - length
            own += sum(src == f for f, src in enumerate(ids) if f >= length)
        else:
            assert all(src < length for src in ids), (schedule, length, overlap, frames, steps)
    summary = (f"FreeNoise grid: {runs} runs, {total} windows over every step; with a repeated noise frame: "
               f"FreeNoise {new_bad}, FreeNoise (legacy) {legacy_bad} ({100 * legacy_bad / total:.1f}%; "
               + ", ".join(f"{s} {b}/{n}" for s, (b, n) in by_schedule.items())
               + f"). Looped: {own} of {later} later frames ({100 * own / max(later, 1):.1f}%) kept their own noise, "
               f"the rest carry first-window noise.")
    print("\n" + summary)
    assert new_bad == 0, summary
    assert legacy_bad > 0, summary  # the grid does catch repeats


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_later_frames_reuse_the_first_window(schedule):
    """Relatedness: at the pack's default 16/4, static and uniform frames past the first window all carry a
    first-window noise frame, and static ones are shuffled (not one fixed rotation)."""
    handler = make_handler(16, 4, schedule, "pyramid", schedule == "looped", "FreeNoise")
    noise = torch.randn(100, 4, 2, 2)
    ids = row_ids(through_wrapper(noise, handler, sigmas_of(8), 7), noise)
    assert ids[:16] == list(range(16))
    from_pool = sum(src < 16 for src in ids[16:])
    if schedule == "looped":  # wrapping windows meet the first frames: a few keep their own noise
        assert from_pool >= 0.8 * 84 and all(src < 16 or src == f for f, src in enumerate(ids))
    else:
        assert from_pool == 84
    if schedule == "static":
        rotation = [f % 16 for f in range(100)]
        assert ids != rotation


def test_same_seed_same_noise_other_seed_other_arrangement():
    noise = torch.randn(64, 4, 2, 2)
    handler = make_handler(16, 4, "static", "pyramid", False, "FreeNoise")
    a = through_wrapper(noise, handler, sigmas_of(4), 5)
    assert torch.equal(a, through_wrapper(noise, handler, sigmas_of(4), 5))
    b = through_wrapper(noise, handler, sigmas_of(4), 6)
    assert not torch.equal(a, b) and torch.equal(a[:16], b[:16])
    assert torch.equal(freenoise(noise, 16, 4, 5), a)  # static windows are freenoise's default


@pytest.mark.parametrize("noise_type", NOISE_TYPES)
def test_frames_within_one_window_are_unchanged(noise_type):
    handler = make_handler(16, 4, "uniform", "pyramid", False, noise_type)
    for frames in (1, 9, 16):
        noise = torch.randn(frames, 4, 2, 2)
        assert torch.equal(through_wrapper(noise, handler, sigmas_of(4), 3), noise)


def test_per_frame_is_the_noise_itself():
    handler = make_handler(16, 4, "static", "pyramid", False, "per-frame")
    noise = torch.randn(40, 4, 2, 2)
    assert through_wrapper(noise, handler, sigmas_of(4), 3) is noise


def test_noise_types_append_only():
    assert NOISE_TYPES == ("per-frame", "FreeNoise", "FreeNoise (legacy)", "FreeNoise (AnimateDiff-Evolved)")


def legacy_rule(frames: int, length: int, overlap: int, seed: int, seed_bits: int = 48) -> list[int]:
    """The legacy rule written out independently: block after block of ``length - overlap`` frames, each
    frame takes the source of the frame ``length`` before a seeded permutation of the block's positions."""
    src = list(range(frames))
    step = max(length - overlap, 1)
    g = torch.Generator().manual_seed(seed % (1 << seed_bits))
    start = length
    while start < frames:
        n = min(step, frames - start)
        perm = torch.randperm(n, generator=g).tolist()
        for i, p in enumerate(perm):
            src[start + i] = src[start - length + p]
        start += step
    return src


# Written down from the pack's FreeNoise before the window-safe one replaced it (frame i carries frame
# LEGACY[i]'s noise); "FreeNoise (legacy)" must keep giving exactly these.
LEGACY = {
    (30, 8, 2, 1): [0, 1, 2, 3, 4, 5, 6, 7, 1, 5, 2, 0, 3, 4, 7, 1, 5, 0, 2, 6, 7, 0, 3, 4, 1, 5, 2, 6, 0, 7],
    (41, 16, 4, 123456789): [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 4, 7, 2, 10, 6, 8, 5, 0, 3,
                             1, 11, 9, 10, 8, 6, 12, 4, 13, 15, 0, 5, 2, 14, 7, 3],
}


@pytest.mark.parametrize("args", list(LEGACY))
def test_legacy_is_the_previous_rule_bit_for_bit(args):
    frames, length, overlap, seed = args
    noise = torch.randn(frames, 4, 3, 3)
    handler = make_handler(length, overlap, "static", "pyramid", False, "FreeNoise (legacy)")
    out = through_wrapper(noise, handler, sigmas_of(4), seed)
    assert torch.equal(out, noise[LEGACY[args]])
    assert torch.equal(freenoise_legacy(noise, length, overlap, seed), out)
    assert legacy_rule(frames, length, overlap, seed) == LEGACY[args]


@pytest.mark.parametrize("frames,length,overlap,seed", [(100, 16, 4, 0), (253, 8, 2, 2 ** 50 + 9), (64, 24, 12, 77)])
def test_legacy_matches_the_rule_written_out(frames, length, overlap, seed):
    noise = torch.arange(frames, dtype=torch.float32).reshape(frames, 1, 1, 1).expand(frames, 4, 2, 2)
    out = freenoise_legacy(noise, length, overlap, seed)
    assert torch.equal(out, noise[legacy_rule(frames, length, overlap, seed)])


def test_windows_are_read_without_touching_the_handler():
    handler = make_handler(16, 4, "uniform", "pyramid", False, "FreeNoise")
    handler._step = 3
    windows = run_windows(handler, 100, 9)
    assert handler._step == 3 and len(set(windows)) == len(windows)
    every_step = {tuple(w) for w in windows_per_step(make_handler(16, 4, "uniform", "pyramid", False, "FreeNoise"),
                                                       100, 9)}
    assert set(windows) == every_step


def test_669_frames_8_steps_is_fast():
    """Windows of every step plus the arrangement (small latents: the final gather is a copy of the noise, as
    long as a clone). The best of three runs, so a busy machine does not fail it."""
    import time
    noise = torch.randn(669, 4, 8, 8)
    for schedule in SCHEDULES:
        handler = make_handler(16, 12, schedule, "pyramid", True, "FreeNoise")
        through_wrapper(noise, handler, sigmas_of(8), 1)  # warm
        times = []
        for _ in range(3):
            start = time.perf_counter()
            through_wrapper(noise, handler, sigmas_of(8), 1)
            times.append(time.perf_counter() - start)
        assert min(times) < 0.05, f"{schedule}: {min(times) * 1e3:.1f} ms"


# --- end to end: the noise reaching the sampler, window by window ----------------------------------------

@pytest.fixture(scope="module")
def model():
    config = tiny_unet_config()
    channels = tuple(config["model_channels"] * m for m in config["channel_mult"])
    motion = load_motion_module_handle(str(tiny_motion_module_file("v2", channels=channels)))
    yield apply_motion_module(tiny_model_patcher(seed=0), motion), config["context_dim"]
    comfy.model_management.unload_all_models()


def sampled_windows(model, noise_type: str, noise: torch.Tensor, steps: int, seed: int):
    """Samples through the handler; returns the first model call's x (the noise the sampler got, scaled) and
    every window the handler evaluated, with its step."""
    unet, context_dim = model
    handler = make_handler(16, 4, "uniform", "pyramid", False, noise_type)
    seen = {"x": None, "windows": []}

    def on_combine(h, x_in, outs, sub_conds, window, *rest):
        if seen["x"] is None:
            seen["x"] = x_in.clone()
        seen["windows"].append((h._step, list(window.index_list)))

    handler.callbacks.setdefault("callbacks", {}).setdefault(
        cw.IndexListCallbacks.COMBINE_CONTEXT_WINDOW_RESULTS, {})["test"] = [on_combine]
    windowed = apply_context_windows(unet, handler)
    cond = torch.randn(1, 77, context_dim, generator=torch.Generator().manual_seed(1))
    sigmas = model_sigmas(windowed, steps, 1.0)
    comfy.sample.sample_custom(windowed, noise, 1.0, euler_sampler(), sigmas, [[cond, {}]],
                               [[torch.zeros_like(cond), {}]], torch.zeros_like(noise), disable_pbar=True, seed=seed)
    return seen["x"], seen["windows"], sigmas, handler


def test_sampler_gets_no_repeated_noise_in_any_window(model):
    """4 Lightning steps over 40 frames in shifting (uniform) windows: the noise the sampler starts from has no
    window, at any step, holding one noise frame twice; the legacy rule's does (same run, same seed)."""
    noise = torch.randn(40, 4, 8, 8, generator=torch.Generator().manual_seed(2))
    x, windows, sigmas, handler = sampled_windows(model, "FreeNoise", noise, 4, seed=11)
    assert len({step for step, _ in windows}) == 4 and len({tuple(w) for _, w in windows}) > 3
    expected = freenoise(noise, 16, 4, 11, windows=run_windows(handler, 40, sigmas.shape[-1]))
    scale = (x * expected).sum() / (expected * expected).sum()  # σ₀, or √(1+σ₀²) at full denoise
    assert torch.allclose(x, scale * expected, rtol=1e-5, atol=1e-5)
    ids = row_ids(expected, noise)
    assert repeated(ids, [w for _, w in windows]) == 0
    assert len({tuple(r) for r in x.reshape(40, -1).tolist()}) == 16  # all from the first window
    for _, w in windows:
        rows = x[w].reshape(len(w), -1)
        assert torch.unique(rows, dim=0).shape[0] == len(w)

    x_legacy, legacy_windows, _, _ = sampled_windows(model, "FreeNoise (legacy)", noise, 4, seed=11)
    assert [w for _, w in legacy_windows] == [w for _, w in windows]
    legacy_repeats = sum(torch.unique(x_legacy[w].reshape(len(w), -1), dim=0).shape[0] < len(w)
                         for _, w in legacy_windows)
    assert legacy_repeats > 0


# "FreeNoise (AnimateDiff-Evolved)": ADE's _convert_to_freenoise (the same rule as legacy: the frames of each
# window step take a seeded shuffle of the frames one window back) seeded with the whole seed, as ADE's CPU
# generator is. tests/parity_ade.py runs ADE's own function beside it (docs/parity.md).
@pytest.mark.parametrize("frames,length,overlap,seed", [(100, 16, 4, 0), (253, 8, 2, 2 ** 50 + 9), (64, 24, 12, 77),
                                                        (40, 16, 0, 2 ** 64 - 1), (33, 16, 15, 12345)])
def test_ade_freenoise_is_the_rule_with_the_whole_seed(frames, length, overlap, seed):
    noise = torch.arange(frames, dtype=torch.float32).reshape(frames, 1, 1, 1).expand(frames, 4, 2, 2)
    out = freenoise_ade(noise, length, overlap, seed)
    assert torch.equal(out, noise[legacy_rule(frames, length, overlap, seed, seed_bits=64)])
    if seed < 2 ** 48:
        assert torch.equal(out, freenoise_legacy(noise, length, overlap, seed))


def test_ade_freenoise_through_the_context_options_and_the_sample_settings():
    """Both places that make context noise give ADE's arrangement: Context Options' noise_type, and Sample
    Settings' (its derive step, which knows the run's windows)."""
    from animatediff_lightning.glue.noise import _deriver
    noise, seed = torch.randn(45, 4, 2, 2), 2 ** 52 + 3
    handler = make_handler(16, 4, "uniform", "pyramid", False, "FreeNoise (AnimateDiff-Evolved)")
    expected = noise[legacy_rule(45, 16, 4, seed, seed_bits=64)]
    assert torch.equal(through_wrapper(noise, handler, sigmas_of(4), seed), expected)
    derived = _deriver({"context_handler": handler}, sigmas_of(4))(noise, "FreeNoise (AnimateDiff-Evolved)", seed)
    assert torch.equal(derived, expected)
