"""The converter on AnimateDiff-Evolved's context_stride (onto Context Options (Lightning)'s appended
context_stride), VideoHelperSuite's Select Every Nth Image with n > 1 (onto Select Every Nth Image (Lightning)),
and an unload with no model whose MODEL leads to nothing that runs (removed) or to a node that runs (kept: the
original fails there too); then the corpus file that needed all three."""
import json
from pathlib import Path

import pytest
import torch

from animatediff_lightning.nodes.images import SelectEveryNthImage
from animatediff_lightning.workflow_files import convert as cv
from support.foreign_workflows import MODULE, UIGraph
from test_convert import _consistent, _links, by_type, named

ROOT = Path(__file__).resolve().parent
CORPUS = ROOT / "fixtures" / "corpus" / \
    "kingmateo__comfy_ui_workflow_list__workflow-sparse-controlnet-animate-diff-video-to-video.json"
CKPT = [("MODEL", "MODEL"), ("CLIP", "CLIP"), ("VAE", "VAE")]
SAMPLER_INPUTS = [("model", "MODEL"), ("positive", "CONDITIONING"), ("negative", "CONDITIONING"),
                  ("latent_image", "LATENT")]


def _with_context(type_, widgets):
    g = UIGraph()
    ckpt = g.node("CheckpointLoaderSimple", ["sd15.safetensors"], outputs=CKPT)
    ctx = g.node(type_, widgets, outputs=[("CONTEXT_OPTIONS", "CONTEXT_OPTIONS")])
    loader = g.node("ADE_AnimateDiffLoaderGen1", [MODULE, "autoselect"],
                    inputs=[("model", "MODEL"), ("context_options", "CONTEXT_OPTIONS")], outputs=[("MODEL", "MODEL")])
    g.link(ckpt, 0, loader, "model")
    g.link(ctx, 0, loader, "context_options")
    ks = g.node("KSampler", [1, "fixed", 4, 1.0, "euler", "sgm_uniform", 1.0], inputs=SAMPLER_INPUTS,
                outputs=[("LATENT", "LATENT")])
    g.link(loader, 0, ks, "model")
    return g


def _context(workflow):
    converted, report = cv.convert(workflow)
    assert not report["kept"], report["kept"]
    [ctx] = by_type(converted, "ADL_ContextOptions")
    notes = [n for c in report["converted"] for n in c["notes"]]
    return ctx, notes


# --- context_stride -------------------------------------------------------------------------------------
@pytest.mark.parametrize("type_, widgets, schedule", [
    ("ADE_StandardUniformContextOptions", [16, 3, 4, "pyramid", False, 0.0, 1], "uniform"),
    ("ADE_LoopedUniformContextOptions", [16, 2, 4, True, "flat", False, 0.0, 1], "looped"),
    ("ADE_AnimateDiffUniformContextOptions", [16, 3, 4, "uniform", False], "looped"),  # the corpus file's layout
    ("ADE_AnimateDiffUniformContextOptions", [16, 4, 4, "uniform", False, "flat", False, 0.0, 1, ""], "looped"),
])
def test_ade_context_stride_becomes_ours(type_, widgets, schedule):
    ctx, notes = _context(_with_context(type_, widgets).workflow())
    values = named(ctx)
    assert values["context_schedule"] == schedule and values["context_stride"] == widgets[1]
    assert len(ctx["widgets_values"]) == 7 and ctx["widgets_values"][-1] == widgets[1]  # appended, last
    past_end = [n for n in notes if "past the last frame" in n]
    assert bool(past_end) == (schedule == "uniform")  # only uniform can shift a window past the end


def test_stride_1_and_api_prompts_without_it():
    ctx, notes = _context(_with_context("ADE_StandardUniformContextOptions",
                                        [16, 1, 4, "pyramid", False, 0.0, 1]).workflow())
    assert named(ctx)["context_stride"] == 1 and not any("context_stride" in n for n in notes)
    prompt = {"1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd15.safetensors"}},
              "2": {"class_type": "ADE_LoopedUniformContextOptions",
                    "inputs": {"context_length": 16, "context_overlap": 4, "closed_loop": False, "fuse_method": "flat"}},
              "3": {"class_type": "ADE_AnimateDiffLoaderGen1",
                    "inputs": {"model": ["1", 0], "context_options": ["2", 0], "model_name": MODULE,
                               "beta_schedule": "autoselect"}}}
    converted, report = cv.convert(prompt)
    assert not report["kept"], report["kept"]
    [ctx] = [n for n in converted.values() if n["class_type"] == "ADL_ContextOptions"]
    assert ctx["inputs"]["context_stride"] == 1  # left out: ADE's default


