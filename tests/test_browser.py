"""The artist's view, in a real browser: Debian's chromium driven by playwright-core (tests/browser/*.mjs)
against a ComfyUI server with this pack and the random real-shape test models under the names the example
workflows use — in each frontend of support.frontends.FRONTENDS (the host's own, the one current ComfyUI pins,
the newest), each in the classic canvas and with Vue nodes. One node script per (frontend, renderer) checks
every feature and prints one JSON object on its last line; the assertions are here.

Without chromium, node or playwright-core these tests fail and say how to install them (ADL_SKIP_BROWSER=1
skips them on purpose)."""
import json
import time
from pathlib import Path

import pytest

from conftest import COMFYUI_PATH, ROOT
from support.fake_hub import FakeHub
from support.frontends import (FRONTENDS, RENDERERS, front_end_root, require_browser_tools, run_page_script,
                               use_renderer, version_of)
from support.server import PACK_DIR_NAME, ComfyServer, example_named_models, example_workflow_models

WORKFLOWS = sorted((ROOT / "workflows").glob("*.json"))
NAMES = [p.stem for p in WORKFLOWS]
T2V = ROOT / "workflows" / "text_to_video_lightning_4step.json"
LONG = ROOT / "workflows" / "long_video_to_video_context_windows.json"
LIGHTNING = "animatediff_lightning_{}step_comfyui.safetensors"
HUB_2STEP = b"not a real motion module: the route test only checks that it lands\n" * 4096
# The labels' background colours (js/adl_lightning.js COLORS): what the label's pixels must show.
LEVEL_RGB = {"ok": (0x24, 0x61, 0x3a), "warn": (0x9a, 0x5b, 0x00)}
# Inputs the frontend puts into a prompt that are no input of the node: the video upload widget's preview.
FRONTEND_ONLY = {"video-preview": ""}
OURS = ("adl_lightning", "animatediff-lightning", "animatedifflightning", "adl_")


def named(links: Path, source: Path, name: str) -> Path:
    """``source`` under the file name a workflow uses (the server links the name to the resolved file)."""
    links.mkdir(parents=True, exist_ok=True)
    link = links / name
    if not link.exists():
        link.symlink_to(source.resolve())
    return link


def workflow_models() -> dict[str, list[str]]:
    """Model folder → the file names the example workflows use (their declared models and loader widgets)."""
    folders = {"CheckpointLoaderSimple": "checkpoints", "ControlNetLoader": "controlnet",
               "ADL_LoadMotionModule": "animatediff_models", "ADL_LoadMotionLoRA": "animatediff_motion_lora",
               "ADL_LoadSparseCtrl": "controlnet"}
    out: dict[str, list[str]] = {}
    for path in WORKFLOWS:
        w = json.loads(path.read_text())
        for node in w["nodes"]:
            if node["type"] in folders:
                out.setdefault(folders[node["type"]], []).append(node["widgets_values"][0])
        for m in w.get("models", []):
            out.setdefault(m["directory"], []).append(m["name"])
    return {k: sorted(set(v)) for k, v in out.items()}


@pytest.fixture(scope="module", autouse=True)
def browser_tools():
    require_browser_tools()


@pytest.fixture(scope="module")
def hub():
    with FakeHub() as h:
        # a slow link (5 chunks, ~0.5 s each): the download's progress is on screen long enough to be seen
        # however busy the machine is, not only when the browser happens to poll inside a 50 ms window
        h.add("ByteDance/AnimateDiff-Lightning", LIGHTNING.format(2), HUB_2STEP, seconds_per_chunk=0.5)
        yield h


