"""`make parity-acn ADE=/path/to/ComfyUI-AnimateDiff-Evolved ACN=/path/to/ComfyUI-Advanced-ControlNet`: the
ControlNet controls (soft / custom weights, uncond multiplier, latent keyframes, timestep keyframes, overrides,
masks; with and without context windows) against Advanced-ControlNet (ACN) + AnimateDiff-Evolved (ADE) on the
same weights, noise, hints and settings.

Both run in one process on the real ComfyUI host: the same random real-shape SD1.5 UNet, Lightning-layout motion
module and SD1.5 ControlNet (tests/support, generated into the cache), 16 frames at 64×64 px, the same random
hint images, Euler on `simple` for 4 steps, cfg 2 (so the negative prompt's batch exists: core runs it beside
the positive one, and the uncond multiplier has something to act on). ACN's side: its Load Advanced ControlNet
Model, weight / keyframe nodes and Apply Advanced ControlNet, the motion module through ADE's Gen2 nodes (and its
Standard Uniform / Static context options). This pack's side: core Load ControlNet Model → ControlNet Controls
(Lightning) with ControlNet Weights / Keyframe (Lightning) → core Apply ControlNet, Apply Motion Module (and
Context Options (Lightning)). It writes a table of relative L2 distances of the final latents into
docs/parity.md; the goal is ≤ 1e-4. ACN and ADE are checkouts you point at (their own licenses); nothing of them
is in this project.

    .venv/bin/python tests/parity_acn.py --ade /path/to/ADE --acn /path/to/ACN [--only NAME …] [--out docs/parity.md]
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

from parity_ade import merge_rows

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "parity.md"
BEGIN, END = "<!-- parity-acn:begin -->", "<!-- parity-acn:end -->"
FRAMES, SIZE, STEPS, CFG = 16, 64, 4, 2.0
GOAL = 1e-4
# ACN_SoftControlNetWeightsSD15's defaults (0.825^(12-k)), then a hand-made profile: 12 outputs + middle
SOFT_BLOCKS = [0.825 ** (12 - k) for k in range(12)]
CUSTOM_BLOCKS = [0.2, 0.9, 0.4, 1.3, 0.0, 0.7, 1.1, 0.5, 0.8, 1.6, 0.3, 1.0]


def soft(base=0.825, uncond=1.0):
    return {"base": base, "uncond": uncond}


def blocks(values, middle=None, uncond=1.0):
    return {"blocks": list(values), "middle": middle, "uncond": uncond}


def kf(start, strength=1.0, frames=None, null=0.0, inherit=True, guarantee=1, weights=None, mask=None):
    """A timestep keyframe; ``frames``: one latent-keyframe string for both sides, or (ACN chain, our string)."""
    return {"start": start, "strength": strength, "frames": frames, "null": null, "inherit": inherit,
            "guarantee": guarantee, "weights": weights, "mask": mask}


def cases(torch):
    """(name, settings). Settings: apply strength / start / end, ``tk_loader`` (weights as the weight node's
    TK_SHORTCUT into ACN's loader), ``keyframes`` (ACN's timestep_kf / our Controls' keyframes),
    ``weights_override``, ``frames_override`` (ACN's latent_kf_override), ``mask``, ``context``."""
    g = torch.Generator().manual_seed(11)
    mask = torch.rand(FRAMES, SIZE, SIZE, generator=g)
    one_mask = torch.rand(1, SIZE, SIZE, generator=g)
    base = [
        ("plain apply", {}),
        ("plain apply, strength 0.7, 0.25..0.75", {"strength": 0.7, "start": 0.25, "end": 0.75}),
        ("soft weights 0.825 (loader TK)", {"tk_loader": soft(0.825)}),
        ("uncond_multiplier 0.5", {"weights_override": soft(1.0, 0.5)}),
        ("soft 0.825 + uncond 0.5", {"keyframes": [kf(0.0, weights=soft(0.825, 0.5))]}),
        ("custom block weights (12 + middle)", {"keyframes": [kf(0.0, weights=blocks(CUSTOM_BLOCKS, 0.6))]}),
        ("custom block weights, no middle", {"weights_override": blocks(SOFT_BLOCKS)}),
        ("latent keyframes", {"keyframes": [kf(0.0, frames="0:4=1.0, 6=0.7, 9:13=0.5, -1=0.9")]}),
        ("latent keyframe chain (prev replaces)", {"keyframes": [kf(0.0, frames=(
            [("kf", 3, 0.2), ("kf", 12, 0.4), ("group", "0:8=0.6, 10")], "0:8=0.6, 10, 3=0.2, 12=0.4"))]}),
        ("latent keyframes, null strength 0.3", {"keyframes": [kf(0.0, frames="2:10=0.8", null=0.3)]}),
        # (a keyframe at 0 never guarantees steps: core's percent_to_sigma(0) is 1e9, above the run's first σ)
        *((f"timestep keyframes 1 → 0.4 at 0.5 (guarantee {g_}) → 0.7 at 0.6", {"keyframes": [
            kf(0.0, 1.0, frames="0:12", null=0.5, weights=soft(0.825)),
            kf(0.5, 0.4, inherit=False, guarantee=g_), kf(0.6, 0.7, frames="4:16")]}) for g_ in (1, 2)),
        *((f"timestep keyframes 1 → 0.4 at 0.1 (guarantee {g_}) → 0.7 at 0.2", {"keyframes": [
            kf(0.0, 1.0, weights=soft(0.825)), kf(0.1, 0.4, inherit=False, guarantee=g_),
            kf(0.2, 0.7, frames="4:16")]}) for g_ in (0, 1, 2)),
        ("timestep keyframes inherit", {"keyframes": [
            kf(0.0, 0.9, frames="0:8", null=0.25, weights=blocks(CUSTOM_BLOCKS)),
            kf(0.45, 0.6), kf(0.7, 1.2, frames="8:16=0.7", inherit=False)]}),
        *((f"keyframe mask, then inherit_missing {str(i_).lower()}", {"keyframes": [
            kf(0.0, 1.0, mask=one_mask), kf(0.45, 0.6), kf(0.7, 1.2, inherit=i_)]}) for i_ in (True, False)),
        ("weights_override + keyframe chain", {"weights_override": blocks(CUSTOM_BLOCKS, 0.8), "keyframes": [
            kf(0.0, 1.0, weights=soft(0.9)), kf(0.5, 0.6, weights=soft(0.5), frames="0:10")]}),
        ("latent_kf_override + keyframe chain", {"frames_override": "0=1.0, 4:12=0.6", "keyframes": [
            kf(0.0, 1.0, frames="0:8", null=0.2), kf(0.5, 0.8, frames="8:16", null=0.1)]}),
        ("latent_kf_override alone", {"frames_override": "1:15=0.75"}),
        ("mask per frame", {"mask": mask}),
        ("keyframe mask from 0.5", {"mask": one_mask, "keyframes": [kf(0.0), kf(0.5, 0.8, mask=mask)]}),
    ]
    out = list(base)
    context_cases = ("plain apply", "soft 0.825 + uncond 0.5", "latent keyframes",
                     "latent keyframes, null strength 0.3", "timestep keyframes 1 → 0.4 at 0.1 (guarantee 2) → 0.7 at 0.2",
                     "latent_kf_override + keyframe chain", "mask per frame", "keyframe mask from 0.5")
    for schedule in ("uniform", "static"):
        out.append((f"[{schedule} 8/2] no ControlNet", {"context": schedule, "no_control": True}))
        out += [(f"[{schedule} 8/2] {name}", {**settings, "context": schedule})
                for name, settings in base if name in context_cases]
    return out


# ---------------------------------------------------------------- ACN's side

def acn_weights(nodes, w, shortcut=False):
    if "base" in w:
        res = nodes["ACN_ScaledSoftControlNetWeights"].execute(w["base"], uncond_multiplier=w["uncond"])
    else:
        outs = {f"output_{i}": v for i, v in enumerate(w["blocks"])}
        res = nodes["ACN_CustomControlNetWeightsSD15"].execute(
            **outs, middle_0=1.0 if w["middle"] is None else w["middle"], uncond_multiplier=w["uncond"])
    return res.args[1] if shortcut else res.args[0]


def acn_latent_keyframes(nodes, spec, latent):
    if spec is None:
        return None
    chain = spec[0] if isinstance(spec, tuple) else [("group", spec)]
    group = None
    for item in chain:
        if item[0] == "kf":
            group = nodes["LatentKeyframe"].execute(item[1], item[2], prev_latent_kf=group).args[0]
        else:
            group = nodes["LatentKeyframeGroup"].execute(item[1], prev_latent_kf=group,
                                                         latent_optional={"samples": latent}).args[0]
    return group


def acn_keyframes(nodes, keyframes, latent):
    group = None
    for k in keyframes:
        group = nodes["TimestepKeyframe"].execute(
            k["start"], strength=k["strength"], prev_timestep_kf=group,
            cn_weights=acn_weights(nodes, k["weights"]) if k["weights"] else None,
            latent_keyframe=acn_latent_keyframes(nodes, k["frames"], latent),
            null_latent_kf_strength=k["null"], inherit_missing=k["inherit"], guarantee_steps=k["guarantee"],
            mask_optional=k["mask"]).args[0]
    return group


def acn_conditioning(nodes, cn_name, settings, positive, negative, hint, latent):
    loader_tk = acn_weights(nodes, settings["tk_loader"], shortcut=True) if "tk_loader" in settings else None
    control_net = nodes["ACN_ControlNetLoaderAdvanced"].execute(cn_name, _tk_opt=loader_tk).args[0]
    res = nodes["ACN_AdvancedControlNetApply_v2"].execute(
        positive, negative, control_net, hint, settings.get("strength", 1.0), settings.get("start", 0.0),
        settings.get("end", 1.0), mask_optional=settings.get("mask"),
        timestep_kf=acn_keyframes(nodes, settings["keyframes"], latent) if "keyframes" in settings else None,
        latent_kf_override=acn_latent_keyframes(nodes, settings.get("frames_override"), latent),
        weights_override=acn_weights(nodes, settings["weights_override"]) if "weights_override" in settings
        else None)
    return res.args[0], res.args[1]


def ade_model(ade, model, mm_name, settings):
    motion = ade["ADE_LoadAnimateDiffModel"]().load_motion_model(mm_name)[0]
    m_models = ade["ADE_ApplyAnimateDiffModel"]().apply_motion_model(motion, 0.0, 1.0)[0]
    context = None
    if settings.get("context") == "uniform":
        context = ade["ADE_StandardUniformContextOptions"]().create_options(8, 1, 2, fuse_method="pyramid")[0]
    elif settings.get("context") == "static":
        context = ade["ADE_StandardStaticContextOptions"]().create_options(8, 2, fuse_method="pyramid")[0]
    return ade["ADE_UseEvolvedSampling"]().use_evolved_sampling(model, "sqrt_linear (AnimateDiff)",
                                                                m_models=m_models, context_options=context)[0]


# ---------------------------------------------------------------- this pack's side

def our_weights(w):
    from animatediff_lightning.nodes.controls import ControlNetWeightsNode
    if "base" in w:
        return ControlNetWeightsNode.execute(w["base"], w["uncond"], "").result[0]
    values = list(w["blocks"]) + ([] if w["middle"] is None else [w["middle"]])
    return ControlNetWeightsNode.execute(0.825, w["uncond"], ", ".join(repr(float(v)) for v in values)).result[0]


def our_frames(spec):
    if spec is None:
        return ""
    return spec[1] if isinstance(spec, tuple) else spec


def our_keyframes(keyframes):
    from animatediff_lightning.nodes.controls import ControlNetKeyframeNode
    chain = None
    for k in keyframes:
        chain = ControlNetKeyframeNode.execute(
            k["start"], k["strength"], our_frames(k["frames"]), k["null"], k["inherit"], k["guarantee"],
            previous=chain, weights=our_weights(k["weights"]) if k["weights"] else None, mask=k["mask"]).result[0]
    return chain


def our_conditioning(control_net, settings, positive, negative, hint):
    import nodes as core_nodes
    from animatediff_lightning.nodes.controls import ControlNetControlsNode
    keyframes = list(settings.get("keyframes", []))
    if "tk_loader" in settings:  # ACN's TK_SHORTCUT: one keyframe at 0 carrying the weights (guarantee 1)
        keyframes = [kf(0.0, weights=settings["tk_loader"])] + keyframes
    controlled = ControlNetControlsNode.execute(
        control_net, our_frames(settings.get("frames_override")),
        keyframes=our_keyframes(keyframes) if keyframes else None,
        weights=our_weights(settings["weights_override"]) if "weights_override" in settings else None,
        mask=settings.get("mask")).result[0]
    return core_nodes.ControlNetApplyAdvanced().apply_controlnet(
        positive, negative, controlled, hint, settings.get("strength", 1.0), settings.get("start", 0.0),
        settings.get("end", 1.0))


def our_model(model, handle, settings):
    from animatediff_lightning.glue.injection import apply_motion_module
    from animatediff_lightning.nodes.context import ContextOptions
    m = apply_motion_module(model, handle, 1.0, True)
    if settings.get("context"):
        m = ContextOptions.execute(m, 8, 2, settings["context"], "pyramid", False, "per-frame").result[0]
    return m


# ---------------------------------------------------------------- the table

NOTES = [
    "How the cases map: ACN's Scaled Soft Weights → ControlNet Weights' base_multiplier / uncond_multiplier; "
    "ControlNet Custom Weights [SD1.5] (output_0..11, middle_0) → block_weights; a weight node's TK_SHORTCUT into "
    "ACN's loader → a ControlNet Keyframe at 0 carrying the weights; Timestep Keyframe → ControlNet Keyframe "
    "(null_latent_kf_strength → other_frames); Latent Keyframe (Group) chains → the `frames` string (a chained "
    "prev's entries replace the group's own on the same frame); the apply's latent_kf_override / weights_override "
    "/ mask_optional → ControlNet Controls' frames / weights / mask. `… no ControlNet` rows compare ADE's context "
    "windows with Context Options (Lightning) alone (their last column is 0 by construction).",
    "",
    "- A keyframe starting at 0 never holds steps, on either side: core's `percent_to_sigma(0)` is 1e9, above the "
    "run's largest σ, so ACN counts its guarantee_steps as 0; the guarantee rows put the guaranteeing keyframe at "
    "0.1 or 0.5 (with guarantee 0 the keyframe at 0.1 is skipped: the one at 0.2 is reached on the same step).",
    "- Overlapping entries in one ACN Latent Keyframe Group string (`0:8=0.6, 3=0.2`) give ACN an arbitrary winner "
    "(it collects them in a set of objects, whose order follows their addresses: either value, run to run); "
    "this pack lets the later entry win. The strings here do not overlap.",
    "- `keyframe mask, then inherit_missing false`: ACN keeps applying the earlier keyframe's mask. It applies "
    "`tk_mask_cond_hint`, which `_prepare_mask` rebuilds only from the *current* keyframe's own `mask_hint_orig` "
    "and leaves as it was when that is None; inherit_missing False clears only `tk_mask_cond_hint_original`, "
    "which nothing reads (utils.py prepare_current_timestep / prepare_tk_mask_cond_hint). Shared files were "
    "made under that, so this pack does the same: a mask stays until a keyframe brings its own (ControlNet "
    "Keyframe's inherit_missing tooltip says so). Under context windows ACN's stale mask is the last window's "
    "slice, which this pack does not copy (not measured).",
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ade", required=True, help="an AnimateDiff-Evolved checkout")
    ap.add_argument("--acn", required=True, help="an Advanced-ControlNet checkout")
    ap.add_argument("--out", type=Path, default=DOC)
    ap.add_argument("--only", nargs="*", help="case names (default: all)")
    ap.add_argument("--list", action="store_true", help="print the case names and exit")
    a = ap.parse_args()
    if a.list:
        import torch
        print("\n".join(name for name, _ in cases(torch)))
        return
    a.ade, a.acn = os.path.abspath(a.ade), os.path.abspath(a.acn)
    if not (Path(a.ade) / "__init__.py").is_file():
        sys.exit(f"no AnimateDiff-Evolved checkout at {a.ade} (no __init__.py there): fetch "
                 "Kosinkadink/ComfyUI-AnimateDiff-Evolved, git archive it into a folder and pass ADE=… or --ade")
    if not (Path(a.acn) / "__init__.py").is_file() or not (Path(a.acn) / "adv_control").is_dir():
        sys.exit(f"no Advanced-ControlNet checkout at {a.acn} (no __init__.py / adv_control there): fetch "
                 "Kosinkadink/ComfyUI-Advanced-ControlNet, git archive it into a folder and pass ACN=… or --acn")
    sys.path.insert(0, str(ROOT / "tests"))
    import conftest  # noqa: F401  (the host in-process, the pack as animatediff_lightning)
    import comfy.controlnet
    import comfy.sample
    import comfy.sd
    import folder_paths
    import torch
    from animatediff_lightning.glue.injection import load_motion_module_handle
    from support.acn import acn_nodes
    from support.ade import load_ade_pack
    from support.controlnet_models import controlnet_file
    from support.models import real_motion_module_file
    from support.sd15_models import sd15_checkpoint_file

    all_cases = cases(torch)
    if a.only:
        unknown = [n for n in a.only if n not in {name for name, _ in all_cases}]
        if unknown:
            sys.exit(f"unknown case(s) {unknown}; --list prints them")
    ade = load_ade_pack(a.ade).NODE_CLASS_MAPPINGS
    acn = acn_nodes(a.acn)
    mm = str(real_motion_module_file())
    folder_paths.add_model_folder_path("animatediff_models", os.path.dirname(mm))
    folder_paths.folder_names_and_paths["animatediff_models"][1].update(folder_paths.supported_pt_extensions)
    cn = str(controlnet_file())
    folder_paths.add_model_folder_path("controlnet", os.path.dirname(cn))
    model = comfy.sd.load_diffusion_model(str(sd15_checkpoint_file()))
    handle = load_motion_module_handle(mm)
    our_cn = comfy.controlnet.load_controlnet(cn)
    g = torch.Generator().manual_seed(1)
    positive = [[torch.randn(1, 77, 768, generator=g), {}]]
    negative = [[torch.randn(1, 77, 768, generator=g), {}]]
    hint = torch.rand(FRAMES, SIZE, SIZE, 3, generator=torch.Generator().manual_seed(5))
    latent = torch.zeros(FRAMES, 4, SIZE // 8, SIZE // 8)
    noise = comfy.sample.prepare_noise(latent, 42)

    def run(m, pos, neg):
        return comfy.sample.sample(m, noise, STEPS, CFG, "euler", "simple", pos, neg, latent, denoise=1.0,
                                   seed=42, disable_pbar=True)

    started, rows, plain = time.perf_counter(), [], {}

    def baseline(context):  # this pack without a ControlNet: the last column
        if context not in plain:
            plain[context] = run(our_model(model, handle, {"context": context}), positive, negative)
        return plain[context]

    from parity_ade import compare
    for name, settings in all_cases:
        if a.only and name not in a.only:
            continue
        t0 = time.perf_counter()
        if settings.get("no_control"):
            ours_pn = (positive, negative)
            theirs_pn = (positive, negative)
        else:
            ours_pn = our_conditioning(our_cn, settings, positive, negative, hint)
            theirs_pn = acn_conditioning(acn, os.path.basename(cn), settings, positive, negative, hint, latent)
        ours = run(our_model(model, handle, settings), *ours_pn)
        theirs = run(ade_model(ade, model, os.path.basename(mm), settings), *theirs_pn)
        distance, moved, note = compare(torch, ours, theirs, baseline(settings.get("context")))
        rows.append((name, distance, moved, note))
        print(f"{name:50} vs ACN {distance:.1e}   vs no ControlNet {moved:.1e} {note} "
              f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
    order = [name for name, _ in all_cases]
    rows = merge_rows(a.out, rows, order, (BEGIN, END)) if a.only else [(n, f"{d:.1e}", f"{m:.1e}", note)
                                                          for n, d, m, note in rows]
    worst = max(float(d.strip("*")) for _, d, _, _ in rows)
    lines = [BEGIN, "## ControlNet controls against Advanced-ControlNet", "",
             f"`make parity-acn ADE=… ACN=…` ({time.strftime('%Y-%m-%d')}, "
             f"{(time.perf_counter() - started) / 60:.1f} min{', --only runs' if a.only else ''}, "
             f"ADE {Path(a.ade).name}, ACN {Path(a.acn).name}): {FRAMES} frames at {SIZE}×{SIZE} px, Euler `simple` "
             f"{STEPS} steps, cfg {CFG:g}, the same random real-shape SD1.5 UNet, Lightning-layout module and SD1.5 "
             "ControlNet, the same noise and random hint images on both sides. ACN (its loader, weight and keyframe "
             "nodes, Apply Advanced ControlNet) with ADE's Gen2 nodes against core Load / Apply ControlNet with "
             "ControlNet Controls / Weights / Keyframe (Lightning) and Apply Motion Module; `[uniform 8/2]` / "
             "`[static 8/2]`: ADE's Standard Uniform / Static context options (length 8, overlap 2, pyramid) "
             "against Context Options (Lightning) with the same settings. Relative L2 distance of the final latents "
             "(goal ≤ 1e-4); the last column is the distance to this pack without a ControlNet (with the same "
             "context windows), to show the ControlNet does change the frames.", "",
             "| case | this pack vs ACN | vs no ControlNet |", "|---|---|---|"]
    lines += [f"| {n} | {'**' if float(d) > GOAL else ''}{d}{'**' if float(d) > GOAL else ''}{note} | {m} |"
              for n, d, m, note in rows]
    lines += ["", f"Worst: {worst:.1e} ({'within' if worst <= GOAL else 'ABOVE'} the goal).", "", *NOTES, END]
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
