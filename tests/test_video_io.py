"""video/ and glue/video.py in-process: decode options, audio trimming, the memory guard, every bad input,
encode round trips (mp4 / webm / gif decoded back with PyAV), odd sizes, metadata, path safety, and that a
failed save leaves nothing behind. Clips are generated into a temporary folder (24 frames, 64×64)."""
import json
from fractions import Fraction

import numpy as np
import pytest
import torch

import folder_paths
from animatediff_lightning.glue import video as glue
from animatediff_lightning.video import VideoError, decode, source as video_source
from animatediff_lightning.video.decode import LoadOptions, load_file, load_tensor, target_size
from animatediff_lightning.video.encode import encode, tensor_frames
from support.clips import (audio_level, decode_back, frame_index, make_clip, truncated_clip,
                           unsupported_codec_clip)


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    d = tmp_path_factory.mktemp("clips")
    return {
        "plain": make_clip(d / "plain.mp4"),
        "pcm": make_clip(d / "pcm.mov", audio="pcm"),
        "aac": make_clip(d / "aac.mp4", audio="aac"),
        "wide": make_clip(d / "wide.mp4", width=96, height=64),
        "webm": make_clip(d / "plain.webm"),
        "text": _write(d / "notes.mp4", b"these are my notes, not a video\n" * 20),
        "random": _write(d / "noise.mp4", np.random.default_rng(0).integers(0, 256, 5000, np.uint8).tobytes()),
        "truncated": truncated_clip(d / "cut.mp4"),
        "codec": unsupported_codec_clip(d / "codec.avi"),
        "audio_only": _audio_only(d / "sound.mp4"),
    }


def _write(path, data):
    path.write_bytes(data)
    return path


def _audio_only(path):
    import av
    with av.open(str(path), "w") as c:
        s = c.add_stream("aac", rate=48000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 4800), np.float32), format="fltp", layout="mono")
        frame.sample_rate = 48000
        for p in s.encode(frame):
            c.mux(p)
        c.mux(s.encode(None))
    return path


def load(path, **options):
    return load_file(str(path), path.name, LoadOptions(**options))


def indices(images):
    return [frame_index(f) for f in images.numpy()]


# --------------------------------------------------------------------------------------- decode options

def test_whole_clip(clips):
    clip = load(clips["plain"])
    assert clip.images.shape == (24, 64, 64, 3) and clip.images.dtype == torch.float32
    assert 0.0 <= clip.images.min() and clip.images.max() <= 1.0
    assert clip.fps == 24 and clip.frame_count == 24 and clip.audio is None
    assert indices(clip.images) == list(range(24))


def test_skip_nth_cap(clips):
    clip = load(clips["plain"], skip_first_frames=3, select_every_nth=2, frame_load_cap=5)
    assert indices(clip.images) == [3, 5, 7, 9, 11]
    assert clip.fps == 12


def test_force_rate_down_and_up(clips):
    down = load(clips["plain"], force_rate=10)
    assert indices(down.images) == [0, 2, 4, 7, 9, 12, 14, 16, 19, 21] and down.fps == 10
    up = load(clips["plain"], force_rate=48, frame_load_cap=8)
    assert indices(up.images) == [0, 0, 1, 1, 2, 2, 3, 3] and up.fps == 48


def test_force_rate_comes_first_then_skip_nth_cap(clips):
    clip = load(clips["plain"], force_rate=12, skip_first_frames=2, select_every_nth=2, frame_load_cap=3)
    assert indices(clip.images) == [4, 8, 12] and clip.fps == 6


def test_target_size_rounds_to_multiples_of_8():
    assert target_size(64, 64, 0, 0) == (64, 64)          # keep
    assert target_size(96, 64, 100, 0) == (104, 72)       # 100 → 104; height follows the aspect (69.3 → 72)
    assert target_size(96, 64, 0, 30) == (48, 32)
    assert target_size(97, 61, 99, 61) == (96, 64)
    assert target_size(640, 360, 0, 3) == (16, 8)         # never below 8