def test_stride_beyond_ours_is_our_largest_with_the_same_windows():
    ctx, notes = _context(_with_context("ADE_AnimateDiffUniformContextOptions", [16, 500, 4, "uniform", False]).workflow())
    assert named(ctx)["context_stride"] == 32
    assert any("context_stride 500 is 32 here" in n for n in notes)


def test_a_bad_stride_is_refused():
    _converted, report = cv.convert(_with_context("ADE_StandardUniformContextOptions",
                                                  [16, 0, 4, "pyramid", False, 0.0, 1]).workflow())
    assert any("context_stride 0 is not a whole number of at least 1" in k["reason"] for k in report["kept"])


# --- Select Every Nth Image -----------------------------------------------------------------------------
def _nth_graph(widgets, linked=()):
    g = UIGraph()
    src = g.node("TestSource", None, outputs=[("IMAGE", "IMAGE")])
    node = g.node("VHS_SelectEveryNthImage", widgets, inputs=[("images", "IMAGE")],
                  outputs=[("IMAGE", "IMAGE"), ("count", "INT")])
    g.link(src, 0, node, "images")
    for name in linked:
        g.widget_input(node, name, "INT")
        prim = g.node("PrimitiveNode", [3], outputs=[("INT", "INT")])
        g.link(prim, 0, node, name)
    for slot, kind in ((0, "IMAGE"), (1, "INT")):
        sink = g.node("TestSink", None, inputs=[("x", kind)])
        g.link(node, slot, sink, "x")
    return g, node


@pytest.mark.parametrize("widgets", [[2], [2, 0], [3, 1], {"select_every_nth": 2}])
def test_every_nth_becomes_ours(widgets):
    g, node = _nth_graph(widgets)
    converted, report = cv.convert(g.workflow())
    assert not report["kept"], report["kept"]
    _consistent(converted)
    [ours] = by_type(converted, "ADL_SelectEveryNthImage")
    assert ours["id"] == node
    values = widgets if isinstance(widgets, list) else [widgets["select_every_nth"]]
    assert named(ours) == {"select_every_nth": values[0], "skip_first_images": values[1] if len(values) > 1 else 0}
    links = _links(converted)
    assert {("ADL_SelectEveryNthImage", 0, "TestSink", "x"), ("ADL_SelectEveryNthImage", 1, "TestSink", "x"),
            ("TestSource", 0, "ADL_SelectEveryNthImage", "images")} <= links
    assert "Select Every Nth Image (Lightning)" in report["converted"][0]["notes"][0]


def test_nth_1_still_maps_to_core():
    g, _node = _nth_graph([1, 2])
    converted, report = cv.convert(g.workflow())
    assert not report["kept"] and not by_type(converted, "ADL_SelectEveryNthImage")
    assert by_type(converted, "ImageFromBatch")


def test_a_linked_nth_stays_linked_on_ours():
    g, _node = _nth_graph([2, 0], linked=["select_every_nth"])
    converted, report = cv.convert(g.workflow())
    assert not report["kept"], report["kept"]
    assert ("PrimitiveNode", 0, "ADL_SelectEveryNthImage", "select_every_nth") in _links(converted)


@pytest.mark.parametrize("nth, skip", [(2, 0), (3, 1), (4, 6), (1, 0)])
def test_the_converted_api_prompt_gives_vhs_s_frames(nth, skip):
    images = torch.rand(10, 4, 6, 3)
    prompt = {"10": {"class_type": "TestSource", "inputs": {}},
              "1": {"class_type": "VHS_SelectEveryNthImage",
                    "inputs": {"images": ["10", 0], "select_every_nth": nth, "skip_first_images": skip}},
              "20": {"class_type": "TestSink", "inputs": {"x": ["1", 0]}},
              "21": {"class_type": "TestSink", "inputs": {"x": ["1", 1]}}}
    converted, report = cv.convert(prompt)
    assert not report["kept"], report["kept"]
    vhs = images[skip::nth]  # VideoHelperSuite's select_images, 9deb23e+
    if nth == 1:
        assert converted["20"]["inputs"]["x"] == ["10", 0] or converted["1"]["class_type"] == "ImageFromBatch"
        return
    ours = converted["1"]
    assert ours["class_type"] == "ADL_SelectEveryNthImage" and converted["20"]["inputs"]["x"] == ["1", 0]
    assert converted["21"]["inputs"]["x"] == ["1", 1]
    inputs = {k: v for k, v in ours["inputs"].items() if k != "images"}
    got, count = SelectEveryNthImage.execute(images, **inputs).result
    assert torch.equal(got, vhs) and count == vhs.shape[0]


