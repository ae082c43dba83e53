"""The converter on AnimateDiff-Evolved's module adjustments and sample settings, without a server: PE and weight
adjustments (through ADE_AnimateDiffSettings on a loader's ad_settings) → Adjust Motion Positions / Weights
(Lightning) in one chain into Load Motion Module's adjust; sample settings → Sample Settings (Lightning) on Apply
Motion Module's sample_settings, with their noise layers (the chain reversed) and FreeInit; UI and API format; and
what stays (a chain node feeding something else, what has no counterpart) with the reason."""
import itertools
import json

import pytest
from animatediff_lightning.workflow_files import convert as cv
from support.foreign_workflows import FIXTURES, MODULE, UIGraph, _base, _decode, _ksampler
from test_convert import _consistent, _links, by_type, named

CASES = json.loads((FIXTURES / "settings_versions.json").read_text())["cases"]
PE_ADJUST = [("PE_ADJUST", "PE_ADJUST")]
WEIGHT_ADJUST = [("WEIGHT_ADJUST", "WEIGHT_ADJUST")]
NOISE_LAYERS = [("NOISE_LAYERS", "NOISE_LAYERS")]
SETTINGS_INPUTS = [("noise_layers", "NOISE_LAYERS"), ("iteration_opts", "ITERATION_OPTS"), ("seed_override", "INT"),
                   ("custom_cfg", "CUSTOM_CFG"), ("sigma_schedule", "SIGMA_SCHEDULE"), ("image_inject", "IMAGE_INJECT"),
                   ("ancestral_opts", "ANCESTRAL_OPTS")]
LAYER_INPUTS = [("prev_noise_layers", "NOISE_LAYERS"), ("mask_optional", "MASK"), ("seed_override", "INT")]
LOADER_INPUTS = [("model", "MODEL"), ("context_options", "CONTEXT_OPTIONS"), ("motion_lora", "MOTION_LORA"),
                 ("ad_settings", "AD_SETTINGS"), ("sample_settings", "SAMPLE_SETTINGS")]
KIND = {t: e["kind"] for t, e in cv.mapping()["nodes"].items()}


def source_of(workflow, node, input_name):
    """The node feeding ``node``'s input ``input_name`` in a converted UI graph (None when nothing does)."""
    link_id = next((s["link"] for s in node["inputs"] if s["name"] == input_name), None)
    if link_id is None:
        return None
    link = next(lk for lk in workflow["links"] if lk[0] == link_id)
    return next(n for n in workflow["nodes"] if n["id"] == link[1])


def chain(workflow, node, input_name):
    """The nodes chained into ``node``'s ``input_name`` through their ``previous`` inputs, first (no previous) to last."""
    out, current = [], source_of(workflow, node, input_name)
    while current is not None:
        out.append(current)
        current = source_of(workflow, current, "previous")
    return out[::-1]


def typed(nodes):
    return [(n["type"], named(n)) for n in nodes]


def linked_chain(g, nodes, prev_input, into, into_input):
    """Link ``nodes`` (ids, first to last) each into the next's ``prev_input``, the last into ``into``."""
    for a, b in itertools.pairwise(nodes):
        g.link(a, 0, b, prev_input)
    if nodes:
        g.link(nodes[-1], 0, into, into_input)


