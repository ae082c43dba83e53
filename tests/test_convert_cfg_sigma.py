"""The converter on AnimateDiff-Evolved's custom CFG and sigma schedules (on its sample settings' custom_cfg /
sigma_schedule), without a server: custom CFG nodes → CFG Keyframe (Lightning) chained in ADE's start_percent order,
sigma schedules → Sigma Schedule (Lightning) with a weighted mean as blend_with; UI and API format; what stays, with
the reason; and the converted nodes checked by ComfyUI's own prompt validation against this pack's nodes."""
import asyncio

import pytest
import torch
from animatediff_lightning.glue.schedules import BETA_SCHEDULES, INTERPOLATIONS, _weights
from animatediff_lightning.nodes import NODES
from animatediff_lightning.workflow_files import convert as cv
from support.foreign_workflows import MODULE
from test_convert import _consistent, _links, by_type, named
from test_convert_settings import (
    MEAN_INPUTS,
    SIGMA,
    cfg_node,
    chain,
    kept,
    settings_graph,
    source_of,
    typed,
)


def cfg_chain(g, settings, nodes):
    """Custom CFG nodes ((type, widgets), first of the chain to last) into ``settings``' custom_cfg; their ids."""
    ids = [cfg_node(g, t, w) for t, w in nodes]
    for a, b in zip(ids, ids[1:]):
        g.link(a, 0, b, "prev_custom_cfg")
    g.link(ids[-1], 0, settings, "custom_cfg")
    return ids


def schedule(g, alias):
    return g.node("ADE_SigmaSchedule", [alias], outputs=SIGMA)


def mean(g, a, b, widgets=(0.3,), type_="ADE_SigmaScheduleWeightedAverage"):
    node = g.node(type_, list(widgets), inputs=MEAN_INPUTS, outputs=SIGMA)
    g.link(a, 0, node, "schedule_A")
    g.link(b, 0, node, "schedule_B")
    return node


def converted_settings(g):
    converted, report = cv.convert(g.workflow())
    _consistent(converted)
    return converted, report, by_type(converted, "ADL_SampleSettings")


# --------------------------------------------------------------------------------------------------------
# Custom CFG
# --------------------------------------------------------------------------------------------------------
def test_keyframes_are_chained_in_ades_sorted_order():
    """ADE adds each keyframe (the first of the chain first) and sorts by start_percent, equal starts staying in the
    order added; ours refuse keyframes out of order, so the chain is written sorted, and the report says so."""
    g, settings, _l, _i, _ad = settings_graph()
    a, b, c, d = cfg_chain(g, settings, [("ADE_CustomCFGKeyframeSimple", [4.0, 0.6, 1]),
                                          ("ADE_CustomCFGKeyframeSimple", [2.0, 0.2, 2]),
                                          ("ADE_CustomCFGKeyframe", [0.6, 0]),
                                          ("ADE_CustomCFGKeyframeSimple", [7.0, 0.0, 1])])
    converted, report, [node] = converted_settings(g)
    assert not report["kept"], report["kept"]
    got = chain(converted, node, "custom_cfg")
    assert [n["id"] for n in got] == [d, b, a, c]  # 0.0, 0.2, then the two at 0.6 in the order added
    assert typed(got) == [("ADL_CFGKeyframe", {"cfg": 7.0, "start_percent": 0.0, "guarantee_steps": 1}),
                          ("ADL_CFGKeyframe", {"cfg": 2.0, "start_percent": 0.2, "guarantee_steps": 2}),
                          ("ADL_CFGKeyframe", {"cfg": 4.0, "start_percent": 0.6, "guarantee_steps": 1}),
                          ("ADL_CFGKeyframe", {"cfg": 1.0, "start_percent": 0.6, "guarantee_steps": 0})]
    assert ("ADL_MotionValue", 0, "ADL_CFGKeyframe", "value") in _links(converted)
    assert source_of(converted, got[3], "value")["type"] == "ADL_MotionValue"
    text = cv.format_report(report)
    assert f"sample settings node {settings}: custom CFG keyframes reordered" in text
    assert f"chained {d} (0.0) → {b} (0.2) → {a} (0.6) → {c} (0.6) (was {a} → {b} → {c} → {d})" in text


