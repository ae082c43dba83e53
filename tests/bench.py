"""`make bench`: speed and memory of the motion module inside ComfyUI's SD1.5 UNet, written to docs/benchmarks.md.

    .venv/bin/python tests/bench.py            # full run (~10 min on 2 cores), rewrites docs/benchmarks.md
    .venv/bin/python tests/bench.py --quick    # smoke test, 1 repeat, writes tests/.artifacts/benchmarks-quick.md

A standalone script, not a pytest test. It boots ComfyUI in-process on the CPU exactly as tests/conftest.py
does, and uses the random-weight real-shape models of tests/support (SD1.5 UNet from the cached fp16
checkpoint, the 908,929,664-byte v2/Lightning motion module), generated into the git-ignored cache on first
use. Random weights change nothing about speed or memory: those depend on shapes and dtypes only.

Shared machines are noisy, so every comparison is measured side by side in this one run: the runs with and
without the motion module alternate (ABBA order inside each round), each is repeated, and the tables give
medians and ratios (the ratio of each adjacent pair, then their median). Peak RSS is measured in fresh
subprocesses (this script re-invokes itself with ``--rss-child``), one per model, alternating.
"""
from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import platform
import resource
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import conftest  # noqa: F401  (boots ComfyUI on the CPU and imports this pack as `animatediff_lightning`)

import torch

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
QUICK_DOC = ROOT / "tests" / ".artifacts" / "benchmarks-quick.md"
FRAMES = 16
CONTEXT_DIM = 768
GB = 1e9

# Goals (from the issue).
GOAL_STEP_RATIO = 1.35     # motion-module step / plain step at 128 px
GOAL_LOAD_INJECT_S = 0.5   # load + apply + first-step one-off extra
GOAL_SPEEDUP = 11.0        # 25 steps cfg 7.5 vs 4 steps cfg 1, both with the motion module, at 64 px

# Repeats: (full, quick).
REPEATS = {
    "rss": (2, 1),        # rounds of (plain, motion) subprocesses
    "step128": (3, 1),    # rounds of (plain, motion) 4-step runs at 128 px
    "step64": (5, 2),     # rounds of (plain, fresh motion module, warm motion module) at 64 px
    "ksampler": (2, 1),   # rounds of (4-step cfg 1, 25-step cfg 7.5) at 64 px
}

START = time.perf_counter()
LOAD_SAMPLES: list[float] = []  # 1-min load average after every timed run: how busy the machine was


