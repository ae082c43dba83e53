"""The converter on AnimateDiff-Evolved's motion control, without a server: multivals (ADE_MultivalDynamic,
...FloatInput, ADE_MultivalScaledMask) → Motion Value (Lightning), ADE_AnimateDiffKeyframe → Motion Keyframe
(Lightning), the scale/effect/keyframes sockets of the Gen2 apply nodes and the loaders relinked onto Apply Motion
Module's, its start/end percent, the legacy loader's motion_scale (ADE's attention scale) as a Motion Value on
Apply's scale; UI and API format; and what stays (per-block strengths, several motion models, a multival from or
into a node that does not convert) with the reason."""
import json

import pytest
from animatediff_lightning.workflow_files import convert as cv
from support.foreign_workflows import FIXTURES, MODULE, UIGraph, t2v_gen2_multivals_keyframes
from test_convert import _consistent, _links, by_type, named

CASES = json.loads((FIXTURES / "motion_versions.json").read_text())["cases"]
SOURCES = {"MASK": ("SolidMask", [1.0, 64, 64]), "FLOAT": ("PrimitiveNode", [0.7, "fixed"])}
MULTIVAL = [("MULTIVAL", "MULTIVAL")]
KF_INPUTS = [("prev_ad_keyframes", "AD_KEYFRAMES"), ("scale_multival", "MULTIVAL"), ("effect_multival", "MULTIVAL"),
             ("per_block_replace", "PER_BLOCK")]
MOTION_INPUTS = [("scale_multival", "MULTIVAL"), ("effect_multival", "MULTIVAL"), ("ad_keyframes", "AD_KEYFRAMES"),
                 ("per_block", "PER_BLOCK")]


def source(g, kind):
    type_, widgets = SOURCES[kind]
    return g.node(type_, widgets, outputs=[(kind, kind)])


def link_types(workflow):
    """(source type, target type, input name) → the link's type."""
    nodes = {n["id"]: n for n in workflow["nodes"]}
    return {(nodes[s]["type"], nodes[d]["type"], nodes[d]["inputs"][ds]["name"]): kind
            for _id, s, _ss, d, ds, kind in workflow["links"]}


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['type']}:{c['version']}:{c['widgets_values']}")
def test_version_recognised_and_values_translated(case):
    g = UIGraph()
    node = g.node(case["type"], case["widgets_values"], inputs=[i for i in case["inputs"] if i[1] != "FLOAT"],
                  outputs=MULTIVAL)
    for name, kind in case["inputs"]:
        if kind == "FLOAT":
            g.widget_input(node, name, kind)
        g.link(source(g, kind), 0, node, name)
    converted, report = cv.convert(g.workflow())
    assert not report["kept"], report["kept"]
    [entry] = report["converted"]
    assert case["version"] in entry["version"], entry["version"]
    [(target, values)] = case["expect"].items()
    [out] = by_type(converted, target)
    got = named(out)
    assert {k: got[k] for k in values} == values, got
    links = {(t, i) for s, _slot, t, i in _links(converted)}
    assert links == {(target, name) for name in case.get("links", {})}
    for name, kind in case.get("links", {}).items():
        assert link_types(converted)[(SOURCES[kind][0], target, name)] == kind


