"""The animated preview (glue/preview.py), in-process on the tiny models: every frame of x0 every step, for
Sample Lightning and the core sampler paths, with context windows, honouring the preview setting; nothing
reaches the output; a stopped or failed run clears it."""
import base64
import io

import numpy
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

import comfy.cli_args
import comfy.model_management
import comfy.sample
import comfy.samplers
import folder_paths
import latent_preview
from comfy.cli_args import LatentPreviewMethod
from comfy_execution.utils import CurrentNodeContext

from animatediff_lightning.glue import preview
from animatediff_lightning.glue.context import apply_context_windows, make_handler
from animatediff_lightning.glue.injection import apply_motion_module, load_motion_module_handle
from animatediff_lightning.glue.sampling import euler_sampler, model_sigmas, sample_lightning
from support.models import tiny_motion_module_file
from support.sd15_models import tiny_model_patcher, tiny_unet_config

FRAMES, STEPS = 8, 3


class FakeServer:
    """What the wrapper reads from ComfyUI's PromptServer: who queued the prompt, the node, send_sync."""

    def __init__(self, client_id="client-1", node="3"):
        self.client_id, self.last_node_id = client_id, node
        self.sent = []

    def send_sync(self, event, data, sid=None):
        self.sent.append((event, data, sid))

    def previews(self):
        return [d for e, d, _ in self.sent if e == preview.EVENT and not d.get("cleared")]

    def cleared(self):
        return [d for e, d, _ in self.sent if e == preview.EVENT and d.get("cleared")]


@pytest.fixture(scope="module")
def model():
    config = tiny_unet_config()
    channels = tuple(config["model_channels"] * m for m in config["channel_mult"])
    handle = load_motion_module_handle(str(tiny_motion_module_file("v2", channels=channels)))
    return apply_motion_module(tiny_model_patcher(seed=0), handle)


@pytest.fixture
def server(monkeypatch):
    srv = FakeServer()
    monkeypatch.setattr(preview, "prompt_server", lambda: srv)
    yield srv
    preview.store._latest.clear()


@pytest.fixture
def method(monkeypatch):
    def set_method(m):
        monkeypatch.setattr(comfy.cli_args.args, "preview_method", m)
    set_method(LatentPreviewMethod.Latent2RGB)
    return set_method


def conds(seed=0):
    dim = tiny_unet_config()["context_dim"]
    g = torch.Generator().manual_seed(seed)
    return [[torch.randn(1, 77, dim, generator=g), {}]], [[torch.randn(1, 77, dim, generator=g), {}]]


def latent(frames=FRAMES):
    return {"samples": torch.zeros(frames, 4, 8, 8)}


def run_sample_lightning(model, frames=FRAMES, node="3", prompt_id="p1"):
    pos, neg = conds()
    with CurrentNodeContext(prompt_id, node):
        return sample_lightning(model, pos, neg, latent(frames), seed=1, steps=STEPS, cfg=1.0, denoise=1.0)["samples"]