def adjust_graph(pe=(), weights=(), loader="ADE_LoadAnimateDiffModel", settings_widgets=()):
    """A loader fed AnimateDiff settings with a PE chain and a weight chain ((type, widgets), first to last); a Gen2
    loader goes through Apply AnimateDiff Model into Use Evolved Sampling. (graph, ids of pe, weights, settings, loader)."""
    g = UIGraph()
    pe_ids = [g.node(t, w, inputs=[("prev_pe_adjust", "PE_ADJUST")], outputs=PE_ADJUST) for t, w in pe]
    weight_ids = [g.node(t, w, inputs=[("prev_weight_adjust", "WEIGHT_ADJUST")], outputs=WEIGHT_ADJUST) for t, w in weights]
    settings = g.node("ADE_AnimateDiffSettings", list(settings_widgets), inputs=[("pe_adjust", "PE_ADJUST"),
                                                                             ("weight_adjust", "WEIGHT_ADJUST")],
                      outputs=[("AD_SETTINGS", "AD_SETTINGS")])
    linked_chain(g, pe_ids, "prev_pe_adjust", settings, "pe_adjust")
    linked_chain(g, weight_ids, "prev_weight_adjust", settings, "weight_adjust")
    if loader == "ADE_LoadAnimateDiffModel":
        load = g.node(loader, [MODULE], inputs=[("ad_settings", "AD_SETTINGS")],
                      outputs=[("MOTION_MODEL", "MOTION_MODEL_ADE")])
        apply = g.node("ADE_ApplyAnimateDiffModelSimple", None, inputs=[("motion_model", "MOTION_MODEL_ADE")],
                       outputs=[("M_MODELS", "M_MODELS")])
        g.link(load, 0, apply, "motion_model")
        use = g.node("ADE_UseEvolvedSampling", ["autoselect"], inputs=[("model", "MODEL"), ("m_models", "M_MODELS")],
                     outputs=[("MODEL", "MODEL")])
        g.link(apply, 0, use, "m_models")
    else:
        widgets = [MODULE, "autoselect"] + ([1.0, True] if loader == "ADE_AnimateDiffLoaderWithContext" else [])
        load = g.node(loader, widgets, inputs=LOADER_INPUTS, outputs=[("MODEL", "MODEL")])
    g.link(settings, 0, load, "ad_settings")
    return g, pe_ids, weight_ids, settings, load


def settings_graph(widgets=(0, "default", "comfy", 0, False), layers=(), iteration=None, context=False):
    """A Gen1 loader fed sample settings with noise layers ((type, widgets), first of the chain to last) and
    iteration options ((type, widgets)). (graph, settings id, layer ids, iteration id, loader id)."""
    g = UIGraph()
    layer_ids = [g.node(t, w, inputs=LAYER_INPUTS, outputs=NOISE_LAYERS) for t, w in layers]
    settings = g.node("ADE_AnimateDiffSamplingSettings", list(widgets), inputs=SETTINGS_INPUTS,
                      outputs=[("settings", "SAMPLE_SETTINGS")])
    linked_chain(g, layer_ids, "prev_noise_layers", settings, "noise_layers")
    iteration_id = None
    if iteration:
        iteration_id = g.node(iteration[0], iteration[1], outputs=[("ITERATION_OPTS", "ITERATION_OPTS")])
        g.link(iteration_id, 0, settings, "iteration_opts")
    ad = g.node("ADE_AnimateDiffLoaderGen1", [MODULE, "autoselect"], inputs=LOADER_INPUTS, outputs=[("MODEL", "MODEL")])
    g.link(settings, 0, ad, "sample_settings")
    if context:
        ctx = g.node("ADE_StandardStaticContextOptions", [16, 4, "pyramid", False, 0, 1],
                     outputs=[("CONTEXT_OPTS", "CONTEXT_OPTIONS")])
        g.link(ctx, 0, ad, "context_options")
    return g, settings, layer_ids, iteration_id, ad


def kept(report):
    return {k["id"]: k["reason"] for k in report["kept"]}


CFG_INPUTS = [("cfg_multival", "MULTIVAL"), ("prev_custom_cfg", "CUSTOM_CFG"), ("cfg_extras", "CFG_EXTRAS")]
SIGMA = [("SIGMA_SCHEDULE", "SIGMA_SCHEDULE")]
MEAN_INPUTS = [("schedule_A", "SIGMA_SCHEDULE"), ("schedule_B", "SIGMA_SCHEDULE")]


def cfg_node(g, type_, widgets):
    """A custom CFG node; one that takes a multival (cfg_multival) is fed an ADE_MultivalDynamic of 1.5."""
    entry = cv.mapping()["nodes"][type_]
    node = g.node(type_, widgets, inputs=CFG_INPUTS if entry.get("multival") else CFG_INPUTS[1:],
                  outputs=[("CUSTOM_CFG", "CUSTOM_CFG")])
    if entry.get("multival"):
        value = g.node("ADE_MultivalDynamic", [1.5], inputs=[("mask_optional", "MASK")], outputs=[("MULTIVAL", "MULTIVAL")])
        g.link(value, 0, node, "cfg_multival")
    return node


