"""Motion values (scale / effect per frame and per region) and motion keyframes (over the steps)."""
from comfy_api.latest import io

from ..glue.motion_control import MotionKeyframe as Keyframe, add_keyframe
from ..motion_modules.multival import motion_value
from .types import CATEGORY, MotionKeyframes, MotionValue

CONTROL = f"{CATEGORY}/motion control"


class MotionValueNode(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="ADL_MotionValue",
            display_name="Motion Value (Lightning)",
            category=CONTROL,
            description="A motion scale or effect: one value, a value per frame, or a mask (per region, per frame). "
                        "Connect it to Apply Motion Module or a Motion Keyframe as scale or effect.",
            inputs=[
                io.Float.Input("value", default=1.0, min=0.0, max=10.0, step=0.001,
                               tooltip="The value for every frame (multiplies per_frame and the mask). A link "
                                       "from a node that gives a list of floats makes it a value per frame."),
                io.String.Input("per_frame", default="", multiline=False,
                                tooltip="Optional: one value per frame, separated by commas (e.g. "
                                        "'1, 1, 0.8, 0.6'). Empty: the same value for every frame. One value "
                                        "per video frame, or the list is an error at sampling."),
                io.Mask.Input("mask", optional=True,
                              tooltip="Optional: where (and, with several frames, when) the value applies; "
                                      "one mask for every frame or one per frame, the video's aspect ratio. "
                                      "White = mask_max, black = mask_min."),
                io.Float.Input("mask_min", default=0.0, min=0.0, max=10.0, step=0.001,
                               tooltip="The value where the mask is black (absolute) or at its darkest "
                                       "(relative)."),
                io.Float.Input("mask_max", default=1.0, min=0.0, max=10.0, step=0.001,
                               tooltip="The value where the mask is white (absolute) or at its brightest "
                                       "(relative)."),
                io.Combo.Input("mask_scaling", options=["absolute", "relative"], default="absolute",
                               tooltip="absolute: mask 0 → mask_min, 1 → mask_max; relative: the mask's own "
                                       "darkest → mask_min, brightest → mask_max."),
            ],
            outputs=[MotionValue.Output(display_name="MOTION_VALUE",
                                        tooltip="The value; connect as scale or effect.")],
        )

    @classmethod
    def execute(cls, value, per_frame, mask_min, mask_max, mask_scaling, mask=None) -> io.NodeOutput:
        return io.NodeOutput(motion_value(value, per_frame, mask, mask_min, mask_max, mask_scaling == "relative"))


class MotionKeyframeNode(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="ADL_MotionKeyframe",
            display_name="Motion Keyframe (Lightning)",
            category=CONTROL,
            description="From start_percent of the sampling steps on, the motion module runs with this scale and "
                        "effect (times Apply Motion Module's). Chain keyframes earliest first.",
            inputs=[
                io.Float.Input("start_percent", default=0.0, min=0.0, max=1.0, step=0.001,
                               tooltip="Where in the run this keyframe starts: 0 = the first step, 0.5 = halfway "
                                       "down the noise levels."),
                io.Int.Input("guarantee_steps", default=1, min=0, max=10000,
                             tooltip="Steps this keyframe holds at least once it starts, even if the next "
                                     "keyframe's start is reached (0: it may be skipped)."),
                io.Boolean.Input("inherit_missing", default=True,
                                 tooltip="A scale or effect left unconnected keeps the previous keyframe's "
                                         "(on), or is 1 (off)."),
                MotionKeyframes.Input("previous", optional=True,
                                      tooltip="Earlier keyframes (each starts no later than this one)."),
                MotionValue.Input("scale", optional=True,
                                  tooltip="Temporal attention scale from this keyframe on (Motion Value)."),
                MotionValue.Input("effect", optional=True,
                                  tooltip="Motion effect from this keyframe on (Motion Value)."),
            ],
            outputs=[MotionKeyframes.Output(display_name="MOTION_KEYFRAMES",
                                            tooltip="The keyframes; connect to Apply Motion Module or the next "
                                                    "keyframe.")],
        )

    @classmethod
    def execute(cls, start_percent, guarantee_steps, inherit_missing, previous=None, scale=None,
                effect=None) -> io.NodeOutput:
        return io.NodeOutput(add_keyframe(previous, Keyframe(start_percent, scale, effect, guarantee_steps,
                                                             inherit_missing)))