def test_gen2_fixture_converts_with_every_link_where_it_belongs():
    original = t2v_gen2_multivals_keyframes()
    converted, report = cv.convert(original)
    _consistent(converted)
    assert not report["kept"], report["kept"]
    assert not any(n["type"].startswith(("ADE_", "VHS_")) for n in converted["nodes"])
    links = _links(converted)
    types = link_types(converted)
    for src, slot, dst, name, kind in [
            ("ADL_MotionValue", 0, "ADL_ApplyMotionModule", "scale", "ADL_MOTION_VALUE"),
            ("ADL_MotionValue", 0, "ADL_ApplyMotionModule", "effect", "ADL_MOTION_VALUE"),
            ("ADL_MotionValue", 0, "ADL_MotionKeyframe", "scale", "ADL_MOTION_VALUE"),
            ("ADL_MotionKeyframe", 0, "ADL_MotionKeyframe", "previous", "ADL_MOTION_KEYFRAMES"),
            ("ADL_MotionKeyframe", 0, "Reroute", "", "ADL_MOTION_KEYFRAMES"),
            ("Reroute", 0, "ADL_ApplyMotionModule", "keyframes", "ADL_MOTION_KEYFRAMES"),
            ("SolidMask", 0, "ADL_MotionValue", "mask", "MASK"),
            ("PrimitiveNode", 0, "ADL_MotionValue", "value", "FLOAT")]:  # a linked float_val stays linked
        assert (src, slot, dst, name) in links and types[(src, dst, name)] == kind, (src, dst, name)
    [reroute] = by_type(converted, "Reroute")
    assert reroute["outputs"][0]["type"] == "ADL_MOTION_KEYFRAMES"  # retyped with what it now carries
    [apply] = by_type(converted, "ADL_ApplyMotionModule")
    assert named(apply) == {"motion_scale": 1.0, "beta_schedule": "animatediff (sqrt_linear, as trained)",
                            "start_percent": 0.1, "end_percent": 0.9}
    values = {n["id"]: named(n) for n in by_type(converted, "ADL_MotionValue")}
    titles = {n["id"]: n.get("title") for n in by_type(converted, "ADL_MotionValue")}
    assert sorted((v["value"], v["mask_min"], v["mask_max"], v["mask_scaling"]) for v in values.values()) == [
        (1.0, 0.0, 1.0, "absolute"), (1.0, 0.8, 1.2, "relative"), (1.1, 0.0, 1.0, "absolute")]
    assert sorted(filter(None, titles.values())) == ["effect"]  # ADE's own display names are dropped
    keyframes = sorted((named(n) for n in by_type(converted, "ADL_MotionKeyframe")), key=lambda v: v["start_percent"])
    assert keyframes == [{"start_percent": 0.0, "guarantee_steps": 1, "inherit_missing": True},
                         {"start_percent": 0.5, "guarantee_steps": 2, "inherit_missing": False}]


def api_prompt():
    """t2v_gen2_multivals_keyframes as ADE would have queued it (API format; the Primitive is its value)."""
    return {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "x.safetensors"}},
        "2": {"class_type": "SolidMask", "inputs": {"value": 0.5, "width": 64, "height": 64}},
        "3": {"class_type": "ADE_MultivalDynamic", "inputs": {"float_val": 1.1, "mask_optional": ["2", 0]}},
        "4": {"class_type": "ADE_MultivalScaledMask", "inputs": {"min_float_val": 0.8, "max_float_val": ["9", 0],
                                                                 "scaling": "relative", "mask": ["2", 0]}},
        "5": {"class_type": "ADE_AnimateDiffKeyframe", "inputs": {"start_percent": 0.0, "inherit_missing": True,
                                                                  "guarantee_steps": 1}},
        "6": {"class_type": "ADE_AnimateDiffKeyframe", "inputs": {"start_percent": 0.5, "inherit_missing": False,
                                                                  "guarantee_steps": 2, "prev_ad_keyframes": ["5", 0],
                                                                  "effect_multival": ["4", 0]}},
        "7": {"class_type": "ADE_LoadAnimateDiffModel", "inputs": {"model_name": MODULE}},
        "8": {"class_type": "ADE_ApplyAnimateDiffModel", "inputs": {"start_percent": 0.1, "end_percent": 0.9,
                                                                    "motion_model": ["7", 0], "scale_multival": ["3", 0],
                                                                    "ad_keyframes": ["6", 0]}},
        "9": {"class_type": "PrimitiveFloat", "inputs": {"value": 1.2}},
        "10": {"class_type": "ADE_UseEvolvedSampling", "inputs": {"beta_schedule": "autoselect", "model": ["1", 0],
                                                                  "m_models": ["8", 0]}},
        "11": {"class_type": "KSampler", "inputs": {"model": ["10", 0]}},
    }


def test_api_format():
    converted, report = cv.convert(api_prompt())
    assert not report["kept"], report["kept"]
    assert set(converted) == set(api_prompt()) - {"8"}  # the Gen2 apply folds into Use Evolved Sampling's node
    assert converted["3"] == {"class_type": "ADL_MotionValue", "inputs": {
        "value": 1.1, "per_frame": "", "mask_min": 0.0, "mask_max": 1.0, "mask_scaling": "absolute", "mask": ["2", 0]}}
    assert converted["4"] == {"class_type": "ADL_MotionValue", "inputs": {
        "value": 1.0, "per_frame": "", "mask_min": 0.8, "mask_max": ["9", 0], "mask_scaling": "relative",
        "mask": ["2", 0]}}
    assert converted["5"]["inputs"] == {"start_percent": 0.0, "guarantee_steps": 1, "inherit_missing": True}
    assert converted["6"] == {"class_type": "ADL_MotionKeyframe", "inputs": {
        "start_percent": 0.5, "guarantee_steps": 2, "inherit_missing": False, "previous": ["5", 0],
        "effect": ["4", 0]}}
    assert converted["10"] == {"class_type": "ADL_ApplyMotionModule", "inputs": {
        "motion_scale": 1.0, "beta_schedule": "autoselect (lcm for AnimateLCM, else sqrt_linear)",
        "start_percent": 0.1, "end_percent": 0.9, "motion_module": ["7", 0], "model": ["1", 0], "scale": ["3", 0], "keyframes": ["6", 0]}}
    assert converted["11"]["inputs"]["model"] == ["10", 0]


