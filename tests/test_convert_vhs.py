"""The converter on VideoHelperSuite's batch helpers, batched VAE nodes and audio loaders, without a server: each
becomes the core node(s) giving the same frames (tests/fixtures/foreign_workflows/vhs_versions.json: every layout,
UI and API format), linked widgets stay linked, what core cannot match stays with the reason; and the converted
core nodes, run in-process from the real host on small tensors, give what VideoHelperSuite's nodes are documented
to give (split at 3 of 5 images: 0..2 and 3..4, and so on)."""
import importlib.util
import json
import re
import sys

import pytest
import torch
from animatediff_lightning.workflow_files import convert as cv
from animatediff_lightning.workflow_files.convert.write import widget_layout
from conftest import COMFYUI_PATH
from support.foreign_workflows import FIXTURES, UIGraph
from test_convert import _consistent

import comfy.utils
import nodes

VERSIONS = json.loads((FIXTURES / "vhs_versions.json").read_text())
SOCKETS = {
    "VHS_VAEDecodeBatched": ([("samples", "LATENT"), ("vae", "VAE")], [("IMAGE", "IMAGE")]),
    "VHS_VAEEncodeBatched": ([("pixels", "IMAGE"), ("vae", "VAE")], [("LATENT", "LATENT")]),
    "VHS_DuplicateImages": ([("images", "IMAGE")], [("IMAGE", "IMAGE"), ("count", "INT")]),
    "VHS_DuplicateLatents": ([("latents", "LATENT")], [("LATENT", "LATENT"), ("count", "INT")]),
    "VHS_GetImageCount": ([("images", "IMAGE")], [("count", "INT")]),
    "VHS_SplitImages": ([("images", "IMAGE")], [("IMAGE_A", "IMAGE"), ("A_count", "INT"), ("IMAGE_B", "IMAGE"),
                                                ("B_count", "INT")]),
    "VHS_SelectEveryNthImage": ([("images", "IMAGE")], [("IMAGE", "IMAGE"), ("count", "INT")]),
    "VHS_MergeImages": ([("images_A", "IMAGE"), ("images_B", "IMAGE")], [("IMAGE", "IMAGE"), ("count", "INT")]),
    "VHS_LoadAudioUpload": ([], [("audio", "AUDIO"), ("duration", "FLOAT")]),
    "VHS_LoadAudio": ([], [("audio", "AUDIO"), ("duration", "FLOAT")]),
    "VHS_LoadImages": ([], [("IMAGE", "IMAGE"), ("MASK", "MASK"), ("frame_count", "INT")]),
    "VHS_LoadImagesPath": ([], [("IMAGE", "IMAGE"), ("MASK", "MASK"), ("frame_count", "INT")]),
}
TO = re.compile(r"^(\w+) \(node (-?[\w:]+)\)$")


def layout(type_, version):
    entry = cv.mapping()["nodes"][type_]
    return [w for w, _k in next(v for v in entry["versions"] if version in v["name"])["widgets"]]


def ui_graph(type_, widgets, use, linked=()):
    """A source per input, the VHS node, a sink on each used output; ``linked``: widgets fed by a PrimitiveNode."""
    g = UIGraph()
    ins, outs = SOCKETS[type_]
    node = g.node(type_, widgets, inputs=ins, outputs=outs)
    for name, kind in ins:
        src = g.node("TestSource", None, outputs=[(name, kind)])
        g.link(src, 0, node, name)
    for name, kind in linked:
        g.widget_input(node, name, kind)
        prim = g.node("PrimitiveNode", [0], outputs=[(kind, kind)])
        g.link(prim, 0, node, name)
    for slot in use:
        sink = g.node("TestSink", None, inputs=[("x", outs[slot][1])])
        g.link(node, slot, sink, "x")
    return g, node


def emitted(report, converted, ui):
    """[(type, node)] of what the one converted node became, in the report's order."""
    [entry] = report["converted"]
    by_id = {n["id"]: n for n in converted["nodes"]} if ui else converted
    out = []
    for text in entry["to"]:
        type_, node_id = TO.match(text).groups()
        out.append((type_, by_id[int(node_id)] if ui else by_id[node_id]))
    return out


