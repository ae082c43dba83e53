"""The converter on Advanced-ControlNet's ControlNet controls it does not convert: what stays and why (texts ACN
fails on or guesses at, batched / generated keyframes, weights and keyframes feeding nodes without a counterpart,
inputs of old versions), the converted chain validated against the pack's nodes, and frames texts read back by the
pack as ACN applies them. The mappings themselves: test_convert_controls.py."""
import pytest
from animatediff_lightning.workflow_files import convert as cv
from test_convert_controls import CN, TK_INPUTS, TK_OUT, WEIGHTS_OUT, Graph, load
from test_convert_settings import kept

def _refused(build):
    c = Graph()
    node = build(c)
    _out, report = c.convert()
    return c, node, kept(report)


@pytest.mark.parametrize("text, reason", [
    ("0, -1", "index -1 is negative without latent_optional"),
    ("0=0.5, 0:2=0.7", "index 0 is given strengths 0.5 and 0.7"),
    ("0=x", "strength 'x' is not a number"),
    ("0,", "'' is not an index"),
    ("0:4:8", "'0:4:8' is not an index"),
])
def test_group_texts_advanced_controlnet_fails_on_or_guesses(text, reason):
    c, node, reasons = _refused(lambda c: c.latent_kf("LatentKeyframeGroup", [text, False],
                                                      into=(c.apply, "latent_kf_override")))
    assert reason in reasons[node], reasons
    assert f"its latent keyframe node {node}: " in reasons[c.apply]


def test_negative_indexes_with_latent_optional_are_refused():
    def build(c):
        g = c.latent_kf("LatentKeyframeGroup", ["-4:", False], into=(c.apply, "latent_kf_override"))
        c.g.link(c.latent, 0, g, "latent_optional")
        return g
    c, node, reasons = _refused(build)
    assert "is not an index" in reasons[node]  # ACN fails on the empty end too
    c, node, reasons = _refused(lambda c: (lambda g: (c.g.link(c.latent, 0, g, "latent_optional"), g)[1])(
        c.latent_kf("LatentKeyframeGroup", ["-4:-1", False], into=(c.apply, "latent_kf_override"))))
    assert "counts from the end of latent_optional's frames" in reasons[node]


def test_batched_latent_keyframes_and_generated_timestep_keyframes_are_refused():
    c, node, reasons = _refused(lambda c: c.latent_kf("LatentKeyframeBatchedGroup", [False],
                                                      into=(c.apply, "latent_kf_override")))
    assert "a list of floats over a link" in reasons[c.apply] and "LatentKeyframeBatchedGroup" in reasons[c.apply]
    assert "a list of floats over a link" in reasons[node]

    def interp(c):
        n = c.g.node("ACN_TimestepKeyframeInterpolation", [0.0, 1.0, 1.0, 0.5, "linear", 10, 0.0, True, False],
                     outputs=TK_OUT)
        c.g.link(n, 0, c.apply, "timestep_kf")
        return n
    c, node, reasons = _refused(interp)
    assert "a generated schedule of keyframes" in reasons[c.apply] and "generated schedule" in reasons[node]


def test_weights_without_counterpart_keep_the_chain():
    def masked(c):
        n = c.g.node("ScaledSoftMaskedUniversalWeights", [0.0, 1.0, 1.0], inputs=[("mask", "MASK")],
                     outputs=WEIGHTS_OUT)
        c.g.link(n, 0, c.apply, "weights_override")
        return n
    c, node, reasons = _refused(masked)
    assert "soft weights from a mask" in reasons[c.apply]

    def extras(c):
        w = c.weights("ACN_ScaledSoftControlNetWeights", [0.8, 1.0], into=(c.apply, "weights_override"))
        x = c.g.node("ACN_ExtrasMiddleMult", [1.2], outputs=[("CN_WEIGHTS_EXTRAS", "CN_WEIGHTS_EXTRAS")])
        c.g.link(x, 0, w, "cn_extras")
        return w
    c, node, reasons = _refused(extras)
    assert "input cn_extras is connected: weight extras" in reasons[node]
    assert f"it needs node {node} (ACN_ScaledSoftControlNetWeights), which was not converted" in reasons[c.apply]

    def linked_block(c):
        w = c.weights("ACN_CustomControlNetWeightsSD15", [1.0] * 14, into=(c.apply, "weights_override"))
        c.g.widget_input(w, "output_4", "FLOAT")
        prim = c.g.node("PrimitiveNode", [0.5, "fixed"], outputs=[("FLOAT", "FLOAT")])
        c.g.link(prim, 0, w, "output_4")
        return w
    c, node, reasons = _refused(linked_block)
    assert "output_4 comes from another node; the block weights become one block_weights text" in reasons[node]