def _cfg_case(g, settings, type_, widgets):
    node = cfg_node(g, type_, widgets)
    g.link(node, 0, settings, "custom_cfg")
    return node, None


def _sigma_case(g, settings, type_, widgets):
    node = g.node(type_, widgets, outputs=SIGMA)
    g.link(node, 0, settings, "sigma_schedule")
    return node, None


def _mean_case(g, settings, type_, widgets):
    a = g.node("ADE_SigmaSchedule", ["linear (HotshotXL/default)"], outputs=SIGMA)
    b = g.node("ADE_SigmaSchedule", ["sqrt_linear (AnimateDiff)"], outputs=SIGMA)
    node = g.node(type_, widgets, inputs=MEAN_INPUTS, outputs=SIGMA)
    g.link(a, 0, node, "schedule_A")
    g.link(b, 0, node, "schedule_B")
    g.link(node, 0, settings, "sigma_schedule")
    return node, a


CFG_SIGMA_CASE = {"ad_custom_cfg": _cfg_case, "ad_sigma_schedule": _sigma_case, "ad_sigma_blend": _mean_case}


# --------------------------------------------------------------------------------------------------------
# Every layout, every value
# --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['type']}:{c['version']}:{c['widgets_values']}")
def test_version_recognised_and_values_translated(case):
    kind = KIND[case["type"]]
    first = None  # the foreign node whose place the first converted node takes, when not the case's own
    if kind in ("ad_pe_adjust", "ad_weight_adjust", "ad_settings"):
        if kind == "ad_settings":
            g, _pe, _w, node, _load = adjust_graph(settings_widgets=case["widgets_values"])
        else:
            g, pe, weights, _s, _load = adjust_graph(**{"pe" if kind == "ad_pe_adjust" else "weights":
                                                       [(case["type"], case["widgets_values"])]})
            [node] = pe or weights
        converted, report = cv.convert(g.workflow())
        [loader] = by_type(converted, "ADL_LoadMotionModule")
        got = chain(converted, loader, "adjust")
    else:
        if kind == "ad_noise_layer":
            g, _settings, [node], _i, _ad = settings_graph(layers=[(case["type"], case["widgets_values"])])
        elif kind in ("ad_custom_cfg", "ad_sigma_schedule", "ad_sigma_blend"):
            g, settings, _l, _i, _ad = settings_graph()
            node, first = CFG_SIGMA_CASE[kind](g, settings, case["type"], case["widgets_values"])
        else:
            g, _settings, _l, node, _ad = settings_graph(iteration=(case["type"], case["widgets_values"]))
        converted, report = cv.convert(g.workflow())
        target = {"ad_noise_layer": "noise_layers", "ad_iteration_opts": "freeinit", "ad_custom_cfg": "custom_cfg",
                  "ad_sigma_schedule": "sigma_schedule", "ad_sigma_blend": "sigma_schedule"}[kind]
        got = chain(converted, *by_type(converted, "ADL_SampleSettings"), target) if case["expect"] else []
        if not case["expect"]:
            assert not by_type(converted, "ADL_SampleSettings")  # default iteration options alone add nothing
    assert not report["kept"], report["kept"]
    _consistent(converted)
    assert not any(n["type"].startswith("ADE_") for n in converted["nodes"])
    assert len(got) == len(case["expect"]), typed(got)
    for n, (target_type, values) in zip(got, case["expect"]):
        assert n["type"] == target_type and {k: named(n)[k] for k in values} == values, typed(got)
    if got:
        assert got[0]["id"] == (first or node)  # the first converted node takes the foreign node's place (id, position)
    [entry] = [c for c in report["converted"] if any(f"(node {node})" in w for w in c["with"])]
    [part] = [w for w in entry["with"] if f"(node {node})" in w]
    assert case["version"] in part, part
    if case.get("note"):
        assert any(case["note"] in n for n in entry["notes"]), entry["notes"]


def test_every_layout_of_these_kinds_has_a_case():
    covered = {(c["type"], c["version"]) for c in CASES}
    for type_, entry in cv.mapping()["nodes"].items():
        if entry["kind"] in ("ad_pe_adjust", "ad_weight_adjust", "ad_settings", "ad_noise_layer", "ad_iteration_opts",
                             "ad_custom_cfg", "ad_sigma_schedule", "ad_sigma_blend"):
            for version in entry["versions"]:
                assert any(t == type_ and v in version["name"] for t, v in covered), (type_, version["name"])


