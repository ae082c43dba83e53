"""Load Images (Lightning): a folder of frames as a video. In-process (video/frames_folder.py, glue/images.py,
the node): natural order, skip / every n-th / cap, mixed sizes, alpha → mask, EXIF orientation, other files
left out, 16-bit greyscale, the memory guard, every bad input's message, the fingerprint. Then through a real
server: a folder of 6 PNGs under input/ → ADL_LoadImages → core SaveImage / ADL_SaveVideo, and bad folders
failing with our message, leaving nothing behind. Images are drawn with Pillow into temporary folders; each
carries its index in its top-left block (support.clips)."""
import os
import time

import numpy as np
import pytest
import torch
from PIL import Image

import folder_paths
from animatediff_lightning.glue import images as glue
from animatediff_lightning.nodes import NODES
from animatediff_lightning.video import VideoError
from animatediff_lightning.video.frames_folder import (FolderOptions, folder_fingerprint, image_files, load_folder,
                                                       natural_key)
from support.clips import draw_frame, frame_index


def frame(i, width=32, height=32):
    return Image.fromarray(draw_frame(i, 8, width, height))


def write_frames(folder, names, width=32, height=32):
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names):
        frame(i, width, height).save(folder / name)
    return folder


def load(folder, **options):
    return load_folder(str(folder), folder.name, FolderOptions(**options))


def indices(images):
    return [frame_index(f) for f in images.numpy()]


# -------------------------------------------------------------------------------------------- listing

def test_natural_sort_and_other_files_left_out(tmp_path):
    names = ["frame1.png", "frame2.png", "Frame3.PNG", "frame10.png", "frame11.jpg", "frame20.webp"]
    folder = write_frames(tmp_path / "seq", names)
    (folder / "notes.txt").write_text("not a frame")
    (folder / "frame0.mp4").write_bytes(b"not a frame either")
    (folder / ".frame0.png").write_bytes(b"macOS resource fork")
    (folder / "sub.png").mkdir()
    assert image_files(str(folder)) == names
    clip = load(folder)
    assert clip.files == names and clip.available == 6 and clip.frame_count == 6
    assert indices(clip.images) == list(range(6))
    assert clip.images.shape == (6, 32, 32, 3) and clip.images.dtype == torch.float32
    assert 0.0 <= clip.images.min() and clip.images.max() <= 1.0
    assert sorted(["img_9", "img_10", "img_09", "IMG_8"], key=natural_key) == ["IMG_8", "img_09", "img_9", "img_10"]


def test_every_extension_pillow_reads(tmp_path):
    names = [f"f{i}.{ext}" for i, ext in enumerate(["png", "jpg", "jpeg", "webp", "bmp", "tif", "tiff"])]
    clip = load(write_frames(tmp_path / "kinds", names))
    assert clip.files == names and indices(clip.images) == list(range(7))


def test_skip_nth_cap(tmp_path):
    folder = write_frames(tmp_path / "ten", [f"{i:03}.png" for i in range(10)])
    assert indices(load(folder, skip_first_images=1, select_every_nth=3).images) == [1, 4, 7]
    assert indices(load(folder, skip_first_images=1, select_every_nth=3, image_load_cap=2).images) == [1, 4]
    assert indices(load(folder, image_load_cap=4).images) == [0, 1, 2, 3]
    assert indices(load(folder, skip_first_images=9).images) == [9]


# -------------------------------------------------------------------------------------------- pixels

def test_pixels_match_core_load_image(tmp_path):
    write_frames(tmp_path / "one", ["a.png"], 24, 16)
    ours = load(tmp_path / "one").images[0]
    expected = torch.from_numpy(np.asarray(Image.open(tmp_path / "one" / "a.png").convert("RGB"),
                                           np.float32) / 255.0)
    assert torch.allclose(ours, expected, rtol=0, atol=1e-6)  # × (1/255) as Load Video, core ÷ 255