def test_resize_crop_and_pad_on_a_file(clips):
    crop = load(clips["wide"], width=64, height=64, resize_mode="crop")
    pad = load(clips["wide"], width=64, height=64, resize_mode="pad")
    assert crop.images.shape == pad.images.shape == (24, 64, 64, 3)
    # pad: 96×64 fits as 64×43 centred, black bars above and below; crop fills the frame
    assert pad.images[:, :10].max() == 0 and pad.images[:, 54:].max() == 0
    assert crop.images[:, :10].mean() > 0.1 and crop.images[:, 54:].mean() > 0.1
    odd = load(clips["wide"], width=50)
    assert odd.images.shape[1:] == (32, 48, 3)


@pytest.mark.parametrize("degrees,turns", [(90, 1), (-90, 3), (180, 2)])
def test_display_rotation_is_applied(tmp_path, degrees, turns):
    """Phone clips store landscape frames plus a display rotation: frames come out as a player shows them."""
    import av
    path = tmp_path / f"rot{turns}.mp4"
    stored = np.full((32, 64, 3), 40, np.uint8)
    stored[:8, :8] = 250  # a marker in the stored frame's top-left corner
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=24)
        s.width, s.height, s.pix_fmt = 64, 32, "yuv420p"
        s.set_display_rotation(degrees)
        for _ in range(3):
            c.mux(s.encode(av.VideoFrame.from_ndarray(stored, format="rgb24")))
        c.mux(s.encode(None))
    clip = load(path)
    expected = np.rot90(stored, turns)
    assert clip.images.shape[1:3] == expected.shape[:2]
    assert np.abs(clip.images[0].numpy() * 255 - expected).mean() < 8
    assert load(path, width=16).images.shape[1:3] == ((32, 16) if turns % 2 else (8, 16))


def test_resize_modes_on_a_pattern():
    image = torch.zeros(1, 64, 96, 3)
    image[..., :32, 0] = 1.0   # left third red
    image[..., 32:64, 1] = 1.0  # middle green
    image[..., 64:, 2] = 1.0   # right third blue
    crop = load_tensor(image, Fraction(8), None, "pattern", LoadOptions(width=64, height=64)).images[0]
    assert crop[:, :14, 0].min() > 0.9 and crop[:, 18:46, 1].min() > 0.9 and crop[:, 50:, 2].min() > 0.9
    pad = load_tensor(image, Fraction(8), None, "pattern", LoadOptions(width=64, height=64, resize_mode="pad"))
    pad = pad.images[0]
    assert pad[:10].max() == 0 and pad[54:].max() == 0
    assert pad[20, 2, 0] > 0.9 and pad[20, 61, 2] > 0.9  # the whole width is kept


# ------------------------------------------------------------------------------------------------- audio

def test_audio_covers_exactly_the_selected_frames(clips):
    clip = load(clips["pcm"], skip_first_frames=3, select_every_nth=2, frame_load_cap=5)
    wave = clip.audio["waveform"]
    assert clip.audio["sample_rate"] == 48000 and wave.shape == (1, 2, 20000)  # 5 frames at 12 fps
    levels = sorted({round(float(v) * 64) for v in wave[0, 0, ::400]})
    assert levels == [round(audio_level(i) * 64) for i in range(3, 13)]
    assert abs(float(wave[0, 0, 0]) - audio_level(3)) < 1e-3


def test_audio_with_force_rate(clips):
    clip = load(clips["pcm"], force_rate=10, frame_load_cap=4)
    wave = clip.audio["waveform"]
    assert wave.shape[-1] == 19200  # 0.4 s
    assert abs(float(wave[0, 0, 0]) - audio_level(0)) < 1e-3
    assert abs(float(wave[0, 0, -1]) - audio_level(9)) < 1e-3  # 0.399 s is frame 9 at 24 fps


