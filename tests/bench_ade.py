"""`make bench-ade ADE=/path/to/ComfyUI-AnimateDiff-Evolved`: this pack against AnimateDiff-Evolved (ADE), side
by side in one run, written into docs/benchmarks.md (section "Against AnimateDiff-Evolved").

ADE is what artists compare us with, so we measure against it on the same machine in the same run: plain
UNet, this pack and ADE alternate in fresh processes (plain, pack, ADE, pack, ADE, …, plain), each
sampling the same random real-shape SD1.5 UNet and the same 908,929,664-byte Lightning-layout motion module
(tests/support, generated into the cache) with the same noise: Euler, `simple` (the trailing timesteps), cfg 1.
Per latent size it reports the steady step (median of steps 2..N, median over runs), the motion module's
share of it (step − plain step), the first step (load + inject + step), peak RSS and how far our final
latents are from ADE's. ADE is a checkout you point at (its own license); nothing of it is in this project.

    .venv/bin/python tests/bench_ade.py --ade /path/to/ComfyUI-AnimateDiff-Evolved [--latents 8 16]
        [--rounds 2] [--gpu] [--out docs/benchmarks.md]
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- bench-ade:begin -->", "<!-- bench-ade:end -->"


# ---------------------------------------------------------------------------------------- one run (child)

def child(a) -> None:
    sys.path.insert(0, a.comfy)
    sys.argv = [sys.argv[0]] + ([] if a.gpu else ["--cpu"])
    import comfy.options
    comfy.options.enable_args_parsing(True)
    import comfy.sample
    import comfy.sd
    import folder_paths
    import torch
    t0 = time.perf_counter()
    model = comfy.sd.load_diffusion_model(a.unet)
    if a.mode == "ade":
        sys.path.insert(0, str(ROOT / "tests"))
        from support.ade import load_ade_pack
        ade = load_ade_pack(a.ade)
        folder_paths.add_model_folder_path("animatediff_models", os.path.dirname(a.mm))
        folder_paths.folder_names_and_paths["animatediff_models"][1].update(folder_paths.supported_pt_extensions)
        loader = ade.NODE_CLASS_MAPPINGS["ADE_AnimateDiffLoaderGen1"]()
        model = loader.load_mm_and_inject_params(model, os.path.basename(a.mm), "autoselect")[0]
    elif a.mode == "pack":
        spec = importlib.util.spec_from_file_location("the_pack", ROOT / "__init__.py",
                                                      submodule_search_locations=[str(ROOT)])
        pack = importlib.util.module_from_spec(spec)
        sys.modules["the_pack"] = pack
        spec.loader.exec_module(pack)
        injection = importlib.import_module("the_pack.glue.injection")
        model = injection.apply_motion_module(model, injection.load_motion_module_handle(a.mm))
    g = torch.Generator().manual_seed(1)
    cond = [[torch.randn(1, 77, 768, generator=g), {}]]
    latent = torch.zeros(a.frames, 4, a.latent, a.latent)
    marks = [t0]

    def callback(step, x0, x, total):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        marks.append(time.perf_counter())

    noise = comfy.sample.prepare_noise(latent, 42)
    out = comfy.sample.sample(model, noise, a.steps, 1.0, "euler", "simple", cond, cond, latent, denoise=1.0,
                              callback=callback, seed=42)
    torch.save(out.cpu(), a.save)
    steps = [b - a_ for a_, b in zip(marks, marks[1:])]
    print(json.dumps({"first_s": steps[0], "step_s": steps[1:],
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "peak_vram_mb": torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else None}))


# --------------------------------------------------------------------------------------------- the parent

def run_side_by_side(a, latent: int, tmp: str) -> dict:
    from support.models import real_motion_module_file
    unet = str(unet_file())
    mm = str(real_motion_module_file())
    runs: dict[str, list[dict]] = {"plain": [], "pack": [], "ade": []}
    for i, mode in enumerate(["plain"] + ["pack", "ade"] * a.rounds + ["plain"]):
        save = os.path.join(tmp, f"{latent}-{mode}-{i}.pt")
        cmd = [sys.executable, __file__, "--child", "--mode", mode, "--comfy", a.comfy, "--ade", a.ade, "--unet", unet,
               "--mm", mm, "--latent", str(latent), "--frames", str(a.frames), "--steps", str(a.steps),
               "--save", save] + (["--gpu"] if a.gpu else [])
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode:
            sys.exit(f"{mode} run failed:\n{done.stderr[-3000:]}")
        r = json.loads(done.stdout.strip().splitlines()[-1])
        r["save"] = save
        runs[mode].append(r)
        print(f"latent {latent}: {mode:5} first {r['first_s']:.2f} s, steps {[round(s, 2) for s in r['step_s']]}, "
              f"rss {r['peak_rss_mb']:.0f} MB", file=sys.stderr, flush=True)
    return runs


def unet_file() -> Path:
    """The cached random SD1.5 checkpoint (ComfyUI's diffusion-model loader takes its UNet)."""
    from support.sd15_models import sd15_checkpoint_file
    return Path(sd15_checkpoint_file())


def summarize(runs: dict) -> dict:
    import torch
    steady = {m: statistics.median(statistics.median(r["step_s"]) for r in rs) for m, rs in runs.items()}
    pairs = [(p, q) for p, q in zip(runs["pack"], runs["ade"])]
    step_ratio = statistics.median(statistics.median(p["step_s"]) / statistics.median(q["step_s"]) for p, q in pairs)
    share = {m: steady[m] - steady["plain"] for m in ("pack", "ade")}
    ade_out, pack_out = (torch.load(runs[m][0]["save"]) for m in ("ade", "pack"))
    return {
        "steady": steady, "step_ratio": step_ratio, "share": share,
        "share_ratio": share["pack"] / share["ade"] if share["ade"] > 0 else float("nan"),
        "first": {m: statistics.median(r["first_s"] for r in rs) for m, rs in runs.items()},
        "rss": {m: max(r["peak_rss_mb"] for r in rs) for m, rs in runs.items()},
        "vram": {m: max((r["peak_vram_mb"] or 0) for r in rs) for m, rs in runs.items()},
        "distance": float((pack_out - ade_out).norm() / ade_out.norm()),
    }


def report(a, results: dict, seconds: float) -> str:
    device = "GPU" if a.gpu else f"CPU ({os.cpu_count()} cores)"
    lines = [BEGIN, "## Against AnimateDiff-Evolved", "",
             f"`make bench-ade` ({time.strftime('%Y-%m-%d')}, {device}, {seconds / 60:.1f} min): plain UNet, this pack "
             f"and ADE ({Path(a.ade).name}) alternating in fresh processes, {a.rounds} rounds, {a.frames} frames, "
             f"{a.steps} Euler steps (`simple`), cfg 1, the same random real-shape SD1.5 UNet and Lightning-layout "
             "module. Medians; ratios are pack ÷ ADE (≤ 1.00 is the goal).", "",
             "| latent (px) | steady s/step plain / pack / ADE | step ratio | module share pack / ADE (ratio) | "
             "first step pack / ADE | peak RSS pack / ADE (MB) | output vs ADE |",
             "|---|---|---|---|---|---|---|"]
    for latent, s in results.items():
        lines.append(
            f"| {latent}×{latent} ({latent * 8}) | {s['steady']['plain']:.2f} / {s['steady']['pack']:.2f} / "
            f"{s['steady']['ade']:.2f} | **{s['step_ratio']:.2f}×** | {s['share']['pack']:.2f} / {s['share']['ade']:.2f} "
            f"({s['share_ratio']:.2f}×) | {s['first']['pack']:.2f} / {s['first']['ade']:.2f} | "
            f"{s['rss']['pack']:.0f} / {s['rss']['ade']:.0f} | {s['distance']:.1e} |")
    lines += ["", END]
    return "\n".join(lines)


def write(doc: Path, section: str) -> None:
    text = doc.read_text() if doc.exists() else "# Benchmarks\n"
    if BEGIN in text:
        text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda m: section, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    doc.write_text(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ade", required=True, help="an AnimateDiff-Evolved checkout")
    ap.add_argument("--comfy", default=os.environ.get("COMFYUI_PATH", str(ROOT / ".host" / "ComfyUI")))
    ap.add_argument("--latents", type=int, nargs="+", default=[8, 16])
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--gpu", action="store_true")
    ap.add_argument("--out", type=Path, default=DOC)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    for name in ("--mode", "--unet", "--mm", "--save"):
        ap.add_argument(name, help=argparse.SUPPRESS)
    ap.add_argument("--latent", type=int, help=argparse.SUPPRESS)
    a = ap.parse_args()
    a.ade, a.comfy = os.path.abspath(a.ade), os.path.abspath(a.comfy)
    if a.child:
        return child(a)
    if not (Path(a.ade) / "__init__.py").is_file():
        sys.exit(f"no AnimateDiff-Evolved checkout at {a.ade} (no __init__.py there): fetch "
                 "Kosinkadink/ComfyUI-AnimateDiff-Evolved, git archive it into a folder and pass "
                 "ADE=/path/to/that/folder (make bench-ade) or --ade")
    import conftest  # noqa: F401  (the host importable in-process; the test models generated on first use)
    started = time.perf_counter()
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench_ade_") as tmp:
        for latent in a.latents:
            results[latent] = summarize(run_side_by_side(a, latent, tmp))
    section = report(a, results, time.perf_counter() - started)
    write(a.out, section)
    print(section)


if __name__ == "__main__":
    main()