def test_table_values_are_the_targets_choices():
    """Every value a table gives a target's combo is one of the choices the table records for it (and the server
    test checks those against the live nodes)."""
    m = cv.mapping()
    for type_, entry in m["nodes"].items():
        rule_sets = {"ADL_AdjustPositions": entry.get("widgets")} if entry["kind"] == "ad_pe_adjust" else {}
        if entry["kind"] == "ad_noise_layer":
            rule_sets = {"ADL_NoiseLayer": entry["widgets"]}
        elif entry.get("target") == "ADL_FreeInit":
            rule_sets = {"ADL_FreeInit": entry["widgets"]}
        elif entry["kind"] == "ad_sample_settings":
            rule_sets = entry["widgets"]
        for target, rules in rule_sets.items():
            options = m["targets"][target].get("options", {})
            for name, rule in rules.items():
                if name not in options:
                    continue
                values = [r["to"] for k, r in m["tables"][rule["table"]].items() if "to" in r] if "table" in rule \
                    else [rule["value"]]
                assert set(values) <= set(options[name]), (type_, name, values)
        if entry["kind"] == "ad_weight_adjust":
            groups = [g for _w, g in entry["weights"]]
            order = m["targets"]["ADL_AdjustWeights"]["options"]["group"]
            assert groups == sorted(groups, key=order.index), type_  # the table lists them in the order they act


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


# --------------------------------------------------------------------------------------------------------
# Sample settings
# --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("widgets, values", [
    ([3, "default", "comfy", 0, False], {"batch_offset": 3}),
    ([0, "default", "comfy", -5, False], {"seed_offset": -5}),
    ([0, "default", "comfy [gpu]", 0], {"seed_gen": "comfy [gpu]"}),
    ([0, "default", "auto1111", 0, False], {"seed_gen": "auto1111"}),
    ([0, "default", "auto1111 [gpu]", 0, False], {"seed_gen": "auto1111 [gpu]"}),
    ([0, "constant", "comfy", 0, False], {"noise_type": "constant"}),
    ([0, "empty", "comfy", 0, False], {"noise_type": "empty"}),
    ([0, "repeated_context", "comfy", 0, False], {"noise_type": "repeated context"}),
    ([1, "FreeNoise", "auto1111", 2, False], {"noise_type": "FreeNoise (AnimateDiff-Evolved)", "seed_gen": "auto1111", "seed_offset": 2,
                                              "batch_offset": 1}),
])
def test_sample_settings_beyond_freenoise_become_a_sample_settings_node(widgets, values):
    g, settings, _l, _i, _ad = settings_graph(widgets, context=True)
    converted, report = cv.convert(g.workflow())
    _consistent(converted)
    assert not report["kept"], report["kept"]
    [node] = by_type(converted, "ADL_SampleSettings")
    assert node["id"] == settings
    assert named(node) == {"noise_type": "default", "seed_gen": "comfy", "seed_offset": 0, "batch_offset": 0, **values}
    assert ("ADL_SampleSettings", 0, "ADL_ApplyMotionModule", "sample_settings") in _links(converted)
    [ctx] = by_type(converted, "ADL_ContextOptions")
    assert named(ctx)["noise_type"] == "per-frame"  # FreeNoise, if set, is made by the Sample Settings' own draw
    if values.get("noise_type") == "FreeNoise (AnimateDiff-Evolved)":
        text = cv.format_report(report)
        assert "noise_type FreeNoise (AnimateDiff-Evolved) is made by Sample Settings (Lightning)" in text
        assert "ADE's FreeNoise frame for frame" in text


def test_freenoise_or_defaults_alone_still_fold_into_the_context_options():
    for widgets, noise in [([0, "FreeNoise", "comfy", 0, False], "FreeNoise (AnimateDiff-Evolved)"), ([0, "default", "comfy", 0], "per-frame")]:
        g, settings, _l, _i, _ad = settings_graph(widgets, context=True)
        converted, report = cv.convert(g.workflow())
        assert not report["kept"] and not by_type(converted, "ADL_SampleSettings")
        [ctx] = by_type(converted, "ADL_ContextOptions")
        assert named(ctx)["noise_type"] == noise
        assert any(f"ADE_AnimateDiffSamplingSettings (node {settings})" in w for w in report["converted"][0]["with"])


