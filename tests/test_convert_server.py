"""Converted workflows against one real ComfyUI server with this pack (module scope), on the random real-shape test
models at 64×64, 2 steps, 8 frames: the table's target layouts are the live /object_info, the /adl/convert route,
each runnable fixture converted and run end to end (one through `python PACK render`), the API-format path equal
to the UI path, and a converted text-to-video graph giving the same frames as the graph built by hand."""
import copy
import json
import subprocess
import sys
import urllib.error
import urllib.request

import numpy as np
import pytest

from conftest import COMFYUI_PATH, ROOT
from support.clips import decode_back, make_clip
from support.controlnet_models import CONTROLNET_NAME
from support.foreign_workflows import FIXTURES
from support.models import real_motion_module_file
from support.sd15_models import CHECKPOINT_NAME as CHECKPOINT
from support.server import ComfyServer, example_workflow_models
from test_convert_settings import t2v_gen2_settings

from animatediff_lightning.workflow_files import convert as cv
from animatediff_lightning.workflow_files.workflow_api import to_api

FRAMES, SIZE, STEPS = 8, 64, 2
# The hand-built graph loads the motion module under a second name (a hard link to the same file): its nodes
# differ from the converted graph's in one file name, so ComfyUI's cache cannot hand it the converted run's
# results and both really sample, without freeing the checkpoint and reloading it.
BY_HAND_MODULE = "animatediff_lightning_4step_by_hand.safetensors"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("comfy_convert")
    make_clip(base / "input" / "input_clip.mp4", frames=24, fps=12)
    models = {k: [v] for k, v in example_workflow_models().items()}
    models["animatediff_models"].append(real_motion_module_file(BY_HAND_MODULE))  # the same weights, another name
    srv = ComfyServer(COMFYUI_PATH, base, models)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def object_info(server):
    return server.get("/object_info")


def load(name):
    return json.loads((FIXTURES / f"{name}.json").read_text())


def cheap(workflow: dict) -> dict:
    """The foreign graph pointed at the test models and made small: 64×64, 8 frames, 2 steps."""
    wf = copy.deepcopy(workflow)
    for node in wf["nodes"]:
        t, w = node["type"], node.get("widgets_values")
        if t == "CheckpointLoaderSimple":
            w[0] = CHECKPOINT
        elif t in ("EmptyLatentImage", "ADE_EmptyLatentImageLarge"):
            w[:3] = [SIZE, SIZE, FRAMES]
        elif t == "KSampler":
            w[2] = STEPS
        elif t == "ControlNetLoaderAdvanced":
            w[0] = CONTROLNET_NAME
        elif t == "VHS_LoadVideo":
            w[3:6] = [SIZE, SIZE, FRAMES]
        elif t == "PrimitiveNode" and node.get("title") == "frames":
            w[0] = FRAMES
    return wf


def saved_video(server, outputs):
    files = [f for out in outputs.values() for items in out.values() if isinstance(items, list)
             for f in items if isinstance(f, dict) and f.get("filename")]
    assert len(files) == 1, outputs
    f = files[0]
    return decode_back(server.base_dir / "output" / f.get("subfolder", "") / f["filename"])


def test_table_targets_are_the_live_node_layouts(object_info):
    """mapping.json's 'targets' (sockets, widgets in order, outputs, the choices it records for combos) are what
    the server declares, so converted graphs carry the real layout. An INT with forceInput is a socket."""
    for name, schema in cv.mapping()["targets"].items():
        info = object_info[name]
        declared = [*info["input"].get("required", {}).items(), *info["input"].get("optional", {}).items()]

        def options(spec):
            return spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}

        widgets = [(n, "COMBO" if isinstance(spec[0], list) or spec[0] == "COMBO" else spec[0]) for n, spec in declared
                   if (isinstance(spec[0], list) or spec[0] in ("INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"))
                   and not options(spec).get("forceInput")]
        sockets = [(n, spec[0]) for n, spec in declared if (n, spec[0]) not in widgets and not isinstance(spec[0], list)]
        assert [tuple(w) for w in schema["widgets"]] == widgets, name
        assert [tuple(s) for s in schema["inputs"]] == sockets, name
        assert [o[1] for o in schema["outputs"]] == info["output"], name
        assert [o[0] for o in schema["outputs"]] == info["output_name"], name
        specs = dict(declared)
        for widget, choices in schema.get("options", {}).items():
            spec = specs[widget]
            assert (spec[0] if isinstance(spec[0], list) else options(spec).get("options")) == choices, (name, widget)


