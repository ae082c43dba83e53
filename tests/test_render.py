"""`python <pack> render …` (workflow_files/render.py) as a user runs it: a subprocess against one real ComfyUI server for
the module (--server), on the random real-shape test models (SD1.5 checkpoint, Lightning motion module, Motion
LoRA, ControlNet) and a generated clip; every example workflow renders at 64×64. One test starts its own
ComfyUI (--fresh) to cover the start-and-stop path (workflow_files/local_server.py)."""
import json
import re
import subprocess
import sys
import urllib.request

import pytest

from conftest import COMFYUI_PATH, ROOT
from support.clips import decode_back, make_clip
from support.controlnet_models import CONTROLNET_NAME
from support.sd15_models import CHECKPOINT_NAME as CHECKPOINT
from support.server import ComfyServer, example_models_linked

T2V_UI = ROOT / "workflows" / "text_to_video_lightning_4step.json"
T2V_API = ROOT / "workflows" / "api" / "text_to_video_lightning_4step.json"
UI_WORKFLOWS = sorted(p.stem for p in (ROOT / "workflows").glob("*.json"))
LATENT_64 = ["EmptyLatentImage.width=64", "EmptyLatentImage.height=64"]
VIDEO_64 = ["ADL_LoadVideo.width=64", "ADL_LoadVideo.height=64", f"ControlNetLoader.control_net_name={CONTROLNET_NAME}"]
# workflow → (frames it renders, its --set overrides besides checkpoint, steps and file name prefix); the
# motion module and Motion LoRA are installed under the names the workflows use
RENDERS = {
    "text_to_video_lightning_4step": (8, [*LATENT_64, "EmptyLatentImage.batch_size=8"]),
    "text_to_video_motion_lora_pan_left": (8, [*LATENT_64, "EmptyLatentImage.batch_size=8"]),
    "video_to_video_canny_lightning_4step": (8, [*VIDEO_64, "ADL_LoadVideo.frame_load_cap=8"]),
    # 24 frames are two context windows of 16 with overlap 4
    "long_video_to_video_context_windows": (24, [*VIDEO_64, "ADL_LoadVideo.frame_load_cap=24"]),
    "image_to_video_sparsectrl_rgb_lightning_4step": (8, [*LATENT_64, "EmptyLatentImage.batch_size=8"]),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("comfy_render")
    make_clip(base / "input" / "input_clip.mp4", frames=24, fps=12)
    srv = ComfyServer(COMFYUI_PATH, base, example_models_linked(base / "links"))
    srv.start()
    yield srv
    srv.stop()


def render(*args, timeout=900):
    return subprocess.run([sys.executable, str(ROOT), "render", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("name", UI_WORKFLOWS)
def test_example_workflow_renders(server, tmp_path, name):
    """Each UI-format example, converted with the server's /object_info and made cheap by --set overrides (by
    node type, and by id for the file name prefix), lands as one mp4 of the requested frames and size in
    --out; every override and each sampling step is reported on stdout."""
    assert name in RENDERS, f"workflows/{name}.json is new: give it render overrides in RENDERS"
    frames, overrides = RENDERS[name]
    overrides = [f"CheckpointLoaderSimple.ckpt_name={CHECKPOINT}", "ADL_SampleLightning.steps=2", *overrides,
                 f"13.filename_prefix=render_{name}"]
    out = tmp_path / "out"
    result = render(ROOT / "workflows" / f"{name}.json", "--server", server.url, "--out", out,
                    *(a for o in overrides for a in ("--set", o)))
    assert result.returncode == 0, result.stdout + result.stderr + server.log()[-3000:]
    assert result.stdout.count("set node ") == len(overrides), result.stdout
    assert f"set node 13 (ADL_SaveVideo) filename_prefix = 'render_{name}'" in result.stdout
    assert "(ADL_SampleLightning): 2/2" in result.stdout  # progress lines, one per step
    sized = "EmptyLatentImage" if "EmptyLatentImage.width=64" in overrides else "ADL_LoadVideo"
    assert f"set node 4 ({sized}) width = 64" in result.stdout  # found by type, converted to an INT
    files = list(out.iterdir())
    assert [f.suffix for f in files] == [".mp4"] and files[0].name.startswith(f"render_{name}"), files
    video = decode_back(files[0])
    assert (video["frames"], video["width"], video["height"]) == (frames, 64, 64)


def test_missing_model_exits_non_zero_with_the_servers_message(server, tmp_path):
    """API format as shipped: its checkpoint is not installed, so /prompt refuses it; nothing is written."""
    result = render(T2V_API, "--server", server.url, "--out", tmp_path / "out")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "node 1 (CheckpointLoaderSimple)" in result.stderr
    assert "dreamshaper_8.safetensors" in result.stderr and "not in" in result.stderr
    assert not (tmp_path / "out").exists()


def test_execution_error_exits_non_zero_with_the_nodes_exception(server, tmp_path):
    """40 frames are more than the module's 32 positions: the run fails inside our node, and the command
    prints that node's message (validated inputs, failing at run time)."""
    prompt = json.loads(T2V_API.read_text())
    prompt["1"]["inputs"]["ckpt_name"] = CHECKPOINT
    prompt["4"]["inputs"].update(width=64, height=64, batch_size=40)
    path = tmp_path / "api.json"
    path.write_text(json.dumps(prompt))
    result = render(path, "--server", server.url, "--out", tmp_path / "out")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "40 frames" in result.stderr and "context windows" in result.stderr, result.stderr


def test_bad_override_is_a_usage_error(server, tmp_path):
    result = render(T2V_UI, "--server", server.url, "--out", tmp_path, "--set", "CLIPTextEncode.text=a cat")
    assert result.returncode == 2 and "names nodes 2, 3" in result.stderr, result.stderr
    result = render(T2V_UI, "--server", server.url, "--out", tmp_path, "--set", "EmptyLatentImage.widht=64")
    assert result.returncode == 2 and "has no input 'widht'" in result.stderr, result.stderr


def test_starts_its_own_comfyui_and_stops_it(tmp_path):
    """No --server: a fresh ComfyUI from COMFYUI_PATH with this pack linked into the given base directory.
    The UI workflow needs our nodes to convert, and the shipped checkpoint is missing, so it exits 1."""
    base = tmp_path / "base"
    result = render(T2V_UI, "--fresh", "--comfyui", COMFYUI_PATH, "--base-directory", base,
                    "--out", tmp_path / "out", "--cpu", timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "starting ComfyUI" in result.stdout
    assert "dreamshaper_8.safetensors" in result.stderr, result.stderr
    assert (base / "custom_nodes" / ROOT.name).resolve() == ROOT
    assert "IMPORT FAILED" not in result.stderr
    url = re.search(r"on (http://127\.0\.0\.1:\d+)", result.stdout).group(1)
    with pytest.raises(OSError):  # stopped again
        urllib.request.urlopen(url + "/system_stats", timeout=5)


def test_ui_conversion_matches_the_api_twins(server):
    """The shared converter (workflow_files/workflow_api.py `to_api`) gives each template's API twin from the live /object_info."""
    from animatediff_lightning.workflow_files.render import to_api

    object_info = server.get("/object_info")
    for ui_path in sorted((ROOT / "workflows").glob("*.json")):
        twin = json.loads((ROOT / "workflows" / "api" / ui_path.name).read_text())
        assert to_api(json.loads(ui_path.read_text()), object_info) == twin, ui_path.name


def test_ui_conversion_follows_reroutes_bypass_primitives_and_named_values():
    """Editor constructs beyond the templates: a Reroute, a bypassed node (its input of the output's type
    passes through), a muted node (dropped), a PrimitiveNode feeding a widget, seed's control value, and
    widget values saved as a dict."""
    from animatediff_lightning.workflow_files.render import to_api

    info = {
        "Src": {"input": {"required": {"seed": ["INT", {"control_after_generate": True}], "name": ["STRING", {}]}}},
        "Mid": {"input": {"required": {"x": ["LATENT"], "k": [["a", "b"], {}]}}},
        "Dst": {"input": {"required": {"x": ["LATENT"], "n": ["INT", {}]}, "optional": {"f": ["FLOAT", {}]}}},
    }
    wf = {"nodes": [
        {"id": 1, "type": "Src", "widgets_values": [7, "randomize", "hi"], "inputs": [],
         "outputs": [{"type": "LATENT"}]},
        {"id": 2, "type": "Mid", "mode": 4, "widgets_values": ["b"], "inputs": [{"name": "x", "type": "LATENT", "link": 1}],
         "outputs": [{"type": "LATENT"}]},
        {"id": 3, "type": "Reroute", "inputs": [{"name": "", "type": "*", "link": 2}], "outputs": [{"type": "LATENT"}]},
        {"id": 4, "type": "PrimitiveNode", "widgets_values": [5, "fixed"], "outputs": [{"type": "INT"}]},
        {"id": 5, "type": "Dst", "widgets_values": {"n": 1, "f": 0.5},
         "inputs": [{"name": "x", "type": "LATENT", "link": 3}, {"name": "n", "type": "INT", "link": 4,
                                                                 "widget": {"name": "n"}}]},
        {"id": 6, "type": "Dst", "mode": 2, "widgets_values": [1], "inputs": []},
        {"id": 7, "type": "Note", "widgets_values": ["text"]},
    ], "links": [[1, 1, 0, 2, 0, "LATENT"], [2, 2, 0, 3, 0, "LATENT"], [3, 3, 0, 5, 0, "LATENT"],
                 [4, 4, 0, 5, 1, "INT"]]}
    assert to_api(wf, info) == {
        "1": {"class_type": "Src", "inputs": {"seed": 7, "name": "hi"}},
        "5": {"class_type": "Dst", "inputs": {"n": 5, "f": 0.5, "x": ["1", 0]}},
    }
