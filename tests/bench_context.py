"""`make bench` section: long videos in context windows (16 frames, overlap 4, static schedule) at 64×64 px.

Time should be linear in the number of UNet evaluations, which the schedule fixes: static windows of 16
with overlap 4 over F frames make ceil((F − 16) / 12) + 1 windows, each one 16-frame UNet call per step
(cfg 1). Peak memory should stay near the 48-frame run's: only one window's activations live at a time.
"""
from __future__ import annotations

import math
import time
from pathlib import Path

import torch

FRAMES = (48, 96, 240)


def _hwm_reset() -> None:
    Path("/proc/self/clear_refs").write_text("5")


def _hwm_gb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024 / 1e9
    return float("nan")


def windows_for(frames: int, length: int = 16, overlap: int = 4) -> int:
    return 1 if frames <= length else math.ceil((frames - length) / (length - overlap)) + 1


def run(motion, quick: bool = False) -> str:
    """``motion``: the SD1.5 ModelPatcher with the Lightning motion module applied."""
    import comfy.sample
    from animatediff_lightning.glue.context import apply_context_windows, make_handler
    from animatediff_lightning.glue.sampling import euler_sampler, model_sigmas

    steps = 1 if quick else 4
    model = apply_context_windows(motion, make_handler(16, 4, "static", "pyramid", False, "per-frame"))
    sigmas = model_sigmas(model, steps, 1.0)
    cond = [[torch.randn(1, 77, 768), {}]]
    rows = []
    for frames in FRAMES:
        noise = torch.randn(frames, 4, 8, 8)
        _hwm_reset()
        start = time.perf_counter()
        out = comfy.sample.sample_custom(model, noise, 1.0, euler_sampler(), sigmas, cond, cond,
                                         torch.zeros_like(noise), disable_pbar=True, seed=0)
        seconds = time.perf_counter() - start
        assert out.shape[0] == frames
        rows.append((frames, windows_for(frames), seconds / steps, _hwm_gb()))
    base_frames, base_windows, base_step, base_hwm = rows[0]
    lines = [
        "## Long videos: context windows",
        "",
        f"Windows of 16 frames, overlap 4, static schedule, pyramid fuse, 64×64 px (latent 8×8), Lightning motion "
        f"module, cfg 1, {steps} Euler step{'s' if steps > 1 else ''} per run, one run each. UNet evaluations "
        "per step = windows (each a 16-frame call): ceil((F − 16) / 12) + 1. Peak memory is the process's "
        "VmHWM during the run (reset before each), weights included.",
        "",
        "| frames | windows = UNet calls / step | s / step | s / frame / step | s / window | "
        "time vs. 48 frames (predicted by windows) | peak RSS | vs. 48 frames |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for frames, windows, step, hwm in rows:
        lines.append(f"| {frames} | {windows} | {step:.2f} s | {step / frames:.3f} s | {step / windows:.2f} s | "
                     f"{step / base_step:.2f}× ({windows / base_windows:.2f}×) | {hwm:.2f} GB | "
                     f"{hwm / base_hwm:.2f}× |")
    per_window = [step / windows for _, windows, step, _ in rows]
    spread = max(per_window) / min(per_window)
    worst_mem = max(hwm for *_, hwm in rows) / base_hwm
    lines += [
        "",
        f"Seconds per window stay within {spread:.2f}× of each other across 48–240 frames: time follows the "
        f"number of UNet evaluations the schedule implies, i.e. it is linear in frames. Peak memory is at most "
        f"{worst_mem:.2f}× the 48-frame run's (goal ≤ 1.3×: **{'met' if worst_mem <= 1.3 else 'missed'}**).",
        "",
    ]
    return "\n".join(lines)

