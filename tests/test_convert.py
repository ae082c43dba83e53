"""The workflow converter (workflow_files/convert/ + mapping.json) without a server: every node type in every
widget layout it recognises, the rewiring, what stays and why, bad input, and the command line."""
import copy
import json
import subprocess
import sys

import pytest
from animatediff_lightning.workflow_files import convert as cv
from animatediff_lightning.workflow_files.convert.write import widget_layout
from conftest import ROOT
from support.foreign_workflows import FIXTURE_BUILDERS, FIXTURES, UIGraph

VERSIONS = json.loads((FIXTURES / "versions.json").read_text())
MOTION_VERSIONS = json.loads((FIXTURES / "motion_versions.json").read_text())  # run in test_convert_motion.py
SETTINGS_VERSIONS = json.loads((FIXTURES / "settings_versions.json").read_text())  # run in test_convert_settings.py
CONTROLS_VERSIONS = json.loads((FIXTURES / "controls_versions.json").read_text())  # run in test_convert_controls.py
VHS_VERSIONS = json.loads((FIXTURES / "vhs_versions.json").read_text())  # run in test_convert_vhs.py
ADE_VERSIONS = json.loads((FIXTURES / "ade_versions.json").read_text())  # run in test_convert_ade_layouts.py
FOREIGN_PACK_BADGES = ("🎭🅐🅓", "🎥🅥🅗🅢", "🛂🅐🅒🅝", "📅🅕🅝")


def load(name):
    return json.loads((FIXTURES / f"{name}.json").read_text())


def by_type(workflow, type_):
    return [n for n in workflow["nodes"] if n["type"] == type_]


def named(node):
    return dict(zip(widget_layout(node["type"]), node["widgets_values"]))  # None: the upload button's value


def test_fixtures_are_what_the_builders_write():
    """The committed JSON fixtures (also opened in the browser test) are the builders' output."""
    for name, build in FIXTURE_BUILDERS.items():
        assert load(name) == json.loads(json.dumps(build())), f"run python tests/support/foreign_workflows.py ({name})"


def test_every_table_entry_has_a_version_case():
    covered = {(c["type"], c["version"])
               for c in VERSIONS["cases"] + VERSIONS["context_cases"] + MOTION_VERSIONS["cases"]
               + SETTINGS_VERSIONS["cases"] + CONTROLS_VERSIONS["cases"] + VHS_VERSIONS["cases"] + ADE_VERSIONS["cases"]}
    for type_, entry in cv.mapping()["nodes"].items():
        if entry["kind"] == "ad_sampling":
            continue  # one layout; covered by the workflow fixtures
        for version in entry["versions"]:
            assert any(t == type_ and v in version["name"] for t, v in covered), (type_, version["name"])


@pytest.mark.parametrize("scale", [1.25, 0.8])
def test_ade_motion_scale_is_not_this_packs_motion_scale(scale):
    """ADE's legacy motion_scale multiplies the temporal attention's scale; this pack's motion_scale scales the
    motion module's residual (ADE's *effect*). It becomes a Motion Value on Apply's scale (this pack's
    motion_scale stays 1), with a note; 1.0 (the same under both) adds nothing."""
    g = UIGraph()
    g.node("ADE_AnimateDiffLoaderWithContext", ["mm.safetensors", "autoselect", scale, True])
    converted, report = cv.convert(g.workflow())
    assert not report["kept"], report["kept"]
    [apply] = by_type(converted, "ADL_ApplyMotionModule")
    [value] = by_type(converted, "ADL_MotionValue")
    assert named(apply)["motion_scale"] == 1.0 and named(value)["value"] == scale
    assert ("ADL_MotionValue", 0, "ADL_ApplyMotionModule", "scale") in _links(converted)
    assert any("temporal attention scale" in n and f"value {scale}" in n for n in report["converted"][0]["notes"])
    g = UIGraph()
    g.node("ADE_AnimateDiffLoaderWithContext", ["mm.safetensors", "autoselect", 1.0, True])
    converted, report = cv.convert(g.workflow())
    assert not by_type(converted, "ADL_MotionValue")
    assert not any("attention scale" in n for n in report["converted"][0]["notes"])


