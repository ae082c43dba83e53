"""The converter on AnimateDiff-Evolved's sample settings, without a server: → Sample Settings (Lightning) on Apply
Motion Module's sample_settings (or, with only FreeNoise / defaults, the converted Context Options' noise_type),
with their noise layers (the chain reversed) and FreeInit; UI and API format; what has no counterpart keeps the
loader, with the reason. Helpers and every layout: tests/test_convert_settings.py."""
import pytest
from animatediff_lightning.workflow_files import convert as cv
from support.foreign_workflows import MODULE
from test_convert import _consistent, _links, by_type, named
from test_convert_settings import NOISE_LAYERS, SETTINGS_INPUTS, chain, kept, settings_graph, source_of


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


def test_early_2024_iteration_layouts():
    """d2bf367 2024-01-02 to 1eed0d9 2024-01-27 saved FreeInit with 8 values (no iteration offsets) and the default
    iteration options with 1: the AnimateDiff-Evolved of today opens them with the offsets' defaults (0 and 1)."""
    g, _settings, _l, it, _ad = settings_graph(iteration=("ADE_IterationOptsFreeInit",
                                                          [2, "gaussian", 0.25, 0.25, 4, 999, False, "DinkInit_v1"]))
    converted, report = cv.convert(g.workflow())
    assert not report["kept"], report["kept"]
    [node] = by_type(converted, "ADL_FreeInit")
    assert named(node)["method"] == "DinkInit_v1"
    assert (named(node)["iter_batch_offset"], named(node)["iter_seed_offset"]) == (0, 1)
    assert any("d2bf367 2024-01-02 to 1eed0d9 2024-01-27" in w for w in report["converted"][0]["with"])

    g, _settings, _l, it, _ad = settings_graph(iteration=("ADE_IterationOptsDefault", [1]))
    converted, report = cv.convert(g.workflow())
    assert not report["kept"] and not by_type(converted, "ADL_FreeInit"), report["kept"]
    g, _settings, _l, it, ad = settings_graph(iteration=("ADE_IterationOptsDefault", [2]))
    _converted, report = cv.convert(g.workflow())
    assert kept(report)[it].startswith("iterations 2: sampling again from each run's result")
