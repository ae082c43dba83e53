"""`make bench`: speed and memory of the motion module inside ComfyUI's SD1.5 UNet, written to docs/benchmarks.md.

    .venv/bin/python tests/bench.py            # full run (~20 min on 2 cores), rewrites docs/benchmarks.md
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
from bench_report import GB, write_report  # noqa: E402

# Repeats: (full, quick).
REPEATS = {
    "rss": (2, 1),        # rounds of (plain, motion) subprocesses
    "step128": (3, 1),    # rounds of (plain, motion) 4-step runs at 128 px
    "step64": (5, 2),     # rounds of (plain, fresh motion module, warm motion module) at 64 px
    "ksampler": (2, 1),   # rounds of (4-step cfg 1, 25-step cfg 7.5) at 64 px
    "ksampler128": (1, 1),  # the same at 128 px (one baseline run takes minutes)
    "cast": (7, 3),       # timings of casting every motion-module weight to the UNet's dtype once
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




def measure_cast(handle, stored: torch.dtype, dtype: torch.dtype, repeats: int) -> list[float]:
    """Seconds to cast every motion-module weight from its file's dtype to ``dtype`` once: what each UNet call
    would add if the module were kept as stored (fp16) while the UNet computes in another dtype (fp32 here)."""
    params = [p.detach().to(stored) for p in handle.model.parameters()]
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        for p in params:
            p.to(dtype)
        times.append(time.perf_counter() - start)
    del params
    return times[1:]


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
    handle = load_motion_module_handle(str(motion_path))
    motion = apply_motion_module(plain, handle)
    compute = plain.model.manual_cast_dtype or plain.model.get_dtype()  # what the UNet computes in
    stored = torch.float16  # the file's dtype
    results["cast"] = measure_cast(handle, stored, compute, n["cast"])
    results["cast_dtypes"] = (stored, next(handle.model.parameters()).dtype)
    results["kept_bytes"] = sum(p.numel() * p.element_size() for p in handle.model.parameters())

    results["step128"] = measure_steps(plain, motion, 16, n["step128"])
    progress("64 px: first-step extra and per-step times")
    results["first"] = measure_first_step(plain, motion, motion_path, 8, n["step64"])
    results["ksampler"] = measure_ksampler(motion, 8, n["ksampler"])
    progress("128 px: 4 vs 25 steps")
    results["ksampler128"] = measure_ksampler(motion, 16, n["ksampler128"])

    import bench_context
    import bench_video
    progress("long videos: context windows at 48, 96 and 240 frames")
    sections = [bench_context.run(motion, args.quick)]
    progress("video decode / encode throughput")
    sections.append(bench_video.run(args.quick))
    import bench_preview
    progress("animated preview: its share of a step (16 frames, 512 px; --quick: 128 px)")
    sections.append(bench_preview.run(motion, args.quick))

    elapsed = time.perf_counter() - START
    info["load_samples"] = LOAD_SAMPLES
    goals = write_report(out_path, info, args, results, elapsed, motion_bytes, os.getloadavg())
    with open(out_path, "a") as f:
        f.write("\n" + "\n".join(sections))
    progress(f"wrote {out_path}")
    for goal, measured, met, best, _ in goals.values():
        print(f"{'met   ' if met else 'MISSED'}  {goal}: {measured} (best of n: {best})")


if __name__ == "__main__":
    main()