T2V_GEN1_API = {  # t2v_gen1 as AnimateDiff-Evolved + VHS would have queued it (API format), made cheap
    "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": CHECKPOINT}},
    "2": {"class_type": "CLIPTextEncode", "inputs": {"text": "a lighthouse on a cliff, sunset, masterpiece",
                                                     "clip": ["1", 1]}},
    "3": {"class_type": "CLIPTextEncode", "inputs": {"text": "worst quality, low quality", "clip": ["1", 1]}},
    "4": {"class_type": "EmptyLatentImage", "inputs": {"width": SIZE, "height": SIZE, "batch_size": FRAMES}},
    "5": {"class_type": "ADE_AnimateDiffLoaderGen1", "inputs": {
        "model_name": "animatediff_lightning_4step_comfyui.safetensors", "beta_schedule": "sqrt_linear (AnimateDiff)",
        "model": ["1", 0]}},
    "6": {"class_type": "KSampler", "inputs": {"seed": 42, "steps": STEPS, "cfg": 1.0, "sampler_name": "euler",
                                               "scheduler": "sgm_uniform", "denoise": 1.0, "model": ["5", 0],
                                               "positive": ["2", 0], "negative": ["3", 0], "latent_image": ["4", 0]}},
    "7": {"class_type": "VAEDecode", "inputs": {"samples": ["6", 0], "vae": ["1", 2]}},
    "8": {"class_type": "VHS_VideoCombine", "inputs": {
        "frame_rate": 8, "loop_count": 0, "filename_prefix": "AnimateDiff", "format": "video/h264-mp4",
        "pix_fmt": "yuv420p", "crf": 19, "save_metadata": True, "trim_to_audio": False, "pingpong": False,
        "save_output": True, "images": ["7", 0]}},
}


def executed_nodes(server) -> set:
    """Node ids the last prompt executed (not taken from the cache), from its history entry."""
    history = server.get("/history?max_items=1")
    [entry] = history.values()
    cached = {n for kind, data in entry["status"]["messages"] if kind == "execution_cached" for n in data["nodes"]}
    return set(entry["prompt"][2]) - cached


def renamed_new_nodes(prompt: dict, original_ids: set) -> dict:
    """``prompt`` with the ids of nodes the converter added (not in the original) replaced by stable names: the UI
    and API paths number them after different maxima (a UI graph also holds notes and primitives)."""
    new = sorted((v["class_type"], k) for k, v in prompt.items() if k not in original_ids)
    names = {k: f"new-{t}-{i}" for i, (t, k) in enumerate(new)}
    text = json.dumps(prompt)
    for old, name in names.items():
        text = text.replace(f'["{old}", ', f'["{name}", ')
    return {names.get(k, k): v for k, v in json.loads(text).items()}