def test_audio_aac_and_none(clips):
    clip = load(clips["aac"], frame_load_cap=12)
    assert clip.audio["waveform"].shape[-1] == 24000 and clip.audio["waveform"].abs().max() > 0.1
    assert load(clips["plain"]).audio is None


def test_core_video_components_are_trimmed_too():
    images = torch.stack([torch.full((16, 16, 3), (16 + 9 * i) / 255) for i in range(10)])
    wave = torch.arange(10 * 100, dtype=torch.float32).reshape(1, 1, -1)  # 100 samples per frame at 10 fps
    clip = load_tensor(images, Fraction(10), {"waveform": wave, "sample_rate": 1000}, "the VIDEO input",
                       LoadOptions(skip_first_frames=1, select_every_nth=3))
    assert indices(clip.images) == [1, 4, 7] and float(clip.fps) == pytest.approx(10 / 3)
    assert clip.audio["waveform"].shape == (1, 1, 900) and float(clip.audio["waveform"][0, 0, 0]) == 100.0


# ---------------------------------------------------------------------------------------- memory guard

def test_memory_guard_refuses_before_decoding(clips, monkeypatch):
    def never(*a, **k):
        raise AssertionError("decoded although the guard should have refused")
    monkeypatch.setattr(decode, "_collect", never)  # only the first frame is decoded (for its rotation)
    cap = 10 * 64 * 64 * 3 * 4 / 1e9 + 1e-9  # exactly 10 frames fit
    with pytest.raises(VideoError) as e:
        load(clips["plain"], memory_cap_gb=cap)
    message = str(e.value)
    for fragment in ("plain.mp4", "24 frames at 64×64", "10 frames fit", "frame_load_cap to 10", "memory_cap_gb"):
        assert fragment in message, message


def test_memory_guard_lets_a_capped_load_through(clips):
    cap = 10 * 64 * 64 * 3 * 4 / 1e9 + 1e-9
    assert load(clips["plain"], memory_cap_gb=cap, frame_load_cap=10).frame_count == 10
    assert load(clips["plain"], memory_cap_gb=cap, select_every_nth=3).frame_count == 8


def test_memory_guard_holds_when_the_file_hides_its_length(clips, monkeypatch):
    monkeypatch.setattr(video_source, "_stream_seconds", lambda *a: None)  # webm: no frame count, no duration
    cap = 10 * 64 * 64 * 3 * 4 / 1e9 + 1e-9
    with pytest.raises(VideoError, match="at least 11 frames .* 10 frames fit"):
        load(clips["webm"], memory_cap_gb=cap)
    assert load(clips["webm"]).frame_count == 24


# ------------------------------------------------------------------------------------------- bad inputs

@pytest.mark.parametrize("key,fragments", [
    ("text", ["notes.mp4", "cannot be read as a video", "corrupt"]),
    ("random", ["noise.mp4", "cannot be read as a video"]),
    ("truncated", ["cut.mp4", "cannot be read as a video", "truncated"]),
    ("codec", ["codec.avi", "codec", "cannot decode", "H.264"]),
    ("audio_only", ["sound.mp4", "no video stream"]),
])
def test_bad_files(clips, key, fragments):
    with pytest.raises(VideoError) as e:
        load(clips[key])
    assert isinstance(e.value, ValueError)
    for fragment in fragments:
        assert fragment in str(e.value), str(e.value)


def test_missing_file(tmp_path):
    with pytest.raises(VideoError, match="'gone.mp4' does not exist"):
        load(tmp_path / "gone.mp4")


@pytest.mark.parametrize("options,fragments", [
    ({"skip_first_frames": 24}, ["has 24 frames", "skip_first_frames = 24", "below 24"]),
    ({"skip_first_frames": 10, "force_rate": 8}, ["has 8 frames at force_rate = 8", "below 8"]),
])
def test_zero_frames_left(clips, options, fragments):
    with pytest.raises(VideoError) as e:
        load(clips["plain"], **options)
    for fragment in fragments:
        assert fragment in str(e.value), str(e.value)


