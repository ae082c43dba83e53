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
        # module adjustments (ADE's AnimateDiffSettings at load)
        ("PE sweetspot 16 → 32", {"adjust": [("pe", {"cap": 16, "interpolate_to": 32})]}),
        ("PE full stretch +8", {"adjust": [("pe", {"stretch": 8})]}),
        ("PE manual offsets", {"adjust": [("pe", {"initial_offset": 2, "cap": 20, "interpolate_to": 24,
                                                  "final_offset": 1})]}),
        ("weights all × 0.9", {"adjust": [("w", "AllMult", {"all_MULT": 0.9})]}),
        ("weights all + 0.002", {"adjust": [("w", "AllAdd", {"all_ADD": 0.002})]}),
        ("weights per group ×", {"adjust": [("w", "IndivMult", {"pe_MULT": 1.1, "attn_MULT": 0.9, "other_MULT": 1.05})]}),
        ("weights per attention part +", {"adjust": [("w", "IndivAttnAdd", {
            "pe_ADD": 0.01, "attn_ADD": 0.0, "attn_q_ADD": 0.02, "attn_k_ADD": -0.01, "attn_v_ADD": 0.0,
            "attn_out_weight_ADD": 0.005, "attn_out_bias_ADD": 0.01, "other_ADD": -0.003})]}),
        ("PE stretch + weights × chained", {"adjust": [("pe", {"stretch": 4}), ("w", "AllMult", {"all_MULT": 1.1}),
                                                       ("w", "IndivMult", {"pe_MULT": 0.8, "attn_MULT": 1.0,
                                                                           "other_MULT": 1.0})]}),
        # sample settings: the initial noise (ADE's Sample Settings, noise layers, FreeInit)
        ("noise constant", {"noise": {"noise_type": "constant"}}),
        ("noise comfy, batch_offset 5", {"noise": {"batch_offset": 5}}),
        ("noise auto1111, offsets 3/2", {"noise": {"seed_gen": "auto1111", "seed_offset": 3, "batch_offset": 2}}),
        ("noise auto1111 constant", {"noise": {"seed_gen": "auto1111", "noise_type": "constant", "batch_offset": 1}}),
        ("noise empty", {"noise": {"noise_type": "empty"}}),
        ("seed override 1234 alone (ADE keeps the noise)", {"noise": {"seed_override": 1234}}),
        ("seed override 1234, seed_offset 1", {"noise": {"seed_override": 1234, "seed_offset": 1}}),
        ("noise layers add + replace (mask)", {"noise": {"layers": [
            {"application": "add", "weight": 0.3, "seed_offset": 1},
            {"application": "replace", "seed_offset": 2, "seed_gen": "auto1111", "mask": one_mask}]}}),
        ("noise layers add weighted + normalized sum", {"noise": {"seed_gen": "auto1111", "layers": [
            {"application": "add weighted", "weight": 0.4, "balance": 0.5, "batch_offset": 3},
            {"application": "normalized sum", "weight": 0.3, "noise_type": "constant", "seed_override": 77}]}}),
        ("FreeInit 2 × gaussian", {"noise": {"freeinit": {"iterations": 2}}}),
        ("FreeInit 2 × butterworth, 1st too", {"noise": {"freeinit": {"iterations": 2, "filter": "butterworth",
                                                                        "apply_to_first": True, "sigma_step": 749,
                                                                        "iter_seed_offset": 3}}}),
        ("FreeInit box, DinkInit_v1", {"noise": {"freeinit": {"iterations": 2, "filter": "box",
                                                                "method": "DinkInit_v1", "d_s": 0.5}}}),
        # custom CFG (ADE's on its sample settings): the sampler's cfg is 1, the negative prompt another one
        ("custom CFG 2.5", {"noise": {"cfg": [(2.5, 0.0, 1, None)]}}),
        ("CFG keyframes 1.5 → 3 at 0.5", {"noise": {"cfg": [(1.5, 0.0, 1, None), (3.0, 0.5, 1, None)]}}),
        ("CFG keyframes from 0.3, guarantee 2", {"noise": {"cfg": [(2.0, 0.3, 2, None), (1.0, 0.6, 1, None),
                                                                    (4.0, 0.65, 0, None)]}}),
        ("CFG per frame", {"noise": {"cfg": [(1.0, 0.0, 1, ("list", [1.0 + 0.1 * i for i in range(FRAMES)]))]}}),
        ("CFG mask 1..3, then 2", {"noise": {"cfg": [(1.0, 0.0, 1, ("mask", one_mask, 1.0, 3.0, "absolute")),
                                                     (2.0, 0.5, 1, None)]}}),
        # sigma schedules (ADE's on its sample settings; they replace the beta schedule)
        ("sigma schedule lcm", {"noise": {"sigma": ("alias", "lcm", "lcm")}}),
        ("sigma schedule linear", {"noise": {"sigma": ("alias", "linear", "linear (HotshotXL/default)")}}),
        ("sigma schedules averaged 0.3", {"noise": {"sigma": ("blend", ("linear", "linear (HotshotXL/default)"),
                                                              ("sqrt_linear", "sqrt_linear (AnimateDiff)"),
                                                              0.3, 0.3, None)}}),
        ("sigma schedules ease_in_out 0.9 → 0.1", {"noise": {"sigma": (
            "blend", ("linear", "linear (HotshotXL/default)"), ("sqrt_linear", "sqrt_linear (AnimateDiff)"),
            0.9, 0.1, "ease_in_out")}}),
        # (ADE's zsnr is not compared: on this ComfyUI it fails, calling a function core has moved to
        # comfy.model_sampling; tests/test_schedules.py checks ours against core's function)
        ("raw sigma schedule sqrt_linear", {"noise": {"sigma": ("raw", "sqrt_linear", False)}}),
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


