"""Select Every Nth Image (Lightning), in-process: the schema (widget order as VideoHelperSuite's Select Every Nth
Image, tooltips everywhere, registered), VideoHelperSuite's slice images[skip_first_images::select_every_nth] and
its count, a selection that skips every image stopping with our message, and a run through ComfyUI's own node
execution (the V3 node as execution.py calls it)."""
import pytest
import torch

from animatediff_lightning.glue import images as glue
from animatediff_lightning.nodes import NODES
from animatediff_lightning.nodes.images import SelectEveryNthImage
from animatediff_lightning.video import VideoError


def test_schema():
    schema = SelectEveryNthImage.define_schema()
    assert SelectEveryNthImage in NODES
    assert schema.node_id == "ADL_SelectEveryNthImage" and schema.display_name == "Select Every Nth Image (Lightning)"
    assert schema.category == "AnimateDiff-Lightning/video"
    assert [i.id for i in schema.inputs] == ["images", "select_every_nth", "skip_first_images"]
    nth, skip = schema.inputs[1:]
    assert (nth.default, nth.min, skip.default, skip.min) == (1, 1, 0, 0)
    assert [o.display_name for o in schema.outputs] == ["IMAGE", "count"]
    assert all(i.tooltip for i in schema.inputs) and all(o.tooltip for o in schema.outputs) and schema.description


@pytest.mark.parametrize("frames, nth, skip", [(10, 1, 0), (10, 2, 0), (10, 3, 1), (7, 2, 6), (5, 9, 0), (12, 4, 3)])
def test_the_slice_and_count_are_vhs_s(frames, nth, skip):
    images = torch.rand(frames, 4, 6, 3)
    got, count = SelectEveryNthImage.execute(images, nth, skip).result
    assert torch.equal(got, images[skip::nth]) and count == len(range(skip, frames, nth))


def test_skipping_every_image_is_our_message():
    with pytest.raises(VideoError, match="skip_first_images 5 skips all 5 images: nothing is left"):
        glue.select_every_nth(torch.rand(5, 2, 2, 3), 2, 5)
    with pytest.raises(VideoError, match="select_every_nth must be at least 1"):
        glue.select_every_nth(torch.rand(5, 2, 2, 3), 0, 0)


def test_through_comfyui_s_node_execution():
    """As execution.py runs a V3 node: a class clone with hidden inputs, its FUNCTION on an instance."""
    images = torch.rand(9, 4, 4, 3)
    cls = SelectEveryNthImage.PREPARE_CLASS_CLONE({"hidden_inputs": {}})
    result = getattr(cls(), cls.FUNCTION)(images=images, select_every_nth=4, skip_first_images=1)
    got, count = getattr(result, "result", result)
    assert torch.equal(got, images[1::4]) and count == 2