def ui_named(node):
    return dict(zip(widget_layout(node["type"]), node["widgets_values"]))  # None: the upload button's value


def sink_sources(converted, ui):
    """For each sink: (source type, slot) as converted."""
    if not ui:
        return sorted((converted[n["inputs"]["x"][0]]["class_type"], n["inputs"]["x"][1])
                      for n in converted.values() if n["class_type"] == "TestSink")
    nodes_ = {n["id"]: n for n in converted["nodes"]}
    links = {lk[0]: lk for lk in converted["links"]}
    return sorted((nodes_[links[n["inputs"][0]["link"]][1]]["type"], links[n["inputs"][0]["link"]][2])
                  for n in converted["nodes"] if n["type"] == "TestSink")


def api_of(type_, widgets, version, use):
    ins, outs = SOCKETS[type_]
    prompt = {"1": {"class_type": type_, "inputs": dict(zip(layout(type_, version), widgets))}}
    for i, (name, _kind) in enumerate(ins):
        prompt[str(10 + i)] = {"class_type": "TestSource", "inputs": {}}
        prompt["1"]["inputs"][name] = [str(10 + i), 0]
    for slot in use:
        prompt[str(20 + slot)] = {"class_type": "TestSink", "inputs": {"x": ["1", slot]}}
    return prompt


def test_every_vhs_layout_has_a_case():
    covered = {(c["type"], c["version"]) for c in VERSIONS["cases"]}
    for type_, entry in cv.mapping()["nodes"].items():
        if entry["kind"] == "vhs_core":
            for version in entry["versions"]:
                assert any(t == type_ and v in version["name"] for t, v in covered), (type_, version["name"])


@pytest.mark.parametrize("case", VERSIONS["cases"], ids=lambda c: f"{c['type']}-{c['widgets_values']}")
@pytest.mark.parametrize("ui", [True, False], ids=["ui", "api"])
def test_versions(case, ui):
    type_ = case["type"]
    if ui:
        g, _node = ui_graph(type_, case["widgets_values"], case["use"])
        converted, report = cv.convert(g.workflow())
        _consistent(converted)
    else:
        converted, report = cv.convert(api_of(type_, case["widgets_values"], case["version"], case["use"]))
    assert not report["kept"], report["kept"]
    [entry] = report["converted"]
    assert case["version"] in entry["version"] or not ui
    got = emitted(report, converted, ui)
    assert [t for t, _n in got] == [t for t, _w in case["expect"]]
    for (_t, node), (_t2, want) in zip(got, case["expect"]):
        values = ui_named(node) if ui else node["inputs"]
        assert {k: values[k] for k in want} == want
    assert not any(t.startswith("VHS_") for t, _slot in sink_sources(converted, ui))
    assert len(sink_sources(converted, ui)) == len(case["use"])


@pytest.mark.parametrize("type_, inputs, expect", [
    ("VHS_SelectEveryNthImage", {"select_every_nth": 1}, []),  # skip_first_images omitted: 0
    ("VHS_LoadAudioUpload", {"audio": "a.wav"}, ["LoadAudio"]),  # start_time / duration omitted: 0
    ("VHS_LoadAudio", {"audio_file": "input/a.wav"}, ["LoadAudio"]),
    ("VHS_DuplicateImages", {}, ["RepeatImageBatch"]),  # multiply_by omitted: 1
])
def test_api_omitted_inputs_are_the_defaults(type_, inputs, expect):
    ins, _outs = SOCKETS[type_]
    prompt = {"1": {"class_type": type_, "inputs": dict(inputs)}, "9": {"class_type": "TestSink", "inputs": {"x": ["1", 0]}}}
    for i, (name, _k) in enumerate(ins):
        prompt[str(10 + i)] = {"class_type": "TestSource", "inputs": {}}
        prompt["1"]["inputs"][name] = [str(10 + i), 0]
    converted, report = cv.convert(prompt)
    assert not report["kept"], report["kept"]
    assert [t for t, _n in emitted(report, converted, False)] == expect
    if type_ == "VHS_DuplicateImages":
        assert converted["1"]["inputs"]["amount"] == 1