ADE_APPLICATION = {"add": "ADE_NoiseLayerAdd", "add weighted": "ADE_NoiseLayerAddWeighted",
                   "normalized sum": "ADE_NoiseLayerNormalizedSum", "replace": "ADE_NoiseLayerReplace"}


def ade_ad_settings(nodes, adjusts):
    pe = weights = None
    for adjust in adjusts:
        if adjust[0] == "pe":
            v = adjust[1]
            if set(v) == {"stretch"}:
                pe = nodes["ADE_AdjustPEFullStretch"]().get_pe_adjust(v["stretch"], False, prev_pe_adjust=pe)[0]
            elif set(v) == {"cap", "interpolate_to"}:
                pe = nodes["ADE_AdjustPESweetspotStretch"]().get_pe_adjust(v["cap"], v["interpolate_to"], False,
                                                                          prev_pe_adjust=pe)[0]
            else:
                pe = nodes["ADE_AdjustPEManual"]().get_pe_adjust(
                    v.get("cap", 0), v.get("interpolate_to", 0), v.get("initial_offset", 0), v.get("final_offset", 0),
                    False, prev_pe_adjust=pe)[0]
        else:
            _, kind, v = adjust
            weights = nodes[f"ADE_AdjustWeight{kind}"]().get_weight_adjust(**v, print_adjustment=False,
                                                                           prev_weight_adjust=weights)[0]
    return nodes["ADE_AnimateDiffSettings"]().get_ad_settings(pe_adjust=pe, weight_adjust=weights)[0]


def our_adjusts(adjusts):
    """ADE's adjustments as this pack's nodes: one Adjust Motion Weights per group an ADE node sets (in the
    groups' order, which is the order ADE applies them to a key)."""
    from animatediff_lightning.motion_modules.adjust import WEIGHT_GROUPS
    from animatediff_lightning.nodes.adjust import AdjustPositions, AdjustWeights
    ade_group = {"all": "all", "pe": "positional encoding", "attn": "attention", "attn_q": "attention q",
                 "attn_k": "attention k", "attn_v": "attention v", "attn_out_weight": "attention out weight",
                 "attn_out_bias": "attention out bias", "other": "other"}
    chain = None
    for adjust in adjusts:
        if adjust[0] == "pe":
            v = adjust[1]
            chain = AdjustPositions.execute(v.get("stretch", 0), v.get("initial_offset", 0), v.get("cap", 0),
                                            v.get("interpolate_to", 0), v.get("final_offset", 0),
                                            previous=chain).result[0]
            continue
        per_group = {}
        for name, value in adjust[2].items():
            attr, op = name.rsplit("_", 1)
            per_group.setdefault(ade_group[attr], {})[op] = value
        for group in sorted(per_group, key=list(WEIGHT_GROUPS).index):
            ops = per_group[group]
            chain = AdjustWeights.execute(group, ops.get("ADD", 0.0), ops.get("MULT", 1.0), previous=chain).result[0]
    return chain


