"""Per motion module and per op: this pack's motion module against AnimateDiff-Evolved's (ADE), same weights,
same input, in one process (torch profiler, CPU time, one thread, so other work on the machine disturbs it
little). Where `make bench-ade` says how much, this says where.

    .venv/bin/python tests/profile_ade.py --ade /path/to/ComfyUI-AnimateDiff-Evolved [--channels 320] [--latent 8 16]

Both modules are built as each pack builds them on this device (ComfyUI's layers for the UNet's dtype), with
random weights of the real shapes; ADE runs its own attention choice, ours the one the pack uses here.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import conftest  # noqa: F401  (the host in-process, CPU)

import torch
from torch.profiler import ProfilerActivity, profile

import comfy.ops
from animatediff_lightning.glue.injection import temporal_attention
from animatediff_lightning.motion_modules.model import MotionModule

OPS = ("aten::addmm", "aten::mm", "aten::copy_", "aten::bmm", "aten::baddbmm", "aten::_softmax", "aten::mul",
       "aten::gelu", "aten::add", "aten::native_layer_norm", "aten::native_group_norm",
       "aten::_scaled_dot_product_flash_attention_for_cpu")


def ade_module_class(path: str):
    from support.ade import load_ade_pack
    load_ade_pack(path)
    return sys.modules["ade_pack.animatediff.motion_module_ad"].VanillaTemporalModule


def per_op(fn, repeats: int) -> tuple[float, dict[str, float]]:
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(repeats):
            fn()
    ops = {e.key: e.self_cpu_time_total / 1e3 / repeats for e in prof.key_averages() if e.key in OPS}
    total = sum(e.self_cpu_time_total for e in prof.key_averages()) / 1e3 / repeats
    return total, ops


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ade", required=True)
    ap.add_argument("--channels", type=int, default=320)
    ap.add_argument("--latent", type=int, nargs="+", default=[8, 16])
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(1)
    ours = MotionModule(a.channels, 8, 32, 2, comfy.ops.disable_weight_init).eval()
    for p in ours.parameters():
        p.data = torch.randn_like(p) * 0.02
    ade = ade_module_class(os.path.abspath(a.ade))(a.channels, "down", 0, 0, temporal_pe_max_len=32,
                                                   ops=comfy.ops.disable_weight_init).eval()
    ade.load_state_dict(ours.state_dict(), strict=False)
    ade.set_video_length(a.frames, a.frames)
    for latent in a.latent:
        x = torch.randn(a.frames, a.channels, latent, latent)
        runs = {"pack": lambda: ours(x, a.frames, attention=temporal_attention(x)), "ade": lambda: ade(x)}
        with torch.no_grad():
            diff = float((runs["pack"]() - runs["ade"]()).norm() / runs["ade"]().norm())
            best = {}
            for _ in range(5):
                for name, fn in runs.items():
                    t = time.process_time()
                    fn()
                    best[name] = min(best.get(name, 1e9), time.process_time() - t)
            profiles = {name: per_op(fn, a.repeats) for name, fn in runs.items()}
        print(f"\n{a.channels} channels, latent {latent}×{latent}, {a.frames} frames (outputs differ by {diff:.1e}); "
              f"best CPU s pack {best['pack']:.3f} / ADE {best['ade']:.3f} = {best['pack'] / best['ade']:.2f}×")
        print("| op (ms per call of the module) | pack | ADE |\n|---|---|---|")
        for op in OPS:
            p, q = profiles["pack"][1].get(op, 0.0), profiles["ade"][1].get(op, 0.0)
            if p or q:
                print(f"| {op.removeprefix('aten::')} | {p:.1f} | {q:.1f} |")
        print(f"| **all ops** | **{profiles['pack'][0]:.1f}** | **{profiles['ade'][0]:.1f}** |")


if __name__ == "__main__":
    main()