@pytest.fixture(scope="module", params=FRONTENDS, ids=lambda f: f"frontend-{version_of(f)}")
def server(request, tmp_path_factory, hub):
    """One server per frontend; the input clip the v2v workflows use is the pack's own (copied in at start)."""
    base = tmp_path_factory.mktemp(f"comfy_browser_{request.param}")
    links = base / "links"
    sources, by_name = example_workflow_models(), example_named_models()
    models = {folder: [named(links / folder, by_name.get(folder, {}).get(n, sources[folder]), n) for n in names]
              for folder, names in workflow_models().items()}
    models["animatediff_models"].append(named(links / "animatediff_models", sources["animatediff_models"],
                                              LIGHTNING.format(8)))
    srv = ComfyServer(COMFYUI_PATH, base, models,  # the harness starts servers offline; this one talks to the fake Hub
                      extra_env={"HF_HUB_OFFLINE": "0", "HF_ENDPOINT": hub.url},
                      front_end_root=front_end_root(request.param)).start()
    srv.frontend = request.param
    srv.features = {}
    yield srv
    srv.stop()


def wait_idle(server, timeout: float = 300):
    deadline = time.time() + timeout
    while time.time() < deadline:
        q = server.get("/queue")
        if not q["queue_running"] and not q["queue_pending"]:
            return
        time.sleep(0.5)
    raise TimeoutError("the queue did not drain")


def saved_before_resample_rule(workflow: dict) -> dict:
    """The workflow as it was saved before Load Video (Lightning) had resample_rule: 11 widget values, the
    upload button's 'image' last."""
    for node in workflow["nodes"]:
        if node["type"] == "ADL_LoadVideo":
            assert node["widgets_values"][10:] == ["on screen", "image"], node["widgets_values"]
            node["widgets_values"] = node["widgets_values"][:10] + ["image"]
    return workflow


def run_features(server, renderer: str) -> dict:
    """features.mjs in this server's frontend with ``renderer``; run once per (server, renderer)."""
    if renderer in server.features:
        return server.features[renderer]
    wait_idle(server)
    use_renderer(server.base_dir, renderer)
    (server.base_dir / "models" / "animatediff_models" / LIGHTNING.format(2)).unlink(missing_ok=True)
    tag = f"{version_of(server.frontend)}-{renderer}"
    started = time.time()
    old = server.base_dir / "old_load_video.json"
    old.write_text(json.dumps(saved_before_resample_rule(json.loads(LONG.read_text()))))
    out = run_page_script("features.mjs", server, {"pack": PACK_DIR_NAME, "templates": NAMES, "t2v": str(T2V),
                                                   "long": str(LONG), "old_load_video": str(old), "seed": 1},
                          f"{tag}-features")
    out["seconds"] = round(time.time() - started, 1)
    server.features[renderer] = out
    return out


@pytest.fixture(params=RENDERERS)
def features(request, server):
    out = run_features(server, request.param)
    expected_vue = request.param == "vue"
    assert out["frontend"]["vueNodes"] is expected_vue, out["frontend"]
    if server.frontend != "host":
        assert out["frontend"]["version"] in (None, server.frontend), out["frontend"]
    return out


def ok(step: dict) -> dict:
    assert "error" not in step or step.get("error") is None, step.get("error")
    return step


def test_template_browser_lists_the_pack_and_each_card_opens_clean(features):
    """Browse Templates → this pack: one card per workflow with its thumbnail; each card opens its workflow
    with no unknown node type, no missing-node/model dialog and no missing media (the input clip is the
    pack's, put into the input folder at start)."""
    from PIL import Image

    t = ok(features["templates"])
    assert sorted(card["name"] for card in t["cards"]) == sorted(NAMES)
    for card in t["cards"]:
        with Image.open(ROOT / "workflows" / f"{card['name']}.jpg") as jpg:
            assert (card["naturalWidth"], card["naturalHeight"]) == jpg.size, card
        assert card["shownWidth"] > 0 and card["shownHeight"] > 0, card
    served = {(x["url"], x["status"], x["type"]) for x in t["thumbnails"]}
    assert served == {(f"/api/workflow_templates/{PACK_DIR_NAME}/{n}.jpg", 200, "image/jpeg") for n in NAMES}
    for name in NAMES:
        opened = t["opened"][name]
        saved = json.loads((ROOT / "workflows" / f"{name}.json").read_text())
        assert opened["types"] == sorted(node["type"] for node in saved["nodes"]), name
        assert opened["missingTypes"] == [] and not opened["missingNodesDialog"], (name, opened["dialogs"])
        assert not opened["missingModelsDialog"], (name, opened["dialogs"])
        assert not opened["missingMedia"] and not opened["missingMediaShown"], (name, opened["missingMedia"])
        # the extension adds nothing to a workflow's widgets_values
        for node in saved["nodes"]:
            assert (opened["widgets"][str(node["id"])] or []) == (node.get("widgets_values") or []), (name, node["id"])