def test_context_noise_without_windows_is_noted():
    g, _s, _l, _i, _ad = settings_graph([0, "repeated_context", "comfy", 0, False])
    converted, report = cv.convert(g.workflow())
    [node] = by_type(converted, "ADL_SampleSettings")
    assert named(node)["noise_type"] == "repeated context"
    assert "noise_type repeated context only acts across context windows, and there are none: the noise stays as " \
           "drawn" in cv.format_report(report)


def test_noise_layers_are_reversed():
    """ADE: A → B → C → settings applies C, then B, then A (each new layer goes to the start of its list). Ours
    apply previous first: C's node starts the chain, A's ends it and feeds the settings; masks and seed overrides
    stay linked."""
    layers = [("ADE_NoiseLayerAdd", [0, "default", "use existing", 1, 0.3]),
              ("ADE_NoiseLayerReplace", [0, "constant", "comfy", 0]),
              ("ADE_NoiseLayerAddWeighted", [2, "default", "auto1111", 0, 0.5, 0.8])]
    g, settings, (a, b, c), _i, _ad = settings_graph(layers=layers)
    mask = g.node("SolidMask", [1.0, 64, 64], outputs=[("MASK", "MASK")])
    g.link(mask, 0, b, "mask_optional")
    seed = g.node("PrimitiveInt", [7, "fixed"], outputs=[("INT", "INT")])
    g.link(seed, 0, c, "seed_override")
    g.link(seed, 0, settings, "seed_override")
    converted, report = cv.convert(g.workflow())
    _consistent(converted)
    assert not report["kept"], report["kept"]
    [node] = by_type(converted, "ADL_SampleSettings")
    got = chain(converted, node, "noise_layers")
    assert [n["id"] for n in got] == [c, b, a]
    assert [named(n)["application"] for n in got] == ["add weighted", "replace", "add"]
    assert named(got[0]) == {"application": "add weighted", "noise_type": "default", "seed_gen": "auto1111",
                             "seed_offset": 0, "batch_offset": 2, "weight": 0.5, "balance": 0.8}
    links = _links(converted)
    assert {("SolidMask", 0, "ADL_NoiseLayer", "mask"), ("PrimitiveInt", 0, "ADL_NoiseLayer", "seed_override"),
            ("PrimitiveInt", 0, "ADL_SampleSettings", "seed_override")} <= links
    assert source_of(converted, got[1], "mask")["id"] == mask and source_of(converted, got[0], "seed_override")["id"] == seed
    assert named(node) == {"noise_type": "default", "seed_gen": "comfy", "seed_offset": 0, "batch_offset": 0}
    text = cv.format_report(report)
    assert "noise layers reversed" in text and f"node {c} now starts the chain ({c} → {b} → {a})" in text
    for node_id, type_ in [(settings, "ADE_AnimateDiffSamplingSettings"), (a, "ADE_NoiseLayerAdd"),
                           (b, "ADE_NoiseLayerReplace"), (c, "ADE_NoiseLayerAddWeighted")]:
        assert any(w.startswith(f"{type_} (node {node_id}) [") for w in report["converted"][0]["with"])


def test_freeinit_and_default_iterations():
    g, settings, _l, it, _ad = settings_graph(iteration=("ADE_IterationOptsFreeInit",
                                                         [2, "box", 0.25, 0.25, 4, 999, False, "FreeInit [model sigma]", 0, 1]))
    converted, report = cv.convert(g.workflow())
    assert not report["kept"], report["kept"]
    assert ("ADL_FreeInit", 0, "ADL_SampleSettings", "freeinit") in _links(converted)
    [node] = by_type(converted, "ADL_FreeInit")
    assert node["id"] == it and named(node)["filter"] == "box" and named(node)["method"] == "FreeInit [model sigma]"

    g, settings, _l, it, ad = settings_graph(iteration=("ADE_IterationOptsDefault", [3, 0, 1]))
    _converted, report = cv.convert(g.workflow())
    reasons = kept(report)
    assert f"sample settings node {settings}: its iteration options node {it}: iterations 3: sampling again" in reasons[ad]
    assert reasons[it].startswith("iterations 3: sampling again from each run's result")
    assert reasons[settings].startswith(f"its iteration options node {it}: iterations 3")