def sheet_frames(message) -> list[Image.Image]:
    head, data = message["image"].split(",", 1)
    assert head == "data:image/jpeg;base64"
    sheet = Image.open(io.BytesIO(base64.b64decode(data)))
    assert sheet.format == "JPEG"
    w, h, cols = message["width"], message["height"], message["cols"]
    assert sheet.size == (cols * w, message["rows"] * h)
    return [sheet.crop(((i % cols) * w, (i // cols) * h, (i % cols + 1) * w, (i // cols + 1) * h))
            for i in range(message["frames"])]


def pixels(image):
    return torch.from_numpy(numpy.asarray(image, dtype=numpy.float32))


def assert_animated(messages, frames=FRAMES, steps=STEPS):
    assert [m["step"] for m in messages] == list(range(1, steps + 1))
    assert all(m["total"] == steps and m["frames"] == frames for m in messages)
    sheets = [sheet_frames(m) for m in messages]
    for step in sheets:
        assert max(max(f.size) for f in step) <= preview.MAX_SIDE
        # the frames of one step differ from each other: it animates
        assert any((pixels(step[0]) - pixels(f)).abs().mean() > 1 for f in step[1:])
    # and each step shows a new prediction
    assert all((pixels(a[0]) - pixels(b[0])).abs().mean() > 0.5 for a, b in zip(sheets, sheets[1:]))


def test_sample_lightning_sends_every_frame_every_step_to_the_queuing_client(model, server, method):
    run_sample_lightning(model)
    messages = server.previews()
    assert_animated(messages)
    assert {(m["prompt_id"], m["node"], m["display_node"], m["client_id"]) for m in messages} == {
        ("p1", "3", "3", "client-1")}
    assert {sid for e, _d, sid in server.sent} == {"client-1"}  # to that client only, not broadcast
    assert messages[0]["width"] == 8 and messages[0]["height"] == 8  # latent2rgb: one pixel per latent pixel
    assert preview.store.current() == []  # done sampling: nothing kept for later clients
    assert server.cleared() == []


def test_previews_off_decodes_and_sends_nothing(model, server, method, monkeypatch):
    method(LatentPreviewMethod.NoPreviews)
    calls = []
    monkeypatch.setattr(preview, "decode_frames", lambda *a: calls.append(a))
    run_sample_lightning(model)
    assert server.sent == [] and calls == []
    assert preview.make_previewer(model) is None


def test_no_server_no_preview(model, monkeypatch, method):
    monkeypatch.setattr(preview, "prompt_server", lambda: None)
    calls = []
    monkeypatch.setattr(preview, "make_previewer", lambda *a: calls.append(a))
    run_sample_lightning(model)
    assert calls == []


def test_the_preview_changes_nothing_in_the_output(model, server, method):
    with_preview = run_sample_lightning(model)
    method(LatentPreviewMethod.NoPreviews)
    without = run_sample_lightning(model)
    assert len(server.previews()) == STEPS
    assert torch.equal(with_preview, without)


def core_ksampler(model):
    pos, neg = conds()
    noise = comfy.sample.prepare_noise(latent()["samples"], 1)
    callback = latent_preview.prepare_callback(model, STEPS)
    return comfy.sample.sample(model, noise, STEPS, 1.0, "euler", "simple", pos, neg, latent()["samples"],
                               callback=callback, disable_pbar=True, seed=1)


def core_sampler_custom(model):
    pos, neg = conds()
    noise = comfy.sample.prepare_noise(latent()["samples"], 1)
    return comfy.sample.sample_custom(model, noise, 1.0, euler_sampler(), model_sigmas(model, STEPS, 1.0), pos, neg,
                                      latent()["samples"], callback=latent_preview.prepare_callback(model, STEPS),
                                      disable_pbar=True, seed=1)


def core_sampler_custom_advanced(model):
    """As SamplerCustomAdvanced runs: a CFGGuider's sample() with the node's callback."""
    pos, neg = conds()
    guider = comfy.samplers.CFGGuider(model)
    guider.set_conds(pos, neg)
    guider.set_cfg(1.0)
    noise = comfy.sample.prepare_noise(latent()["samples"], 1)
    return guider.sample(noise, latent()["samples"], euler_sampler(), model_sigmas(model, STEPS, 1.0),
                         callback=latent_preview.prepare_callback(model, STEPS), disable_pbar=True, seed=1)


@pytest.mark.parametrize("run", [core_ksampler, core_sampler_custom, core_sampler_custom_advanced])
def test_core_samplers_on_a_model_with_the_motion_module(model, server, method, run):
    with CurrentNodeContext("p2", "7"):
        run(model)
    assert_animated(server.previews())


def test_a_model_without_the_motion_module_gets_no_animated_preview(server, method):
    with CurrentNodeContext("p3", "7"):
        core_sampler_custom(tiny_model_patcher(seed=0))
    assert server.sent == []


def test_context_windows_preview_the_whole_video(model, server, method):
    frames = 12
    windowed = apply_context_windows(model, make_handler(8, 2, "static", "pyramid", False, "per-frame"))
    run_sample_lightning(windowed, frames=frames)
    messages = server.previews()
    assert_animated(messages, frames=frames)
    assert (messages[0]["cols"], messages[0]["rows"]) == (4, 3)


@pytest.mark.parametrize("failure", ["interrupted", "error"])
def test_a_stopped_or_failed_run_clears_its_preview(model, server, method, failure):
    """The node's callback stops the run at the second step (as Cancel does through the progress bar)."""
    kept = []
    pos, neg = conds()

    def callback(step, x0, x, total):
        if step == 1:
            kept.extend(preview.store.current("client-1"))
            if failure == "interrupted":
                raise comfy.model_management.InterruptProcessingException()
            raise RuntimeError("boom")
    noise = comfy.sample.prepare_noise(latent()["samples"], 1)
    with CurrentNodeContext("p4", "9"), pytest.raises((RuntimeError, comfy.model_management.InterruptProcessingException)):
        comfy.sample.sample_custom(model, noise, 1.0, euler_sampler(), model_sigmas(model, STEPS, 1.0), pos, neg,
                                   latent()["samples"], callback=callback, disable_pbar=True, seed=1)
    assert len(server.previews()) == 1
    assert [m["step"] for m in kept] == [1] and kept[0]["node"] == "9"  # a mid-run client got the latest
    assert [(c["node"], c["reason"]) for c in server.cleared()] == [("9", failure)]
    assert preview.store.current() == []


def test_store_serves_the_queuing_client_and_headless_runs():
    store = preview.PreviewStore()
    store.put({"prompt_id": "a", "node": "1", "client_id": "x"})
    store.put({"prompt_id": "a", "node": "2", "client_id": None})
    assert {m["node"] for m in store.current("x")} == {"1", "2"}
    assert {m["node"] for m in store.current("y")} == {"2"}
    store.put({"prompt_id": "b", "node": "1", "client_id": "x"})  # a new prompt: the old one's are over
    assert [(m["prompt_id"], m["node"]) for m in store.current()] == [("b", "1")]


def test_unknown_keywords_pass_through():
    seen = {}

    class Executor:
        class_obj = None

        def __call__(self, *args, **kwargs):
            seen.update(kwargs, args=len(args))
            return "out"
    wrapper = preview.VideoPreview()
    assert wrapper(Executor(), torch.zeros(1), None, None, torch.ones(2), latent_shapes=[(1, 4, 8, 8)]) == "out"
    assert seen == {"latent_shapes": [(1, 4, 8, 8)], "args": 8}


def test_long_videos_stay_within_the_sheet_limit():
    frames = [Image.new("RGB", (512, 512), (i, i, i)) for i in range(64)]
    _jpeg, layout = preview.sprite_sheet(frames)
    assert layout["cols"] * layout["width"] <= preview.MAX_SHEET_SIDE
    assert layout["rows"] * layout["height"] <= preview.MAX_SHEET_SIDE
    assert max(layout["width"], layout["height"]) <= preview.MAX_SIDE


@pytest.fixture
def taesd_decoder(tmp_path, monkeypatch):
    """A random-weight TAESD decoder with the real layout in a vae_approx folder (no real file is here)."""
    from comfy.taesd.taesd import TAESD
    torch.manual_seed(0)
    folder = tmp_path / "vae_approx"
    folder.mkdir()
    save_file({k: v.contiguous() for k, v in TAESD().taesd_decoder.state_dict().items()},
              str(folder / "taesd_decoder.safetensors"))
    monkeypatch.setitem(folder_paths.folder_names_and_paths, "vae_approx",
                        ([str(folder)], folder_paths.supported_pt_extensions))
    folder_paths.filename_list_cache.pop("vae_approx", None)
    yield folder
    folder_paths.filename_list_cache.pop("vae_approx", None)


def test_taesd_when_chosen_and_present(model, server, method, taesd_decoder):
    method(LatentPreviewMethod.TAESD)
    assert isinstance(preview.make_previewer(model), latent_preview.TAESDPreviewerImpl)
    run_sample_lightning(model)
    messages = server.previews()
    assert len(messages) == STEPS
    assert (messages[0]["width"], messages[0]["height"]) == (64, 64)  # TAESD: full 8x upscale, under 256
