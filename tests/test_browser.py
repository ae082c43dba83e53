"""The artist's view, in a real browser: Debian's chromium driven by playwright-core (tests/browser/*.mjs)
against a ComfyUI server with this pack and the random real-shape test models under the names the example
workflows use. Every script prints one JSON object on its last line; the assertions are here."""
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import COMFYUI_PATH, ROOT
from support.clips import make_clip
from support.fake_hub import FakeHub
from support.server import ComfyServer, example_workflow_models

BROWSER_DIR = ROOT / "tests" / "browser"
ARTIFACTS = ROOT / "tests" / ".artifacts"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
WORKFLOWS = sorted((ROOT / "workflows").glob("*.json"))
LIGHTNING = "animatediff_lightning_{}step_comfyui.safetensors"
HUB_2STEP = b"not a real motion module: the route test only checks that it lands\n" * 4096

missing = [what for what, ok in ((str(CHROMIUM), CHROMIUM.is_file()),
                                 ("tests/browser/node_modules (npm ci in tests/browser)",
                                  (BROWSER_DIR / "node_modules" / "playwright-core").is_dir()),
                                 ("node", shutil.which("node") is not None)) if not ok]
pytestmark = pytest.mark.skipif(bool(missing), reason=f"browser tests need {', '.join(missing)}")


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
               "ADL_LoadMotionModule": "animatediff_models", "ADL_LoadMotionLoRA": "animatediff_motion_lora"}
    out: dict[str, list[str]] = {}
    for path in WORKFLOWS:
        w = json.loads(path.read_text())
        for node in w["nodes"]:
            if node["type"] in folders:
                out.setdefault(folders[node["type"]], []).append(node["widgets_values"][0])
        for m in w.get("models", []):
            out.setdefault(m["directory"], []).append(m["name"])
    return {k: sorted(set(v)) for k, v in out.items()}


@pytest.fixture(scope="module")
def hub():
    with FakeHub() as h:
        h.add("ByteDance/AnimateDiff-Lightning", LIGHTNING.format(2), HUB_2STEP)
        yield h


@pytest.fixture(scope="module")
def server(tmp_path_factory, hub):
    base = tmp_path_factory.mktemp("comfy_browser")
    links = base / "links"
    sources = example_workflow_models()
    models = {folder: [named(links / folder, sources[folder], n) for n in names]
              for folder, names in workflow_models().items()}
    models["animatediff_models"].append(named(links / "animatediff_models", sources["animatediff_models"],
                                              LIGHTNING.format(8)))
    make_clip(base / "input" / "input_clip.mp4", frames=16, fps=8)
    settings = base / "user" / "default" / "comfy.settings.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(json.dumps({"Comfy.TutorialCompleted": True}))
    srv = ComfyServer(COMFYUI_PATH, base, models,  # the harness starts servers offline; this one talks to the fake Hub
                      extra_env={"HF_HUB_OFFLINE": "0", "HF_ENDPOINT": hub.url}).start()
    yield srv
    srv.stop()


def node_script(server, name: str, *args: str, timeout: float = 420) -> dict:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["node", str(BROWSER_DIR / name), server.url, *args], cwd=BROWSER_DIR,
                          capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, ADL_ARTIFACTS=str(ARTIFACTS)))
    lines = done.stdout.strip().splitlines()
    assert done.returncode == 0 and lines, (
        f"{name} failed ({done.returncode}):\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}\n"
        f"server log:\n{server.log()[-3000:]}")
    return json.loads(lines[-1])


def wait_idle(server, timeout: float = 300):
    deadline = time.time() + timeout
    while time.time() < deadline:
        q = server.get("/queue")
        if not q["queue_running"] and not q["queue_pending"]:
            return
        time.sleep(0.5)
    raise TimeoutError("the queue did not drain")


def shrink(prompt: dict) -> dict:
    """The same graph at 64 px and 8 frames, so the runs the validation queues stay cheap."""
    for node in prompt.values():
        inputs = node["inputs"]
        if node["class_type"] == "EmptyLatentImage":
            inputs.update(width=64, height=64, batch_size=8)
        elif node["class_type"] == "ADL_LoadVideo":
            inputs.update(width=64, height=64, frame_load_cap=8)
    return prompt


def test_every_workflow_opens_and_the_server_accepts_it(server):
    out = node_script(server, "open_workflows.mjs", *map(str, WORKFLOWS))
    assert out["consoleErrors"] == []
    assert [w["name"] for w in out["workflows"]] == [p.name for p in WORKFLOWS]
    for w in out["workflows"]:
        assert w["missingNodesDialog"] is False and w["missingTypes"] == [], w
        assert w["missingModelsDialog"] is False, w
        assert w["widgetsUnchanged"], w  # the extension adds nothing to a workflow's widgets_values
        types = {n["class_type"] for n in w["prompt"].values()}
        assert "ADL_SampleLightning" in types and "ADL_SaveVideo" in types and "Note" not in types
        status, body = server.post("/prompt", {"prompt": shrink(w["prompt"]), "client_id": "browser-test"})
        assert status == 200 and body.get("node_errors") == {}, (w["name"], body)
    server.post("/queue", {"clear": True})
    server.post("/interrupt", {})
    wait_idle(server)