@pytest.mark.parametrize("linked, fragment", [
    ("custom_cfg", "its custom_cfg comes from node {other} (SomethingElse), which has no counterpart"),
    ("sigma_schedule", "its sigma_schedule comes from node {other} (SomethingElse), which has no counterpart"),
    ("image_inject", "input image_inject is connected: noised image injection"),
    ("ancestral_opts", "input ancestral_opts is connected: ancestral options"),
])
def test_what_has_no_counterpart_keeps_the_loader(linked, fragment):
    g, settings, _l, _i, ad = settings_graph()
    other = g.node("SomethingElse", [], outputs=[("X", "X")])
    g.link(other, 0, settings, linked)
    _converted, report = cv.convert(g.workflow())
    assert fragment.format(other=other) in kept(report)[ad]


def test_sample_settings_refusals():
    g, settings, _l, _i, ad = settings_graph([0, "default", "comfy", 0, True])
    _converted, report = cv.convert(g.workflow())
    assert "adapt_denoise_steps has no counterpart" in kept(report)[ad]

    g, settings, [layer], _i, ad = settings_graph(layers=[("ADE_NoiseLayerAdd", [0, "default", "use existing", 0, 0.5])])
    load = g.node("ADE_AnimateDiffSamplingSettings", [0, "default", "comfy", 0, False], inputs=SETTINGS_INPUTS,
                  outputs=[("settings", "SAMPLE_SETTINGS")])
    g.link(layer, 0, load, "noise_layers")
    _converted, report = cv.convert(g.workflow())
    assert f"its noise layer node {layer} also feeds other nodes" in kept(report)[ad]

    g, settings, _l, _i, ad = settings_graph()
    foreign = g.node("ADE_NoiseLayerFromTheFuture", [], outputs=NOISE_LAYERS)
    g.link(foreign, 0, settings, "noise_layers")
    _converted, report = cv.convert(g.workflow())
    assert f"its noise_layers comes from node {foreign} (ADE_NoiseLayerFromTheFuture), which has no counterpart" in kept(report)[ad]

    # early 2025: seed_override saved as a widget; a typed value was the seed, and ours takes one only over a link
    g, settings, _l, _i, ad = settings_graph([0, "default", "comfy", 0, 1234, False])
    _converted, report = cv.convert(g.workflow())
    assert "seed_override 1234 is a typed value" in kept(report)[ad]
    g, settings, _l, _i, ad = settings_graph([0, "default", "comfy", 0, 0, False])
    converted, report = cv.convert(g.workflow())
    assert not report["kept"] and not by_type(converted, "ADL_SampleSettings")
    assert "early 2025 (+ seed_override saved as a widget)" in report["converted"][0]["with"][0]
    assert "seed_override was saved as a widget" in cv.format_report(report)