def test_keyframes_in_order_and_a_simple_custom_cfg():
    g, settings, _l, _i, _ad = settings_graph()
    a, b = cfg_chain(g, settings, [("ADE_CustomCFGSimple", [5.0]), ("ADE_CustomCFGKeyframeSimple", [1.0, 0.5, 1])])
    converted, report, [node] = converted_settings(g)
    assert not report["kept"], report["kept"]
    assert [n["id"] for n in chain(converted, node, "custom_cfg")] == [a, b]
    assert "reordered" not in cv.format_report(report)


def test_only_custom_cfg_still_makes_sample_settings():
    """Default sample settings with a custom CFG (or a sigma schedule) do not fold into the context options."""
    for wire in ("cfg", "sigma"):
        g, settings, _l, _i, _ad = settings_graph([0, "FreeNoise", "comfy", 0, False], context=True)
        if wire == "cfg":
            cfg_chain(g, settings, [("ADE_CustomCFGSimple", [3.0])])
        else:
            g.link(schedule(g, "lcm"), 0, settings, "sigma_schedule")
        converted, report, [node] = converted_settings(g)
        assert not report["kept"], report["kept"]
        assert named(node)["noise_type"] == "FreeNoise (AnimateDiff-Evolved)"
        assert ("ADL_SampleSettings", 0, "ADL_ApplyMotionModule", "sample_settings") in _links(converted)


def test_a_linked_cfg_stays_linked():
    g, settings, _l, _i, _ad = settings_graph()
    [k] = cfg_chain(g, settings, [("ADE_CustomCFGKeyframeSimple", [8.0, 0.0, 1])])
    for name, kind in [("cfg", "FLOAT"), ("guarantee_steps", "INT")]:
        g.widget_input(k, name, kind)
        prim = g.node("PrimitiveNode", [2.5 if kind == "FLOAT" else 3, "fixed"], outputs=[(kind, kind)])
        g.link(prim, 0, k, name)
    converted, report, _n = converted_settings(g)
    assert not report["kept"], report["kept"]
    links = _links(converted)
    assert {("PrimitiveNode", 0, "ADL_CFGKeyframe", "cfg"), ("PrimitiveNode", 0, "ADL_CFGKeyframe", "guarantee_steps")} <= links


def test_a_linked_start_percent_in_a_chain_is_refused():
    """Its order is known only when it runs; a single keyframe keeps it linked."""
    g, settings, _l, _i, ad = settings_graph()
    a, b = cfg_chain(g, settings, [("ADE_CustomCFGKeyframeSimple", [8.0, 0.0, 1]),
                                   ("ADE_CustomCFGKeyframeSimple", [2.0, 0.5, 1])])
    g.widget_input(b, "start_percent", "FLOAT")
    prim = g.node("PrimitiveNode", [0.5, "fixed"], outputs=[("FLOAT", "FLOAT")])
    g.link(prim, 0, b, "start_percent")
    _converted, report = cv.convert(g.workflow())
    reasons = kept(report)
    assert f"its custom CFG node {b}: start_percent comes from another node" in reasons[ad]
    assert reasons[b].startswith("start_percent comes from another node: AnimateDiff-Evolved orders its keyframes")

    g, settings, _l, _i, ad = settings_graph()
    [k] = cfg_chain(g, settings, [("ADE_CustomCFGKeyframeSimple", [2.0, 0.5, 1])])
    g.widget_input(k, "start_percent", "FLOAT")
    prim = g.node("PrimitiveNode", [0.5, "fixed"], outputs=[("FLOAT", "FLOAT")])
    g.link(prim, 0, k, "start_percent")
    converted, report, _n = converted_settings(g)
    assert not report["kept"] and ("PrimitiveNode", 0, "ADL_CFGKeyframe", "start_percent") in _links(converted)