def test_linked_widgets_stay_linked():
    g, node = ui_graph("VHS_SplitImages", [3], [0, 2], linked=[("split_index", "INT")])
    converted, report = cv.convert(g.workflow())
    _consistent(converted)
    assert not report["kept"]
    a, b = [n for _t, n in emitted(report, converted, True)]
    links = {lk[0]: lk for lk in converted["links"]}
    prim = next(n["id"] for n in converted["nodes"] if n["type"] == "PrimitiveNode")
    fed = {(n["id"], s["name"]) for n in (a, b) for s in n["inputs"] if s["link"] and links[s["link"]][1] == prim}
    assert fed == {(a["id"], "length"), (b["id"], "batch_index")}
    assert any("stays linked" in n for n in report["converted"][0]["notes"])
    # the same in API format
    prompt = api_of("VHS_SplitImages", [0], "99babcf", [0, 2])
    prompt["5"] = {"class_type": "PrimitiveInt", "inputs": {"value": 3}}
    prompt["1"]["inputs"]["split_index"] = ["5", 0]
    converted, report = cv.convert(prompt)
    a, b = [n for _t, n in emitted(report, converted, False)]
    assert a["inputs"]["length"] == ["5", 0] and b["inputs"]["batch_index"] == ["5", 0]
    for type_, widget, target in [("VHS_DuplicateImages", "multiply_by", "amount"),
                                  ("VHS_DuplicateLatents", "multiply_by", "amount"),
                                  ("VHS_LoadAudioUpload", "start_time", "start_index")]:
        widgets = {"VHS_LoadAudioUpload": ["a.wav", 0, 0]}.get(type_, [2])
        g, node = ui_graph(type_, widgets, [0], linked=[(widget, "FLOAT" if "time" in widget else "INT")])
        converted, report = cv.convert(g.workflow())
        assert not report["kept"], report["kept"]
        last = emitted(report, converted, True)[-1][1]
        socket = next(s for s in last["inputs"] if s["name"] == target)
        assert socket["link"] is not None and socket.get("widget") == {"name": target}


@pytest.mark.parametrize("type_, widgets, use, reason", [
    ("VHS_SplitImages", [0], [0], "empty IMAGE_A"),
    ("VHS_SplitImages", [-2], [2], "counts from the end"),
    ("VHS_SplitImages", [5000], [0], "above its largest (4096)"),
    ("VHS_MergeImages", ["match larger", "bilinear", "center"], [0], "known only when it runs"),
    ("VHS_MergeImages", ["match A", "bislerp", "disabled"], [0], "bislerp"),
    ("VHS_DuplicateImages", [5000], [0], "outside what the core node takes"),
    ("VHS_DuplicateLatents", [65], [0], "outside what the core node takes"),
    ("VHS_DuplicateLatents", [2], [1], "latent batch's length"),
    ("VHS_LoadAudioUpload", ["a.wav", 0, 0], [1], "duration output"),
    ("VHS_LoadAudio", ["/home/me/a.wav", 0, 0], [0], "input folder"),
    ("VHS_LoadAudio", ["https://x.org/a.wav", 0], [0], "URL"),
])
def test_kept_with_reason(type_, widgets, use, reason):
    g, node = ui_graph(type_, widgets, use)
    converted, report = cv.convert(g.workflow())
    [kept] = report["kept"]
    assert kept["type"] == type_ and reason in kept["reason"], kept["reason"]
    assert any(n["type"] == type_ for n in converted["nodes"])


@pytest.mark.parametrize("type_", ["VHS_SplitLatents", "VHS_MergeLatents", "VHS_SelectEveryNthLatent",
                                   "VHS_GetLatentCount"])
def test_latent_helpers_stay_with_reason(type_):
    g = UIGraph()
    g.node(type_, [1])
    _converted, report = cv.convert(g.workflow())
    [kept] = report["kept"]
    assert kept["pack"] == "VideoHelperSuite" and ("batch_index" in kept["reason"] or "no core node" in kept["reason"]
                                                   or "core has no node" in kept["reason"])