@pytest.mark.parametrize("loader, widgets", [("ADE_AnimateDiffLoaderGen1", [MODULE, "autoselect"]),
                                             ("ADE_AnimateDiffLoaderWithContext", [MODULE, "autoselect", 1.0, True])])
def test_loaders_relink_multivals_and_keyframes(loader, widgets):
    g = UIGraph()
    scale = g.node("ADE_MultivalDynamic", [1.2], outputs=MULTIVAL)
    effect = g.node("ADE_MultivalDynamic", [0.6], outputs=MULTIVAL)
    kf = g.node("ADE_AnimateDiffKeyframe", [0.4, True, 1], inputs=KF_INPUTS, outputs=[("AD_KEYFRAMES", "AD_KEYFRAMES")])
    g.link(effect, 0, kf, "effect_multival")
    ad = g.node(loader, widgets, inputs=[("model", "MODEL"), *MOTION_INPUTS], outputs=[("MODEL", "MODEL")])
    g.link(kf, 0, ad, "ad_keyframes")
    if loader == "ADE_AnimateDiffLoaderGen1":
        g.link(scale, 0, ad, "scale_multival")
    converted, report = cv.convert(g.workflow())
    _consistent(converted)
    links = _links(converted)
    assert ("ADL_MotionKeyframe", 0, "ADL_ApplyMotionModule", "keyframes") in links
    assert ("ADL_MotionValue", 0, "ADL_MotionKeyframe", "effect") in links
    if loader == "ADE_AnimateDiffLoaderGen1":
        assert not report["kept"] and ("ADL_MotionValue", 0, "ADL_ApplyMotionModule", "scale") in links
    else:  # the legacy loader has no scale_multival: that multival feeds nothing and converts on its own
        assert not report["kept"] and len(by_type(converted, "ADL_MotionValue")) == 2
    assert not any(n["type"].startswith("ADE_") for n in converted["nodes"])


def test_legacy_motion_scale_linked_and_with_keyframes():
    """A motion_scale fed by a Primitive stays fed (into the Motion Value's value); with keyframes both go on."""
    g = UIGraph()
    prim = g.node("PrimitiveNode", [1.3, "fixed"], outputs=[("FLOAT", "FLOAT")])
    kf = g.node("ADE_AnimateDiffKeyframe", [0.0, True, 1], inputs=KF_INPUTS, outputs=[("AD_KEYFRAMES", "AD_KEYFRAMES")])
    ad = g.node("ADE_AnimateDiffLoaderWithContext", [MODULE, "autoselect", 1.3, True],
                inputs=[("model", "MODEL"), ("ad_keyframes", "AD_KEYFRAMES")], outputs=[("MODEL", "MODEL")])
    g.widget_input(ad, "motion_scale", "FLOAT")
    g.link(prim, 0, ad, "motion_scale")
    g.link(kf, 0, ad, "ad_keyframes")
    converted, report = cv.convert(g.workflow())
    assert not report["kept"], report["kept"]
    links = _links(converted)
    assert {("PrimitiveNode", 0, "ADL_MotionValue", "value"), ("ADL_MotionValue", 0, "ADL_ApplyMotionModule", "scale"),
            ("ADL_MotionKeyframe", 0, "ADL_ApplyMotionModule", "keyframes")} <= links
    assert "value (linked)" in cv.format_report(report)


def test_legacy_motion_scale_api_and_out_of_range():
    prompt = {"1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "x.safetensors"}},
              "2": {"class_type": "ADE_AnimateDiffLoaderWithContext", "inputs": {
                  "model": ["1", 0], "model_name": MODULE, "beta_schedule": "autoselect", "motion_scale": 0.75,
                  "apply_v2_models_properly": True}}}
    converted, report = cv.convert(prompt)
    assert converted["2"]["inputs"]["scale"] == ["4", 0] and converted["2"]["inputs"]["motion_scale"] == 1.0
    assert converted["4"] == {"class_type": "ADL_MotionValue", "inputs": {
        "value": 0.75, "per_frame": "", "mask_min": 0.0, "mask_max": 1.0, "mask_scaling": "absolute"}}
    prompt["2"]["inputs"]["motion_scale"] = 12.0
    _converted, report = cv.convert(prompt)
    assert "motion_scale 12.0 is outside what the replacement takes" in report["kept"][0]["reason"]


