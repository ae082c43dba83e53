"""Motion LoRA end to end through a running ComfyUI server: random real-shape SD1.5 checkpoint, real-shape
Lightning module and a real-shape random Motion LoRA (rank 64, 168 pairs, fp32, ~77 MB) chained twice →
16 frames. Strength 0 and a LoRA-free run after a LoRA run give the LoRA-free frames bit for bit (the cached
module is restored); bad LoRA files fail the prompt with our message and the server runs on."""
import numpy as np
import pytest
import torch
from PIL import Image

from support.lora_models import real_motion_lora_file, tiny_motion_lora_sd
from support.model_cache import linked_copy
from support.models import real_motion_module_file, sd15_checkpoint_file
from support.prompts import text_to_video
from support.sd15_models import CHECKPOINT_NAME as CHECKPOINT
from support.server import ComfyServer
from conftest import COMFYUI_PATH

MODULE = "animatediff_lightning_4step_comfyui.safetensors"
LORA = "v2_lora_RandomPan.safetensors"  # real_motion_lora_file()'s name
LORA2 = "v2_lora_RandomZoom.safetensors"
CUT = "v2_lora_Cut.ckpt"
IMAGE_LORA = "sd15_style_lora.safetensors"
PARTIAL = "v2_lora_PanLeft.ckpt.0123456789ab.partial"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("comfy")
    srv = ComfyServer(COMFYUI_PATH, base, {
        "checkpoints": [sd15_checkpoint_file()],
        "animatediff_models": [real_motion_module_file()],
        "animatediff_motion_lora": [real_motion_lora_file(), linked_copy(real_motion_lora_file(), LORA2)],
    })
    folder = base / "models" / "animatediff_motion_lora"
    torch.save(tiny_motion_lora_sd(), folder / CUT)
    (folder / CUT).write_bytes((folder / CUT).read_bytes()[:20_000])  # a download cut short
    from safetensors.torch import save_file
    save_file({"lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight": torch.zeros(4, 320),
               "lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight": torch.zeros(320, 4)},
              str(folder / IMAGE_LORA))
    (folder / PARTIAL).write_bytes(b"\0" * 1000)  # a download in progress
    srv.start()
    yield srv
    srv.stop()


def with_loras(prompt: dict, *loras) -> dict:
    """Insert Load Motion LoRA nodes between the module loader ("5") and the apply node ("6")."""
    source = ["5", 0]
    for i, (name, strength) in enumerate(loras):
        node = str(20 + i)
        prompt[node] = {"class_type": "ADL_LoadMotionLoRA",
                        "inputs": {"motion_module": source, "lora_name": name, "strength": strength}}
        source = [node, 0]
    prompt["6"]["inputs"]["motion_module"] = source
    return prompt


def frames(server, prompt) -> tuple[np.ndarray, dict]:
    result = server.run(prompt)
    assert result["ok"], result["error"] or server.log()[-3000:]
    images = [img for out in result["outputs"].values() for img in out.get("images", [])]
    stack = np.stack([np.asarray(Image.open(server.base_dir / "output" / i["subfolder"] / i["filename"]))
                      for i in images])
    assert stack.shape == (16, 64, 64, 3)
    return stack, result["outputs"]


def t2v(prefix: str) -> dict:
    return text_to_video(CHECKPOINT, MODULE, prefix=prefix)


def test_nodes_listed_with_tooltips(server):
    info = server.get("/object_info")
    lora = info["ADL_LoadMotionLoRA"]
    assert list(lora["input"]["required"]) == ["motion_module", "lora_name", "strength"]
    options = lora["input"]["required"]["lora_name"][1]["options"]
    assert LORA in options and LORA2 in options and PARTIAL not in options
    assert "0.7–0.8" in lora["input"]["required"]["strength"][1]["tooltip"]
    download = info["ADL_DownloadModels"]
    assert "lightning_4step" in download["input"]["required"]["file"][1]["options"]
    assert download["output_node"]
    for spec in (lora, download):
        for name, (kind, *options) in spec["input"]["required"].items():
            assert options and options[0].get("tooltip"), name
        assert all(spec["output_tooltips"]) and spec["category"].startswith("AnimateDiff-Lightning")


def test_chained_loras_change_the_video_and_leave_the_module_untouched(server):
    plain, _ = frames(server, t2v("lora_plain"))
    lora, outputs = frames(server, with_loras(t2v("lora_chain"), (LORA, 0.8), (LORA2, 0.5)))
    assert not np.array_equal(lora, plain)
    text = outputs["20"]["text"][0]
    assert LORA in text and "168 attention weights, rank 64" in text and "strength 0.8" in text
    again, _ = frames(server, t2v("lora_plain_again"))  # the cached module, after the LoRA run
    assert np.array_equal(again, plain)
    zero, _ = frames(server, with_loras(t2v("lora_zero"), (LORA, 0.0)))
    assert np.array_equal(zero, plain)


def test_bad_lora_files(server):
    server.assert_fails_then_recovers(with_loras(t2v("bad_cut"), (CUT, 0.8)), CUT, "corrupt")
    server.assert_fails_then_recovers(with_loras(t2v("bad_image_lora"), (IMAGE_LORA, 0.8)),
                                      IMAGE_LORA, "not a Motion LoRA", "LoRA loader")
    server.assert_fails_then_recovers(with_loras(t2v("bad_missing"), ("v2_lora_Nope.ckpt", 0.8)),
                                      "v2_lora_Nope.ckpt", "animatediff_motion_lora")
