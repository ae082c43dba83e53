"""The converter on AnimateDiff-Evolved's module adjustments and sample settings, without a server: every layout
and every value of their nodes (tests/fixtures/foreign_workflows/settings_versions.json), the graph builders the
other converter tests share, and one graph with all of it. The adjustments' wiring and refusals are in
tests/test_convert_adjustments.py, the sample settings' in tests/test_convert_sample_settings.py."""
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