def test_mixed_sizes_follow_the_first_image(tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    frame(0, 32, 16).save(folder / "1.png")
    frame(1, 64, 32).save(folder / "2.png")   # same aspect, bigger
    frame(2, 16, 16).save(folder / "3.png")   # other aspect
    crop = load(folder)
    assert crop.images.shape == (3, 16, 32, 3) and indices(crop.images)[:2] == [0, 1]
    assert crop.masks.shape == (3, 16, 32) and not crop.masks.any()
    pad = load(folder, resize_mode="pad")
    assert pad.images.shape == (3, 16, 32, 3)
    # the square image sits in the middle 16 columns, black bars left and right, masked as transparent
    assert pad.images[2, :, :8].max() == 0 and pad.masks[2, :, :8].min() == 1 and pad.masks[2, :, 8:24].max() == 0
    assert not pad.masks[:2].any()
    sized = load(folder, width=40, height=0)  # width rounded to 8, height following the first image's aspect
    assert sized.images.shape == (3, 24, 40, 3)
    assert load(folder, skip_first_images=2).images.shape == (1, 16, 16, 3)  # the first *loaded* image


def test_alpha_becomes_the_mask(tmp_path):
    folder = tmp_path / "alpha"
    folder.mkdir()
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., :3] = 200
    rgba[:, :4, 3] = 0      # left half transparent
    rgba[:, 4:, 3] = 255
    rgba[0, 7, 3] = 51      # one pixel 20 % opaque
    Image.fromarray(rgba, "RGBA").save(folder / "1.png")
    Image.fromarray(np.full((8, 8, 3), 90, np.uint8)).save(folder / "2.png")   # no alpha: mask 0
    palette = Image.new("P", (8, 8), 0)
    palette.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    palette.paste(1, (0, 0, 8, 2))
    palette.save(folder / "3.png", transparency=1)                              # colour 1 transparent
    clip = load(folder)
    assert clip.masks.shape == (3, 8, 8) and clip.masks.dtype == torch.float32
    assert clip.masks[0, :, :4].eq(1).all() and clip.masks[0, 1:, 4:].eq(0).all()
    assert clip.masks[0, 0, 7].item() == pytest.approx(0.8, abs=1e-6)
    assert not clip.masks[1].any()
    assert clip.masks[2, :2].eq(1).all() and clip.masks[2, 2:].eq(0).all()
    assert clip.images[0, 0, 5, 0].item() == pytest.approx(200 / 255)  # colour kept, alpha dropped


def test_no_alpha_anywhere_gives_zero_masks_of_the_batch_shape(tmp_path):
    clip = load(write_frames(tmp_path / "plain", ["a.jpg", "b.jpg"], 24, 16))
    assert clip.masks.shape == (2, 16, 24) and not clip.masks.any()


@pytest.mark.parametrize("orientation,corner", [(1, (0, 0)), (3, (-1, -1)), (6, (0, -1)), (8, (-1, 0))])
def test_exif_orientation_is_applied(tmp_path, orientation, corner):
    folder = tmp_path / f"exif{orientation}"
    folder.mkdir()
    stored = np.zeros((10, 20, 3), np.uint8)
    stored[:2, :2] = 255  # a white corner, top-left as stored
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(stored).save(folder / "a.jpg", exif=exif, quality=100)
    image = load(folder).images[0]
    assert image.shape[:2] == ((20, 10) if orientation in (6, 8) else (10, 20))
    row, col = corner
    assert image[row, col].min() > 0.8  # the corner moved where the viewer shows it