def test_lightning_presets_follow_the_loader(server):
    out = node_script(server, "presets.mjs", str(ROOT / "workflows" / "text_to_video_lightning_4step.json"),
                      str(ROOT / "workflows" / "long_video_to_video_context_windows.json"))
    assert out["consoleErrors"] == []
    s = out["states"]
    # 4-step module, steps 0: the sampler takes 4 (auto), cfg 1
    assert s["t2v_4step_auto"] == {"level": "ok", "text": "4-step module: auto 4 steps, cfg 1"}
    # the loader's choice changes to the 8-step file: the label follows
    assert s["t2v_8step_auto"] == {"level": "ok", "text": "8-step module: auto 8 steps, cfg 1"}
    # 8-step module, steps 4: pointed out, not changed
    assert s["t2v_8step_steps4"]["level"] == "warn" and "8-step module, 4 steps" in s["t2v_8step_steps4"]["text"]
    assert s["t2v_8step_steps4_widget"] == 4
    assert s["t2v_4step_steps8"]["level"] == "warn" and s["t2v_4step_steps8"]["text"].startswith("⚠ 4-step")
    assert s["t2v_cfg2"]["level"] == "warn" and "cfg 2 (1 as trained)" in s["t2v_cfg2"]["text"]
    # a scheduler wired to Apply Motion Module, and the sampler behind Context Options, both follow
    assert s["scheduler"] == {"level": "ok", "text": "8-step module: auto 8 steps, cfg 1"}
    assert s["long_through_context"] == {"level": "ok", "text": "4-step module: auto 4 steps, cfg 1"}
    assert s["disconnected"] is None
    # a missing known file: the loader offers it, downloads it through the route (fake Hub) with progress
    assert s["download_button"].startswith("Download 2-step module")
    assert s["download_saved"] == {"widgets_values": [LIGHTNING.format(2)], "inputs": ["model_name"]}
    assert s["download_final_value"] == LIGHTNING.format(2) and s["download_button_after"] is None
    assert s["download_labels_seen"] and any(t.startswith("Downloading") for t in s["download_labels_seen"])
    assert (server.base_dir / "models" / "animatediff_models" / LIGHTNING.format(2)).read_bytes() == HUB_2STEP
    assert Path(out["screenshot"]).is_file()


def test_text_to_video_runs_from_the_ui_and_plays(server):
    wait_idle(server)
    out = node_script(server, "run_t2v.mjs", str(ROOT / "workflows" / "text_to_video_lightning_4step.json"),
                      timeout=600)
    assert out["consoleErrors"] == []
    assert out["error"] is None, out
    video = out["video"]
    assert video["src"].endswith(".mp4") or ".mp4" in video["src"]
    assert video["paused"] is False and video["loop"] is True and video["controls"] is True
    assert video["advanced"] > 0, video  # currentTime moves: it plays
    assert video["videoWidth"] == 64 and video["videoHeight"] == 64
    assert Path(out["screenshot"]).is_file()


# Inputs the frontend puts into a prompt that are no input of the node: the video upload widget's preview.
FRONTEND_ONLY = {"video-preview": ""}


def test_ui_workflows_give_their_api_twins(server):
    """What the real frontend queues for each UI workflow (``app.graphToPrompt()``) is its API twin in
    workflows/api/: the same node ids, each with the same class_type and inputs (links included). Left out:
    the ``_meta`` titles, which the twins do not carry (ComfyUI ignores them, the pack's converter does not
    write them), and inputs that are no input of the node (FRONTEND_ONLY: the server drops them unread)."""
    out = node_script(server, "open_workflows.mjs", *map(str, WORKFLOWS))
    assert [w["name"] for w in out["workflows"]] == [p.name for p in WORKFLOWS]
    object_info = server.get("/object_info")
    for w in out["workflows"]:
        twin = json.loads((ROOT / "workflows" / "api" / w["name"]).read_text())
        assert sorted(w["prompt"], key=int) == sorted(twin, key=int), w["name"]
        for i, node in w["prompt"].items():
            schema = object_info[node["class_type"]]["input"]
            declared = {*schema.get("required", {}), *schema.get("optional", {})}
            inputs = {k: v for k, v in node["inputs"].items() if k in declared}
            extra = {k: v for k, v in node["inputs"].items() if k not in declared}
            assert extra.items() <= FRONTEND_ONLY.items(), (w["name"], i, extra)
            want = twin[i]["inputs"]
            differ = {k: (inputs.get(k, "<missing>"), want.get(k, "<missing>")) for k in {*inputs, *want}
                      if inputs.get(k, "<missing>") != want.get(k, "<missing>")}
            assert node["class_type"] == twin[i]["class_type"] and not differ, (w["name"], i, differ)


def test_template_browser_shows_the_thumbnails_and_opens_a_card(server):
    """Browse Templates → this pack under Extensions: one card per workflow, each thumbnail loaded from
    /api/workflow_templates/<pack>/<name>.jpg; a click on a card puts that workflow on the canvas."""
    from PIL import Image

    from support.server import PACK_DIR_NAME

    names = sorted(p.stem for p in WORKFLOWS)
    out = node_script(server, "templates.mjs", PACK_DIR_NAME, "text_to_video_lightning_4step", *names)
    assert out["consoleErrors"] == []
    assert sorted(card["name"] for card in out["cards"]) == names
    for card in out["cards"]:
        with Image.open(ROOT / "workflows" / f"{card['name']}.jpg") as jpg:
            assert (card["naturalWidth"], card["naturalHeight"]) == jpg.size, card
        assert card["shownWidth"] > 0 and card["shownHeight"] > 0, card
    served = {(t["url"], t["status"], t["type"]) for t in out["thumbnails"]}
    assert served == {(f"/api/workflow_templates/{PACK_DIR_NAME}/{n}.jpg", 200, "image/jpeg") for n in names}
    t2v = json.loads((ROOT / "workflows" / "text_to_video_lightning_4step.json").read_text())
    assert out["opened"]["types"] == sorted(node["type"] for node in t2v["nodes"])
    assert out["opened"]["workflow"] == "text_to_video_lightning_4step"