def progress(message: str) -> None:
    print(f"[{time.perf_counter() - START:6.0f} s] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------- models

def models():
    """The cached test models (generated on first use): (checkpoint path, motion-module path)."""
    from support.models import real_motion_module_file
    from support.sd15_models import sd15_checkpoint_file
    return sd15_checkpoint_file(), real_motion_module_file()


def load_plain():
    from support.sd15_models import sd15_model_patcher
    return sd15_model_patcher()


def read_through(path: Path) -> None:
    """Read a file once so it sits in the page cache (what 'load from page cache' assumes)."""
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass


def conditioning(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    positive = [[torch.randn(1, 77, CONTEXT_DIM, generator=g), {}]]
    negative = [[torch.randn(1, 77, CONTEXT_DIM, generator=g), {}]]
    return positive, negative


def make_noise(latent: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(FRAMES, 4, latent, latent, generator=torch.Generator().manual_seed(seed))


# --------------------------------------------------------------------------------------------- sampling

@dataclass
class Run:
    total: float                                      # wall time of the sampling call
    steps: list[float] = field(default_factory=list)  # wall time per step; step 1 includes the sampler's setup
    finite: bool = True

    @property
    def steady(self) -> float:
        """Median of steps 2.. (steady state: no setup, no one-off work)."""
        return statistics.median(self.steps[1:]) if len(self.steps) > 1 else self.total

    @property
    def first(self) -> float:
        return self.steps[0]


def _timed(call) -> Run:
    """Wall time of ``call(callback)``, in total and per sampler step (from the callback)."""
    gc.collect()
    marks: list[float] = []

    def callback(step, x0, x, total_steps):
        marks.append(time.perf_counter())

    start = time.perf_counter()
    out = call(callback)
    end = time.perf_counter()
    LOAD_SAMPLES.append(os.getloadavg()[0])
    bounds = [start] + marks
    return Run(end - start, [b - a for a, b in zip(bounds, bounds[1:])], bool(torch.isfinite(out).all()))


def lightning_run(model, latent: int, steps: int = 4, cfg: float = 1.0) -> Run:
    """This pack's path: core ``sample_custom`` with our Euler sampler on Lightning's trailing sigmas."""
    import comfy.sample
    from animatediff_lightning.glue.sampling import euler_sampler, model_sigmas
    positive, negative = conditioning()
    noise = make_noise(latent)
    sigmas = model_sigmas(model, steps, 1.0)
    return _timed(lambda cb: comfy.sample.sample_custom(
        model, noise, cfg, euler_sampler(), sigmas, positive, negative, torch.zeros_like(noise),
        callback=cb, disable_pbar=True, seed=0))


def ksampler_run(model, latent: int, steps: int = 25, cfg: float = 7.5) -> Run:
    """What core KSampler does (``comfy.sample.sample``): euler, normal scheduler."""
    import comfy.sample
    positive, negative = conditioning()
    noise = make_noise(latent)
    return _timed(lambda cb: comfy.sample.sample(
        model, noise, steps, cfg, "euler", "normal", positive, negative, torch.zeros_like(noise),
        callback=cb, disable_pbar=True, seed=0))


# --------------------------------------------------------------------------------------------- statistics

def med(values) -> float:
    return statistics.median(values)


def spread(values, unit: str = "s", digits: int = 3) -> str:
    """'median (min–max, n)' for a table cell."""
    values = list(values)
    if len(values) == 1:
        return f"{values[0]:.{digits}f} {unit} (n=1)"
    return f"{med(values):.{digits}f} {unit} ({min(values):.{digits}f}–{max(values):.{digits}f}, n={len(values)})"


def ratios(numerators, denominators):
    return [a / b for a, b in zip(numerators, denominators)]


def ok(met: bool) -> str:
    return "**met**" if met else "**missed**"


# --------------------------------------------------------------------------------------------- peak RSS

def proc_status() -> dict[str, int]:
    """VmHWM, VmRSS, RssAnon, RssFile of this process in KiB."""
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS", "RssAnon", "RssFile"):
                out[key] = int(value.split()[0])
    return out


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) to the current RSS (Linux ≥ 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def rss_child(kind: str, latent: int) -> None:
    """Fresh process: load the plain UNet; reset the peak mark; (motion) load + apply the module; sample 4
    steps; print JSON with the peak of the UNet-loading phase and the peak of the sampling phase."""
    from animatediff_lightning.glue.injection import apply_motion_module, load_motion_module_handle
    _, motion_path = models()
    model = load_plain()
    gc.collect()
    load_peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, proc_status()["VmHWM"])
    reset = reset_peak_rss()
    if kind == "motion":
        model = apply_motion_module(model, load_motion_module_handle(str(motion_path)))
    run = lightning_run(model, latent)
    status = proc_status()
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # since the reset, where the reset worked
    print(json.dumps({
        "kind": kind, "load_peak_kib": load_peak, "phase_peak_kib": status["VmHWM"] if reset else None,
        "process_peak_kib": max(load_peak, maxrss, status["VmHWM"]),
        "rss_anon_kib": status["RssAnon"], "rss_file_kib": status["RssFile"], "seconds": run.total,
    }))


def run_rss_child(kind: str, latent: int) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--rss-child", kind, "--latent", str(latent)]
    child = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = child.communicate()
    finally:
        if child.poll() is None:  # interrupted: never leave the child running
            child.kill()
            child.wait()
    if child.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{stderr[-3000:]}")
    return json.loads(stdout.strip().splitlines()[-1])


def measure_rss(rounds: int, latent: int) -> dict:
    results = {"plain": [], "motion": []}
    for r in range(rounds):
        order = ("plain", "motion") if r % 2 == 0 else ("motion", "plain")
        for kind in order:
            out = run_rss_child(kind, latent)
            results[kind].append(out)
            progress(f"peak RSS round {r + 1}/{rounds}, {kind}: whole process {out['process_peak_kib'] * 1024 / GB:.2f} GB, "
                     f"sampling phase {(out['phase_peak_kib'] or 0) * 1024 / GB:.2f} GB")
    return results


# --------------------------------------------------------------------------------------------- machine

def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import comfy.ldm.modules.attention as attention
    memory = None
    try:
        with open("/proc/meminfo") as f:
            memory = int(f.readline().split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return {
        "cpu": cpu, "cores": len(os.sched_getaffinity(0)), "threads": torch.get_num_threads(),
        "memory": memory, "torch": torch.__version__, "python": platform.python_version(),
        "attention": attention.optimized_attention.__name__, "load": os.getloadavg(),
    }


# --------------------------------------------------------------------------------------------- measurements

def measure_steps(plain, motion, latent: int, rounds: int) -> dict:
    """Alternating 4-step cfg-1 runs with and without the motion module (after one warm-up run each)."""
    px = latent * 8
    progress(f"{px} px: warm-up runs")
    lightning_run(plain, latent)
    lightning_run(motion, latent)
    runs = {"plain": [], "motion": []}
    for r in range(rounds):
        order = ("plain", "motion") if r % 2 == 0 else ("motion", "plain")
        for kind in order:
            runs[kind].append(lightning_run(plain if kind == "plain" else motion, latent))
        progress(f"{px} px round {r + 1}/{rounds}: plain {runs['plain'][-1].steady:.3f} s/step, "
                 f"motion module {runs['motion'][-1].steady:.3f} s/step")
    return runs


def measure_first_step(plain, warm_motion, motion_path: Path, latent: int, rounds: int) -> dict:
    """Per round: a warm plain run, then a freshly loaded + applied module's first run, then a warm one."""
    from animatediff_lightning.glue.injection import apply_motion_module, load_motion_module_handle
    import comfy.model_management
    read_through(motion_path)
    lightning_run(plain, latent)  # warm-up at this size (plain and motion module)
    lightning_run(warm_motion, latent)
    out = {"load": [], "apply": [], "plain": [], "fresh": [], "warm": []}
    for r in range(rounds):
        out["plain"].append(lightning_run(plain, latent))
        start = time.perf_counter()
        handle = load_motion_module_handle(str(motion_path))
        loaded = time.perf_counter()
        motion = apply_motion_module(plain, handle)
        applied = time.perf_counter()
        out["load"].append(loaded - start)
        out["apply"].append(applied - loaded)
        out["fresh"].append(lightning_run(motion, latent))
        out["warm"].append(lightning_run(motion, latent))
        progress(f"first step round {r + 1}/{rounds}: load {out['load'][-1]:.3f} s, apply {out['apply'][-1]:.4f} s, "
                 f"step 1 fresh {out['fresh'][-1].first:.3f} s / warm {out['warm'][-1].first:.3f} s / "
                 f"plain {out['plain'][-1].first:.3f} s")
        del motion, handle
        gc.collect()
        comfy.model_management.cleanup_models()
    return out


def measure_ksampler(motion, latent: int, rounds: int) -> dict:
    """Lightning 4 steps cfg 1 vs the usual 25 steps cfg 7.5 (KSampler euler/normal), both with the module.
    Order L K L K … L: every baseline run sits between two Lightning runs."""
    runs = {"lightning": [], "ksampler": []}
    order = ["lightning", "ksampler"] * rounds + ["lightning"]
    for i, kind in enumerate(order):
        progress(f"4 vs 25 steps, run {i + 1}/{len(order)}: {kind} ...")
        run = lightning_run(motion, latent) if kind == "lightning" else ksampler_run(motion, latent)
        runs[kind].append(run)
        progress(f"4 vs 25 steps, run {i + 1}/{len(order)}: {kind} {run.total:.2f} s")
    return runs


# --------------------------------------------------------------------------------------------- report

def step_table(runs: dict, px: int) -> tuple[list[str], float, float]:
    """Rows for one size; returns (rows, median of paired ratios, best/best ratio)."""
    plain, motion = runs["plain"], runs["motion"]
    paired = ratios([m.steady for m in motion], [p.steady for p in plain])
    ratio = med(paired)
    best_plain = min(t for p in plain for t in p.steps[1:])
    best_motion = min(t for m in motion for t in m.steps[1:])
    best = best_motion / best_plain
    lines = [
        f"| {px}×{px} px (latent {px // 8}×{px // 8}), 16 frames | plain UNet | with motion module | ratio |",
        "|---|---|---|---|",
        f"| **s/step**, steady (median of steps 2–4) | {spread(p.steady for p in plain)} "
        f"| {spread(m.steady for m in motion)} | **{ratio:.3f}×** (pairs {min(paired):.3f}–{max(paired):.3f}) |",
        f"| s/step, best step 2–4 of all runs | {best_plain:.3f} s | {best_motion:.3f} s | {best:.3f}× |",
        f"| s/step, total / 4 | {spread(p.total / 4 for p in plain)} | {spread(m.total / 4 for m in motion)} "
        f"| {med(ratios([m.total for m in motion], [p.total for p in plain])):.3f}× |",
        f"| step 1 (includes sampler setup) | {spread(p.first for p in plain)} | {spread(m.first for m in motion)} "
        f"| {med(ratios([m.first for m in motion], [p.first for p in plain])):.3f}× |",
        f"| motion module's share of a step (paired difference) | | "
        f"{spread(m.steady - p.steady for m, p in zip(motion, plain))} | |",
    ]
    return lines, ratio, best


def nozero(x: float, digits: int = 3) -> float:
    """x, without the '-0.000' of a tiny negative value."""
    return 0.0 if abs(x) < 0.5 * 10 ** -digits else x


def gb(kib_values) -> list[float]:
    return [v * 1024 / GB for v in kib_values]


def write_report(path: Path, info: dict, args, results: dict, elapsed: float, motion_bytes: int,
                 load_after: tuple) -> dict:
    goals = {}
    out = [
        "# Benchmarks",
        "",
        "Generated by `make bench` (`tests/bench.py`); the script rewrites this whole file on every run, so do not "
        "edit it by hand. It measures what the AnimateDiff-Lightning motion module costs inside ComfyUI's SD1.5 "
        "UNet on the CPU, with the random-weight real-shape test models of `tests/support`: the SD1.5 UNet of the "
        "generated fp16 checkpoint (ComfyUI loads it as fp32 on the CPU) and the real-shape v2/Lightning motion "
        f"module ({motion_bytes:,} bytes, fp16, cast per layer at run time). Speed and memory depend on shapes "
        "and dtypes only, not on the weight values. 16 frames, one video per batch. Runs with and without the "
        "motion module alternate and repeat; cells read *median (min–max, n)*; a ratio is the median of the "
        "ratios of adjacent pairs, so a slow phase of a noisy machine hits both sides. All times are wall-clock. "
        "Next to the medians, *best* values (the fastest run or step of each kind) estimate an idle machine "
        "when other work competed for the cores part of the time.",
        "",
        "## Machine and command",
        "",
        f"- CPU: {info['cpu']}, {info['cores']} cores available, torch threads {info['threads']}"
        + (f", {info['memory'] / 2**30:.1f} GiB RAM" if info["memory"] else ""),
        f"- torch {info['torch']}, Python {info['python']}; ComfyUI's attention on this device: "
        f"`{info['attention']}` (used by the UNet and by the motion module)",
        f"- load average (1 min) at start {info['load'][0]:.2f}, at end {load_after[0]:.2f}; after each timed run "
        f"median {med(LOAD_SAMPLES or [0]):.2f}, max {max(LOAD_SAMPLES or [0]):.2f} (this run itself adds about "
        f"{info['threads']}: much more means other work competed for the cores and the times are inflated)",
        f"- command: `{args.command}`{' (quick: 1 repeat, a smoke test, not for citing)' if args.quick else ''}; "
        f"run {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}, took {elapsed / 60:.1f} min",
        "",
    ]
    summary_at = len(out)

    # per-step
    out += ["## Seconds per step, with and without the motion module", "",
            "Lightning's path: 4 Euler steps on the trailing timesteps, cfg 1 (one UNet call per step), "
            "`comfy.sample.sample_custom` + `euler_sampler()` + `model_sigmas()`; step times from the sampler "
            "callback, after one warm-up run of each model at each size.", ""]
    lines128, ratio128, best128 = step_table(results["step128"], 128)
    out += lines128 + [""]
    s64 = results["first"]
    lines64, ratio64, best64 = step_table({"plain": s64["plain"], "motion": s64["warm"]}, 64)
    out += lines64 + ["", "The 64 px runs are the plain and warm motion-module runs of the rounds below.", ""]
    goals["step"] = (f"per-step ratio at 128 px ≤ {GOAL_STEP_RATIO}×", f"{ratio128:.3f}×", ratio128 <= GOAL_STEP_RATIO,
                     f"{best128:.3f}×", best128 <= GOAL_STEP_RATIO)

    # first step
    load, apply = med(s64["load"]), med(s64["apply"])
    one_off = [f.first - w.first for f, w in zip(s64["fresh"], s64["warm"])]
    over_plain = [f.first - p.first for f, p in zip(s64["fresh"], s64["plain"])]
    total_extra = load + apply + med(one_off)
    out += ["## First-step extra: load + inject", "",
            "Rounds at 64 px: a warm plain run; `load_motion_module_handle(path)` (the file read through once "
            "beforehand, so it comes from the page cache; safetensors are memory-mapped); "
            "`apply_motion_module(plain, handle)`; the first sampling with that fresh module; a second, warm one. "
            "The first step's one-off extra is the fresh run's step 1 minus the warm run's step 1: both include "
            "the sampler's setup and one motion-module step, so what remains is ModelPatcher loading, slot "
            "injection and paging in the memory-mapped weights.", "",
            "| | wall time |", "|---|---|",
            f"| `load_motion_module_handle` ({motion_bytes / 1e6:.0f} MB file from page cache) | {spread(s64['load'])} |",
            f"| `apply_motion_module` | {spread(s64['apply'], digits=4)} |",
            f"| first step's one-off extra (fresh step 1 − warm step 1) | {spread(one_off)} |",
            f"| **load + apply + one-off extra** (sum of medians) | **{total_extra:.3f} s** |",
            f"| for reference: fresh step 1 − warm plain step 1 (includes one motion-module step) | {spread(over_plain)} |",
            f"| for reference: step 1 of fresh / warm motion module / warm plain | "
            f"{med(f.first for f in s64['fresh']):.3f} / {med(w.first for w in s64['warm']):.3f} / "
            f"{med(p.first for p in s64['plain']):.3f} s |",
            ""]
    best_extra = (min(s64["load"]) + min(s64["apply"])
                  + min(f.first for f in s64["fresh"]) - min(w.first for w in s64["warm"]))
    goals["load"] = (f"load + inject ≤ {GOAL_LOAD_INJECT_S} s", f"{total_extra:.3f} s", total_extra <= GOAL_LOAD_INJECT_S,
                     f"{best_extra:.3f} s", best_extra <= GOAL_LOAD_INJECT_S)

    # RSS
    rss = results["rss"]
    rows = {}
    for key in ("process_peak_kib", "phase_peak_kib", "load_peak_kib"):
        if all(r[key] for r in rss["plain"] + rss["motion"]):
            rows[key] = (gb(r[key] for r in rss["plain"]), gb(r[key] for r in rss["motion"]))
    out += ["## Peak RSS extra over plain", "",
            "Fresh subprocesses (`tests/bench.py --rss-child plain|motion`), alternating: load the SD1.5 UNet; "
            "(motion only) `load_motion_module_handle` + `apply_motion_module`; one 4-step cfg-1 sampling at "
            "128 px. Peak RSS, as `getrusage().ru_maxrss` and `/proc/self/status` VmHWM report it, counts every "
            "resident page of the process: anonymous memory (the fp32 UNet, activations, the allocator's cache) "
            "and file-backed pages it has mapped and touched — the memory-mapped safetensors weights count in full "
            "although they are page-cache pages shared with other processes. Loading the UNet (fp16 checkpoint "
            "mapped + its fp32 copy) can be the process's highest point and hide the module in the whole-process "
            "peak, so the peak of what comes after is measured alone too: the kernel's peak mark is reset "
            "(`/proc/self/clear_refs` ← 5, which also resets `ru_maxrss`) once the UNet is loaded. The goal is "
            "judged on that peak.", "",
            "| peak RSS | plain | with motion module | extra |", "|---|---|---|---|"]
    labels = {"phase_peak_kib": "**after the UNet is loaded**: module load + apply + sampling",
              "process_peak_kib": "whole process (`ru_maxrss` before the reset, VmHWM after)",
              "load_peak_kib": "loading the UNet only"}
    extras = {}
    for key in ("phase_peak_kib", "process_peak_kib", "load_peak_kib"):
        if key in rows:
            p, m = rows[key]
            extras[key] = nozero(med(m) - med(p))
            bold = "**" if key == "phase_peak_kib" else ""
            out.append(f"| {labels[key]} | {spread(p, 'GB')} | {spread(m, 'GB')} | {bold}{extras[key]:.3f} GB{bold} |")
    out.append(f"| resident after sampling: anonymous / file-backed | "
               f"{med(gb(r['rss_anon_kib'] for r in rss['plain'])):.2f} / {med(gb(r['rss_file_kib'] for r in rss['plain'])):.2f} GB | "
               f"{med(gb(r['rss_anon_kib'] for r in rss['motion'])):.2f} / {med(gb(r['rss_file_kib'] for r in rss['motion'])):.2f} GB | |")
    out += ["", f"Stored motion-module weights: {motion_bytes / GB:.3f} GB (fp16); GB = 10⁹ bytes.", ""]
    judged_key = "phase_peak_kib" if "phase_peak_kib" in extras else "process_peak_kib"
    judged = extras[judged_key]
    goals["rss"] = (f"peak RSS extra ≤ stored weights ({motion_bytes / GB:.2f} GB)",
                    f"{judged:.3f} GB ({'after UNet load' if judged_key == 'phase_peak_kib' else 'whole process'}; "
                    f"whole process {extras['process_peak_kib']:.3f} GB)", judged * GB <= motion_bytes,
                    "(not timing)", judged * GB <= motion_bytes)

    # 4 vs 25
    ks = results["ksampler"]
    light, base25 = ks["lightning"], ks["ksampler"]
    speedup = med(r.total for r in base25) / med(r.total for r in light)
    best_speedup = min(r.total for r in base25) / min(r.total for r in light)
    finite = all(r.finite for r in light + base25)
    out += ["## 4-step Lightning vs 25 steps with cfg 7.5", "",
            "End-to-end sampling time at 64×64 px (latent 8×8), 16 frames, **both with the motion module applied** "
            "(AnimateDiff's usual baseline is the motion module at 25 steps, cfg 7.5): Lightning = "
            "`sample_custom` + `euler_sampler()` on the 4 trailing sigmas, cfg 1 (one UNet call of 16 frames per "
            "step); baseline = what core KSampler runs, `comfy.sample.sample` with `euler`, the `normal` "
            "scheduler, 25 steps, cfg 7.5 (cond and uncond batched: one UNet call of 32 frames per step). "
            "Run order L K L … L.", "",
            "| 64 px, 16 frames, motion module | sampling wall time | best run | s/step (steady) |",
            "|---|---|---|---|",
            f"| Lightning, 4 steps, cfg 1 | {spread(r.total for r in light)} | {min(r.total for r in light):.3f} s "
            f"| {spread(r.steady for r in light)} |",
            f"| baseline, 25 steps, cfg 7.5 | {spread(r.total for r in base25)} | {min(r.total for r in base25):.3f} s "
            f"| {spread(r.steady for r in base25)} |",
            f"| **speed-up** | **{speedup:.1f}×** (median / median) | {best_speedup:.1f}× (best / best) | "
            f"{med(r.steady for r in base25) / med(r.steady for r in light):.2f}× per step |", ""]
    if not finite:
        out += ["Some sampled latents were not finite (random weights); the timings stand.", ""]
    goals["speedup"] = (f"4-step cfg 1 ≥ {GOAL_SPEEDUP:g}× faster than 25-step cfg 7.5 (64 px, sampling wall time)",
                        f"{speedup:.1f}×", speedup >= GOAL_SPEEDUP, f"{best_speedup:.1f}×", best_speedup >= GOAL_SPEEDUP)

    busy = med(LOAD_SAMPLES or [0]) > info["threads"] + 0.5
    summary = ["## Goals", "", "| goal | measured (median) | best of n | |", "|---|---|---|---|"]
    summary += [f"| {g} | {m} | {b} | {ok(met)} |" for g, m, met, b, _ in goals.values()]
    summary += ["", f"Goals are judged on the medians. Per-step ratio at 64 px: {ratio64:.3f}× (best {best64:.3f}×).", ""]
    if busy:
        summary += [f"**The machine was busy during this run** (load average after the timed runs: median "
                    f"{med(LOAD_SAMPLES):.1f}, on {info['cores']} cores): the medians are inflated unevenly; the "
                    "best-of-n column is the better estimate of an idle machine, and on it the goals read: "
                    + ", ".join(f"{g.split(' ≤ ')[0].split(' ≥ ')[0]} {'met' if bmet else 'missed'}"
                                for g, _, _, _, bmet in goals.values()) + ".", ""]
    out[summary_at:summary_at] = summary

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(out).rstrip() + "\n")
    return goals


# --------------------------------------------------------------------------------------------- main

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 repeat of everything (smoke test); writes "
                        f"{QUICK_DOC.relative_to(ROOT)} unless --out is given")
    parser.add_argument("--out", type=Path, help=f"report path (default {DOC.relative_to(ROOT)})")
    parser.add_argument("--rss-child", choices=("plain", "motion"), help=argparse.SUPPRESS)
    parser.add_argument("--latent", type=int, default=16, help=argparse.SUPPRESS)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the clean-up (kill an RSS child) on `kill`
    if args.rss_child:
        rss_child(args.rss_child, args.latent)
        return
    out_path = args.out or (QUICK_DOC if args.quick else DOC)
    args.command = "make bench" if not args.quick else "python tests/bench.py --quick"
    pick = 1 if args.quick else 0
    n = {k: v[pick] for k, v in REPEATS.items()}

    info = machine()
    progress(f"{info['cpu']}, {info['cores']} cores, torch {info['torch']}; writing {out_path}")
    if info["load"][0] > 0.5:
        progress(f"note: load average {info['load'][0]:.2f} before starting; other work on the machine "
                 "inflates the timings (the run alternates measurements, but cannot undo heavy contention)")
    checkpoint, motion_path = models()  # generate before any subprocess needs them
    motion_bytes = motion_path.stat().st_size
    read_through(checkpoint)
    read_through(motion_path)

    results = {}
    progress("peak RSS: fresh subprocesses (plain / motion module, 128 px)")
    results["rss"] = measure_rss(n["rss"], 16)

    from animatediff_lightning.glue.injection import apply_motion_module, load_motion_module_handle
    progress("loading the SD1.5 UNet and the motion module")
    plain = load_plain()
    motion = apply_motion_module(plain, load_motion_module_handle(str(motion_path)))

    results["step128"] = measure_steps(plain, motion, 16, n["step128"])
    progress("64 px: first-step extra and per-step times")
    results["first"] = measure_first_step(plain, motion, motion_path, 8, n["step64"])
    results["ksampler"] = measure_ksampler(motion, 8, n["ksampler"])

    import bench_context
    import bench_video
    progress("long videos: context windows at 48, 96 and 240 frames")
    sections = [bench_context.run(motion, args.quick)]
    progress("video decode / encode throughput")
    sections.append(bench_video.run(args.quick))

    elapsed = time.perf_counter() - START
    goals = write_report(out_path, info, args, results, elapsed, motion_bytes, os.getloadavg())
    with open(out_path, "a") as f:
        f.write("\n" + "\n".join(sections))
    progress(f"wrote {out_path}")
    for goal, measured, met, best, _ in goals.values():
        print(f"{'met   ' if met else 'MISSED'}  {goal}: {measured} (best of n: {best})")


if __name__ == "__main__":
    main()