def test_sample_settings_in_api_format():
    prompt = {
        "1": {"class_type": "ADE_NoiseLayerAdd", "inputs": {"batch_offset": 0, "noise_type": "default",
                                                            "seed_gen_override": "comfy", "seed_offset": 1,
                                                            "noise_weight": 0.2}},
        "2": {"class_type": "ADE_NoiseLayerNormalizedSum", "inputs": {
            "batch_offset": 0, "noise_type": "constant", "seed_gen_override": "use existing", "seed_offset": 0,
            "noise_weight": 0.4, "prev_noise_layers": ["1", 0]}},
        "3": {"class_type": "ADE_IterationOptsFreeInit", "inputs": {
            "iterations": 2, "filter": "gaussian", "d_s": 0.25, "d_t": 0.25, "n_butterworth": 4, "sigma_step": 999,
            "apply_to_1st_iter": False, "init_type": "FreeInit [sampler sigma]"}},  # no iter offsets: ADE's defaults
        "4": {"class_type": "ADE_AnimateDiffSamplingSettings", "inputs": {
            "batch_offset": 0, "noise_type": "default", "seed_gen": "comfy", "seed_offset": 0, "noise_layers": ["2", 0],
            "iteration_opts": ["3", 0], "seed_override": ["7", 0]}},
        "5": {"class_type": "ADE_AnimateDiffLoaderGen1", "inputs": {"model": ["9", 0], "model_name": MODULE,
                                                                    "beta_schedule": "autoselect",
                                                                    "sample_settings": ["4", 0]}},
        "7": {"class_type": "PrimitiveInt", "inputs": {"value": 5}},
        "9": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "x.safetensors"}},
    }
    converted, report = cv.convert(prompt)
    assert not report["kept"], report["kept"]
    assert converted["2"] == {"class_type": "ADL_NoiseLayer", "inputs": {
        "application": "normalized sum", "noise_type": "constant", "seed_gen": "use existing", "seed_offset": 0,
        "batch_offset": 0, "weight": 0.4, "balance": 1.0}}
    assert converted["1"]["inputs"]["previous"] == ["2", 0] and converted["1"]["inputs"]["application"] == "add"
    assert converted["3"] == {"class_type": "ADL_FreeInit", "inputs": {
        "iterations": 2, "filter": "gaussian", "d_s": 0.25, "d_t": 0.25, "n_butterworth": 4, "sigma_step": 999,
        "apply_to_first": False, "method": "FreeInit [sampler sigma]", "iter_batch_offset": 0, "iter_seed_offset": 1}}
    assert converted["4"] == {"class_type": "ADL_SampleSettings", "inputs": {
        "noise_type": "default", "seed_gen": "comfy", "seed_offset": 0, "batch_offset": 0, "seed_override": ["7", 0],
        "noise_layers": ["1", 0], "freeinit": ["3", 0]}}
    assert converted["5"]["inputs"]["sample_settings"] == ["4", 0]
    prompt["4"]["inputs"]["seed_override"] = 0  # a value ADE received (the frontend sent the widget): the seed
    _converted, report = cv.convert(prompt)
    assert "sample settings node 4: seed_override 0 is a typed value" in kept(report)["5"]