@pytest.mark.parametrize("case", VERSIONS["cases"], ids=lambda c: f"{c['type']}:{c['version']}")
def test_version_recognised_and_values_translated(case):
    g = UIGraph()
    g.node(case["type"], case["widgets_values"])
    converted, report = cv.convert(g.workflow())
    assert not report["kept"], report["kept"]
    [entry] = report["converted"]
    assert case["version"] in entry["version"], entry["version"]
    for target, values in case["expect"].items():
        [node] = by_type(converted, target)
        got = named(node)
        assert {k: got[k] for k in values} == values, (target, got)
    if case.get("note"):
        assert any(case["note"] in n for n in entry["notes"]), entry["notes"]


@pytest.mark.parametrize("case", VERSIONS["context_cases"], ids=lambda c: f"{c['type']}:{c['version']}")
def test_context_options_versions(case):
    g = UIGraph()
    ctx = g.node(case["type"], case["widgets_values"], outputs=[("CONTEXT_OPTIONS", "CONTEXT_OPTIONS")])
    ad = g.node("ADE_AnimateDiffLoaderGen1", ["mm.safetensors", "sqrt_linear (AnimateDiff)"],
                inputs=[("model", "MODEL"), ("context_options", "CONTEXT_OPTIONS")], outputs=[("MODEL", "MODEL")])
    g.link(ctx, 0, ad, "context_options")
    converted, report = cv.convert(g.workflow())
    assert not report["kept"], report["kept"]
    assert any(case["version"] in n for n in report["converted"][0]["notes"]) or case["version"] in str(report)
    [node] = by_type(converted, "ADL_ContextOptions")
    got = named(node)
    assert {k: got[k] for k in case["expect"]} == case["expect"]
    # Apply -> Context Options: the context node's model comes from the converted loader
    [apply] = by_type(converted, "ADL_ApplyMotionModule")
    link = next(lk for lk in converted["links"] if lk[0] == node["inputs"][0]["link"])
    assert (link[1], link[2]) == (apply["id"], 0)


def _links(workflow):
    """(source type, slot) → (target type, input name) for every link, by node types."""
    nodes = {n["id"]: n for n in workflow["nodes"]}
    out = set()
    for link_id, src, slot, dst, dst_slot, _kind in workflow["links"]:
        out.add((nodes[src]["type"], slot, nodes[dst]["type"], nodes[dst]["inputs"][dst_slot]["name"]))
        assert nodes[dst]["inputs"][dst_slot]["link"] == link_id
        assert link_id in nodes[src]["outputs"][slot]["links"]
    return out


def _consistent(workflow):
    """Every socket's link is in the table and every output's links point back at it."""
    ids = {lk[0] for lk in workflow["links"]}
    assert len(ids) == len(workflow["links"])
    for n in workflow["nodes"]:
        for s in n.get("inputs", []):
            assert s.get("link") is None or s["link"] in ids, (n["id"], s)
        for o in n.get("outputs", []):
            assert all(lid in ids for lid in o.get("links") or []), (n["id"], o)
    assert workflow["last_node_id"] >= max(n["id"] for n in workflow["nodes"])
    assert workflow["last_link_id"] >= max(ids)


def test_t2v_gen1_rewired_and_everything_else_kept():
    original = load("t2v_gen1")
    before = copy.deepcopy(original)
    converted, report = cv.convert(original)
    assert original == before  # the input is never changed
    _consistent(converted)
    assert not any(n["type"].startswith(("ADE_", "VHS_")) for n in converted["nodes"])
    links = _links(converted)
    assert ("CheckpointLoaderSimple", 0, "ADL_ApplyMotionModule", "model") in links
    assert ("ADL_LoadMotionModule", 0, "ADL_ApplyMotionModule", "motion_module") in links
    assert ("ADL_ApplyMotionModule", 0, "KSampler", "model") in links
    assert ("VAEDecode", 0, "ADL_SaveVideo", "images") in links
    [save] = by_type(converted, "ADL_SaveVideo")
    assert named(save) == {"fps": 8.0, "filename_prefix": "AnimateDiff", "format": "mp4", "crf": 19}
    # untouched: groups, notes, positions, the other nodes verbatim (but their link ids), extra
    assert converted["groups"] == original["groups"] and converted["extra"] == original["extra"]
    for node in original["nodes"]:
        if not node["type"].startswith(("ADE_", "VHS_")):
            [same] = [n for n in converted["nodes"] if n["id"] == node["id"]]
            strip = lambda n: {k: v for k, v in n.items() if k not in ("inputs", "outputs")}
            assert strip(same) == strip(node)
    [apply] = by_type(converted, "ADL_ApplyMotionModule")
    ade = next(n for n in original["nodes"] if n["type"] == "ADE_AnimateDiffLoaderGen1")
    assert apply["id"] == ade["id"] and apply["pos"] == ade["pos"]
    assert "title" not in apply  # the pack's own display name is dropped, a user's title kept
    assert not any(b in json.dumps(converted, ensure_ascii=False) for b in FOREIGN_PACK_BADGES[:2])
    assert report["kept"] == [] and report["notes"] == []  # euler, sgm_uniform, cfg 1, 4 steps: as distilled