def _gen2_apply(apply_widgets=(0.0, 1.0)):
    g = UIGraph()
    load = g.node("ADE_LoadAnimateDiffModel", [MODULE], outputs=[("MOTION_MODEL", "MOTION_MODEL_ADE")])
    apply = g.node("ADE_ApplyAnimateDiffModel", list(apply_widgets),
                   inputs=[("motion_model", "MOTION_MODEL_ADE"), *MOTION_INPUTS, ("prev_m_models", "M_MODELS")],
                   outputs=[("M_MODELS", "M_MODELS")])
    g.link(load, 0, apply, "motion_model")
    use = g.node("ADE_UseEvolvedSampling", ["autoselect"], inputs=[("model", "MODEL"), ("m_models", "M_MODELS")],
                 outputs=[("MODEL", "MODEL")])
    g.link(apply, 0, use, "m_models")
    return g, load, apply, use


def test_per_block_and_prev_m_models_stay_with_their_multivals():
    """What has no counterpart keeps the node, and the multivals and keyframes it is fed keep theirs (a Motion
    Value would not fit ADE's MULTIVAL sockets)."""
    g, _load, apply, use = _gen2_apply()
    scale = g.node("ADE_MultivalDynamic", [1.2], outputs=MULTIVAL)
    g.link(scale, 0, apply, "scale_multival")
    g.link(g.node("ADE_InputPerBlock", [], outputs=[("PER_BLOCK", "PER_BLOCK")]), 0, apply, "per_block")
    _converted, report = cv.convert(g.workflow())
    kept = {k["id"]: k["reason"] for k in report["kept"]}
    assert "input per_block is connected: per-block motion module strengths" in kept[use]
    assert f"it feeds node {apply} (ADE_ApplyAnimateDiffModel), which was not converted" in kept[scale]

    g, _load, apply, use = _gen2_apply()
    prev = g.node("ADE_ApplyAnimateDiffModelSimple", None, outputs=[("M_MODELS", "M_MODELS")])
    g.link(prev, 0, apply, "prev_m_models")
    _converted, report = cv.convert(g.workflow())
    assert "several motion models at once" in {k["id"]: k["reason"] for k in report["kept"]}[use]

    g, _load, apply, use = _gen2_apply()
    kf = g.node("ADE_AnimateDiffKeyframe", [0.0, True, 1], inputs=KF_INPUTS, outputs=[("AD_KEYFRAMES", "AD_KEYFRAMES")])
    effect = g.node("ADE_MultivalDynamic", [0.5], outputs=MULTIVAL)
    g.link(effect, 0, kf, "effect_multival")
    g.link(g.node("ADE_InputPerBlock", [], outputs=[("PER_BLOCK", "PER_BLOCK")]), 0, kf, "per_block_replace")
    g.link(kf, 0, apply, "ad_keyframes")
    converted, report = cv.convert(g.workflow())
    kept = {k["id"]: k["reason"] for k in report["kept"]}
    assert "input per_block_replace is connected" in kept[kf]
    assert f"it needs node {kf} (ADE_AnimateDiffKeyframe), which was not converted: input per_block_replace" in kept[use]
    assert f"it feeds node {kf}" in kept[effect]
    assert [c["type"] for c in report["converted"]] == ["ADE_LoadAnimateDiffModel"]
    assert not by_type(converted, "ADL_MotionValue") and not by_type(converted, "ADL_MotionKeyframe")


def test_multivals_from_or_into_other_nodes_stay():
    g = UIGraph()
    floats = g.node("ADE_MultivalDynamicFloats", [], outputs=MULTIVAL)
    ad = g.node("ADE_AnimateDiffLoaderGen1", [MODULE, "autoselect"], inputs=MOTION_INPUTS, outputs=[("MODEL", "MODEL")])
    g.link(floats, 0, ad, "scale_multival")
    multival = g.node("ADE_MultivalDynamic", [1.0], outputs=MULTIVAL)
    pag = g.node("ADE_PerturbedAttentionGuidanceMultival", [], inputs=[("scale_multival", "MULTIVAL")])
    g.link(multival, 0, pag, "scale_multival")
    lone = g.node("ADE_MultivalScaledMask", [0.0, 1.0, "absolute"], inputs=[("mask", "MASK")], outputs=MULTIVAL)
    _converted, report = cv.convert(g.workflow())
    kept = {k["id"]: k["reason"] for k in report["kept"]}
    assert f"its scale_multival comes from node {floats} (ADE_MultivalDynamicFloats), which has no counterpart" in kept[ad]
    assert "a FLOATS list" in kept[floats]
    assert f"it feeds node {pag} (ADE_PerturbedAttentionGuidanceMultival), which has no counterpart" in kept[multival]
    assert "its mask is not connected" in kept[lone]
    assert not report["converted"]