def test_each_workflow_gives_its_api_twin_and_the_server_takes_it(features, server):
    """What the frontend queues for each workflow (``app.graphToPrompt()``) is its API twin in workflows/api/:
    the same node ids, each with the same class_type and inputs (links included). Left out: the ``_meta``
    titles, and inputs that are no input of the node (FRONTEND_ONLY: the server drops them unread)."""
    object_info = server.get("/object_info")
    for name, opened in ok(features["templates"])["opened"].items():
        prompt = opened["prompt"]
        twin = json.loads((ROOT / "workflows" / "api" / f"{name}.json").read_text())
        assert sorted(prompt, key=int) == sorted(twin, key=int), name
        for i, node in prompt.items():
            schema = object_info[node["class_type"]]["input"]
            declared = {*schema.get("required", {}), *schema.get("optional", {})}
            inputs = {k: v for k, v in node["inputs"].items() if k in declared}
            extra = {k: v for k, v in node["inputs"].items() if k not in declared}
            assert extra.items() <= FRONTEND_ONLY.items(), (name, i, extra)
            want = twin[i]["inputs"]
            differ = {k: (inputs.get(k, "<missing>"), want.get(k, "<missing>")) for k in {*inputs, *want}
                      if inputs.get(k, "<missing>") != want.get(k, "<missing>")}
            assert node["class_type"] == twin[i]["class_type"] and not differ, (name, i, differ)
    if features["frontend"]["vueNodes"]:
        return  # the server's answer does not depend on the renderer: checked once per frontend
    wait_idle(server)
    for name, opened in features["templates"]["opened"].items():
        status, body = server.post("/prompt", {"prompt": shrink(opened["prompt"]), "client_id": "browser-test"})
        assert status == 200 and body.get("node_errors") == {}, (name, body)
    server.post("/queue", {"clear": True})
    server.post("/interrupt", {})
    wait_idle(server)


def test_load_video_saved_before_resample_rule_opens_with_its_default(features):
    """A Load Video (Lightning) saved before resample_rule was appended (11 widget values, the upload button's
    'image' last) opens with the rule at "on screen", the rule it ran with, and queues it; the editor lays the
    button out after the optional widgets, so without js/adl_video.js the rule would read 'image' and the server
    refuse the prompt."""
    old = ok(features["old_files"])
    assert old["widgets"]["resample_rule"] == "on screen", old
    assert old["widgets_values"][9:] == [4, "on screen", "image"], old
    assert old["inputs"]["resample_rule"] == "on screen" and old["inputs"]["memory_cap_gb"] == 4, old


def shrink(prompt: dict) -> dict:
    """The same graph at 64 px and 8 frames, so the runs the validation queues stay cheap."""
    prompt = json.loads(json.dumps(prompt))
    for node in prompt.values():
        inputs = node["inputs"]
        if node["class_type"] == "EmptyLatentImage":
            inputs.update(width=64, height=64, batch_size=8)
        elif node["class_type"] == "ADL_LoadVideo":
            inputs.update(width=64, height=64, frame_load_cap=8)
    return prompt


def label_pixels(png: str, level: str) -> float:
    """The share of the label's screenshot in its level's colour (the text is white on it)."""
    from PIL import Image

    with Image.open(png) as img:
        raw = img.convert("RGB").tobytes()
    pixels = [raw[i:i + 3] for i in range(0, len(raw), 3)]
    want = LEVEL_RGB[level]
    return sum(all(abs(a - b) <= 12 for a, b in zip(p, want)) for p in pixels) / max(1, len(pixels))