def test_gen2_lora_chain_context_and_prompt_travel():
    converted, report = cv.convert(load("t2v_gen2_lora_context_prompt_travel"))
    _consistent(converted)
    links = _links(converted)
    assert ("ADL_LoadMotionModule", 0, "ADL_LoadMotionLoRA", "motion_module") in links
    assert ("ADL_LoadMotionLoRA", 0, "ADL_LoadMotionLoRA", "motion_module") in links
    assert ("ADL_LoadMotionLoRA", 0, "ADL_ApplyMotionModule", "motion_module") in links
    assert ("ADL_ApplyMotionModule", 0, "ADL_ContextOptions", "model") in links
    assert ("ADL_ContextOptions", 0, "KSampler", "model") in links
    assert ("ADL_PromptTravel", 0, "KSampler", "positive") in links
    assert not by_type(converted, "ADE_ApplyAnimateDiffModelSimple")
    loras = sorted(named(n)["strength"] for n in by_type(converted, "ADL_LoadMotionLoRA"))
    assert loras == [0.5, 0.8]
    assert [n.get("title") for n in by_type(converted, "ADL_LoadMotionLoRA") if n.get("title")] == ["second camera move"]
    [ctx] = by_type(converted, "ADL_ContextOptions")
    assert named(ctx)["noise_type"] == "FreeNoise (AnimateDiff-Evolved)"  # from the sample settings, now gone
    assert not by_type(converted, "ADE_AnimateDiffSamplingSettings")
    [travel] = by_type(converted, "ADL_PromptTravel")
    assert named(travel) == {"text": "0: a cat walking in the snow\n4: a cat walking on the beach", "frames": 8,
                             "past_last_frame": "error", "pre_text": "", "app_text": ""}
    text = cv.format_report(report)
    assert "keyframe 99 is past max_frames 8" in text
    assert "sampler dpmpp_2m" in text and "scheduler karras" in text  # KSampler stays, the report says why it differs
    assert "'autoselect' picks as AnimateDiff-Evolved did" in text


def test_v2v_reroute_primitive_and_acn():
    converted, report = cv.convert(load("v2v_legacy_acn"))
    _consistent(converted)
    links = _links(converted)
    assert ("PrimitiveNode", 0, "ADL_LoadVideo", "frame_load_cap") in links  # a widget fed by a Primitive stays fed
    assert ("ADL_LoadVideo", 0, "Reroute", "") in links
    assert ("ControlNetLoader", 0, "ControlNetApplyAdvanced", "control_net") in links
    assert ("ControlNetApplyAdvanced", 1, "KSampler", "negative") in links
    assert ("ADL_ContextOptions", 0, "KSampler", "model") in links
    assert ("ADL_LoadVideo", 2, "ADL_SaveVideo", "fps") in links  # VHS_VideoInfoLoaded's fps: the loader's own
    assert not by_type(converted, "VHS_VideoInfoLoaded")
    assert "VHS_VideoInfoLoaded (node 16) [reads fps / frame_count" in report["converted"][0]["with"][0]
    [load_video] = by_type(converted, "ADL_LoadVideo")
    assert named(load_video)["width"] == 512 and named(load_video)["resize_mode"] == "crop"
    # the upload button's value, as the editor saves it: last, after resample_rule (optional)
    assert load_video["widgets_values"][10:] == [named(load_video)["resample_rule"], "image"]
    [ctx] = by_type(converted, "ADL_ContextOptions")
    assert named(ctx)["context_schedule"] == "looped" and named(ctx)["fuse_method"] == "flat"
    assert named(ctx)["noise_type"] == "per-frame"
    assert not report["kept"]