def ade_sample_settings(nodes, spec):
    layers = None
    for layer in reversed(spec.get("layers", [])):  # ADE puts each new layer first: build the last one first
        node = nodes[ADE_APPLICATION[layer["application"]]]()
        extra = {}
        if layer["application"] != "replace":
            extra["noise_weight"] = layer.get("weight", 0.5)
        if layer["application"] == "add weighted":
            extra["balance_multiplier"] = layer.get("balance", 1.0)
        layers = node.create_layers(layer.get("batch_offset", 0), layer.get("noise_type", "default"),
                                    layer.get("seed_gen", "use existing"), layer.get("seed_offset", 0), **extra,
                                    prev_noise_layers=layers, mask_optional=layer.get("mask"),
                                    seed_override=layer.get("seed_override"))[0]
    cfg = None
    for value, start, guarantee, multival in spec.get("cfg", []):
        if multival is None:
            cfg = nodes["ADE_CustomCFGKeyframeSimple"]().create_custom_cfg(value, start, guarantee,
                                                                         prev_custom_cfg=cfg)[0]
        else:
            cfg = nodes["ADE_CustomCFGKeyframe"]().create_custom_cfg(ade_value(nodes, multival), start, guarantee,
                                                                   prev_custom_cfg=cfg)[0]
    sigma = ade_sigma_schedule(nodes, spec["sigma"]) if "sigma" in spec else None
    iteration = None
    if "freeinit" in spec:
        f = spec["freeinit"]
        iteration = nodes["ADE_IterationOptsFreeInit"]().create_iter_opts(
            f["iterations"], f.get("filter", "gaussian"), f.get("d_s", 0.25), f.get("d_t", 0.25), f.get("n", 4),
            f.get("sigma_step", 999), f.get("apply_to_first", False), f.get("method", "FreeInit [sampler sigma]"),
            iter_batch_offset=f.get("iter_batch_offset", 0), iter_seed_offset=f.get("iter_seed_offset", 1))[0]
    return nodes["ADE_AnimateDiffSamplingSettings"]().create_settings(
        spec.get("batch_offset", 0), spec.get("noise_type", "default"), spec.get("seed_gen", "comfy"),
        spec.get("seed_offset", 0), noise_layers=layers, iteration_opts=iteration,
        seed_override=spec.get("seed_override"), custom_cfg=cfg, sigma_schedule=sigma)[0]


def ade_sigma_schedule(nodes, spec):
    if spec[0] == "alias":
        return nodes["ADE_SigmaSchedule"]().get_sigma_schedule(spec[2])[0]
    if spec[0] == "raw":
        return nodes["ADE_RawSigmaSchedule"]().get_sigma_schedule(spec[1], 0.00085, 0.012, "eps", 50, spec[2])[0]
    _, a, b, w0, w1, interpolation = spec
    a, b = (nodes["ADE_SigmaSchedule"]().get_sigma_schedule(x[1])[0] for x in (a, b))
    if interpolation is None:
        return nodes["ADE_SigmaScheduleWeightedAverage"]().get_sigma_schedule(a, b, w0)[0]
    return nodes["ADE_SigmaScheduleWeightedAverageInterp"]().get_sigma_schedule(a, b, w0, w1, interpolation)[0]


def our_sigma_schedule(spec):
    from animatediff_lightning.nodes.sampling import SigmaScheduleNode
    if spec[0] == "alias":
        return SigmaScheduleNode.execute(spec[1], False).result[0]
    if spec[0] == "raw":
        return SigmaScheduleNode.execute(spec[1], spec[2]).result[0]
    _, a, b, w0, w1, interpolation = spec
    other = SigmaScheduleNode.execute(b[0], False).result[0]
    return SigmaScheduleNode.execute(a[0], False, blend_with=other, weight_start=w0, weight_end=w1,
                                     interpolation=interpolation or "linear").result[0]


def our_sample_settings(spec):
    from animatediff_lightning.nodes.cfg import CFGKeyframeNode
    from animatediff_lightning.nodes.noise import FreeInitNode, NoiseLayerNode, SampleSettingsNode
    cfg = None
    for value, start, guarantee, multival in spec.get("cfg", []):
        cfg = CFGKeyframeNode.execute(value, start, guarantee, previous=cfg,
                                      value=our_value(multival) if multival else None).result[0]
    layers = None
    for layer in spec.get("layers", []):
        layers = NoiseLayerNode.execute(
            layer["application"], layer.get("noise_type", "default"), layer.get("seed_gen", "use existing"),
            layer.get("seed_offset", 0), layer.get("batch_offset", 0), layer.get("weight", 0.5),
            layer.get("balance", 1.0), previous=layers, mask=layer.get("mask"),
            seed_override=layer.get("seed_override")).result[0]
    freeinit = None
    if "freeinit" in spec:
        f = spec["freeinit"]
        freeinit = FreeInitNode.execute(f["iterations"], f.get("filter", "gaussian"), f.get("d_s", 0.25),
                                        f.get("d_t", 0.25), f.get("n", 4), f.get("sigma_step", 999),
                                        f.get("apply_to_first", False), f.get("method", "FreeInit [sampler sigma]"),
                                        f.get("iter_batch_offset", 0), f.get("iter_seed_offset", 1)).result[0]
    return SampleSettingsNode.execute(spec.get("noise_type", "default"), spec.get("seed_gen", "comfy"),
                                      spec.get("seed_offset", 0), spec.get("batch_offset", 0), noise_layers=layers,
                                      freeinit=freeinit, seed_override=spec.get("seed_override"),
                                      custom_cfg=cfg,
                                      sigma_schedule=our_sigma_schedule(spec["sigma"]) if "sigma" in spec else None
                                      ).result[0]


