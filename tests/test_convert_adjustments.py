"""The converter on AnimateDiff-Evolved's module adjustments, without a server: PE and weight adjustments (through
ADE_AnimateDiffSettings on a loader's ad_settings) → Adjust Motion Positions / Weights (Lightning) in one chain
into Load Motion Module's adjust; UI and API format; what stays (a chain node feeding something else, settings
from elsewhere) with the reason. Helpers and every layout: tests/test_convert_settings.py."""
import pytest
from animatediff_lightning.workflow_files import convert as cv
from support.foreign_workflows import MODULE, UIGraph
from test_convert import _consistent, _links, by_type, named
from test_convert_settings import WEIGHT_ADJUST, adjust_graph, chain, kept, typed


# --------------------------------------------------------------------------------------------------------
# Module adjustments
# --------------------------------------------------------------------------------------------------------
def test_pe_and_weight_chains_join_through_the_settings_node():
    """PE chain first (first node first), then the weight chain, into Load Motion Module's adjust; the settings
    node goes; the report names every node it absorbed."""
    g, pe, weights, settings, load = adjust_graph(
        pe=[("ADE_AdjustPEFullStretch", [4, False]), ("ADE_AdjustPESweetspotStretch", [16, 32, False])],
        weights=[("ADE_AdjustWeightAllMult", [1.1, False]), ("ADE_AdjustWeightIndivAdd", [0.0, 0.02, -0.01, True])])
    converted, report = cv.convert(g.workflow())
    _consistent(converted)
    assert not report["kept"], report["kept"]
    [loader] = by_type(converted, "ADL_LoadMotionModule")
    assert loader["id"] == load
    got = chain(converted, loader, "adjust")
    assert typed(got) == [
        ("ADL_AdjustPositions", {"stretch": 4, "initial_offset": 0, "cap": 0, "interpolate_to": 0, "final_offset": 0}),
        ("ADL_AdjustPositions", {"stretch": 0, "initial_offset": 0, "cap": 16, "interpolate_to": 32, "final_offset": 0}),
        ("ADL_AdjustWeights", {"group": "all", "add": 0.0, "multiply": 1.1}),
        ("ADL_AdjustWeights", {"group": "attention", "add": 0.02, "multiply": 1.0}),
        ("ADL_AdjustWeights", {"group": "other", "add": -0.01, "multiply": 1.0})]
    assert [n["id"] for n in got[:4]] == [*pe, *weights]  # the foreign nodes' places; the 'other' one is new
    assert got[4]["pos"] == [got[3]["pos"][0], got[3]["pos"][1] + 150]
    assert ("ADL_AdjustWeights", 0, "ADL_AdjustWeights", "previous") in _links(converted)
    assert not [n for n in converted["nodes"] if n["id"] == settings]  # the settings node is gone
    [entry] = [c for c in report["converted"] if c["type"] == "ADE_LoadAnimateDiffModel"]
    for node_id, type_ in [(settings, "ADE_AnimateDiffSettings"), (pe[0], "ADE_AdjustPEFullStretch"),
                           (pe[1], "ADE_AdjustPESweetspotStretch"), (weights[0], "ADE_AdjustWeightAllMult"),
                           (weights[1], "ADE_AdjustWeightIndivAdd")]:
        assert any(w.startswith(f"{type_} (node {node_id}) [") for w in entry["with"]), entry["with"]
    text = cv.format_report(report)
    assert f"AnimateDiff settings node {settings}: its weight adjustments (from node {weights[0]}) follow its PE " \
           f"adjustments (to node {pe[1]})" in text
    assert f"weight adjustment node {weights[1]}: print_adjustment was on" in text
    assert f"weight adjustment node {weights[1]}: one Adjust Motion Weights per group it changes (attention, other)" in text


@pytest.mark.parametrize("loader", ["ADE_AnimateDiffLoaderGen1", "ADE_AnimateDiffLoaderWithContext"])
def test_gen1_and_legacy_loaders_take_adjustments(loader):
    g, _pe, _weights, _settings, ad = adjust_graph(weights=[("ADE_AdjustWeightAllAdd", [0.05, False])], loader=loader)
    converted, report = cv.convert(g.workflow())
    _consistent(converted)
    assert not report["kept"], report["kept"]
    [load] = by_type(converted, "ADL_LoadMotionModule")
    assert typed(chain(converted, load, "adjust")) == [("ADL_AdjustWeights", {"group": "all", "add": 0.05, "multiply": 1.0})]
    assert ("ADL_LoadMotionModule", 0, "ADL_ApplyMotionModule", "motion_module") in _links(converted)
    [apply] = by_type(converted, "ADL_ApplyMotionModule")
    assert apply["id"] == ad