def test_legacy_motion_scale_notes_and_placement():
    """The report names the Motion Value made from motion_scale; it is placed beside the Apply."""
    g = UIGraph()
    g.node("ADE_AnimateDiffLoaderWithContext", [MODULE, "autoselect", 1.5, False], outputs=[("MODEL", "MODEL")])
    converted, report = cv.convert(g.workflow())
    notes = report["converted"][0]["notes"]
    assert any("apply_v2_models_properly was off" in n for n in notes) and any("value 1.5" in n for n in notes)
    [value] = by_type(converted, "ADL_MotionValue")
    [apply] = by_type(converted, "ADL_ApplyMotionModule")
    assert value["pos"] == [apply["pos"][0] - 360, apply["pos"][1] + 120]


def test_gen2_percent_fed_by_a_primitive_stays_fed():
    g, _load, apply, _use = _gen2_apply((0.2, 1.0))
    g.widget_input(apply, "start_percent", "FLOAT")
    g.link(source(g, "FLOAT"), 0, apply, "start_percent")
    converted, report = cv.convert(g.workflow())
    assert not report["kept"], report["kept"]
    assert ("PrimitiveNode", 0, "ADL_ApplyMotionModule", "start_percent") in _links(converted)
    [out] = by_type(converted, "ADL_ApplyMotionModule")
    assert named(out)["end_percent"] == 1.0


def test_legacy_loader_of_late_october_2023():
    """9932a9e 2023-10-30 to 86965b2 2023-11-01: model_name, beta_schedule, motion_scale (3 values)."""
    g = UIGraph()
    ckpt = g.node("CheckpointLoaderSimple", ["x.safetensors"], outputs=[("MODEL", "MODEL"), ("CLIP", "CLIP"), ("VAE", "VAE")])
    ad = g.node("ADE_AnimateDiffLoaderWithContext", [MODULE, "sqrt_linear (AnimateDiff)", 1.25],
                inputs=[("model", "MODEL")], outputs=[("MODEL", "MODEL")])
    g.link(ckpt, 0, ad, "model")
    converted, report = cv.convert(g.workflow())
    assert not report["kept"], report["kept"]
    assert "9932a9e 2023-10-30 to 86965b2 2023-11-01" in report["converted"][0]["version"]
    [value] = by_type(converted, "ADL_MotionValue")
    assert named(value)["value"] == 1.25
    assert "apply_v2_models_properly was off" not in cv.format_report(report)  # today's ADE opens it with True


def test_api_legacy_loader_without_apply_v2_runs_as_ade_runs_it():
    """An API prompt that leaves apply_v2_models_properly out runs with ADE's function default, False: said."""
    prompt = {"1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "x.safetensors"}},
              "2": {"class_type": "ADE_AnimateDiffLoaderWithContext", "inputs": {
                  "model": ["1", 0], "model_name": MODULE, "beta_schedule": "autoselect"}}}
    _converted, report = cv.convert(prompt)
    assert not report["kept"], report["kept"]
    text = cv.format_report(report)
    assert "apply_v2_models_properly False" in text and "apply_v2_models_properly was off" in text


def test_motion_lora_saved_with_its_2023_input_name():
    """ADE called the Motion LoRA loader's file input lora_name until 3acf95e 2024-07-15."""
    prompt = {"1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "x.safetensors"}},
              "2": {"class_type": "ADE_AnimateDiffLoRALoader", "inputs": {"lora_name": "v2_lora_PanLeft.ckpt",
                                                                          "strength": 0.7}},
              "3": {"class_type": "ADE_AnimateDiffLoaderGen1", "inputs": {
                  "model": ["1", 0], "model_name": MODULE, "beta_schedule": "autoselect", "motion_lora": ["2", 0]}}}
    converted, report = cv.convert(prompt)
    assert not report["kept"], report["kept"]
    [lora] = [n for n in converted.values() if n["class_type"] == "ADL_LoadMotionLoRA"]
    assert lora["inputs"]["lora_name"] == "v2_lora_PanLeft.ckpt" and lora["inputs"]["strength"] == 0.7
    assert "lora_name (its name before the pack renamed it name)" in cv.format_report(report)
