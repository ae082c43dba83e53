"""End to end through a running ComfyUI server: generated 24-frame 64×64 clips (one with an AAC track) in
the input folder or uploaded → ADL_LoadVideo → ADL_SaveVideo (mp4 / webm / gif) → decoded back with PyAV.
Core VIDEO interop both ways. Bad inputs fail the prompt with our message, leave nothing in the output
folder, and the server runs the next prompt. No diffusion model is needed here."""
import json
import urllib.request
import uuid

import pytest

from conftest import COMFYUI_PATH
from support.clips import decode_back, make_clip, truncated_clip, unsupported_codec_clip
from support.prompts import load_and_save_video
from support.server import ComfyServer

NODES = {"ADL_LoadVideo", "ADL_SaveVideo"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("comfy_video")
    inputs = base / "input"
    make_clip(inputs / "clip.mp4")
    make_clip(inputs / "clip_audio.mp4", audio="aac")
    make_clip(inputs / "clips" / "wide.mp4", width=96, height=64, frames=8)
    (inputs / "notes.mp4").write_text("not a video\n" * 50)
    truncated_clip(inputs / "cut.mp4")
    unsupported_codec_clip(inputs / "codec.avi")
    (base / "secret.mp4").write_bytes((inputs / "clip.mp4").read_bytes())
    srv = ComfyServer(COMFYUI_PATH, base, {})
    srv.start()
    yield srv
    srv.stop()


def outputs_of(server, result):
    files = [f for out in result["outputs"].values() for f in out.get("images", [])]
    return [server.base_dir / "output" / f["subfolder"] / f["filename"] for f in files]


def run_ok(server, prompt):
    result = server.run(prompt)
    assert result["ok"], result["error"] or server.log()[-3000:]
    return result


def test_nodes_listed_with_tooltips_and_upload(server):
    info = server.get("/object_info")
    for node in NODES:
        spec = info[node]
        assert spec["category"] == "AnimateDiff-Lightning/video"
        for section in ("required", "optional"):
            for name, (kind, *options) in spec["input"].get(section, {}).items():
                assert options and options[0].get("tooltip"), (node, name)
        assert all(spec["output_tooltips"]), node
    load = info["ADL_LoadVideo"]["input"]
    assert load["required"]["video"][1]["video_upload"] is True
    assert {"clip.mp4", "clip_audio.mp4", "notes.mp4", "cut.mp4", "codec.avi"} <= set(
        load["required"]["video"][1]["options"])
    assert list(load["required"]) == ["video", "path", "frame_load_cap", "skip_first_frames", "select_every_nth",
                                      "force_rate", "width", "height", "resize_mode", "memory_cap_gb"]
    assert list(info["ADL_SaveVideo"]["input"]["required"]) == ["images", "fps", "filename_prefix", "format", "crf"]
    assert info["ADL_SaveVideo"]["output_node"] is True


@pytest.mark.parametrize("fmt", ["mp4", "webm", "gif"])
def test_load_save_round_trip(server, fmt):
    clip = "clip.mp4" if fmt == "gif" else "clip_audio.mp4"
    result = run_ok(server, load_and_save_video(clip, fmt, prefix=f"rt_{fmt}"))
    [path] = outputs_of(server, result)
    assert path.name == f"rt_{fmt}_00001_.{fmt}"
    back = decode_back(path)
    assert (back["frames"], back["width"], back["height"]) == (24, 64, 64)
    assert back["fps"] == pytest.approx(24.0)
    assert back["indices"] == list(range(24))
    if fmt != "gif":
        assert back["audio_seconds"] == pytest.approx(1.0, abs=0.05)
        tags = {k.lower(): v for k, v in back["metadata"].items()}
        assert json.loads(tags["prompt"])["2"]["class_type"] == "ADL_SaveVideo"
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")], "temporary files left behind"


def test_options_through_the_server(server):
    prompt = load_and_save_video("", "mp4", prefix="opts", path="clips/wide.mp4", force_rate=12,
                                 select_every_nth=2, width=40, height=40, resize_mode="pad")
    back = decode_back(outputs_of(server, run_ok(server, prompt))[0])
    # 8 frames at 24 fps → 4 at 12 fps → every 2nd: 2 frames at 6 fps; 40×40 padded
    assert (back["frames"], back["width"], back["height"], back["fps"]) == (2, 40, 40, 6.0)


def test_uploaded_clip(server):
    data = (server.base_dir / "input" / "clip.mp4").read_bytes()
    name = f"uploaded_{uuid.uuid4().hex[:6]}.mp4"
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"{name}\"\r\n"
            f"Content-Type: video/mp4\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(server.url + "/upload/image", data=body,
                                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    with urllib.request.urlopen(request, timeout=30) as r:
        uploaded = json.loads(r.read())
    assert uploaded["name"] == name
    assert name in server.get("/object_info/ADL_LoadVideo")["ADL_LoadVideo"]["input"]["required"]["video"][1][
        "options"]
    result = run_ok(server, load_and_save_video(name, "mp4", prefix="uploaded", frame_load_cap=5))
    assert decode_back(outputs_of(server, result)[0])["frames"] == 5


def test_core_video_interop(server):
    prompt = {
        "1": {"class_type": "LoadVideo", "inputs": {"file": "clip_audio.mp4"}},
        "2": {"class_type": "ADL_LoadVideo",
              "inputs": {"video": "", "path": "", "frame_load_cap": 10, "skip_first_frames": 0,
                         "select_every_nth": 1, "force_rate": 0.0, "width": 0, "height": 0, "resize_mode": "crop",
                         "memory_cap_gb": 1.0, "video_input": ["1", 0]}},
        "3": {"class_type": "SaveVideo",  # core saver on our VIDEO output
              "inputs": {"video": ["2", 4], "filename_prefix": "core_from_ours", "format": "mp4", "codec": "h264"}},
        "4": {"class_type": "ADL_SaveVideo",
              "inputs": {"images": ["2", 0], "fps": ["2", 2], "filename_prefix": "ours_from_core", "format": "mp4",
                         "crf": 23, "audio": ["2", 3]}},
        "5": {"class_type": "GetVideoComponents", "inputs": {"video": ["4", 0]}},  # our saver's VIDEO output
        "6": {"class_type": "SaveAnimatedWEBP",
              "inputs": {"images": ["5", 0], "fps": 24.0, "filename_prefix": "from_saved_video", "lossless": False,
                         "quality": 80, "method": "default"}},
    }
    result = run_ok(server, prompt)
    core, ours = decode_back(outputs_of(server, {"outputs": {"3": result["outputs"]["3"]}})[0]), \
        decode_back(outputs_of(server, {"outputs": {"4": result["outputs"]["4"]}})[0])
    for back in (core, ours):
        assert (back["frames"], back["width"], back["height"], back["fps"]) == (10, 64, 64, 24.0)
        assert back["audio_seconds"] == pytest.approx(10 / 24, abs=0.05)
    assert result["outputs"]["6"]["images"]


def test_clip_without_audio_into_audio_input(server):
    result = run_ok(server, load_and_save_video("clip.mp4", "webm", prefix="silent", audio=True, frame_load_cap=4))
    back = decode_back(outputs_of(server, result)[0])
    assert back["frames"] == 4 and back["audio_seconds"] is None


def no_bad_files(server):
    output = server.base_dir / "output"
    return [p.name for p in output.rglob("*") if p.name.startswith(("bad", ".bad"))] if output.exists() else []


@pytest.mark.parametrize("case,fragments", [
    (dict(video="notes.mp4"), ["notes.mp4", "cannot be read as a video"]),
    (dict(video="cut.mp4"), ["cut.mp4", "corrupt, truncated"]),
    (dict(video="codec.avi"), ["codec.avi", "cannot decode", "H.264"]),
    (dict(video="gone.mp4"), ["gone.mp4", "is not in ComfyUI's input folder"]),
    (dict(video="clip.mp4", skip_first_frames=30), ["clip.mp4", "no frames left", "skip_first_frames"]),
    (dict(video="clip.mp4", width=512, height=512, memory_cap_gb=0.05),  # 3.1 MB a frame
     ["clip.mp4", "24 frames at 512×512", "15 frames fit", "frame_load_cap to 15"]),
    (dict(video="clip.mp4", path="../secret.mp4"), ["../secret.mp4", "outside ComfyUI's input folder"]),
    (dict(video="clip.mp4", filename_prefix="../escape"), ["filename_prefix", "'..'"]),
    (dict(video="clip.mp4", filename_prefix="/tmp/escape"), ["filename_prefix", "absolute path"]),
])
def test_bad_inputs_fail_cleanly(server, case, fragments):
    case = dict(case)
    video = case.pop("video")
    prompt = load_and_save_video(video, "mp4", prefix=f"bad_{video.split('.')[0]}", **case)
    server.assert_fails_then_recovers(prompt, *fragments)


def test_next_prompt_runs_after_an_error(server):
    server.assert_fails_then_recovers(load_and_save_video("notes.mp4", "mp4", prefix="bad_first"), "notes.mp4")
    result = run_ok(server, load_and_save_video("clip.mp4", "gif", prefix="after_error", frame_load_cap=6))
    assert decode_back(outputs_of(server, result)[0])["frames"] == 6


def test_interrupted_save_leaves_nothing(server):
    """POST /interrupt while the saver is encoding (240 frames at 256×256 as webm): the prompt stops, the
    temporary file is removed, nothing appears in the output folder, and the next prompt runs."""
    import websocket
    ws = websocket.create_connection(f"ws://127.0.0.1:{server.port}/ws?clientId={server.client_id}", timeout=300)
    try:
        prompt = load_and_save_video("clip.mp4", "webm", prefix="bad_interrupted", force_rate=240, width=256,
                                     height=256)
        status, body = server.post("/prompt", {"prompt": prompt, "client_id": server.client_id})
        assert status == 200, body
        sent, event = False, None
        while True:
            message = ws.recv()
            if not isinstance(message, str):
                continue
            event = json.loads(message)
            data = event.get("data", {})
            if data.get("prompt_id") != body["prompt_id"]:
                continue
            if event["type"] == "progress" and data.get("node") == "2" and not sent:
                server.post("/interrupt", {})
                sent = True
            if event["type"] in ("execution_interrupted", "execution_error") or (
                    event["type"] == "executing" and data.get("node") is None):
                break
    finally:
        ws.close()
    assert sent and event["type"] == "execution_interrupted", event
    assert not no_bad_files(server), "an interrupted save left files behind"
    result = run_ok(server, load_and_save_video("clip.mp4", "mp4", prefix="after_interrupt", frame_load_cap=3))
    assert decode_back(outputs_of(server, result)[0])["frames"] == 3