def test_only_one_chain_and_an_empty_settings_node():
    g, pe, _w, _s, _l = adjust_graph(pe=[("ADE_AdjustPEManual", [16, 32, 0, 0, False])])
    converted, report = cv.convert(g.workflow())
    [load] = by_type(converted, "ADL_LoadMotionModule")
    assert [n["id"] for n in chain(converted, load, "adjust")] == pe
    g, _pe, _w, settings, _l = adjust_graph()
    converted, report = cv.convert(g.workflow())
    [load] = by_type(converted, "ADL_LoadMotionModule")
    assert not chain(converted, load, "adjust") and not report["kept"]
    assert not [n for n in converted["nodes"] if n["id"] == settings]


def test_a_linked_value_stays_linked():
    """A Primitive feeding an adjustment's value feeds the converted node's widget (a linked Indiv value always
    gets its node)."""
    g, pe, weights, _s, _l = adjust_graph(pe=[("ADE_AdjustPEFullStretch", [4, False])],
                                          weights=[("ADE_AdjustWeightIndivMult", [1.0, 1.0, 1.0, False])])
    for node_id, name, kind, value in [(pe[0], "pe_stretch", "INT", 6), (weights[0], "attn_MULT", "FLOAT", 0.9)]:
        g.widget_input(node_id, name, kind)
        prim = g.node("PrimitiveNode", [value, "fixed"], outputs=[(kind, kind)])
        g.link(prim, 0, node_id, name)
    converted, report = cv.convert(g.workflow())
    assert not report["kept"], report["kept"]
    links = _links(converted)
    assert ("PrimitiveNode", 0, "ADL_AdjustPositions", "stretch") in links
    assert ("PrimitiveNode", 0, "ADL_AdjustWeights", "multiply") in links
    [load] = by_type(converted, "ADL_LoadMotionModule")
    assert [named(n)["group"] for n in chain(converted, load, "adjust")[1:]] == ["attention"]


def test_a_shared_chain_node_is_refused():
    """A PE adjustment feeding two settings nodes, a weight adjustment feeding a settings node and another chain:
    each loader keeps its node, with the reason; nothing is guessed."""
    g, pe, _w, settings, load = adjust_graph(pe=[("ADE_AdjustPEFullStretch", [4, False])])
    other = g.node("ADE_AnimateDiffSettings", [], inputs=[("pe_adjust", "PE_ADJUST")], outputs=[("AD_SETTINGS", "AD_SETTINGS")])
    g.link(pe[0], 0, other, "pe_adjust")
    load2 = g.node("ADE_LoadAnimateDiffModel", [MODULE], inputs=[("ad_settings", "AD_SETTINGS")],
                   outputs=[("MOTION_MODEL", "MOTION_MODEL_ADE")])
    g.link(other, 0, load2, "ad_settings")
    converted, report = cv.convert(g.workflow())
    reasons = kept(report)
    for loader, via in [(load, settings), (load2, other)]:
        assert f"AnimateDiff settings node {via}: its PE adjustment node {pe[0]} also feeds other nodes" in reasons[loader]
    assert reasons[pe[0]] == f"it feeds several nodes ({settings}, {other}) and converts only as part of one chain: " \
                             "give each its own"
    assert reasons[settings] == reasons[other] == f"its PE adjustment node {pe[0]} also feeds other nodes; give each chain its own"
    assert not by_type(converted, "ADL_AdjustPositions") and not by_type(converted, "ADL_LoadMotionModule")

    g, _pe, weights, settings, load = adjust_graph(weights=[("ADE_AdjustWeightAllAdd", [0.1, False]),
                                                            ("ADE_AdjustWeightAllMult", [1.1, False])])
    branch = g.node("ADE_AdjustWeightAllMult", [0.9, False], inputs=[("prev_weight_adjust", "WEIGHT_ADJUST")],
                    outputs=WEIGHT_ADJUST)
    g.link(weights[0], 0, branch, "prev_weight_adjust")
    _converted, report = cv.convert(g.workflow())
    assert f"its weight adjustment node {weights[0]} also feeds other nodes" in kept(report)[load]

    g, _pe, _w, settings, load = adjust_graph()
    load2 = g.node("ADE_LoadAnimateDiffModel", [MODULE], inputs=[("ad_settings", "AD_SETTINGS")],
                   outputs=[("MOTION_MODEL", "MOTION_MODEL_ADE")])
    g.link(settings, 0, load2, "ad_settings")
    _converted, report = cv.convert(g.workflow())
    assert f"its AnimateDiff settings node {settings} also feeds other nodes" in kept(report)[load]