def test_custom_cfg_refusals():
    # cfg_extras: refused, on the loader and on the node itself
    g, settings, _l, _i, ad = settings_graph()
    [k] = cfg_chain(g, settings, [("ADE_CustomCFGSimple", [4.0])])
    extras = g.node("ADE_CFGExtrasRescaleCFGSimple", [0.7], outputs=[("CFG_EXTRAS", "CFG_EXTRAS")])
    g.link(extras, 0, k, "cfg_extras")
    converted, report = cv.convert(g.workflow())
    reasons = kept(report)
    assert f"sample settings node {settings}: its custom CFG node {k}: input cfg_extras is connected: cfg extras" in reasons[ad]
    assert reasons[k].startswith("input cfg_extras is connected: cfg extras")
    assert reasons[extras].startswith("not supported: cfg extras")
    assert not by_type(converted, "ADL_CFGKeyframe")

    # keyframes made over a range feed the chain: that node has no counterpart
    g, settings, _l, _i, ad = settings_graph()
    [k] = cfg_chain(g, settings, [("ADE_CustomCFGKeyframeSimple", [2.0, 0.5, 1])])
    interp = g.node("ADE_CustomCFGKeyframeInterpolation", [0.0, 1.0, 8.0, 2.0, "linear", 50, False],
                    outputs=[("CUSTOM_CFG", "CUSTOM_CFG")])
    g.link(interp, 0, k, "prev_custom_cfg")
    _converted, report = cv.convert(g.workflow())
    reasons = kept(report)
    assert f"custom CFG node {k}'s prev_custom_cfg comes from node {interp} (ADE_CustomCFGKeyframeInterpolation), which " \
           "has no counterpart: keyframes generated over a range" in reasons[ad]
    assert reasons[interp].startswith("not supported: keyframes generated over a range")

    # a multival cfg from a multival with no counterpart; a multival node missing
    g, settings, _l, _i, ad = settings_graph()
    k = g.node("ADE_CustomCFG", [], inputs=[("cfg_multival", "MULTIVAL"), ("cfg_extras", "CFG_EXTRAS")],
               outputs=[("CUSTOM_CFG", "CUSTOM_CFG")])
    floats = g.node("ADE_MultivalDynamicFloats", [], outputs=[("MULTIVAL", "MULTIVAL")])
    g.link(floats, 0, k, "cfg_multival")
    g.link(k, 0, settings, "custom_cfg")
    _converted, report = cv.convert(g.workflow())
    assert f"its cfg_multival comes from node {floats} (ADE_MultivalDynamicFloats), which has no counterpart: a FLOATS " \
           "list" in kept(report)[ad]
    g, settings, _l, _i, ad = settings_graph()
    k = g.node("ADE_CustomCFG", [], inputs=[("cfg_multival", "MULTIVAL")], outputs=[("CUSTOM_CFG", "CUSTOM_CFG")])
    g.link(k, 0, settings, "custom_cfg")
    _converted, report = cv.convert(g.workflow())
    assert "its cfg_multival is not connected" in kept(report)[ad]


def test_a_multival_that_does_not_convert_keeps_the_loader():
    """The Motion Value on value must exist: a multival kept as it was keeps the loader too (settled)."""
    g, settings, _l, _i, ad = settings_graph()
    [k] = cfg_chain(g, settings, [("ADE_CustomCFG", [])])
    value = source_of(g.workflow(), next(n for n in g.nodes if n["id"] == k), "cfg_multival")["id"]
    other = g.node("SomethingElse", [], inputs=[("x", "MULTIVAL")])
    g.link(value, 0, other, "x")
    converted, report = cv.convert(g.workflow())
    reasons = kept(report)
    assert reasons[value].startswith("it feeds node") and "SomethingElse" in reasons[value]
    assert f"it needs node {value} (ADE_MultivalDynamic), which was not converted" in reasons[ad]
    assert not by_type(converted, "ADL_CFGKeyframe") and not by_type(converted, "ADL_SampleSettings")