def test_legacy_vhs_audio_output_converts_only_with_what_it_feeds():
    g = UIGraph()
    audio = g.node("VHS_LoadAudio", ["input/a.wav", 0], outputs=[("audio", "VHS_AUDIO")])
    other = g.node("SomeNode", None, inputs=[("audio", "VHS_AUDIO")])
    g.link(audio, 0, other, "audio")
    _converted, report = cv.convert(g.workflow())
    assert "VHS_AUDIO" in report["kept"][0]["reason"]


# --------------------------------------------------------------------------------------------------------
# Frames: the converted core nodes, from the real host, on small tensors
# --------------------------------------------------------------------------------------------------------
def _host_module(name):
    """A comfy_extras module of the in-process host, imported as ComfyUI imports it, with the real ``server`` it
    imports. ComfyUI's main.py imports server before nodes; nodes.py puts comfy/ first on sys.path, where ``utils``
    is comfy/utils.py rather than the ComfyUI utils package server needs, so server is imported from the root."""
    if "server" not in sys.modules:
        shadow = sys.modules.get("utils")
        if shadow is not None and not hasattr(shadow, "__path__"):  # comfy/utils.py imported as a top-level "utils"
            del sys.modules["utils"]
        sys.path.insert(0, str(COMFYUI_PATH))
        try:
            importlib.import_module("server")
        finally:
            sys.path.remove(str(COMFYUI_PATH))
    return importlib.import_module(f"comfy_extras.{name}")


@pytest.fixture(scope="module")
def core():
    images, audio = _host_module("nodes_images"), _host_module("nodes_audio")
    return {"ImageFromBatch": images.ImageFromBatch, "RepeatImageBatch": images.RepeatImageBatch,
            "GetImageSize": images.GetImageSize, "ImageBatch": nodes.ImageBatch, "ImageScale": nodes.ImageScale,
            "RepeatLatentBatch": nodes.RepeatLatentBatch, "TrimAudioDuration": audio.TrimAudioDuration}


def run(prompt, core, sources, node_id):
    """Evaluate ``node_id``'s outputs in a converted API prompt: TestSource nodes give ``sources[id]``."""
    cache = {}

    def outputs(key):
        if key in cache:
            return cache[key]
        node = prompt[key]
        if node["class_type"] == "TestSource":
            cache[key] = (sources[key],)
            return cache[key]
        cls = core[node["class_type"]]
        kwargs = {k: outputs(v[0])[v[1]] if isinstance(v, list) else v for k, v in node["inputs"].items()}
        if hasattr(cls, "PREPARE_CLASS_CLONE"):  # a V3 node: as execution.py runs it, hidden inputs set
            cls = cls.PREPARE_CLASS_CLONE({"hidden_inputs": {}})
        result = getattr(cls(), cls.FUNCTION)(**kwargs)
        cache[key] = tuple(getattr(result, "result", result))
        return cache[key]

    return outputs(node_id)


def converted_sinks(type_, widgets, version, use, core, sources):
    converted, report = cv.convert(api_of(type_, widgets, version, use))
    assert not report["kept"], report["kept"]
    out = {}
    for slot in use:
        src, src_slot = converted[str(20 + slot)]["inputs"]["x"]
        out[slot] = sources[src] if converted[src]["class_type"] == "TestSource" else run(converted, core, sources, src)[src_slot]
    return out


def frames(n, h=4, w=6, c=3):
    return torch.arange(n * h * w * c, dtype=torch.float32).reshape(n, h, w, c) / (n * h * w * c)


def test_split_frames(core):
    imgs = frames(5)
    got = converted_sinks("VHS_SplitImages", [3], "99babcf", [0, 1, 2, 3], core, {"10": imgs})
    assert torch.equal(got[0], imgs[0:3]) and torch.equal(got[2], imgs[3:5]) and (got[1], got[3]) == (3, 2)
    got = converted_sinks("VHS_SplitImages", [0], "99babcf", [2, 3], core, {"10": imgs})
    assert torch.equal(got[2], imgs) and got[3] == 5