def test_bad_option_values(clips):
    with pytest.raises(VideoError, match="select_every_nth"):
        load(clips["plain"], select_every_nth=0)
    with pytest.raises(VideoError, match="resize_mode"):
        load(clips["plain"], resize_mode="stretch")


# --------------------------------------------------------------------------------------- glue: folders

@pytest.fixture
def folders(tmp_path, monkeypatch):
    root = tmp_path / "comfy"
    for name in ("input", "output"):
        (root / name).mkdir(parents=True)
    monkeypatch.setattr(folder_paths, "get_input_directory", lambda: str(root / "input"))
    monkeypatch.setattr(folder_paths, "get_output_directory", lambda: str(root / "output"))
    return root


def test_input_list_and_paths(folders, clips):
    make_clip(folders / "input" / "shot.mp4", frames=4)
    make_clip(folders / "input" / "sub" / "deep.webm", frames=4)
    (folders / "input" / "photo.png").write_bytes(b"png")
    make_clip(folders / "output" / "made_00001_.mp4", frames=3)
    assert glue.input_videos() == ["shot.mp4"]
    assert glue.load_video("shot.mp4", "", LoadOptions()).frame_count == 4
    assert glue.load_video("shot.mp4", " sub/deep.webm ", LoadOptions()).frame_count == 4  # path wins
    assert glue.load_video("made_00001_.mp4 [output]", "", LoadOptions()).frame_count == 3


@pytest.mark.parametrize("path", ["../secret.mp4", "/etc/hostname", "sub/../../secret.mp4", "..\\secret.mp4",
                                  "../output/x.mp4 [input]"])
def test_paths_leaving_the_input_folder_are_refused(folders, path):
    (folders / "secret.mp4").write_bytes(b"x")
    with pytest.raises(glue.VideoPathError, match="outside ComfyUI's input folder"):
        glue.load_video("", path, LoadOptions())


def test_nothing_chosen_and_missing(folders):
    with pytest.raises(VideoError, match="no clip chosen"):
        glue.load_video("", "", LoadOptions())
    with pytest.raises(VideoError, match="'nope.mp4' is not in ComfyUI's input folder"):
        glue.load_video("nope.mp4", "", LoadOptions())


def test_core_video_in_and_out(folders, clips):
    from comfy_api.latest import InputImpl
    result = glue.load_video("", "", LoadOptions(frame_load_cap=6), InputImpl.VideoFromFile(str(clips["aac"])))
    assert result.frame_count == 6 and result.audio is not None
    components = result.video.get_components()
    assert components.images is result.images and components.frame_rate == 24
    again = glue.load_video("", "", LoadOptions(select_every_nth=2), result.video)
    assert again.frame_count == 3 and again.fps == 12 and indices(again.images) == [0, 2, 4]


# ----------------------------------------------------------------------------------------------- encode

META = {"prompt": json.dumps({"1": {"class_type": "ADL_SaveVideo"}}), "workflow": json.dumps({"nodes": []})}


@pytest.mark.parametrize("fmt", ["mp4", "webm", "gif"])
@pytest.mark.parametrize("size", [(64, 64), (63, 45)])
def test_encode_round_trip(tmp_path, clips, fmt, size):
    w, h = size
    source = load(clips["aac"])
    images = source.images[:, :h, :w]
    path = tmp_path / f"out.{fmt}"
    assert encode(str(path), fmt, tensor_frames(images), w, h, 24.0, 19, source.audio, META) == 24
    back = decode_back(path)
    padded = (w + w % 2, h + h % 2) if fmt != "gif" else (w, h)
    assert (back["frames"], back["width"], back["height"]) == (24, *padded)
    assert back["fps"] == pytest.approx(24.0)
    assert back["indices"] == list(range(24))
    assert back["codec"] == {"mp4": "h264", "webm": "vp9", "gif": "gif"}[fmt]
    if fmt == "gif":
        assert back["audio_seconds"] is None
    else:
        assert back["pix_fmt"] == "yuv420p"
        assert back["audio_seconds"] == pytest.approx(1.0, abs=0.05)
        tags = {k.lower(): v for k, v in back["metadata"].items()}
        assert json.loads(tags["prompt"]) == json.loads(META["prompt"]) and "workflow" in tags
    if (w, h) != padded:  # the padding repeats the last column / row
        last = back["arrays"][5]
        assert np.abs(last[:, w].astype(int) - last[:, w - 1].astype(int)).mean() < 12


