"""The frontend's download route through a real ComfyUI server: known ids only, the work off the event loop,
progress as websocket events; the Hub is a local stand-in (``HF_ENDPOINT``)."""
import json
import random
import time

import pytest
import websocket

import support.server
from conftest import COMFYUI_PATH
from support.fake_hub import FakeHub
from support.server import ComfyServer

LIGHTNING = "ByteDance/AnimateDiff-Lightning"
FILE_4 = "animatediff_lightning_4step_comfyui.safetensors"
DATA = random.Random(11).randbytes(3 * 1024 * 1024 + 17)
KNOWN = json.loads((support.server.ROOT / "glue" / "known_files.json").read_text())["files"]


@pytest.fixture(scope="module")
def hub():
    with FakeHub() as h:
        h.add(LIGHTNING, FILE_4, DATA)
        yield h


@pytest.fixture(scope="module")
def server(tmp_path_factory, hub):
    srv = ComfyServer(COMFYUI_PATH, tmp_path_factory.mktemp("comfy_routes"), {},  # online, to the fake Hub
                      extra_env={"HF_HUB_OFFLINE": "0", "HF_ENDPOINT": hub.url}).start()
    yield srv
    srv.stop()


def models_dir(server):
    return server.base_dir / "models"


def events_until_finished(ws, file_id, timeout=60.0) -> list[dict]:
    events, deadline = [], time.time() + timeout
    while time.time() < deadline:
        message = ws.recv()
        if not isinstance(message, str):
            continue
        event = json.loads(message)
        if event.get("type") == "adl.download" and event["data"]["id"] == file_id:
            events.append(event["data"])
            if event["data"]["status"] in ("done", "error"):
                return events
    raise TimeoutError(f"no end event for {file_id}: {events}")


def test_known_files_listed_under_both_prefixes(server):
    for prefix in ("", "/api"):
        files = server.get(f"{prefix}/adl/known_files")["files"]
        assert [f["id"] for f in files] == [e["id"] for e in KNOWN]
        assert all(set(f) >= {"id", "filename", "folder", "present", "downloading"} for f in files)


@pytest.mark.parametrize("body", [
    {"id": "lightning_3step"}, {"id": "../../etc/passwd"}, {"id": FILE_4}, {"id": LIGHTNING},
    {"id": f"https://huggingface.co/{LIGHTNING}/resolve/main/{FILE_4}"}, {"id": "/tmp/x.safetensors"},
    {"id": 4}, {"id": None}, {}, ["lightning_4step"], {"repo": LIGHTNING, "filename": FILE_4},
])
def test_anything_but_a_known_id_is_refused(server, hub, body):
    requests_before = len(hub.requests)
    status, answer = server.post("/api/adl/download", body)
    assert status == 400 and "known_ids" in answer
    assert len(hub.requests) == requests_before
    assert not any(p.is_file() for p in models_dir(server).rglob("*"))


def test_not_json_is_refused(server):
    import urllib.error
    import urllib.request
    req = urllib.request.Request(server.url + "/adl/download", data=b"lightning_4step", method="POST")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=30)
    assert e.value.code == 400


def test_known_id_downloads_with_progress_events(server, hub):
    ws = websocket.create_connection(f"ws://127.0.0.1:{server.port}/ws?clientId=routes-test", timeout=60)
    try:
        status, answer = server.post("/adl/download", {"id": "lightning_4step"})
        assert (status, answer) == (202, {"id": "lightning_4step", "status": "started"})
        assert server.get("/system_stats")  # the server answers while the download runs
        events = events_until_finished(ws, "lightning_4step")
    finally:
        ws.close()
    assert events[-1]["status"] == "done", events
    assert "verified" in events[-1]["message"] and events[-1]["done"] == len(DATA)
    progress = [e for e in events if e["status"] == "progress"]
    assert progress and all(e["total"] == len(DATA) and 0 <= e["done"] <= len(DATA) for e in progress)
    assert (models_dir(server) / "animatediff_models" / FILE_4).read_bytes() == DATA
    row = next(f for f in server.get("/adl/known_files")["files"] if f["id"] == "lightning_4step")
    assert row["present"] is True and row["downloading"] is False
    assert server.post("/adl/download", {"id": "lightning_4step"}) == (200, {"id": "lightning_4step",
                                                                             "status": "present"})


def test_hub_failure_is_reported_as_an_event(server):
    ws = websocket.create_connection(f"ws://127.0.0.1:{server.port}/ws?clientId=routes-test-2", timeout=60)
    try:
        status, _ = server.post("/adl/download", {"id": "lightning_8step"})  # the fake Hub does not have it
        assert status == 202
        events = events_until_finished(ws, "lightning_8step")
    finally:
        ws.close()
    assert events[-1]["status"] == "error"
    assert "animatediff_lightning_8step_comfyui.safetensors" in events[-1]["message"]
    assert "by hand" in events[-1]["message"]
    assert not list((models_dir(server) / "animatediff_models").glob("*8step*"))
    assert server.alive()


def test_registration_without_a_server_does_nothing():
    from animatediff_lightning.glue.routes import register_routes
    assert register_routes() is False
