"""Image-batch helpers for video frames.

Widget order is positional in saved workflows (widgets_values): append new inputs at the end, never reorder or
rename.
- ADL_SelectEveryNthImage: select_every_nth, skip_first_images (VideoHelperSuite's Select Every Nth Image's
  widgets, in its order). Outputs: IMAGE, count.
"""
from comfy_api.latest import io

from ..glue import images as glue
from .types import CATEGORY

VIDEO = f"{CATEGORY}/video"


class SelectEveryNthImage(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="ADL_SelectEveryNthImage",
            display_name="Select Every Nth Image (Lightning)",
            category=VIDEO,
            description="Every n-th image of a batch, after skipping the first ones (frames 0, n, 2n, … counted "
                        "from skip_first_images), as VideoHelperSuite's Select Every Nth Image.",
            inputs=[
                io.Image.Input("images", tooltip="The frames to select from."),
                io.Int.Input("select_every_nth", default=1, min=1, max=0xFFFFFFFFFFFFFFFF,
                             tooltip="Keep one image in every n: 1 keeps all, 2 every other one (halving a "
                                     "video's frame rate)."),
                io.Int.Input("skip_first_images", default=0, min=0, max=0xFFFFFFFFFFFFFFFF,
                             tooltip="Images left out at the start before selecting; the first kept image is this "
                                     "one (0: the first image). Skipping all of them stops with a message."),
            ],
            outputs=[io.Image.Output(display_name="IMAGE", tooltip="The selected images, in their order."),
                     io.Int.Output(display_name="count", tooltip="How many images were selected.")],
        )

    @classmethod
    def execute(cls, images, select_every_nth, skip_first_images) -> io.NodeOutput:
        return io.NodeOutput(*glue.select_every_nth(images, select_every_nth, skip_first_images))