def test_unconvertible_nodes_stay_marked_with_reasons():
    original = load("unconvertible")
    converted, report = cv.convert(original)
    kept = {k["id"]: k["reason"] for k in report["kept"]}
    types = {n["id"]: n["type"] for n in original["nodes"]}
    assert sorted(types[i] for i in kept) == sorted(["ADE_AnimateDiffLoaderGen1", "VHS_LoadVideo", "BatchPromptSchedule"])
    reasons = " | ".join(kept.values())
    for fragment in ("beta_schedule 'linear (AnimateDiff-SDXL)'", "fit no layout this converter knows",
                     "3 values (str, int, int)", "NEG output"):
        assert fragment in reasons, reasons
    # the sample settings with noise_type 'empty' (once kept) now convert: Sample Settings (Lightning)
    [settings] = by_type(converted, "ADL_SampleSettings")
    assert named(settings)["noise_type"] == "empty"
    assert len(converted["nodes"]) == len(original["nodes"]) + 1  # nothing dropped; a Load Motion Module added
    for node in converted["nodes"]:
        if node["id"] in kept:
            assert node["properties"]["adl_convert"].startswith("not converted: ")
            assert node["color"] == cv.MARK_COLOR
    assert "3 left as they were" in report["summary"]


def test_a_lora_shared_by_two_loaders_is_not_guessed():
    g = UIGraph()
    lora = g.node("ADE_AnimateDiffLoRALoader", ["l.ckpt", 1.0], outputs=[("MOTION_LORA", "MOTION_LORA")])
    for _ in range(2):
        ad = g.node("ADE_AnimateDiffLoaderGen1", ["mm.safetensors", "autoselect"],
                    inputs=[("motion_lora", "MOTION_LORA")], outputs=[("MODEL", "MODEL")])
        g.link(lora, 0, ad, "motion_lora")
    _converted, report = cv.convert(g.workflow())
    assert len(report["converted"]) == 0 and len(report["kept"]) == 3
    assert "also feeds other nodes" in report["kept"][1]["reason"]


def test_api_format_converts_by_input_names():
    prompt = {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "x.safetensors"}},
        "2": {"class_type": "ADE_AnimateDiffLoaderGen1", "inputs": {"model": ["1", 0], "model_name": "mm.safetensors",
                                                                    "beta_schedule": "sqrt_linear (AnimateDiff)"}},
        "3": {"class_type": "VHS_VideoCombine", "inputs": {"images": ["9", 0], "frame_rate": 12, "loop_count": 0,
                                                           "filename_prefix": "p", "format": "video/webm",
                                                           "pingpong": False, "save_output": True, "crf": 30}},
        "9": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 0}},
    }
    converted, report = cv.convert(prompt)
    assert converted["2"] == {"class_type": "ADL_ApplyMotionModule", "inputs": {
        "motion_scale": 1.0, "beta_schedule": "animatediff (sqrt_linear, as trained)", "start_percent": 0.0,
        "end_percent": 1.0, "motion_module": ["10", 0], "model": ["1", 0]}}
    assert converted["10"] == {"class_type": "ADL_LoadMotionModule", "inputs": {"model_name": "mm.safetensors"}}
    assert converted["3"]["inputs"] == {"fps": 12.0, "filename_prefix": "p", "format": "webm", "crf": 30,
                                        "images": ["9", 0]}
    assert report["format"] == "API" and all(c["version"] == "API format (named inputs)" for c in report["converted"])


@pytest.mark.parametrize("bad, message", [
    ("[1, 2]", "a workflow is a JSON object"),
    ('{"nodes": [{"id": "x", "type": "A"}], "links": []}', "integer 'id'"),
    ('{"nodes": [], "links": [[1, 2]]}', "neither [id, from, slot, to, slot, type]"),
    ('{"nodes": [], "links": [], "version": 7}', "workflow format version 7"),
    ('{"1": {"inputs": {}}}', "not a workflow"),
    ('{"1": {"class_type": "A", "inputs": {"x": ["2", 0]}}, "2": {"class_type": "B", "inputs": {"y": ["1", 0]}}}',
     "the graph has a cycle"),
    ('{"1": {"class_type": "A", "inputs": {"x": ["5", 0]}}}', "which is not in the graph"),
    ("{not json", "not JSON"),
])
def test_bad_input_is_a_clear_error(bad, message):
    with pytest.raises(cv.ConvertError, match=None) as e:
        cv.convert_text(bad)
    assert message in str(e.value), str(e.value)