def test_save_names_counter_and_video_output(folders):
    images = torch.rand(5, 32, 48, 3)
    first = glue.save_video(images, 8.0, "sub/clip", "mp4", 23, prompt={"1": {}}, extra_pnginfo={"workflow": {}})
    second = glue.save_video(images, 8.0, "sub/clip", "gif", 23)
    assert (first.filename, first.subfolder) == ("clip_00001_.mp4", "sub")
    assert second.filename == "clip_00002_.gif"
    assert sorted(p.name for p in (folders / "output" / "sub").iterdir()) == ["clip_00001_.mp4", "clip_00002_.gif"]
    assert first.video.get_dimensions() == (48, 32) and first.video.get_frame_count() == 5


@pytest.mark.parametrize("prefix", ["../escape", "/tmp/escape", "sub/../../escape", "..\\..\\escape",
                                    "C:\\escape", "~/escape", "", "  ", "a/\x00b", "./..", "sub/.."])
def test_prefixes_leaving_the_output_folder_are_refused(folders, prefix):
    before = sorted(p.name for p in folders.parent.rglob("*"))
    with pytest.raises(glue.VideoPathError):
        glue.save_video(torch.rand(2, 16, 16, 3), 8.0, prefix, "mp4", 23)
    assert sorted(p.name for p in folders.parent.rglob("*")) == before


def test_failed_save_leaves_nothing(folders, monkeypatch):
    import comfy.model_management
    calls = {"n": 0}

    def interrupt_at_frame_3():
        calls["n"] += 1
        if calls["n"] == 3:
            raise comfy.model_management.InterruptProcessingException()
    monkeypatch.setattr(comfy.model_management, "throw_exception_if_processing_interrupted", interrupt_at_frame_3)
    with pytest.raises(comfy.model_management.InterruptProcessingException):
        glue.save_video(torch.rand(8, 32, 32, 3), 8.0, "half", "mp4", 23)
    with pytest.raises(VideoError, match="crf 60 is out of range for mp4"):
        glue.save_video(torch.rand(2, 32, 32, 3), 8.0, "bad_crf", "mp4", 60)
    assert list((folders / "output").iterdir()) == []


def test_metadata_can_be_disabled(folders, monkeypatch):
    monkeypatch.setattr(glue.args, "disable_metadata", True)
    saved = glue.save_video(torch.rand(2, 16, 16, 3), 8.0, "plain", "mp4", 23, prompt={"1": {}})
    assert "prompt" not in decode_back(saved.path)["metadata"]


def test_audio_odd_rate_mono_and_extra_channels(tmp_path):
    images = torch.rand(6, 16, 16, 3)
    for channels, rate in [(1, 1000), (6, 44100)]:
        audio = {"waveform": 0.3 * torch.randn(2, channels, rate), "sample_rate": rate}  # batch of 2, 1 s
        for fmt in ("mp4", "webm"):
            path = tmp_path / f"a{channels}.{fmt}"
            encode(str(path), fmt, tensor_frames(images), 16, 16, 12.0, 23, audio)
            assert decode_back(path)["audio_seconds"] == pytest.approx(0.5, abs=0.05)  # cut at 6 / 12 s
