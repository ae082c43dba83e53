"""The animated preview while a video samples, against a real ComfyUI server with the random real-shape test
models: in a real browser (tests/browser/preview.mjs; Debian's chromium through playwright-core) in the host's
frontend, the one ComfyUI 0.38 pins and the newest, each with the classic canvas and with Vue nodes — the frames change from step to step
and differ within a step, the node shows them looping, a stopped run leaves nothing, the workflow and the prompt
stay the same; with ``--preview-method none`` not one adl.preview message is sent. Over HTTP: a client that
connects mid-run gets the latest preview (GET /adl/preview), core KSampler on the patched model included.

One server at a time (module-scoped, parametrized): small runs, 64x64 px, 8 frames, 3 steps."""
import copy
import itertools
import json
import threading
import time
from pathlib import Path

import pytest
import websocket

from conftest import COMFYUI_PATH, ROOT
from support.frontends import (HOST, NEWEST, RENDERERS, UPSTREAM_PIN, front_end_root, require_browser_tools,
                               run_page_script, use_renderer, version_of)
from support.server import ComfyServer, example_workflow_models
from support.upstream import keeping_cache_args

T2V = ROOT / "workflows" / "text_to_video_lightning_4step.json"
T2V_API = ROOT / "workflows" / "api" / "text_to_video_lightning_4step.json"
STEPS, INTERRUPT_STEPS, FRAMES = 3, 8, 8
SAMPLER_ID = "11"  # Sample Lightning in the text-to-video workflow
# what the frontend itself adds to a prompt after a run (Save Video's preview; see tests/test_browser.py)
FRONTEND_ONLY = {"13.video-preview"}
SERVERS = [(HOST, "latent2rgb"), (HOST, "none"), (UPSTREAM_PIN, "latent2rgb"), (NEWEST, "latent2rgb")]
# A new seed for every page run: each run must sample (and preview). ComfyUI may keep the outputs of earlier
# prompts (0.33's RAM-pressure cache keeps them all, emulated on 0.3.75 with keeping_cache_args), so a
# repeated prompt would be answered from its cache.
SEEDS = itertools.count(1)


def t2v_models(base: Path) -> dict[str, list[Path]]:
    """The stand-in files under the names the text-to-video workflow uses."""
    sources = example_workflow_models()
    names = {"checkpoints": "dreamshaper_8.safetensors",
             "animatediff_models": "animatediff_lightning_4step_comfyui.safetensors"}
    out = {}
    for folder, name in names.items():
        link = base / "links" / folder / name
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.exists():
            link.symlink_to(Path(sources[folder]).resolve())
        out[folder] = [link]
    return out


@pytest.fixture(scope="module", params=SERVERS, ids=lambda p: f"frontend-{version_of(p[0])}-preview-{p[1]}")
def server(request, tmp_path_factory):
    frontend, method = request.param
    base = tmp_path_factory.mktemp(f"comfy_preview_{version_of(frontend)}_{method}")
    srv = ComfyServer(COMFYUI_PATH, base, t2v_models(base), front_end_root=front_end_root(frontend),
                      extra_args=["--preview-method", method, *keeping_cache_args()]).start()
    srv.frontend, srv.method = frontend, method
    yield srv
    srv.stop()


def run_preview_page(server, renderer: str, interrupt: bool) -> dict:
    require_browser_tools()
    use_renderer(server.base_dir, renderer)
    tag = f"preview-{version_of(server.frontend)}-{server.method}-{renderer}"
    out = run_page_script("preview.mjs", server, {"t2v": str(T2V), "steps": STEPS, "seed": next(SEEDS),
                                                  "interrupt_steps": INTERRUPT_STEPS if interrupt else 0}, tag)
    assert out["frontend"]["vueNodes"] is (renderer == "vue"), out["frontend"]
    return out


def ours(errors: list[str]) -> list[str]:
    """Console errors of this pack (1.58.1 also logs its Jobs API's 404s against the 0.3.75 backend: not ours)."""
    return [e for e in errors if any(k in e for k in ("adl_", "AnimateDiff-Lightning", "animatediff-lightning"))]


def ok(step: dict) -> dict:
    assert step.get("error") is None, step["error"]
    assert not step.get("errors"), step["errors"]
    return step


