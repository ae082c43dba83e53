"""`make parity-ade ADE=/path/to/ComfyUI-AnimateDiff-Evolved`: the motion controls (scale, effect, per frame, per
region, keyframes, start/end percent) against AnimateDiff-Evolved (ADE) on the same weights, noise and settings.

Both run in one process on the real ComfyUI host: the same random real-shape SD1.5 UNet and Lightning-layout
motion module (tests/support, generated into the cache), 16 frames at 64×64 px, Euler on `simple` for 4 steps,
cfg 1, ADE through its Gen2 nodes (Load / Apply AnimateDiff Model, Multival, Keyframe, Use Evolved Sampling
with `sqrt_linear (AnimateDiff)` or the beta schedule compared), this pack through Apply Motion Module with Motion
Value / Motion Keyframe and its beta_schedule.
It writes a table of relative L2 distances of the final latents into docs/parity.md; the goal is ≤ 1e-4.
ADE is a checkout you point at (its own license); nothing of it is in this project.

    .venv/bin/python tests/parity_ade.py --ade /path/to/ComfyUI-AnimateDiff-Evolved [--out docs/parity.md]
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "parity.md"
BEGIN, END = "<!-- parity-ade:begin -->", "<!-- parity-ade:end -->"
FRAMES, SIZE, STEPS = 16, 64, 4
GOAL = 1e-4


def load_ade(path: str):
    from support.ade import load_ade_pack
    return load_ade_pack(path).NODE_CLASS_MAPPINGS


def cases(torch):
    """(name, ADE's settings, ours): each side a dict of scale / effect / keyframes / start / end, values given
    as the nodes take them: ("float", v), ("list", [...]), ("mask", mask, low, high, scaling)."""
    g = torch.Generator().manual_seed(7)
    mask = torch.rand(FRAMES, SIZE, SIZE, generator=g)
    one_mask = torch.rand(1, SIZE, SIZE, generator=g)
    ramp = [round(0.3 + 0.05 * i, 3) for i in range(FRAMES)]
    return [
        ("no controls", {}),
        ("effect 0.6", {"effect": ("float", 0.6)}),
        ("scale 1.3", {"scale": ("float", 1.3)}),
        ("effect per frame", {"effect": ("list", ramp)}),
        ("scale per frame", {"scale": ("list", [1.5 - 0.05 * i for i in range(FRAMES)])}),
        ("effect mask per frame", {"effect": ("mask", mask, 0.0, 1.0, "absolute")}),
        ("scale mask 0.5..1.5", {"scale": ("mask", one_mask, 0.5, 1.5, "absolute")}),
        ("scale mask relative", {"scale": ("mask", one_mask * 0.5, 0.8, 1.4, "relative")}),
        ("keyframes", {"keyframes": [(0.0, {"effect": ("float", 1.0)}, 1, True),
                                     (0.45, {"effect": ("float", 0.3)}, 1, True),
                                     (0.7, {"scale": ("float", 1.2)}, 1, False)]}),
        ("keyframes, guarantee_steps 2", {"keyframes": [(0.2, {"effect": ("float", 0.5)}, 2, True),
                                                        (0.3, {"effect": ("mask", mask, 0.2, 0.9, "absolute")},
                                                         1, True)]}),
        ("start 0.25, end 0.75", {"start": 0.25, "end": 0.75}),
        ("effect × keyframe scale", {"effect": ("list", ramp), "keyframes": [(0.5, {"scale": ("float", 0.7)}, 1,
                                                                               True)]}),
        *((f"beta_schedule {ours}", {"beta": (ours, theirs)}) for ours, theirs in BETAS),
    ]


# this pack's beta_schedule choice -> ADE's (its squaredcos_cap_v2 fails on core's numpy betas: not compared)
BETAS = [("lcm", "lcm"), ("lcm[100_ots]", "lcm[100_ots]"), ("lcm[25_ots]", "lcm[25_ots]"),
         ("lcm >> sqrt_linear", "lcm >> sqrt_linear"), ("lcm avg(sqrt_linear,linear)", "lcm avg(sqrt_linear,linear)"),
         ("avg(sqrt_linear,linear)", "avg(sqrt_linear,linear)"), ("linear", "linear (HotshotXL/default)"),
         ("sqrt", "sqrt"), ("cosine", "cosine")]


def ade_value(nodes, spec):
    kind = spec[0]
    if kind == "float":
        return nodes["ADE_MultivalDynamic"]().create_multival(float_val=spec[1])[0]
    if kind == "list":
        return nodes["ADE_MultivalDynamic"]().create_multival(float_val=list(spec[1]))[0]
    _, mask, low, high, scaling = spec
    return nodes["ADE_MultivalScaledMask"]().create_multival(low, high, mask, scaling)[0]


def our_value(spec):
    from animatediff_lightning.nodes.motion_control import MotionValueNode
    kind = spec[0]
    if kind == "float":
        return MotionValueNode.execute(spec[1], "", 0.0, 1.0, "absolute").result[0]
    if kind == "list":
        return MotionValueNode.execute(1.0, ", ".join(str(v) for v in spec[1]), 0.0, 1.0, "absolute").result[0]
    _, mask, low, high, scaling = spec
    return MotionValueNode.execute(1.0, "", low, high, scaling, mask=mask).result[0]


def ade_model(nodes, model, mm_name, settings):
    keyframes = None
    for start, values, guarantee, inherit in settings.get("keyframes", []):
        keyframes = nodes["ADE_AnimateDiffKeyframe"]().load_keyframe(
            start, prev_ad_keyframes=keyframes,
            scale_multival=ade_value(nodes, values["scale"]) if "scale" in values else None,
            effect_multival=ade_value(nodes, values["effect"]) if "effect" in values else None,
            inherit_missing=inherit, guarantee_steps=guarantee)[0]
    motion = nodes["ADE_LoadAnimateDiffModel"]().load_motion_model(mm_name)[0]
    m_models = nodes["ADE_ApplyAnimateDiffModel"]().apply_motion_model(
        motion, settings.get("start", 0.0), settings.get("end", 1.0), ad_keyframes=keyframes,
        scale_multival=ade_value(nodes, settings["scale"]) if "scale" in settings else None,
        effect_multival=ade_value(nodes, settings["effect"]) if "effect" in settings else None)[0]
    beta = settings["beta"][1] if "beta" in settings else "sqrt_linear (AnimateDiff)"
    return nodes["ADE_UseEvolvedSampling"]().use_evolved_sampling(model, beta, m_models=m_models)[0]


def our_model(model, handle, settings):
    from animatediff_lightning.glue.injection import apply_motion_module
    from animatediff_lightning.glue.motion_control import MotionControl
    from animatediff_lightning.nodes.motion_control import MotionKeyframeNode
    keyframes = None
    for start, values, guarantee, inherit in settings.get("keyframes", []):
        keyframes = MotionKeyframeNode.execute(
            start, guarantee, inherit, previous=keyframes,
            scale=our_value(values["scale"]) if "scale" in values else None,
            effect=our_value(values["effect"]) if "effect" in values else None).result[0]
    control = MotionControl(our_value(settings["scale"]) if "scale" in settings else None,
                            our_value(settings["effect"]) if "effect" in settings else None,
                            tuple(keyframes or ()), settings.get("start", 0.0), settings.get("end", 1.0))
    return apply_motion_module(model, handle, 1.0, settings["beta"][0] if "beta" in settings else True,
                               control=control)


def compare(torch, ours, theirs, plain):
    """(distance to ADE, distance to no controls, note). A schedule can be degenerate at SD1.5's β range (sqrt:
    σ_max ≈ 1e9, frames NaN on both sides): then the non-finite entries must sit in the same places and the
    distance is over the finite ones."""
    finite = torch.isfinite(ours) & torch.isfinite(theirs)
    note = ""
    if not finite.all():
        same = (torch.equal(torch.isnan(ours), torch.isnan(theirs))
                and torch.equal(torch.isinf(ours), torch.isinf(theirs)))
        share = float(1 - finite.float().mean())
        note = f" ({share:.0%} non-finite, {'the same entries on both sides' if same else 'NOT the same entries'})"
        if not same:
            return float("inf"), float("nan"), note
    if not finite.any():
        return 0.0, float("nan"), note
    a, b, p = (t[finite].double() for t in (ours, theirs, plain))  # (cosine, sqrt: σ up to 1e9, norms overflow fp32)
    return float((a - b).norm() / b.norm()), float((a - p).norm() / p.norm()), note


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ade", required=True, help="an AnimateDiff-Evolved checkout")
    ap.add_argument("--out", type=Path, default=DOC)
    ap.add_argument("--only", nargs="*", help="case names (default: all)")
    a = ap.parse_args()
    a.ade = os.path.abspath(a.ade)
    if not (Path(a.ade) / "__init__.py").is_file():
        sys.exit(f"no AnimateDiff-Evolved checkout at {a.ade} (no __init__.py there): fetch "
                 "Kosinkadink/ComfyUI-AnimateDiff-Evolved, git archive it into a folder and pass ADE=… or --ade")
    sys.path.insert(0, str(ROOT / "tests"))
    import conftest  # noqa: F401  (the host in-process, the pack as animatediff_lightning)
    import comfy.sample
    import comfy.sd
    import folder_paths
    import torch
    from animatediff_lightning.glue.injection import load_motion_module_handle
    from support.models import real_motion_module_file
    from support.sd15_models import sd15_checkpoint_file

    nodes = load_ade(a.ade)
    mm = str(real_motion_module_file())
    folder_paths.add_model_folder_path("animatediff_models", os.path.dirname(mm))
    folder_paths.folder_names_and_paths["animatediff_models"][1].update(folder_paths.supported_pt_extensions)
    model = comfy.sd.load_diffusion_model(str(sd15_checkpoint_file()))
    handle = load_motion_module_handle(mm)
    g = torch.Generator().manual_seed(1)
    cond = [[torch.randn(1, 77, 768, generator=g), {}]]
    latent = torch.zeros(FRAMES, 4, SIZE // 8, SIZE // 8)
    noise = comfy.sample.prepare_noise(latent, 42)

    def run(m):
        return comfy.sample.sample(m, noise, STEPS, 1.0, "euler", "simple", cond, cond, latent, denoise=1.0,
                                   seed=42, disable_pbar=True)

    started, rows = time.perf_counter(), []
    plain_ours = None
    for name, settings in cases(torch):
        if a.only and name not in a.only:
            continue
        mine, ade = our_model(model, handle, settings), ade_model(nodes, model, os.path.basename(mm), settings)
        ours, theirs = run(mine), run(ade)
        if plain_ours is None:
            plain_ours = ours
        distance, moved, note = compare(torch, ours, theirs, plain_ours)
        if "beta" in settings:  # the schedules themselves, σ for σ
            a, b = (m.get_model_object("model_sampling").sigmas.double() for m in (mine, ade))
            sigma = float(((a - b).abs() / b).max()) if a.shape == b.shape else float("inf")
            note += f"; σ: {a.numel()} levels, max {float(b.max()):.3g}, ours vs ADE ≤ {sigma:.1e}"
            if float(b.max()) > 1e6 and sigma <= GOAL:
                # σ_max ≈ 1e15 (sqrt on SD1.5's β range): latents of ~1e16 are differences of huge numbers in
                # fp32 on both sides; the schedules are the same, the frames are noise either way
                note += " (degenerate: not counted)"
        rows.append((name, distance, moved, note))
        print(f"{name:32} vs ADE {distance:.1e}   vs no controls {moved:.1e} {note}", file=sys.stderr, flush=True)
    worst = max(d for _, d, _, note in rows if "not counted" not in note)
    lines = [BEGIN, "## Motion controls against AnimateDiff-Evolved", "",
             f"`make parity-ade` ({time.strftime('%Y-%m-%d')}, {(time.perf_counter() - started) / 60:.1f} min, "
             f"ADE {Path(a.ade).name}): {FRAMES} frames at {SIZE}×{SIZE} px, Euler `simple` {STEPS} steps, cfg 1, "
             "the same random real-shape SD1.5 UNet and Lightning-layout module and the same noise on both sides. "
             "Relative L2 distance of the final latents (goal ≤ 1e-4); the last column shows the control does "
             "change the frames.", "",
             "| control | this pack vs ADE | vs no controls |", "|---|---|---|"]
    lines += [f"| {n} | {'**' if d > GOAL else ''}{d:.1e}{'**' if d > GOAL else ''}{note} | {m:.1e} |"
              for n, d, m, note in rows]
    lines += ["", f"Worst: {worst:.1e} ({'within' if worst <= GOAL else 'ABOVE'} the goal).", END]
    section = "\n".join(lines)
    text = a.out.read_text() if a.out.exists() else ""
    if BEGIN in text:
        text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: section, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    a.out.write_text(text)
    print(section)
    sys.exit(0 if worst <= GOAL else 1)


if __name__ == "__main__":
    main()