def test_a_shared_chain_node_is_refused_with_its_own_reason():
    g, settings, _l, _i, ad = settings_graph()
    a, b = cfg_chain(g, settings, [("ADE_CustomCFGSimple", [4.0]), ("ADE_CustomCFGKeyframeSimple", [2.0, 0.5, 1])])
    branch = g.node("ADE_CustomCFGKeyframeSimple", [3.0, 0.7, 1], inputs=[("prev_custom_cfg", "CUSTOM_CFG")],
                    outputs=[("CUSTOM_CFG", "CUSTOM_CFG")])
    g.link(a, 0, branch, "prev_custom_cfg")
    _converted, report = cv.convert(g.workflow())
    reasons = kept(report)
    assert f"its custom CFG node {a} also feeds other nodes; give each chain its own" in reasons[ad]
    assert reasons[a] == f"it feeds several nodes ({b}, {branch}) and converts only as part of one chain: give each its own"
    assert reasons[branch] == cv.plan.UNTAKEN["ad_custom_cfg"]


# --------------------------------------------------------------------------------------------------------
# Sigma schedules
# --------------------------------------------------------------------------------------------------------
def test_a_mean_goes_onto_schedule_a():
    """ADE: A·w + B·(1 − w), w from weight_A_Start (largest σ) to weight_A_End: A's node blends with B, its
    weight_start / weight_end are ADE's weight_A_Start / weight_A_End (as tests/parity_ade.py measures them)."""
    g, settings, _l, _i, _ad = settings_graph()
    a, b = schedule(g, "linear (HotshotXL/default)"), schedule(g, "sqrt_linear (AnimateDiff)")
    m = mean(g, a, b, [0.9, 0.1, "ease_in_out"], "ADE_SigmaScheduleWeightedAverageInterp")
    g.link(m, 0, settings, "sigma_schedule")
    converted, report, [node] = converted_settings(g)
    assert not report["kept"], report["kept"]
    own = source_of(converted, node, "sigma_schedule")
    assert own["id"] == a and named(own) == {"beta_schedule": "linear", "zsnr": False, "weight_start": 0.9,
                                             "weight_end": 0.1, "interpolation": "ease_in_out"}
    other = source_of(converted, own, "blend_with")
    assert other["id"] == b and named(other)["beta_schedule"] == "sqrt_linear" and source_of(converted, other, "blend_with") is None
    assert not [n for n in converted["nodes"] if n["id"] == m]  # the mean has no node of its own
    assert f"sigma schedule mean node {m}: the weighted mean became blend_with (node {b}'s schedule) on schedule_A" \
        in cv.format_report(report)


def test_a_mean_of_a_mean_goes_onto_schedule_b_with_the_weights_swapped():
    """A a mean itself, B plain: B's node blends with A with the weights 1 − w (A·w + B·(1 − w) = B·(1 − w) + A·w)."""
    g, settings, _l, _i, _ad = settings_graph()
    x, y, z = schedule(g, "linear (HotshotXL/default)"), schedule(g, "sqrt_linear (AnimateDiff)"), schedule(g, "cosine")
    inner = mean(g, x, y, [0.25])
    outer = mean(g, inner, z, [0.9, 0.2, "ease_in"], "ADE_SigmaScheduleWeightedAverageInterp")
    g.link(outer, 0, settings, "sigma_schedule")
    converted, report, [node] = converted_settings(g)
    assert not report["kept"], report["kept"]
    own = source_of(converted, node, "sigma_schedule")
    assert own["id"] == z and named(own) == {"beta_schedule": "cosine", "zsnr": False, "weight_start": 0.1,
                                             "weight_end": 0.8, "interpolation": "ease_in"}
    blended = source_of(converted, own, "blend_with")
    assert blended["id"] == x and named(blended)["weight_start"] == named(blended)["weight_end"] == 0.25
    assert source_of(converted, blended, "blend_with")["id"] == y
    assert "on schedule_B (schedule_A is a mean itself), with the weights 1 − weight_A" in cv.format_report(report)


