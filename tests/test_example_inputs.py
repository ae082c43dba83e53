"""The example input clip: shipped small and self-made, put into the input folder only where absent."""
import os

import av
import folder_paths
import pytest

from animatediff_lightning.glue.folders import EXAMPLE_MEDIA, install_example_inputs
from conftest import ROOT

CLIP = ROOT / "workflows" / "media" / "input_clip.mp4"
MEDIA = ["input_clip.mp4", "keyframe_end.png", "keyframe_start.png"]  # the keyframes: the image-to-video template


@pytest.fixture
def input_dir(tmp_path):
    before = folder_paths.get_input_directory()
    folder_paths.set_input_directory(str(tmp_path / "input"))
    yield tmp_path / "input"
    folder_paths.set_input_directory(before)


def test_shipped_clip_is_small_and_long_enough_for_every_template():
    assert os.path.samefile(EXAMPLE_MEDIA, CLIP.parent)
    assert CLIP.stat().st_size < 1_000_000
    with av.open(str(CLIP)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        width, height = stream.codec_context.width, stream.codec_context.height
        fps = float(stream.average_rate)
    assert (width, height) == (512, 512)  # the templates' size: no resize needed
    assert frames > 32 and 2 <= frames / fps <= 10  # a few seconds; more than one 32-frame window


def test_keyframes_are_the_clips_first_and_last_frames():
    import numpy as np
    from PIL import Image
    from input_clip import FRAMES, draw
    for name, i in (("keyframe_start.png", 0), ("keyframe_end.png", FRAMES - 1)):
        path = ROOT / "workflows" / "media" / name
        assert path.stat().st_size < 200_000
        assert np.array_equal(np.asarray(Image.open(path).convert("RGB")), draw(i)), name


def test_copied_on_first_start_never_replaced(input_dir):
    assert install_example_inputs() == MEDIA
    assert (input_dir / "input_clip.mp4").read_bytes() == CLIP.read_bytes()
    assert install_example_inputs() == []
    (input_dir / "input_clip.mp4").write_bytes(b"the artist's own clip")
    assert install_example_inputs() == []
    assert (input_dir / "input_clip.mp4").read_bytes() == b"the artist's own clip"
    assert sorted(p.name for p in input_dir.iterdir()) == MEDIA


def test_unwritable_input_folder_is_reported_and_left_clean(input_dir):
    input_dir.parent.mkdir(exist_ok=True)
    input_dir.write_text("a file where the input folder should be")  # fails for root too, unlike chmod
    said = []
    assert install_example_inputs(log=said.append) == []
    assert len(said) == len(MEDIA) and "input_clip.mp4" in said[0] and str(input_dir) in said[0]
    assert sorted(p.name for p in input_dir.parent.iterdir()) == ["input"]