def test_api_path_equals_ui_path_and_frames_equal_the_hand_built_graph(server, object_info):
    """The API-format original converts to exactly the prompt the converted UI graph gives; run, it renders the
    same frames as the same graph built by hand from this pack's nodes (same seed; see BY_HAND_MODULE)."""
    ui_converted, _ = cv.convert(cheap(load("t2v_gen1")))
    api_converted, report = cv.convert(T2V_GEN1_API)
    assert report["format"] == "API" and not report["kept"]
    ui_ids = {str(n["id"]) for n in load("t2v_gen1")["nodes"]}
    assert renamed_new_nodes(api_converted, set(T2V_GEN1_API)) == renamed_new_nodes(to_api(ui_converted, object_info),
                                                                                   ui_ids)

    by_hand = {
        "11": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": CHECKPOINT}},
        "12": {"class_type": "CLIPTextEncode", "inputs": {"text": "a lighthouse on a cliff, sunset, masterpiece",
                                                          "clip": ["11", 1]}},
        "13": {"class_type": "CLIPTextEncode", "inputs": {"text": "worst quality, low quality", "clip": ["11", 1]}},
        "14": {"class_type": "EmptyLatentImage", "inputs": {"width": SIZE, "height": SIZE, "batch_size": FRAMES}},
        "15": {"class_type": "ADL_LoadMotionModule",
               "inputs": {"model_name": BY_HAND_MODULE}},
        "16": {"class_type": "ADL_ApplyMotionModule", "inputs": {
            "model": ["11", 0], "motion_module": ["15", 0], "motion_scale": 1.0,
            "beta_schedule": "animatediff (sqrt_linear, as trained)"}},
        "17": {"class_type": "KSampler", "inputs": {"seed": 42, "steps": STEPS, "cfg": 1.0, "sampler_name": "euler",
                                                    "scheduler": "sgm_uniform", "denoise": 1.0, "model": ["16", 0],
                                                    "positive": ["12", 0], "negative": ["13", 0],
                                                    "latent_image": ["14", 0]}},
        "18": {"class_type": "VAEDecode", "inputs": {"samples": ["17", 0], "vae": ["11", 2]}},
        "19": {"class_type": "ADL_SaveVideo", "inputs": {"images": ["18", 0], "fps": 8.0, "filename_prefix": "by_hand",
                                                         "format": "mp4", "crf": 19}},
    }
    videos = []
    for prompt in (api_converted, by_hand):
        result = server.run(prompt)
        assert result["ok"], f"{result['error']}\n{server.log()[-3000:]}"
        videos.append(saved_video(server, result["outputs"]))
        assert "17" in executed_nodes(server) or prompt is api_converted  # the hand-built sampler ran, not cached
    assert videos[0]["frames"] == videos[1]["frames"] == FRAMES
    for a, b in zip(videos[0]["arrays"], videos[1]["arrays"]):
        np.testing.assert_array_equal(a, b)


def test_converted_workflow_runs(server, object_info):
    """Gen2 nodes, two Motion LoRAs, context options and a FizzNodes schedule (t2v_gen1 runs in the frames test)."""
    converted, report = cv.convert(cheap(load("t2v_gen2_lora_context_prompt_travel")))
    assert not report["kept"], report["kept"]
    prompt = to_api(converted, object_info)
    missing = {n["class_type"] for n in prompt.values()} - set(object_info)
    assert not missing, missing
    result = server.run(prompt)
    assert result["ok"], f"{result['error']}\n{server.log()[-3000:]}"
    video = saved_video(server, result["outputs"])
    assert (video["frames"], video["width"], video["height"]) == (FRAMES, SIZE, SIZE)


def feed_from_string_node(workflow: dict, node_type: str, name: str, value: str) -> dict:
    """``name`` of the first ``node_type`` fed by a core PrimitiveStringMultiline holding ``value`` (a widget becomes
    an input socket, as the editor does when a widget is converted to an input)."""
    node_id, link_id = workflow["last_node_id"] + 1, workflow["last_link_id"] + 1
    target = next(n for n in workflow["nodes"] if n["type"] == node_type)
    sockets = [i for i in target["inputs"] if i["name"] == name]
    if not sockets:
        sockets = [{"name": name, "type": "STRING", "widget": {"name": name}, "link": None}]
        target["inputs"].append(sockets[0])
    sockets[0]["link"] = link_id
    slot = target["inputs"].index(sockets[0])
    workflow["nodes"].append({"id": node_id, "type": "PrimitiveStringMultiline", "pos": [0, 0], "size": [300, 100],
                              "flags": {}, "order": 0, "mode": 0, "inputs": [],
                              "outputs": [{"name": "STRING", "type": "STRING", "links": [link_id]}],
                              "properties": {}, "widgets_values": [value]})
    workflow["links"].append([link_id, node_id, 0, target["id"], slot, "STRING"])
    workflow["last_node_id"], workflow["last_link_id"] = node_id, link_id
    return workflow