@pytest.mark.parametrize("method", INTERPOLATIONS)
def test_one_minus_the_weights_is_the_same_curve(method):
    """What the swap relies on, for every interpolation as glue/schedules.py computes it."""
    for start, end in [(0.9, 0.1), (0.2, 0.8), (0.3, 0.3), (0.0, 1.0)]:
        w = _weights(start, end, 1000, method)
        swapped = _weights(round(1 - start, 10), round(1 - end, 10), 1000, method)
        torch.testing.assert_close(swapped, 1 - w, atol=1e-6, rtol=0)


def test_sigma_schedule_refusals():
    def run(build):
        g, settings, _l, _i, ad = settings_graph()
        top = build(g)
        g.link(top, 0, settings, "sigma_schedule")
        return cv.convert(g.workflow())[1], ad, top

    report, ad, top = run(lambda g: mean(g, mean(g, schedule(g, "lcm"), schedule(g, "lcm")),
                                         mean(g, schedule(g, "lcm"), schedule(g, "lcm >> sqrt_linear"))))
    assert "a mean of two means has no counterpart" in kept(report)[ad]
    assert kept(report)[top].startswith("schedule_A and schedule_B are both weighted means themselves")

    report, ad, top = run(lambda g: schedule(g, "linear (AnimateDiff-SDXL)"))
    assert "beta_schedule 'linear (AnimateDiff-SDXL)' is for SDXL motion modules" in kept(report)[ad]

    def raw(g):
        return g.node("ADE_RawSigmaSchedule", ["linear", 0.00085, 0.012, "eps", 50, False], outputs=SIGMA)
    report, ad, top = run(raw)
    assert f"its sigma_schedule comes from node {top} (ADE_RawSigmaSchedule), which has no counterpart: raw beta" in kept(report)[ad]
    report, ad, top = run(lambda g: mean(g, raw(g), schedule(g, "linear (HotshotXL/default)")))
    assert f"sigma schedule mean node {top}'s schedule_A comes from node {top - 2} (ADE_RawSigmaSchedule)" in kept(report)[ad]

    def linked_weight(g):
        m = mean(g, mean(g, schedule(g, "lcm"), schedule(g, "lcm >> sqrt_linear")), schedule(g, "lcm"))
        g.widget_input(m, "weight_A", "FLOAT")
        prim = g.node("PrimitiveNode", [0.4, "fixed"], outputs=[("FLOAT", "FLOAT")])
        g.link(prim, 0, m, "weight_A")
        return m
    report, ad, top = run(linked_weight)
    assert "weight_A comes from another node: with schedule_A a mean itself" in kept(report)[ad]