def assert_label(seen: dict, level: str, text: str | None = None, starts: str | None = None, has: str = ""):
    assert seen.get("present") and seen["visible"] and seen["inNode"], seen
    assert seen["level"] == level, seen
    if text is not None:
        assert seen["text"] == text, seen
    if starts is not None:
        assert seen["text"].startswith(starts), seen
    assert has in seen["text"], seen
    assert label_pixels(seen["png"], level) > 0.4, seen  # on screen: the label's own colour, not canvas


def test_lightning_preset_label_is_on_screen(features):
    """The label under the sampler/scheduler follows the loader's file and the sampler's steps/cfg, and is
    what the screen shows (a visible element inside the node's box, its colour in a screenshot)."""
    s = ok(features["presets"])
    assert_label(s["t2v_4step_auto"], "ok", "4-step module: auto 4 steps, cfg 1")
    assert_label(s["t2v_8step_auto"], "ok", "8-step module: auto 8 steps, cfg 1")  # the loader's choice changed
    assert_label(s["t2v_8step_steps4"], "warn", has="8-step module, 4 steps")  # pointed out, not changed
    assert s["t2v_8step_steps4_widget"] == 4
    assert_label(s["t2v_4step_steps8"], "warn", starts="⚠ 4-step")
    assert_label(s["t2v_cfg2"], "warn", has="cfg 2 (1 as trained)")
    # a scheduler wired to Apply Motion Module, and the sampler behind Context Options, both follow
    assert_label(s["scheduler"], "ok", "8-step module: auto 8 steps, cfg 1")
    assert_label(s["long_through_context"], "ok", "4-step module: auto 4 steps, cfg 1")
    assert s["disconnected"]["visible"] is False and s["disconnected"]["text"] in ("", None), s["disconnected"]
    assert Path(s["screenshot"]).is_file()


def test_download_button_fetches_the_file_with_progress(features, server):
    """A missing known file: the loader's panel offers it, a click fetches it through POST /adl/download
    (fake Hub) with the progress on screen; then the loader uses it and the panel goes away."""
    d = ok(features["download"])
    assert d["before"]["visible"] and d["before"]["inNode"], d["before"]
    assert d["before"]["text"].startswith("Download 2-step module"), d["before"]
    assert d["saved"] == {"widgets_values": [LIGHTNING.format(2)], "inputs": ["model_name"]}
    downloading = [x for x in d["seen"] if x["text"].startswith("Downloading")]
    assert downloading and all(x["bar"] for x in downloading), d["seen"]
    # once it started, the button never offers the file again (it did for a moment between "done" and the
    # reloaded file list): Downloading… → Downloaded → the panel goes away
    started = d["seen"].index(downloading[0])
    assert all(x["text"].startswith(("Downloading", "Downloaded")) for x in d["seen"][started:]), d["seen"]
    assert d["final_value"] == LIGHTNING.format(2)
    assert d["after"]["visible"] is False, d["after"]
    assert (server.base_dir / "models" / "animatediff_models" / LIGHTNING.format(2)).read_bytes() == HUB_2STEP


def test_saved_video_plays_in_the_output_node(features):
    """The text-to-video workflow run with the Run button (64 px, 8 frames): Save Video's preview plays,
    looped, with controls, in the node (inside the Vue node's element with Vue nodes)."""
    r = ok(features["run"])
    video = r["video"]
    assert ".mp4" in video["src"], video
    assert video["paused"] is False and video["loop"] is True and video["controls"] is True, video
    # currentTime moves: it plays (readyState, read once, may be 1 at the loop's seam on a loaded machine)
    assert video["advanced"] > 0 and video["readyState"] >= 1, video
    assert video["videoWidth"] == 64 and video["videoHeight"] == 64, video
    assert video["visible"], video
    if features["frontend"]["vueNodes"]:
        assert video["insideVueNode"], video


def test_no_console_error_of_ours(features):
    ours = [e for e in features["consoleErrors"] if any(k in e.lower() for k in OURS)]
    assert ours == [], ours