def test_ui_cycle_and_size_limits():
    g = UIGraph()
    a = g.node("A", [], inputs=[("x", "LATENT")], outputs=[("o", "LATENT")])
    b = g.node("B", [], inputs=[("x", "LATENT")], outputs=[("o", "LATENT")])
    g.link(a, 0, b, "x")
    g.link(b, 0, a, "x")
    with pytest.raises(cv.ConvertError, match="cycle"):
        cv.convert(g.workflow())
    big = json.dumps({"nodes": [{"id": i, "type": "Note", "widgets_values": ["x" * 100]} for i in range(100_000)],
                      "links": []})
    assert len(big) > 10_000_000
    with pytest.raises(cv.ConvertError, match="at most 8.4 MB"):
        cv.convert_text(big)


def run_cli(*args):
    return subprocess.run([sys.executable, str(ROOT), *map(str, args)], capture_output=True, text=True, timeout=60)


def test_cli_convert(tmp_path):
    out = tmp_path / "out.json"
    result = run_cli("convert", FIXTURES / "v2v_legacy_acn.json", out, "--report", tmp_path / "report.json")
    assert result.returncode == 0, result.stderr
    assert "Converted 5 nodes; nothing left behind." in result.stdout and f"wrote {out}" in result.stdout
    assert json.loads(out.read_text()) == cv.convert(load("v2v_legacy_acn"))[0]
    assert json.loads((tmp_path / "report.json").read_text())["converted"]
    # some nodes stay: written, marked, exit 3; --strict writes nothing
    result = run_cli("convert", FIXTURES / "unconvertible.json", out)
    assert result.returncode == 3 and "kept node 6 ADE_AnimateDiffLoaderGen1" in result.stdout
    out2 = tmp_path / "strict.json"
    result = run_cli("convert", FIXTURES / "unconvertible.json", out2, "--strict")
    assert result.returncode == 3 and not out2.exists() and "nothing written" in result.stderr


@pytest.mark.parametrize("content, message", [
    ("{not json", "not JSON"), ('{"nodes": [], "links": [], "version": 9}', "format version 9"),
    ('{"nodes": [{"id": 1, "type": "KSampler"}], "links": []}', "Nothing to convert"),
    ("[" * 100_000 + "]" * 100_000, "nested more than 64 deep"),
    ('{"nodes": [{"id": 1, "type": "ADE_AnimateDiffLoaderGen1", "widgets_values": ' + "[" * 70 + "]" * 70
     + '}], "links": []}', "nested more than 64 deep"),
])
def test_cli_bad_input_writes_nothing(tmp_path, content, message):
    src, out = tmp_path / "in.json", tmp_path / "out.json"
    src.write_text(content)
    result = run_cli("convert", src, out)
    assert result.returncode == 2 and message in result.stdout + result.stderr, result.stdout + result.stderr
    assert not out.exists()
    result = run_cli("convert", src, src)
    assert result.returncode == 2 and "the target is the source" in result.stderr