def test_shared_and_linked_schedules():
    """A schedule feeding two settings nodes is refused with its own reason; a linked weight_A on a mean whose
    schedule_A is plain stays linked, onto weight_start and weight_end; the same schedule on both sides is that
    schedule."""
    g, settings, _l, _i, ad = settings_graph()
    s = schedule(g, "lcm")
    g.link(s, 0, settings, "sigma_schedule")
    other = g.node("ADE_AnimateDiffSamplingSettings", [0, "default", "comfy", 0, False],
                   inputs=[("sigma_schedule", "SIGMA_SCHEDULE")], outputs=[("settings", "SAMPLE_SETTINGS")])
    g.link(s, 0, other, "sigma_schedule")
    _converted, report = cv.convert(g.workflow())
    reasons = kept(report)
    assert f"its sigma schedule node {s} also feeds other nodes" in reasons[ad]
    assert reasons[s] == f"it feeds several nodes ({settings}, {other}) and converts only as part of one sigma " \
                         "schedule: give each its own"

    g, settings, _l, _i, _ad = settings_graph()
    a, b = schedule(g, "lcm"), schedule(g, "lcm[25_ots]")
    m = mean(g, a, b)
    g.widget_input(m, "weight_A", "FLOAT")
    prim = g.node("PrimitiveNode", [0.4, "fixed"], outputs=[("FLOAT", "FLOAT")])
    g.link(prim, 0, m, "weight_A")
    g.link(m, 0, settings, "sigma_schedule")
    converted, report, _n = converted_settings(g)
    assert not report["kept"], report["kept"]
    links = _links(converted)
    assert {("PrimitiveNode", 0, "ADL_SigmaSchedule", "weight_start"), ("PrimitiveNode", 0, "ADL_SigmaSchedule", "weight_end"),
            ("ADL_SigmaSchedule", 0, "ADL_SigmaSchedule", "blend_with")} <= links

    g, settings, _l, _i, _ad = settings_graph()
    s = schedule(g, "sqrt")
    g.link(mean(g, s, s, [0.2]), 0, settings, "sigma_schedule")
    converted, report, [node] = converted_settings(g)
    assert not report["kept"], report["kept"]
    own = source_of(converted, node, "sigma_schedule")
    assert own["id"] == s and source_of(converted, own, "blend_with") is None
    assert "its mean with itself is that schedule" in cv.format_report(report)


def test_the_tables_are_the_targets_choices():
    m = cv.mapping()
    options = m["targets"]["ADL_SigmaSchedule"]["options"]
    assert options == {"beta_schedule": list(BETA_SCHEDULES), "interpolation": list(INTERPOLATIONS)}
    for table, widget in [("ade_sigma_beta_schedule", "beta_schedule"), ("ade_interpolation", "interpolation")]:
        assert {r["to"] for r in m["tables"][table].values() if "to" in r} <= set(options[widget])


# --------------------------------------------------------------------------------------------------------
# API format, and one graph validated by ComfyUI against this pack's nodes
# --------------------------------------------------------------------------------------------------------
def api_prompt() -> dict:
    return {
        "1": {"class_type": "ADE_MultivalDynamic", "inputs": {"float_val": 1.5}},
        "2": {"class_type": "ADE_CustomCFGKeyframeSimple", "inputs": {"cfg": 2.0, "start_percent": 0.5, "guarantee_steps": 1}},
        "3": {"class_type": "ADE_CustomCFGKeyframe", "inputs": {"cfg_multival": ["1", 0], "start_percent": 0.0,
                                                                "guarantee_steps": 2, "prev_custom_cfg": ["2", 0]}},
        "4": {"class_type": "ADE_SigmaSchedule", "inputs": {"beta_schedule": "linear (HotshotXL/default)"}},
        "5": {"class_type": "ADE_SigmaSchedule", "inputs": {"beta_schedule": "sqrt_linear (AnimateDiff)"}},
        "6": {"class_type": "ADE_SigmaScheduleWeightedAverageInterp", "inputs": {
            "schedule_A": ["4", 0], "schedule_B": ["5", 0], "weight_A_Start": 0.9, "weight_A_End": 0.1,
            "interpolation": "ease_in_out"}},
        "7": {"class_type": "ADE_SigmaSchedule", "inputs": {"beta_schedule": "cosine"}},
        "8": {"class_type": "ADE_SigmaScheduleWeightedAverage", "inputs": {"schedule_A": ["6", 0], "schedule_B": ["7", 0],
                                                                           "weight_A": 0.7}},
        "9": {"class_type": "ADE_AnimateDiffSamplingSettings", "inputs": {
            "batch_offset": 0, "noise_type": "default", "seed_gen": "comfy", "seed_offset": 0,
            "custom_cfg": ["3", 0], "sigma_schedule": ["8", 0]}},
        "10": {"class_type": "ADE_AnimateDiffLoaderGen1", "inputs": {"model": ["11", 0], "model_name": MODULE,
                                                                     "beta_schedule": "autoselect", "sample_settings": ["9", 0]}},
        "11": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "x.safetensors"}},
    }