# --------------------------------------------------------------------------------------------------------
# One graph with all of it (run by tests/test_convert_server.py)
# --------------------------------------------------------------------------------------------------------
def t2v_gen2_settings() -> dict:
    """Gen2 nodes with AnimateDiff settings (a sweetspot stretch, then attention and 'other' weight multipliers)
    and sample settings (auto1111 generator, a seed offset, two noise layers, FreeInit with 2 iterations) on Use
    Evolved Sampling, static context options."""
    g = UIGraph()
    ckpt, pos, neg = _base(g)
    latent = g.node("EmptyLatentImage", [512, 512, 16], outputs=[("LATENT", "LATENT")])
    pe = g.node("ADE_AdjustPESweetspotStretch", [16, 24, False], inputs=[("prev_pe_adjust", "PE_ADJUST")],
                outputs=PE_ADJUST)
    weights = g.node("ADE_AdjustWeightIndivMult", [1.0, 0.98, 1.02, False], inputs=[("prev_weight_adjust", "WEIGHT_ADJUST")],
                     outputs=WEIGHT_ADJUST)
    settings = g.node("ADE_AnimateDiffSettings", [], inputs=[("pe_adjust", "PE_ADJUST"), ("weight_adjust", "WEIGHT_ADJUST")],
                      outputs=[("AD_SETTINGS", "AD_SETTINGS")])
    g.link(pe, 0, settings, "pe_adjust")
    g.link(weights, 0, settings, "weight_adjust")
    load = g.node("ADE_LoadAnimateDiffModel", [MODULE], inputs=[("ad_settings", "AD_SETTINGS")],
                  outputs=[("MOTION_MODEL", "MOTION_MODEL_ADE")])
    g.link(settings, 0, load, "ad_settings")
    apply = g.node("ADE_ApplyAnimateDiffModelSimple", None, inputs=[("motion_model", "MOTION_MODEL_ADE")],
                   outputs=[("M_MODELS", "M_MODELS")])
    g.link(load, 0, apply, "motion_model")
    layer1 = g.node("ADE_NoiseLayerAdd", [0, "default", "use existing", 3, 0.2], inputs=LAYER_INPUTS, outputs=NOISE_LAYERS)
    layer2 = g.node("ADE_NoiseLayerAddWeighted", [1, "constant", "comfy", 0, 0.3, 1.0], inputs=LAYER_INPUTS,
                    outputs=NOISE_LAYERS)
    g.link(layer1, 0, layer2, "prev_noise_layers")
    freeinit = g.node("ADE_IterationOptsFreeInit", [2, "gaussian", 0.25, 0.25, 4, 999, False, "FreeInit [sampler sigma]", 0, 1],
                      outputs=[("ITERATION_OPTS", "ITERATION_OPTS")])
    sample = g.node("ADE_AnimateDiffSamplingSettings", [0, "default", "auto1111", 1, False], inputs=SETTINGS_INPUTS,
                    outputs=[("settings", "SAMPLE_SETTINGS")])
    g.link(layer2, 0, sample, "noise_layers")
    g.link(freeinit, 0, sample, "iteration_opts")
    ctx = g.node("ADE_StandardStaticContextOptions", [8, 2, "pyramid", False, 0, 1],
                 inputs=[("prev_context", "CONTEXT_OPTIONS"), ("view_opts", "VIEW_OPTS")],
                 outputs=[("CONTEXT_OPTS", "CONTEXT_OPTIONS")])
    evolved = g.node("ADE_UseEvolvedSampling", ["autoselect"],
                     inputs=[("model", "MODEL"), ("m_models", "M_MODELS"), ("context_options", "CONTEXT_OPTIONS"),
                             ("sample_settings", "SAMPLE_SETTINGS")], outputs=[("MODEL", "MODEL")])
    g.link(ckpt, 0, evolved, "model")
    g.link(apply, 0, evolved, "m_models")
    g.link(ctx, 0, evolved, "context_options")
    g.link(sample, 0, evolved, "sample_settings")
    ks = _ksampler(g)
    g.link(evolved, 0, ks, "model")
    g.link(pos, 0, ks, "positive")
    g.link(neg, 0, ks, "negative")
    g.link(latent, 0, ks, "latent_image")
    dec = _decode(g, ckpt, ks)
    combine = g.node("VHS_VideoCombine", [8, 0, "settings", "video/h264-mp4", False, True, "yuv420p", 19, True, None],
                     inputs=[("images", "IMAGE")], outputs=[("Filenames", "VHS_FILENAMES")])
    g.link(dec, 0, combine, "images")
    return g.workflow()


def test_the_whole_graph_converts():
    converted, report = cv.convert(t2v_gen2_settings())
    _consistent(converted)
    assert not report["kept"], report["kept"]
    assert not any(n["type"].startswith(("ADE_", "VHS_")) for n in converted["nodes"])
    links = _links(converted)
    for link in [("ADL_AdjustPositions", 0, "ADL_AdjustWeights", "previous"),
                 ("ADL_AdjustWeights", 0, "ADL_AdjustWeights", "previous"),
                 ("ADL_AdjustWeights", 0, "ADL_LoadMotionModule", "adjust"),
                 ("ADL_LoadMotionModule", 0, "ADL_ApplyMotionModule", "motion_module"),
                 ("ADL_NoiseLayer", 0, "ADL_NoiseLayer", "previous"),
                 ("ADL_NoiseLayer", 0, "ADL_SampleSettings", "noise_layers"),
                 ("ADL_FreeInit", 0, "ADL_SampleSettings", "freeinit"),
                 ("ADL_SampleSettings", 0, "ADL_ApplyMotionModule", "sample_settings"),
                 ("ADL_ApplyMotionModule", 0, "ADL_ContextOptions", "model"),
                 ("ADL_ContextOptions", 0, "KSampler", "model")]:
        assert link in links, link
    [use] = [c for c in report["converted"] if c["type"] == "ADE_UseEvolvedSampling"]
    assert len(use["with"]) == 6  # apply, context options, sample settings, two layers, FreeInit
    [load] = [c for c in report["converted"] if c["type"] == "ADE_LoadAnimateDiffModel"]
    assert len(load["with"]) == 3  # the settings node, its PE and its weight adjustment