def ade_model(nodes, model, mm_name, settings):
    keyframes = None
    for start, values, guarantee, inherit in settings.get("keyframes", []):
        keyframes = nodes["ADE_AnimateDiffKeyframe"]().load_keyframe(
            start, prev_ad_keyframes=keyframes,
            scale_multival=ade_value(nodes, values["scale"]) if "scale" in values else None,
            effect_multival=ade_value(nodes, values["effect"]) if "effect" in values else None,
            inherit_missing=inherit, guarantee_steps=guarantee)[0]
    ad_settings = ade_ad_settings(nodes, settings["adjust"]) if "adjust" in settings else None
    motion = nodes["ADE_LoadAnimateDiffModel"]().load_motion_model(mm_name, ad_settings=ad_settings)[0]
    m_models = nodes["ADE_ApplyAnimateDiffModel"]().apply_motion_model(
        motion, settings.get("start", 0.0), settings.get("end", 1.0), ad_keyframes=keyframes,
        scale_multival=ade_value(nodes, settings["scale"]) if "scale" in settings else None,
        effect_multival=ade_value(nodes, settings["effect"]) if "effect" in settings else None)[0]
    beta = settings["beta"][1] if "beta" in settings else "sqrt_linear (AnimateDiff)"
    sample_settings = ade_sample_settings(nodes, settings["noise"]) if "noise" in settings else None
    return nodes["ADE_UseEvolvedSampling"]().use_evolved_sampling(model, beta, m_models=m_models,
                                                                  sample_settings=sample_settings)[0]


def our_model(model, handle, settings, path):
    from animatediff_lightning.glue.injection import apply_motion_module, load_motion_module_handle
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
    if "adjust" in settings:
        handle = load_motion_module_handle(path, tuple(our_adjusts(settings["adjust"])))
    return apply_motion_module(model, handle, 1.0, settings["beta"][0] if "beta" in settings else True,
                               control=control,
                               sample_settings=our_sample_settings(settings["noise"]) if "noise" in settings else None)


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


def merge_rows(doc: Path, new_rows, order, markers=(BEGIN, END)):
    """``--only``: the rows measured now replace theirs in the table between ``markers`` in ``doc``; the others
    stay (also parity_acn.py's)."""
    rows = {}
    text = doc.read_text() if doc.exists() else ""
    begin, end = markers
    for line in (text.split(begin)[-1].split(end)[0] if begin in text else "").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0] not in ("control", "case", "---"):
            m = re.match(r"\**([0-9.e+-]+|inf|nan)\**(.*)", cells[1])
            if m:
                rows[cells[0]] = (cells[0], m.group(1), cells[2], m.group(2))
    for n, d, m, note in new_rows:
        rows[n] = (n, f"{d:.1e}", f"{m:.1e}", note)
    return [rows[n] for n in order if n in rows]


FREENOISE_CASES = [(40, 16, 4, 1), (33, 16, 8, 123456), (48, 16, 0, 5), (17, 16, 4, 9), (64, 8, 2, 2 ** 40),
                   (31, 12, 11, 7), (100, 16, 4, 2 ** 52 + 3), (253, 24, 6, 2 ** 64 - 1)]