def test_a_keyframe_feeding_something_without_counterpart_stays():
    def build(c):
        k = c.keyframe([0.2, 1.0, 0.0, True, 1], into=(c.apply, "timestep_kf"))
        other = c.g.node("SomeoneElsesNode", [], inputs=[("tk", "TIMESTEP_KEYFRAME")])
        c.g.link(k, 0, other, "tk")
        return k
    c, node, reasons = _refused(build)
    assert "it feeds node" in reasons[node] and "SomeoneElsesNode" in reasons[node]
    assert f"it needs node {node} (TimestepKeyframe), which was not converted" in reasons[c.apply]


def test_a_latent_keyframe_shared_by_two_keyframes_stays():
    def build(c):
        lat = c.latent_kf("LatentKeyframe", [0, 1.0])
        first = c.keyframe([0.0, 1.0, 0.0, True, 1], latent=lat)
        c.keyframe([0.5, 1.0, 0.0, True, 1], prev=first, latent=lat, into=(c.apply, "timestep_kf"))
        return lat
    c, node, reasons = _refused(build)
    assert "it feeds several nodes" in reasons[node]
    assert "also feeds other nodes; give each its own" in reasons[c.apply]


def test_old_inputs_without_counterpart():
    def t2i(c):
        k = c.g.node("TimestepKeyframe", [0.0], inputs=[("t2i_adapter_weights", "T2I_ADAPTER_WEIGHTS")] + TK_INPUTS,
                     outputs=TK_OUT)
        w = c.g.node("CustomT2IAdapterWeights", [1.0, 1.0, 1.0, 1.0, False], outputs=WEIGHTS_OUT)
        c.g.link(w, 0, k, "t2i_adapter_weights")
        c.g.link(k, 0, c.apply, "timestep_kf")
        return k
    c, node, reasons = _refused(t2i)
    assert "T2I-Adapter weights (the 2023 input) have no counterpart" in reasons[node]


def test_the_converted_chain_validates_against_the_pack_nodes(monkeypatch):
    """ComfyUI's own validation (execution.validate_inputs) of the converted Apply ControlNet and all it is fed
    (ControlNet Controls, Keyframes, Weights, core's loader), against the live node classes."""
    import asyncio

    import execution
    import folder_paths
    import nodes
    from animatediff_lightning.nodes import NODES

    for node in NODES:
        monkeypatch.setitem(nodes.NODE_CLASS_MAPPINGS, node.define_schema().node_id, node)
    monkeypatch.setattr(folder_paths, "get_filename_list",
                        lambda kind: [CN] if kind == "controlnet" else ["dreamshaper_8.safetensors"])
    out, report = cv.convert(load("controls_chain_api"))
    assert not report["kept"], report["kept"]
    monkeypatch.setattr(nodes.LoadImage, "VALIDATE_INPUTS", classmethod(lambda cls, image: True), raising=False)
    validated = {}
    valid, errors, _id = asyncio.run(execution.validate_inputs("convert-test", out, "7", validated))
    assert valid, (errors, {k: r for k, r in validated.items() if not r[0]})
    assert {"6", "7", "9", "12", "13", "15", "16", "18", "19", "20"} <= set(validated)


@pytest.mark.parametrize("text, frames, expect", [
    ("-2:-1=0.4, -1=0.4, 0:2=0.1, 2:3=0.7, 3:4=0.1, 9:10=1.0", 16, {14: 0.4, 15: 0.4, 0: 0.1, 1: 0.1, 2: 0.7, 3: 0.1, 9: 1.0}),
    ("0:8=1.0, 12:13=0.3", 10, dict.fromkeys(range(8), 1.0)),  # index 12 past a 10-frame video: skipped, as ACN does
    ("-1=0.2, 3:4=0.5", 4, {3: 0.5}),  # -1 and 3 are one frame; ACN applies 3 after -1 (batch-index order)
    ("0:0", 8, {}),
])
def test_frames_texts_read_by_the_pack_as_advanced_controlnet_applies_them(text, frames, expect):
    from animatediff_lightning.motion_modules.controls import parse_frame_strengths
    assert parse_frame_strengths(text).resolve(frames) == expect