def test_sixteen_bit_greyscale(tmp_path):
    folder = tmp_path / "deep"
    folder.mkdir()
    Image.fromarray(np.full((8, 8), 65535 // 2, np.uint16)).save(folder / "a.png")
    image = load(folder).images[0]
    assert image.shape == (8, 8, 3) and image.mean().item() == pytest.approx(0.5, abs=0.01)


# ---------------------------------------------------------------------------------------- memory guard

def test_memory_guard_refuses_before_decoding(tmp_path, monkeypatch):
    folder = write_frames(tmp_path / "big", [f"{i}.png" for i in range(6)], 64, 64)
    from animatediff_lightning.video import frames_folder
    decoded = []
    monkeypatch.setattr(frames_folder, "read_image", lambda *a: decoded.append(a) or pytest.fail("decoded"))
    # 64×64×3×4 = 49 152 bytes an image: 4 fit in 0.0002 GB
    with pytest.raises(VideoError) as e:
        load(folder, memory_cap_gb=0.0002)
    message = str(e.value)
    for fragment in ("'big'", "6 images at 64×64", "0.3 MB", "memory_cap_gb = 0.0002", "4 images fit",
                     "image_load_cap to 4", "select_every_nth"):
        assert fragment in message, (fragment, message)
    with pytest.raises(VideoError, match="one image at 512×512"):
        load(folder, width=512, height=512, memory_cap_gb=0.001)
    assert not decoded


def test_memory_guard_lets_a_capped_or_thinned_load_through(tmp_path):
    folder = write_frames(tmp_path / "big", [f"{i}.png" for i in range(6)], 64, 64)
    assert load(folder, memory_cap_gb=0.0002, image_load_cap=4).frame_count == 4
    assert load(folder, memory_cap_gb=0.0002, select_every_nth=2).frame_count == 3


# ------------------------------------------------------------------------------------------ bad inputs

def test_folder_without_images(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(VideoError, match=r"folder 'empty' holds no images: put \.png"):
        load(empty)
    (empty / "notes.txt").write_text("x")
    (empty / "clip.mp4").write_text("x")
    with pytest.raises(VideoError, match=r"folder 'empty' holds no images \(2 other files or folders left out\)"):
        load(empty)


def test_skip_past_the_end_says_how_many(tmp_path):
    folder = write_frames(tmp_path / "five", [f"{i}.png" for i in range(5)])
    with pytest.raises(VideoError, match="'five': no images left to load: the folder has 5 images and "
                                         "skip_first_images = 5 skips them all. Set skip_first_images below 5"):
        load(folder, skip_first_images=5)


@pytest.mark.parametrize("data", [b"this is not a png\n" * 10, None])
def test_corrupt_image_is_named(tmp_path, data):
    folder = write_frames(tmp_path / "seq", ["1.png", "2.png", "3.png"])
    whole = (folder / "2.png").read_bytes()
    (folder / "2.png").write_bytes(data if data is not None else whole[:len(whole) // 2])  # garbage / truncated
    with pytest.raises(VideoError, match=r"'seq/2.png' cannot be read as an image: it is corrupt, truncated"):
        load(folder)
    assert load(folder, image_load_cap=1).frame_count == 1  # not among the loaded ones: not read
    (folder / "1.png").write_bytes(b"garbage")  # the first one: its header, read for the size, fails
    with pytest.raises(VideoError, match="'seq/1.png' cannot be read as an image"):
        load(folder)


def test_missing_folder_and_file_instead_of_folder(tmp_path):
    with pytest.raises(VideoError, match="folder 'gone' does not exist"):
        load_folder(str(tmp_path / "gone"), "gone", FolderOptions())
    (tmp_path / "a.png").write_bytes(b"x")
    with pytest.raises(VideoError, match="'a.png' is a file, not a folder"):
        load_folder(str(tmp_path / "a.png"), "a.png", FolderOptions())


def test_bad_option_values(tmp_path):
    folder = write_frames(tmp_path / "seq", ["1.png"])
    for name, value in (("image_load_cap", -1), ("skip_first_images", -1), ("select_every_nth", 0),
                        ("width", -8)):
        with pytest.raises(VideoError, match=f"{name} must be"):
            load(folder, **{name: value})
    with pytest.raises(VideoError, match="resize_mode"):
        load(folder, resize_mode="stretch")
    with pytest.raises(VideoError, match="memory_cap_gb must be more than 0"):
        load(folder, memory_cap_gb=0)


# ---------------------------------------------------------------------------------- glue: input folder

@pytest.fixture
def folders(tmp_path, monkeypatch):
    root = tmp_path / "comfy"
    for name in ("input", "output"):
        (root / name).mkdir(parents=True)
    monkeypatch.setattr(folder_paths, "get_input_directory", lambda: str(root / "input"))
    monkeypatch.setattr(folder_paths, "get_output_directory", lambda: str(root / "output"))
    return root


def test_folder_list_and_paths(folders):
    inputs = folders / "input"
    write_frames(inputs / "shot1", ["1.png", "2.png", "3.png"])
    write_frames(inputs / "Shots" / "deep", ["1.png", "2.png"])
    write_frames(inputs / ".cache", ["1.png"])
    write_frames(folders / "output" / "renders", ["1.png"])
    frame(0).save(inputs / "photo.png")
    assert glue.input_folders() == ["shot1", "Shots"]
    result = glue.load_images("shot1", "", FolderOptions(select_every_nth=2), 12.0)
    assert (result.frame_count, result.fps, result.images.shape[0], result.masks.shape[0]) == (2, 6.0, 2, 2)
    assert glue.load_images("shot1", " Shots/deep ", FolderOptions(), 8.0).frame_count == 2  # path wins
    assert glue.load_images("", str(inputs / "Shots" / "deep"), FolderOptions(), 8.0).frame_count == 2  # absolute
    assert glue.load_images("renders [output]", "", FolderOptions(), 8.0).frame_count == 1


@pytest.mark.parametrize("path", ["..", "../output", "/etc", "shot1/../../output", "..\\output",
                                  "../output [input]"])
def test_paths_leaving_the_input_folder_are_refused(folders, path):
    write_frames(folders / "input" / "shot1", ["1.png"])
    with pytest.raises(glue.VideoPathError, match="outside ComfyUI's input folder"):
        glue.load_images("shot1", path, FolderOptions(), 8.0)


def test_nothing_chosen_missing_and_a_file(folders):
    frame(0).save(folders / "input" / "photo.png")
    with pytest.raises(VideoError, match="no folder chosen"):
        glue.load_images("", "  ", FolderOptions(), 8.0)
    with pytest.raises(VideoError, match="directory 'nope': no such folder in ComfyUI's input folder"):
        glue.load_images("nope", "", FolderOptions(), 8.0)
    with pytest.raises(VideoError, match="path 'photo.png' is a file, not a folder"):
        glue.load_images("", "photo.png", FolderOptions(), 8.0)
    write_frames(folders / "input" / "shot1", ["1.png"])
    with pytest.raises(VideoError, match="fps must be more than 0"):
        glue.load_images("shot1", "", FolderOptions(), 0.0)


def test_fingerprint_follows_the_images(folders):
    folder = write_frames(folders / "input" / "shot1", ["1.png", "2.png"])
    first = glue.images_fingerprint("shot1", "")
    assert first and first == glue.images_fingerprint("other", "shot1") == folder_fingerprint(str(folder))
    (folder / "notes.txt").write_text("ignored")
    assert glue.images_fingerprint("shot1", "") == first
    frame(5).save(folder / "3.png")
    added = glue.images_fingerprint("shot1", "")
    assert added != first
    later = time.time_ns() + 5_000_000_000
    os.utime(folder / "1.png", ns=(later, later))  # rewritten in place
    assert glue.images_fingerprint("shot1", "") not in (first, added)
    assert glue.images_fingerprint("gone", "") == "" and glue.images_fingerprint("", "../..") == ""


def test_node_schema_and_execute(folders):
    write_frames(folders / "input" / "shot1", ["1.png", "2.png", "3.png", "4.png"])
    [node] = [n for n in NODES if n.define_schema().node_id == "ADL_LoadImages"]
    schema = node.define_schema()
    assert schema.display_name == "Load Images (Lightning)" and schema.category == "AnimateDiff-Lightning/video"
    assert [i.id for i in schema.inputs] == ["directory", "path", "image_load_cap", "skip_first_images",
                                             "select_every_nth", "fps", "width", "height", "resize_mode",
                                             "memory_cap_gb"]
    assert all(i.tooltip for i in schema.inputs) and all(o.tooltip for o in schema.outputs)
    assert [o.display_name for o in schema.outputs] == ["images", "mask", "frame_count", "fps"]
    assert node.validate_inputs("stale choice", "") is True
    out = node.execute("shot1", "", 0, 1, 2, 8.0, 0, 0, "crop", 4.0)
    images, masks, count, fps = out.result
    assert images.shape == (2, 32, 32, 3) and masks.shape == (2, 32, 32) and count == 2 and fps == 4.0
    assert indices(images) == [1, 3]
    assert node.fingerprint_inputs(directory="shot1", path="") == glue.images_fingerprint("shot1", "")


# ---------------------------------------------------------------------------------------------- server

@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from conftest import COMFYUI_PATH
    from support.server import ComfyServer
    base = tmp_path_factory.mktemp("comfy_images")
    inputs = base / "input"
    write_frames(inputs / "seq", [f"frame{i}.png" for i in range(1, 7)], 64, 64)  # frame1 … frame6
    (inputs / "seq" / "readme.txt").write_text("left out")
    (inputs / "empty").mkdir()
    write_frames(inputs / "broken", ["1.png", "2.png"])
    (inputs / "broken" / "2.png").write_bytes(b"not an image")
    write_frames(base / "secret", ["1.png"])
    srv = ComfyServer(COMFYUI_PATH, base, {})
    srv.start()
    yield srv
    srv.stop()


def load_images_prompt(directory="seq", saver="image", prefix="frames", **options):
    load = {"directory": directory, "path": "", "image_load_cap": 0, "skip_first_images": 0, "select_every_nth": 1,
            "fps": 8.0, "width": 0, "height": 0, "resize_mode": "crop", "memory_cap_gb": 4.0, **options}
    save = ({"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": prefix}}
            if saver == "image" else
            {"class_type": "ADL_SaveVideo", "inputs": {"images": ["1", 0], "fps": ["1", 3], "filename_prefix": prefix,
                                                       "format": "mp4", "crf": 12}})
    return {"1": {"class_type": "ADL_LoadImages", "inputs": load}, "2": save}


def test_server_lists_the_node_and_its_folders(server):
    spec = server.get("/object_info/ADL_LoadImages")["ADL_LoadImages"]
    assert spec["display_name"] == "Load Images (Lightning)" and spec["category"] == "AnimateDiff-Lightning/video"
    assert list(spec["input"]["required"]) == ["directory", "path", "image_load_cap", "skip_first_images",
                                               "select_every_nth", "fps", "width", "height", "resize_mode",
                                               "memory_cap_gb"]
    assert all(options[0].get("tooltip") for _, *options in spec["input"]["required"].values())
    assert spec["output"] == ["IMAGE", "MASK", "INT", "FLOAT"] and all(spec["output_tooltips"])
    listed = spec["input"]["required"]["directory"][1]["options"]
    assert {"broken", "empty", "seq"} <= set(listed) and "secret" not in listed


def test_server_folder_to_save_image(server):
    frames = server.run_frames(load_images_prompt(prefix="seq_png"))
    assert frames.shape == (6, 64, 64, 3)
    assert [frame_index(f) for f in frames] == list(range(6))
    expected = np.stack([np.asarray(Image.open(server.base_dir / "input" / "seq" / f"frame{i}.png"))
                         for i in range(1, 7)])
    assert np.array_equal(frames, expected)  # PNG in, PNG out: the same pixels


def test_server_folder_to_save_video_with_fps(server):
    from support.clips import decode_back
    prompt = load_images_prompt(saver="video", prefix="seq_mp4", select_every_nth=2, fps=12.0)
    result = server.run(prompt)
    assert result["ok"], result["error"] or server.log()[-3000:]
    [saved] = [f for out in result["outputs"].values() for f in out.get("images", [])]
    back = decode_back(server.base_dir / "output" / saved["subfolder"] / saved["filename"])
    assert (back["frames"], back["fps"], back["indices"]) == (3, 6.0, [0, 2, 4])


@pytest.mark.parametrize("case,fragments", [
    (dict(directory="gone"), ["gone", "no such folder in ComfyUI's input folder"]),
    (dict(directory="empty"), ["folder 'empty' holds no images"]),
    (dict(directory="broken"), ["'broken/2.png' cannot be read as an image"]),
    (dict(skip_first_images=6), ["'seq'", "the folder has 6 images", "skip_first_images below 6"]),
    (dict(width=512, height=512, memory_cap_gb=0.01),  # 3.1 MB an image
     ["'seq'", "6 images at 512×512", "3 images fit", "image_load_cap to 3", "select_every_nth"]),
    (dict(path="../secret"), ["../secret", "outside ComfyUI's input folder"]),
])
def test_server_bad_folders_fail_cleanly(server, case, fragments):
    server.assert_fails_then_recovers(load_images_prompt(prefix="bad_images", **case), *fragments)
    assert len(server.run_frames(load_images_prompt(prefix="after_error", image_load_cap=2))) == 2