def test_linked_fizznodes_schedule_renders_what_the_typed_one_does(server, object_info):
    """FizzNodes' schedule and pre_text fed by core string nodes stay linked through the conversion; Prompt Travel
    reads the schedule and adds pre_text when it runs, and the frames equal those of the same schedule typed in this
    pack's form (the keyframe past max_frames left out either way)."""
    original = cheap(load("t2v_gen2_lora_context_prompt_travel"))
    [schedule] = [n for n in original["nodes"] if n["type"] == "BatchPromptSchedule"]
    linked = feed_from_string_node(copy.deepcopy(original), "BatchPromptSchedule", "text", schedule["widgets_values"][0])
    linked = feed_from_string_node(linked, "BatchPromptSchedule", "pre_text", "masterpiece,")
    converted, report = cv.convert(linked)
    assert not report["kept"], report["kept"]
    typed, _ = cv.convert(original)
    [travel] = [n for n in typed["nodes"] if n["type"] == "ADL_PromptTravel"]
    travel["widgets_values"][0] = ("0: masterpiece, a cat walking in the snow\n"
                                   "4: masterpiece, a cat walking on the beach")
    videos = []
    for graph in (converted, typed):
        prompt = to_api(graph, object_info)
        result = server.run(prompt)
        assert result["ok"], f"{result['error']}\n{server.log()[-3000:]}"
        videos.append(saved_video(server, result["outputs"]))
    linked_inputs = next(n for n in to_api(converted, object_info).values()
                         if n["class_type"] == "ADL_PromptTravel")["inputs"]
    assert isinstance(linked_inputs["text"], list) and isinstance(linked_inputs["pre_text"], list)
    assert videos[0]["frames"] == videos[1]["frames"] == FRAMES
    for a, b in zip(videos[0]["arrays"], videos[1]["arrays"]):
        np.testing.assert_array_equal(a, b)


def test_switched_to_lightning_runs(server, object_info):
    """The same graph made Lightning (Switch to Lightning, 4 steps: the test module's file) runs."""
    converted, _report = cv.convert(cheap(load("t2v_gen2_lora_context_prompt_travel")))
    switched, changes = cv.make_lightning(converted, 4)
    assert any("KSampler" in c for c in changes)
    result = server.run(to_api(switched, object_info))
    assert result["ok"], f"{result['error']}\n{server.log()[-3000:]}"
    assert saved_video(server, result["outputs"])["frames"] == FRAMES


def test_converted_motion_control_runs(server, object_info):
    """ADE's multivals (masked, linked from a Primitive, scaled mask), two chained keyframes (one through a
    Reroute) and a Gen2 apply from 0.1 to 0.9: converted, the live server takes the graph and renders it."""
    converted, report = cv.convert(cheap(load("t2v_gen2_multivals_keyframes")))
    assert not report["kept"], report["kept"]
    prompt = to_api(converted, object_info)
    assert {"ADL_MotionValue", "ADL_MotionKeyframe"} <= {n["class_type"] for n in prompt.values()}
    result = server.run(prompt)
    assert result["ok"], f"{result['error']}\n{server.log()[-3000:]}"
    video = saved_video(server, result["outputs"])
    assert (video["frames"], video["width"], video["height"]) == (FRAMES, SIZE, SIZE)


def test_converted_settings_run(server, object_info):
    """AnimateDiff settings (a sweetspot stretch, weight multipliers) and sample settings (auto1111 generator, a
    seed offset, two noise layers, FreeInit) on Gen2 nodes: converted, the live server takes the graph and renders
    it."""
    converted, report = cv.convert(cheap(t2v_gen2_settings()))
    assert not report["kept"], report["kept"]
    prompt = to_api(converted, object_info)
    assert {"ADL_AdjustPositions", "ADL_AdjustWeights", "ADL_SampleSettings", "ADL_NoiseLayer", "ADL_FreeInit"} <= {
        n["class_type"] for n in prompt.values()}
    result = server.run(prompt)
    assert result["ok"], f"{result['error']}\n{server.log()[-3000:]}"
    video = saved_video(server, result["outputs"])
    assert (video["frames"], video["width"], video["height"]) == (FRAMES, SIZE, SIZE)