def test_converter_imports_no_comfyui_or_torch():
    code = ("import sys; sys.path.insert(0, %r); import workflow_files.convert as c, workflow_files.render; "
            "c.mapping(); bad = [m for m in sys.modules if m.split('.')[0] in "
            "('torch', 'comfy', 'folder_paths', 'server', 'nodes', 'comfy_api')]; print(bad); assert not bad")
    result = subprocess.run([sys.executable, "-c", code % str(ROOT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def _gen2(apply_type, apply_widgets):
    g = UIGraph()
    load = g.node("ADE_LoadAnimateDiffModel", ["mm.safetensors"], outputs=[("MOTION_MODEL", "MOTION_MODEL_ADE")])
    apply = g.node(apply_type, apply_widgets, inputs=[("motion_model", "MOTION_MODEL_ADE")],
                   outputs=[("M_MODELS", "M_MODELS")])
    g.link(load, 0, apply, "motion_model")
    use = g.node("ADE_UseEvolvedSampling", ["sqrt_linear (AnimateDiff)"],
                 inputs=[("model", "MODEL"), ("m_models", "M_MODELS")], outputs=[("MODEL", "MODEL")])
    g.link(apply, 0, use, "m_models")
    return g.workflow()


@pytest.mark.parametrize("start, end", [(0.0, 1.0), (0.25, 0.6)])
def test_gen2_apply_with_percentages(start, end):
    """ADE_ApplyAnimateDiffModel's start/end percent become Apply Motion Module's (motion for part of the steps)."""
    converted, report = cv.convert(_gen2("ADE_ApplyAnimateDiffModel", [start, end]))
    assert not report["kept"] and "Gen2 apply (start_percent, end_percent)" in report["converted"][1]["with"][0]
    assert ("ADL_LoadMotionModule", 0, "ADL_ApplyMotionModule", "motion_module") in _links(converted)
    [apply] = by_type(converted, "ADL_ApplyMotionModule")
    assert (named(apply)["start_percent"], named(apply)["end_percent"]) == (start, end)


def test_a_connected_input_without_counterpart_is_never_dropped():
    """A widget fed by another node that the table cannot carry over (VHS's force_size from a node: its presets
    become a width and a height) keeps the node as it was, with the reason; a LoRA strength from a Primitive stays
    linked (tests/test_convert_ade_layouts.py)."""
    g = UIGraph()
    prim = g.node("PrimitiveNode", [0.7, "fixed"], outputs=[("FLOAT", "FLOAT")])
    lora = g.node("ADE_AnimateDiffLoRALoader", ["l.ckpt", 0.7], outputs=[("MOTION_LORA", "MOTION_LORA")])
    g.widget_input(lora, "strength", "FLOAT")
    g.link(prim, 0, lora, "strength")
    ad = g.node("ADE_AnimateDiffLoaderGen1", ["mm.safetensors", "autoselect"],
                inputs=[("motion_lora", "MOTION_LORA")], outputs=[("MODEL", "MODEL")])
    g.link(lora, 0, ad, "motion_lora")
    video = g.node("VHS_LoadVideo", ["c.mp4", 0, "Disabled", 0, 0, 0, 0, 1], outputs=[("IMAGE", "IMAGE")])
    text = g.node("StringFromSomewhere", ["Custom"], outputs=[("STRING", "STRING")])
    g.widget_input(video, "force_size", "STRING")
    g.link(text, 0, video, "force_size")
    _converted, report = cv.convert(g.workflow())
    kept = {k["id"]: k["reason"] for k in report["kept"]}
    assert ad not in kept and "input force_size is connected" in kept[video], kept


def test_a_vhs_widget_fed_by_a_primitive_takes_its_value():
    """force_size and a Load Images folder from the editor's Primitive: the value it holds is read as typed."""
    g = UIGraph()
    video = g.node("VHS_LoadVideo", ["c.mp4", 0, "Disabled", 0, 0, 0, 0, 1], outputs=[("IMAGE", "IMAGE")])
    g.widget_input(video, "force_size", "STRING")
    g.link(g.node("PrimitiveNode", ["256x?"], outputs=[("STRING", "STRING")]), 0, video, "force_size")
    images = g.node("VHS_LoadImages", {"directory": "frames", "image_load_cap": 0, "skip_first_images": 0,
                                       "select_every_nth": 1}, outputs=[("IMAGE", "IMAGE")])
    g.widget_input(images, "directory", "COMBO")
    g.link(g.node("PrimitiveNode", ["shots"], outputs=[("COMBO", "COMBO")]), 0, images, "directory")
    converted, report = cv.convert(g.workflow())
    assert converted["links"] == []  # the primitives' links dropped (they feed nothing now)
    assert not report["kept"], report["kept"]
    [load] = by_type(converted, "ADL_LoadVideo")
    assert (named(load)["width"], named(load)["height"]) == (256, 0)
    [folder] = by_type(converted, "ADL_LoadImages")
    assert named(folder)["directory"] == "shots"
    assert "force_size came from a primitive (node" in cv.format_report(report)


def test_docs_table_is_current():
    """docs/converting.md is the table as mapping.json has it (supported types and layouts, and the known
    types left out with why)."""
    assert (ROOT / "docs" / "converting.md").read_text() == cv.support_markdown(), \
        "regenerate: python -c 'import workflow_files.convert as c; open(\"docs/converting.md\", \"w\").write(c.support_markdown())'"


def test_ffmpeg_loader_start_time_needs_a_rate():
    g = UIGraph()
    node = g.node("VHS_LoadVideoFFmpeg", ["clip.mp4", 0, 0, 0, 16, 1.5, "AnimateDiff"], outputs=[("IMAGE", "IMAGE")])
    _converted, report = cv.convert(g.workflow())
    assert "start_time 1.5 s" in report["kept"][0]["reason"] and report["kept"][0]["id"] == node


def test_api_ids_from_expanded_subgraphs_are_kept():
    """A prompt the frontend queued from a graph with subgraphs has ids like "12:5"; they stay as they are."""
    prompt = {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "x.safetensors"}},
        "12:5": {"class_type": "ADE_AnimateDiffLoaderGen1", "inputs": {"model": ["1", 0], "model_name": "mm.safetensors",
                                                                       "beta_schedule": "autoselect"}},
        "12:6": {"class_type": "KSamplerSelect", "inputs": {"sampler_name": "euler"}},
        "7": {"class_type": "BasicGuider", "inputs": {"model": ["12:5", 0], "conditioning": ["9", 0]}},
        "9": {"class_type": "ConditioningZeroOut", "inputs": {"conditioning": ["9:1", 0]}},
        "9:1": {"class_type": "ADE_AnimateDiffSamplingSettings", "inputs": {}},
    }
    converted, report = cv.convert(prompt)
    assert converted["12:5"]["class_type"] == "ADL_ApplyMotionModule"
    assert converted["7"]["inputs"]["model"] == ["12:5", 0] and converted["9"]["inputs"]["conditioning"] == ["9:1", 0]
    [new] = [k for k in converted if k not in prompt]
    assert new == "10" and converted["12:5"]["inputs"]["motion_module"] == ["10", 0]
    assert [c["id"] for c in report["converted"]] == ["12:5"] and [k["id"] for k in report["kept"]] == ["9:1"]


@pytest.mark.parametrize("widgets, outcome", [
    ([0, "default", "comfy", 0], "folded"), ([0, "FreeNoise", "comfy", 0, False], "folded"),
    ([0, "FreeNoise", "comfy [gpu]", 0, False], {"noise_type": "FreeNoise (AnimateDiff-Evolved)", "seed_gen": "comfy [gpu]"}),
    ([2, "default", "comfy", 0, False], {"batch_offset": 2}), ([0, "default", "auto1111", 0, False], {"seed_gen": "auto1111"}),
    ([0, "default", "comfy", 0, True], "adapt_denoise_steps has no counterpart"),
])
def test_sample_settings_versions(widgets, outcome):
    """ADE's sample settings (both layouts): defaults are dropped and FreeNoise goes onto the context options;
    any other setting makes a Sample Settings (Lightning) (tests/test_convert_sample_settings.py); what has no
    counterpart keeps the loader as it was."""
    g = UIGraph()
    settings = g.node("ADE_AnimateDiffSamplingSettings", widgets, outputs=[("settings", "SAMPLE_SETTINGS")])
    ad = g.node("ADE_AnimateDiffLoaderGen1", ["mm.safetensors", "autoselect"],
                inputs=[("sample_settings", "SAMPLE_SETTINGS")], outputs=[("MODEL", "MODEL")])
    g.link(settings, 0, ad, "sample_settings")
    converted, report = cv.convert(g.workflow())
    text = cv.format_report(report)
    if isinstance(outcome, str) and outcome != "folded":
        assert outcome in report["kept"][-1]["reason"] and report["kept"][-1]["id"] == ad, text
        return
    assert not report["kept"] and not by_type(converted, "ADE_AnimateDiffSamplingSettings"), text
    assert ("early 2024" if len(widgets) == 4 else "2024+ (+ adapt_denoise_steps)") in text
    if widgets[1] == "FreeNoise":
        assert "only acts across context windows" in text
    made = by_type(converted, "ADL_SampleSettings")
    if outcome == "folded":
        assert not made
    else:
        assert {k: named(made[0])[k] for k in outcome} == outcome