def test_settings_from_elsewhere_and_bad_values_are_refused():
    g = UIGraph()
    old = g.node("ADE_AnimateDiffModelSettings", [], outputs=[("AD_SETTINGS", "AD_SETTINGS")])
    load = g.node("ADE_LoadAnimateDiffModel", [MODULE], inputs=[("ad_settings", "AD_SETTINGS")],
                  outputs=[("MOTION_MODEL", "MOTION_MODEL_ADE")])
    g.link(old, 0, load, "ad_settings")
    _converted, report = cv.convert(g.workflow())
    assert f"its ad_settings comes from node {old} (ADE_AnimateDiffModelSettings), which has no counterpart: " \
           "deprecated model settings" in kept(report)[load]

    g, pe, _w, settings, load = adjust_graph(pe=[("ADE_AdjustPEFullStretch", [20000, False])])
    _converted, report = cv.convert(g.workflow())
    reasons = kept(report)
    assert f"AnimateDiff settings node {settings}: its PE adjustment node {pe[0]}: pe_stretch 20000 is outside" in reasons[load]
    assert reasons[pe[0]].startswith("pe_stretch 20000 is outside")  # the node's own line says why, too

    g, _pe, _weights, _s, load = adjust_graph(weights=[("ADE_AdjustWeightIndivAttnMult", [1.0] * 7 + [2.5, False])])
    _converted, report = cv.convert(g.workflow())
    assert "other_MULT 2.5 is outside what the replacement takes (0.0 to 2.0)" in kept(report)[load]

    g, pe, _w, settings, load = adjust_graph(pe=[("ADE_AdjustPEFullStretch", [4, False])])
    wrong = g.node("ADE_AdjustWeightAllAdd", [0.1, False], outputs=WEIGHT_ADJUST)
    g.link(wrong, 0, pe[0], "prev_pe_adjust")  # a weight adjustment on a PE chain: ADE would not run it either
    _converted, report = cv.convert(g.workflow())
    assert f"PE adjustment node {pe[0]}'s prev_pe_adjust comes from node {wrong} (ADE_AdjustWeightAllAdd), which has " \
           "no counterpart" in kept(report)[load]


def test_adjustments_in_api_format():
    prompt = {
        "1": {"class_type": "ADE_AdjustPESweetspotStretch", "inputs": {"sweetspot": 16, "new_sweetspot": 32,
                                                                      "print_adjustment": False}},
        "2": {"class_type": "ADE_AdjustWeightIndivAttnAdd", "inputs": {
            "pe_ADD": 0.0, "attn_ADD": 0.0, "attn_q_ADD": 0.01, "attn_k_ADD": 0.0, "attn_v_ADD": 0.0,
            "attn_out_weight_ADD": 0.0, "attn_out_bias_ADD": 0.0, "other_ADD": 0.02, "print_adjustment": False}},
        "3": {"class_type": "ADE_AnimateDiffSettings", "inputs": {"pe_adjust": ["1", 0], "weight_adjust": ["2", 0]}},
        "4": {"class_type": "ADE_AnimateDiffLoaderGen1", "inputs": {"model": ["9", 0], "model_name": MODULE,
                                                                    "beta_schedule": "autoselect", "ad_settings": ["3", 0]}},
        "9": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "x.safetensors"}},
    }
    converted, report = cv.convert(prompt)
    assert not report["kept"], report["kept"]
    assert set(converted) == {"1", "2", "4", "9", "10", "11"}  # 3 is gone; 10: the loader, 11: the 'other' weights
    assert converted["1"] == {"class_type": "ADL_AdjustPositions", "inputs": {
        "stretch": 0, "initial_offset": 0, "cap": 16, "interpolate_to": 32, "final_offset": 0}}
    assert converted["2"] == {"class_type": "ADL_AdjustWeights", "inputs": {
        "group": "attention q", "add": 0.01, "multiply": 1.0, "previous": ["1", 0]}}
    assert converted["11"] == {"class_type": "ADL_AdjustWeights", "inputs": {
        "group": "other", "add": 0.02, "multiply": 1.0, "previous": ["2", 0]}}
    assert converted["10"] == {"class_type": "ADL_LoadMotionModule", "inputs": {"model_name": MODULE, "adjust": ["11", 0]}}
    assert converted["4"]["inputs"]["motion_module"] == ["10", 0]