def test_repeat_count_and_every_nth_frames(core):
    imgs = frames(3)
    got = converted_sinks("VHS_DuplicateImages", [4], "376516b", [0, 1], core, {"10": imgs})
    assert torch.equal(got[0], torch.cat([imgs] * 4)) and got[1] == 12
    assert converted_sinks("VHS_GetImageCount", [], "a143fc0", [0], core, {"10": imgs})[0] == 3
    got = converted_sinks("VHS_SelectEveryNthImage", [1, 2], "9deb23e 2024-05-31+", [0, 1], core, {"10": frames(5)})
    assert torch.equal(got[0], frames(5)[2:]) and got[1] == 3
    latent = {"samples": torch.randn(2, 4, 3, 3)}
    got = converted_sinks("VHS_DuplicateLatents", [3], "376516b", [0], core, {"10": latent})
    assert torch.equal(got[0]["samples"], torch.cat([latent["samples"]] * 3))


@pytest.mark.parametrize("strategy, method, crop", [("match A", "bilinear", "center"), ("match smaller", "bilinear", "center"),
                                                   ("match A", "nearest-exact", "disabled"), ("match A", "bicubic", "center"),
                                                   ("match B", "area", "disabled"), ("match B", "bilinear", "center")])
def test_merge_frames(core, strategy, method, crop):
    """A resized to B (match B) or B to A (the others), by common_upscale with the node's method and crop, then
    joined A first; batches of the same size are joined as they are, whatever the settings."""
    a, b = frames(2, 4, 6), frames(3, 8, 10) + 0.5
    got = converted_sinks("VHS_MergeImages", [strategy, method, crop], "99babcf", [0, 1], core, {"10": a, "11": b})

    def scaled(x, like):
        return comfy.utils.common_upscale(x.movedim(-1, 1), like.shape[2], like.shape[1], method, crop).movedim(1, -1)

    want = torch.cat([scaled(a, b), b]) if strategy == "match B" else torch.cat([a, scaled(b, a)])
    assert torch.equal(got[0], want) and got[1] == 5
    same = frames(3, 4, 6) + 0.25
    got = converted_sinks("VHS_MergeImages", [strategy, method, crop], "99babcf", [0], core, {"10": a, "11": same})
    assert torch.equal(got[0], torch.cat([a, same]))


def test_trim_audio(core):
    wave = torch.arange(2 * 100, dtype=torch.float32).reshape(1, 2, 100)
    prompt, report = cv.convert({"1": {"class_type": "VHS_LoadAudioUpload", "inputs": {"audio": "a.wav", "start_time": 0.25,
                                                                                       "duration": 0.5}}})
    [load] = [k for k, n in prompt.items() if n["class_type"] == "LoadAudio"]
    [trim] = [k for k, n in prompt.items() if n["class_type"] == "TrimAudioDuration"]
    prompt[load] = {"class_type": "TestSource", "inputs": {}}
    out = run(prompt, core, {load: {"waveform": wave, "sample_rate": 100}}, trim)[0]
    assert torch.equal(out["waveform"], wave[..., 25:75])  # 0.25 s to 0.75 s at 100 samples a second


def test_table_targets_are_the_host_layouts(core):
    """The new targets' widgets and outputs are the in-process host's (the server test checks them all live)."""
    for name in ("ImageFromBatch", "RepeatImageBatch", "GetImageSize", "ImageBatch", "ImageScale", "RepeatLatentBatch",
                 "TrimAudioDuration"):
        schema, cls = cv.mapping()["targets"][name], core[name]
        required = cls.INPUT_TYPES()["required"]
        assert {w for w, _k in schema["widgets"] + schema["inputs"]} == set(required), name
        assert [w for w, _k in schema["widgets"]] == [k for k, v in required.items()
                                                      if isinstance(v[0], list) or v[0] in ("INT", "FLOAT")], name
        assert [o for _n, o in schema["outputs"]] == list(cls.RETURN_TYPES), name