def test_custom_cfg_and_sigma_schedules_in_api_format():
    converted, report = cv.convert(api_prompt())
    assert not report["kept"], report["kept"]
    assert converted["3"] == {"class_type": "ADL_CFGKeyframe", "inputs": {
        "cfg": 1.0, "start_percent": 0.0, "guarantee_steps": 2, "value": ["1", 0]}}
    assert converted["2"] == {"class_type": "ADL_CFGKeyframe", "inputs": {
        "cfg": 2.0, "start_percent": 0.5, "guarantee_steps": 1, "previous": ["3", 0]}}  # reordered: 3 (0.0) first
    assert converted["7"] == {"class_type": "ADL_SigmaSchedule", "inputs": {
        "beta_schedule": "cosine", "zsnr": False, "weight_start": 0.3, "weight_end": 0.3, "interpolation": "linear",
        "blend_with": ["4", 0]}}
    assert converted["4"]["inputs"] == {"beta_schedule": "linear", "zsnr": False, "weight_start": 0.9, "weight_end": 0.1,
                                        "interpolation": "ease_in_out", "blend_with": ["5", 0]}
    assert "6" not in converted and "8" not in converted
    assert converted["9"]["inputs"]["custom_cfg"] == ["2", 0] and converted["9"]["inputs"]["sigma_schedule"] == ["7", 0]
    assert converted["10"]["inputs"]["sample_settings"] == ["9", 0]


def test_the_converted_settings_validate_against_the_pack_nodes(monkeypatch):
    """ComfyUI's own validation (execution.validate_inputs, in-process) of the converted Sample Settings and all it
    is fed: socket types, required inputs, ranges and combo choices of the live node classes."""
    import execution
    import nodes

    for node in NODES:
        monkeypatch.setitem(nodes.NODE_CLASS_MAPPINGS, node.define_schema().node_id, node)
    converted, report = cv.convert(api_prompt())
    assert not report["kept"], report["kept"]
    validated = {}
    valid, errors, _id = asyncio.run(execution.validate_inputs("convert-test", converted, "9", validated))
    assert valid, (errors, {k: r for k, r in validated.items() if not r[0]})
    assert {"1", "2", "3", "4", "5", "7"} <= set(validated)  # every node it is fed was validated
    for node in (converted[k] for k in validated):  # this host leaves V3 combos ("COMBO" with options) unchecked
        types = nodes.NODE_CLASS_MAPPINGS[node["class_type"]].INPUT_TYPES()
        for name, spec in [*types["required"].items(), *types.get("optional", {}).items()]:
            if spec[0] == "COMBO" and name in node["inputs"]:
                assert node["inputs"][name] in spec[1]["options"], (node, name)


def test_table_targets_are_the_pack_node_layouts():
    """mapping.json's CFG Keyframe and Sigma Schedule targets are what the node classes declare (the server test
    checks every target against a live /object_info)."""
    classes = {n.define_schema().node_id: n for n in NODES}
    for name in ("ADL_CFGKeyframe", "ADL_SigmaSchedule"):
        schema, types = cv.mapping()["targets"][name], classes[name].INPUT_TYPES()
        declared = [*types["required"].items(), *types.get("optional", {}).items()]
        widgets = [(n, spec[0]) for n, spec in declared if spec[0] in ("INT", "FLOAT", "BOOLEAN", "STRING", "COMBO")]
        assert [tuple(w) for w in schema["widgets"]] == widgets
        assert [tuple(s) for s in schema["inputs"]] == [(n, spec[0]) for n, spec in declared if (n, spec[0]) not in widgets]
        assert schema["defaults"] == {n: spec[1]["default"] for n, spec in declared if (n, spec[0]) in widgets}
        assert [o[1] for o in schema["outputs"]] == list(classes[name].RETURN_TYPES)