@pytest.mark.parametrize("renderer", RENDERERS)
def test_the_preview_animates_and_a_stopped_run_leaves_none(server, renderer):
    if server.method == "none":
        pytest.skip("previews off: test_previews_off_sends_nothing")
    out = run_preview_page(server, renderer, interrupt=True)
    assert ours(out["consoleErrors"]) == []
    run = ok(out["run"])
    assert run["done"]
    # one message per step, every frame in each, each frame small
    assert run["wsCounts"].get("adl.preview") == STEPS, run["wsCounts"]
    sheets = run["sheets"]
    assert [s["step"] for s in sheets] == list(range(1, STEPS + 1)), sheets
    assert all(s["frames"] == FRAMES and s["node"] == SAMPLER_ID for s in sheets)
    assert all(max(s["width"], s["height"]) <= 256 for s in sheets)
    # it really animates: frames differ within a step, and the prediction changes from step to step
    assert all(max(s["withinStep"]) > 1.0 for s in sheets), [s["withinStep"] for s in sheets]
    assert all(d > 0.5 for d in run["betweenSteps"]), run["betweenSteps"]
    # on screen, inside the sampler node, looping: the canvas shows different frames over time within one step
    shown = [s for s in run["samples"] if s["visible"] and s["step"] == STEPS]
    assert shown, run["samples"][-5:]
    assert all(s["inside"] and s["onScreen"] for s in shown), shown[:3]
    assert len({s["hash"] for s in shown}) >= 3, shown
    # nothing of it in the workflow or the prompt
    assert run["widgetsSame"]
    assert set(run["changedInputs"]) <= FRONTEND_ONLY, run["changedInputs"]
    assert all(not k.startswith("adl") for k in run["promptInputs"]), run["promptInputs"]
    assert "adl_video_preview" in run["preview"]["widgetNames"]
    # stopped after the first preview: no animation stays on the node, and it has its size back
    stopped = ok(out["interrupt"])
    assert stopped["interrupted"], stopped
    assert stopped["sheets"] and len(stopped["sheets"]) < INTERRUPT_STEPS
    assert {"node": SAMPLER_ID, "reason": "interrupted"} in stopped["cleared"]
    assert stopped["node"]["state"] is None and stopped["node"]["display"] == "none", stopped["node"]
    assert stopped["wsCounts"].get("adl.preview") == len(stopped["sheets"]) + 1  # the sheets, then "cleared"


def test_previews_off_sends_nothing(server):
    if server.method != "none":
        pytest.skip("previews on")
    out = run_preview_page(server, "canvas", interrupt=False)
    run = ok(out["run"])
    assert run["done"]
    counts = run["wsCounts"]
    assert counts.get("progress", 0) >= STEPS, counts  # the socket carried the run, the sampler stepped
    assert "adl.preview" not in counts and "adl.preview" not in out["ws"]["counts"], counts
    assert run["sheets"] == [] and not any(s["visible"] for s in run["samples"])  # nothing shown
    assert run["widgetsSame"] and set(run["changedInputs"]) <= FRONTEND_ONLY


def api_prompt(sampler: str, steps: int) -> dict:
    prompt = copy.deepcopy(json.loads(T2V_API.read_text()))
    prompt["4"]["inputs"].update(width=64, height=64, batch_size=FRAMES)
    if sampler == "KSampler":
        s = prompt[SAMPLER_ID]["inputs"]
        prompt[SAMPLER_ID] = {"class_type": "KSampler", "inputs": {
            "model": s["model"], "positive": s["positive"], "negative": s["negative"],
            "latent_image": s["latent_image"], "seed": 1, "steps": steps, "cfg": 1.0, "sampler_name": "euler",
            "scheduler": "simple", "denoise": 1.0}}
    else:
        prompt[SAMPLER_ID]["inputs"].update(seed=1, steps=steps)
    return prompt


@pytest.mark.parametrize("sampler", ["ADL_SampleLightning", "KSampler"])
def test_a_client_connecting_mid_run_gets_the_latest_preview(server, sampler):
    if server.frontend != HOST or server.method == "none":
        pytest.skip("server side: once")
    steps = 5
    ws = websocket.create_connection(f"ws://127.0.0.1:{server.port}/ws?clientId={server.client_id}", timeout=300)
    received = []
    finished = threading.Event()

    def listen():
        while not finished.is_set():
            try:
                message = ws.recv()
            except Exception:  # noqa: BLE001 — closed
                return
            if isinstance(message, str):
                event = json.loads(message)
                received.append(event)
                if event["type"] in ("execution_success", "execution_error", "execution_interrupted"):
                    finished.set()
    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    try:
        status, body = server.post("/prompt", {"prompt": api_prompt(sampler, steps), "client_id": server.client_id})
        assert status == 200, body
        latest, others = [], None
        deadline = time.time() + 600
        while time.time() < deadline and not finished.is_set():
            got = server.get(f"/adl/preview?clientId={server.client_id}")["previews"]
            if got and not latest:
                others = server.get("/adl/preview?clientId=someone-else")["previews"]
            if got:
                latest.append(got[0])
            if got and got[0]["step"] >= 2:
                break
            time.sleep(0.2)
        finished.wait(600)
        after = server.get(f"/adl/preview?clientId={server.client_id}")["previews"]
    finally:
        finished.set()
        ws.close()
    types = [e["type"] for e in received]
    assert "execution_success" in types, types[-5:]
    assert latest, "GET /adl/preview never had a preview during the run"
    message = latest[-1]
    assert message["prompt_id"] == body["prompt_id"] and message["node"] == SAMPLER_ID
    assert message["frames"] == FRAMES and message["image"].startswith("data:image/jpeg;base64,")
    assert others == []  # another client's page is not shown this run's preview
    assert after == []  # the sampler is done: nothing kept
    assert sum(t == "adl.preview" for t in types) == steps