# --- Unload with no model -------------------------------------------------------------------------------
def _unload_graph(consumer_mode=None, through_bypass=False):
    g = UIGraph()
    ckpt = g.node("CheckpointLoaderSimple", ["sd15.safetensors"], outputs=CKPT)  # the rest of the graph, untouched
    save = g.node("KSampler", [1, "fixed", 4, 1.0, "euler", "sgm_uniform", 1.0], inputs=SAMPLER_INPUTS,
                  outputs=[("LATENT", "LATENT")])
    g.link(ckpt, 0, save, "model")
    unload = g.node("ADE_AnimateDiffUnload", None, inputs=[("model", "MODEL")], outputs=[("MODEL", "MODEL")])
    reroute = g.node("Reroute", None, inputs=[("", "*")], outputs=[("", "MODEL")])
    g.link(unload, 0, reroute, "")
    src = reroute
    if through_bypass:
        lora = g.node("LoraLoaderModelOnly", ["x.safetensors", 1.0], inputs=[("model", "MODEL")],
                      outputs=[("MODEL", "MODEL")], mode=4)
        g.link(reroute, 0, lora, "model")
        src = lora
    if consumer_mode is not None:
        ks = g.node("KSampler", [1, "fixed", 4, 1.0, "euler", "sgm_uniform", 1.0], inputs=SAMPLER_INPUTS,
                    outputs=[("LATENT", "LATENT")], mode=consumer_mode)
        g.link(src, 0, ks, "model")
    return g, unload, reroute


def test_an_unload_leading_nowhere_goes_with_its_reroute():
    g, unload, reroute = _unload_graph()
    converted, report = cv.convert(g.workflow())
    assert not report["kept"], report["kept"]
    _consistent(converted)
    assert not {unload, reroute} & {n["id"] for n in converted["nodes"]}
    [entry] = report["converted"]
    assert "leads to nothing that runs" in entry["notes"][0] and f"Reroute {reroute}" in entry["notes"][0]


@pytest.mark.parametrize("mode, bypass", [(2, False), (4, False), (2, True)], ids=["muted", "bypassed",
                                                                                  "bypassed-then-muted"])
def test_an_unload_reaching_only_muted_or_bypassed_nodes_goes(mode, bypass):
    g, unload, _reroute = _unload_graph(mode, bypass)
    converted, report = cv.convert(g.workflow())
    assert not report["kept"], report["kept"]
    _consistent(converted)
    first = by_type(converted, "LoraLoaderModelOnly" if bypass else "KSampler")[-1]  # the node the Reroute fed
    assert first["mode"] == (4 if bypass else mode) and first["inputs"][0]["link"] is None  # left unconnected
    assert ("CheckpointLoaderSimple", 0, "KSampler", "model") in _links(converted)
    assert "muted" in report["converted"][0]["notes"][0] or "bypassed" in report["converted"][0]["notes"][0]


@pytest.mark.parametrize("bypass", [False, True])
def test_an_unload_reaching_a_node_that_runs_stays(bypass):
    g, unload, _reroute = _unload_graph(0, bypass)
    _converted, report = cv.convert(g.workflow())
    [kept] = report["kept"]
    assert kept["id"] == unload and "model input is not connected" in kept["reason"]
    assert "(KSampler), which runs: the original graph fails here too" in kept["reason"]


# --- the corpus file -------------------------------------------------------------------------------------
def test_the_sparse_controlnet_corpus_file_converts_fully():
    workflow = json.loads(CORPUS.read_text())
    converted, report = cv.convert(workflow)
    assert report["kept"] == []
    _consistent(converted)
    ids = {n["id"] for n in converted["nodes"]}
    assert not {1037, 1038} & ids  # the unload and the Reroute that led nowhere
    contexts = by_type(converted, "ADL_ContextOptions")
    assert len(contexts) == 2  # node 36 fed two loaders: a copy in each
    assert all(c["widgets_values"] == [16, 4, "looped", "flat", False, "per-frame", 3] for c in contexts)
    [nth] = by_type(converted, "ADL_SelectEveryNthImage")
    assert nth["id"] == 81 and named(nth) == {"select_every_nth": 2, "skip_first_images": 0}
    notes = {c["id"]: c["notes"] for c in report["converted"]}
    assert any("leads to nothing that runs" in n for n in notes[1037])