def test_render_runs_a_foreign_workflow_directly(server, tmp_path):
    """`python PACK render` on the VHS/ACN/legacy-ADE video-to-video file: converted, reported, rendered."""
    path = tmp_path / "v2v.json"
    path.write_text(json.dumps(cheap(load("v2v_legacy_acn"))))
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, str(ROOT), "render", str(path), "--server", server.url, "--out", str(out)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr + server.log()[-3000:]
    assert "Converted 5 nodes; nothing left behind." in result.stdout
    assert "converted node 4 VHS_LoadVideo [6ca861a 2023-10-30 to 5d0c595 2025-01-30: 2023-11 to 2025-01" in result.stdout
    [gif] = list(out.iterdir())
    video = decode_back(gif)
    assert gif.suffix == ".gif" and (video["frames"], video["width"], video["height"]) == (FRAMES, SIZE, SIZE)
    assert video["fps"] == pytest.approx(12, abs=0.5)  # the clip's rate, through VHS_VideoInfoLoaded → the loader's fps


def test_render_refuses_what_cannot_convert(server, tmp_path):
    result = subprocess.run([sys.executable, str(ROOT), "render", str(FIXTURES / "unconvertible.json"),
                             "--server", server.url, "--out", str(tmp_path / "out")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "3 node(s) have no counterpart" in result.stderr, result.stdout + result.stderr
    assert not (tmp_path / "out").exists()


def post_raw(server, body: bytes, content_type="application/json"):
    req = urllib.request.Request(server.url + "/adl/convert", data=body, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def test_convert_route(server):
    types = server.get("/adl/convert/types")
    assert types["convert"]["ADE_AnimateDiffLoaderGen1"] == "AnimateDiff-Evolved"
    assert types["convert"]["ADE_AnimateDiffSettings"] == "AnimateDiff-Evolved"  # absorbed into Load's adjust
    assert types["absent"]["ADE_BatchedContextOptions"][0] == "AnimateDiff-Evolved"
    for name in ("v2v_legacy_acn", "unconvertible", "t2v_gen1_subgraph"):
        status, body = server.post("/adl/convert", {"workflow": load(name)})
        assert status == 200
        assert [body["workflow"], body["report"]] == json.loads(json.dumps(cv.convert(load(name))))
    status, body = server.post("/adl/convert", {"workflow": load("t2v_gen2_lora_context_prompt_travel"), "lightning": 2})
    switched, changes = cv.make_lightning(cv.convert(load("t2v_gen2_lora_context_prompt_travel"))[0], 2)
    assert status == 200 and body["lightning"] == json.loads(json.dumps({"workflow": switched, "steps": 2,
                                                                         "changes": changes}))
    before = sorted(p for p in server.base_dir.rglob("*") if "user" not in p.parts)
    broken_subgraph = load("t2v_gen1_subgraph")
    broken_subgraph["definitions"]["subgraphs"][0]["links"].append([99, 1])
    cases = [
        (b"{not json", "application/json", 400, "not JSON"),
        (b'{"workflow": "x"}', "application/json", 400, 'send {"workflow"'),
        (b'{"path": "/etc/passwd"}', "application/json", 400, 'send {"workflow"'),
        (json.dumps({"workflow": {"1": {"class_type": "A", "inputs": {"x": ["1", 0]}}}}).encode(),
         "application/json", 400, "cycle"),
        (b'{"workflow": {}}', "text/plain", 415, "application/json"),
        (json.dumps({"workflow": load("t2v_gen1"), "lightning": "4"}).encode(), "application/json", 400,
         "lightning: the Lightning steps"),
        (json.dumps({"workflow": load("t2v_gen1"), "lightning": 3}).encode(), "application/json", 400, "not 3"),
        (json.dumps({"workflow": broken_subgraph}).encode(), "application/json", 400, "subgraph 'Animate': a link"),
        (b'{"workflow": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "application/json", 400, "nested more than"),
        (b'{"workflow": {"nodes": [], "extra": ' + b'{"a": ' * 100_000 + b"1" + b"}" * 100_000 + b"}}",
         "application/json", 400, "nested more than"),
        (b'{"workflow": {"nodes": [' + b'{"id": 1, "type": "Note"},' * 400_000 + b'{"id": 2}], "links": []}}',
         "application/json", 413, "larger than"),
    ]
    for body, kind, status, fragment in cases:
        got_status, got = post_raw(server, body, kind)
        assert got_status == status and fragment in got.get("error", ""), (got_status, got)
    assert sorted(p for p in server.base_dir.rglob("*") if "user" not in p.parts) == before  # nothing written
    assert server.get("/system_stats")
