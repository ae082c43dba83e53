"""Adjust a motion module at load: its position tables (stretch) and its weights (add / multiply per group)."""
from comfy_api.latest import io

from ..motion_modules.adjust import WEIGHT_GROUPS, PositionAdjust, WeightAdjust
from .types import CATEGORY, MotionAdjustments

ADJUST = f"{CATEGORY}/motion module adjust"
PREVIOUS_TOOLTIP = "Earlier adjustments (they act first)."
OUTPUT_TOOLTIP = "Connect to Load Motion Module's adjust input, or to the next adjustment."


def _chain(previous, adjust):
    return tuple(previous or ()) + (adjust,)


class AdjustPositions(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="ADL_AdjustPositions",
            display_name="Adjust Motion Positions (Lightning)",
            category=ADJUST,
            description="Stretches the motion module's positional encoding, so more frames per window move like "
                        "fewer did. Sweetspot stretch: cap = 16, interpolate_to = 32 (32 frames move as 16). "
                        "Steps run in the order of the inputs; 0 = that step off.",
            inputs=[
                io.Int.Input("stretch", default=0, min=0, max=10000,
                             tooltip="Full stretch: interpolate the whole table to its length + this many "
                                     "positions (0 = off)."),
                io.Int.Input("initial_offset", default=0, min=0, max=10000,
                             tooltip="Then drop this many positions from the start (0 = off)."),
                io.Int.Input("cap", default=0, min=0, max=10000,
                             tooltip="Then keep only the first this-many positions (0 = off); the sweetspot: "
                                     "16 for AnimateDiff v2 / Lightning."),
                io.Int.Input("interpolate_to", default=0, min=0, max=10000,
                             tooltip="Then interpolate the table to this many positions (0 = off): the new "
                                     "window length, e.g. 32."),
                io.Int.Input("final_offset", default=0, min=0, max=10000,
                             tooltip="Last, drop this many positions from the start (0 = off)."),
                MotionAdjustments.Input("previous", optional=True, tooltip=PREVIOUS_TOOLTIP),
            ],
            outputs=[MotionAdjustments.Output(display_name="ADJUST", tooltip=OUTPUT_TOOLTIP)],
        )

    @classmethod
    def execute(cls, stretch, initial_offset, cap, interpolate_to, final_offset, previous=None) -> io.NodeOutput:
        return io.NodeOutput(_chain(previous, PositionAdjust(stretch, initial_offset, cap, interpolate_to,
                                                             final_offset)))


class AdjustWeights(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="ADL_AdjustWeights",
            display_name="Adjust Motion Weights (Lightning)",
            category=ADJUST,
            description="Adds to, then multiplies, a group of the motion module's weights when it is loaded. "
                        "Chain several for several groups.",
            inputs=[
                io.Combo.Input("group", options=list(WEIGHT_GROUPS), default="all",
                               tooltip="Which weights: " + "; ".join(f"{k} = {v}" for k, v in WEIGHT_GROUPS.items())
                                       + "."),
                io.Float.Input("add", default=0.0, min=-2.0, max=2.0, step=0.000001,
                               tooltip="Added to every weight of the group first (0 = unchanged)."),
                io.Float.Input("multiply", default=1.0, min=0.0, max=2.0, step=0.000001,
                               tooltip="Then every weight of the group is multiplied by this (1 = unchanged)."),
                MotionAdjustments.Input("previous", optional=True, tooltip=PREVIOUS_TOOLTIP),
            ],
            outputs=[MotionAdjustments.Output(display_name="ADJUST", tooltip=OUTPUT_TOOLTIP)],
        )

    @classmethod
    def execute(cls, group, add, multiply, previous=None) -> io.NodeOutput:
        return io.NodeOutput(_chain(previous, WeightAdjust(group, add, multiply)))