def freenoise_line(torch) -> str:
    """ADE's own FreeNoise (``SeedNoiseGeneration._convert_to_freenoise``, run here with its context options'
    length and overlap) against "FreeNoise (AnimateDiff-Evolved)" on the same drawn noise: how many cases match
    exactly, frame for frame."""
    import types
    from animatediff_lightning.glue.context import freenoise_ade
    settings = sys.modules["ade_pack.animatediff.sample_settings"]
    same = 0
    for frames, length, overlap, seed in FREENOISE_CASES:
        noise = torch.randn(frames, 4, 8, 8, generator=torch.Generator().manual_seed(seed % 1000))
        opts = types.SimpleNamespace(context_length=length, context_overlap=overlap, view_options=None)
        theirs = settings.SeedNoiseGeneration._convert_to_freenoise(noise.clone(), seed, {"context_options": opts})
        same += bool(torch.equal(theirs, freenoise_ade(noise, length, overlap, seed)))
    return (f"FreeNoise: ADE's `_convert_to_freenoise` against FreeNoise (AnimateDiff-Evolved) on the same noise, "
            f"{len(FREENOISE_CASES)} cases (17–253 frames, lengths 8–24, overlaps 0–11, seeds up to 2^64−1): "
            f"{same} of {len(FREENOISE_CASES)} identical frame for frame.")


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
    negative = [[torch.randn(1, 77, 768, generator=g), {}]]  # used only where a custom CFG is above 1
    latent = torch.zeros(FRAMES, 4, SIZE // 8, SIZE // 8)
    noise = comfy.sample.prepare_noise(latent, 42)

    def run(m):
        return comfy.sample.sample(m, noise, STEPS, 1.0, "euler", "simple", cond, negative, latent, denoise=1.0,
                                   seed=42, disable_pbar=True)

    freenoise = freenoise_line(torch)
    print(freenoise, file=sys.stderr, flush=True)
    started, rows = time.perf_counter(), []
    plain_ours = run(our_model(model, handle, {}, mm))  # the baseline of the last column
    for name, settings in cases(torch):
        if a.only and name not in a.only:
            continue
        mine, ade = our_model(model, handle, settings, mm), ade_model(nodes, model, os.path.basename(mm), settings)
        ours, theirs = run(mine), run(ade)
        distance, moved, note = compare(torch, ours, theirs, plain_ours)
        if "beta" in settings or "sigma" in settings.get("noise", {}):  # the schedules themselves, σ for σ
            sa, sb = (m.get_model_object("model_sampling").sigmas.double() for m in (mine, ade))
            sigma = float(((sa - sb).abs() / sb).max()) if sa.shape == sb.shape else float("inf")
            note += f"; σ: {sa.numel()} levels, max {float(sb.max()):.3g}, ours vs ADE ≤ {sigma:.1e}"
            if float(sb.max()) > 1e6 and sigma <= GOAL:
                # σ_max ≈ 1e15 (sqrt on SD1.5's β range): latents of ~1e16 are differences of huge numbers in
                # fp32 on both sides; the schedules are the same, the frames are noise either way
                note += " (degenerate: not counted)"
        rows.append((name, distance, moved, note))
        print(f"{name:32} vs ADE {distance:.1e}   vs no controls {moved:.1e} {note}", file=sys.stderr, flush=True)
    rows = merge_rows(a.out, rows, [name for name, _ in cases(torch)]) if a.only else [
        (n, f"{d:.1e}", f"{m:.1e}", note) for n, d, m, note in rows]
    worst = max(float(d.strip("*")) for _, d, _, note in rows if "not counted" not in note)
    lines = [BEGIN, "## Motion controls against AnimateDiff-Evolved", "",
             f"`make parity-ade` ({time.strftime('%Y-%m-%d')}, {(time.perf_counter() - started) / 60:.1f} min, "
             f"ADE {Path(a.ade).name}): {FRAMES} frames at {SIZE}×{SIZE} px, Euler `simple` {STEPS} steps, cfg 1, "
             "the same random real-shape SD1.5 UNet and Lightning-layout module and the same noise on both sides. "
             "Relative L2 distance of the final latents (goal ≤ 1e-4); the last column shows the control does "
             "change the frames.", "",
             "| control | this pack vs ADE | vs no controls |", "|---|---|---|"]
    lines += [f"| {n} | {'**' if float(d) > GOAL else ''}{d}{'**' if float(d) > GOAL else ''}{note} | {m} |"
              for n, d, m, note in rows]
    lines += ["", f"Worst: {worst:.1e} ({'within' if worst <= GOAL else 'ABOVE'} the goal).", "", freenoise, END]
    section = "\n".join(lines)
    text = a.out.read_text() if a.out.exists() else ""
    if BEGIN in text:
        text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: section, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    a.out.write_text(text)
    print(section)
    sys.exit(0 if worst <= GOAL and freenoise.endswith(f"{len(FREENOISE_CASES)} of {len(FREENOISE_CASES)} identical "
                                                        "frame for frame.") else 1)


if __name__ == "__main__":
    main()
