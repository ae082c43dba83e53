"""ControlNet controls beyond core's strength and start/end: weights per output, keyframes over the steps, a
strength per frame, a mask. Attach them to a CONTROL_NET with ControlNet Controls, then apply it as usual."""
from comfy_api.latest import io

from ..glue.controls import kind_of, with_controls
from ..motion_modules import MotionModuleError
from ..motion_modules.controls import (T2I_ADAPTER, ControlKeyframe, Controls, ControlWeights, add_keyframe,
                                       parse_block_weights, parse_frame_strengths)
from .types import CATEGORY

CONTROLNET = f"{CATEGORY}/controlnet"
Weights = io.Custom("ADL_CONTROL_WEIGHTS")
Keyframes = io.Custom("ADL_CONTROL_KEYFRAMES")

FRAMES_TIP = ("A strength per frame, e.g. '0=1.0, 4:8=0.5, -1=0.2': a frame or a start:end range (end excluded, "
              "negatives count from the end), '=strength' (1 when left out); later entries win. Empty: none.")


def _check_mask(mask, label: str):
    if mask is not None and (mask.ndim not in (2, 3) or mask.shape[-1] == 0 or mask.shape[-2] == 0):
        raise MotionModuleError(f"{label}: the mask has shape {tuple(mask.shape)}; connect a MASK (frames × height × "
                                "width), e.g. from Load Image's mask or Convert Image to Mask.")
    return None if mask is None else (mask if mask.ndim == 3 else mask.unsqueeze(0))


class ControlNetWeightsNode(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="ADL_ControlNetWeights",
            display_name="ControlNet Weights (Lightning)",
            category=CONTROLNET,
            description="How much each of the ControlNet's outputs counts. Soft weights (base_multiplier < 1) weaken "
                        "the shallow, detailed residuals most, so the hint guides shapes and leaves the detail to the "
                        "prompt. Connect to ControlNet Controls or a ControlNet Keyframe.",
            inputs=[
                io.Float.Input("base_multiplier", default=0.825, min=0.0, max=1.0, step=0.001,
                               tooltip="Soft weights: output k of the ControlNet's n gets base_multiplier^(n-k), the "
                                       "middle block 1. 1 = every output at full strength; 0.825 = the usual soft "
                                       "setting. Not used when block_weights is set."),
                io.Float.Input("uncond_multiplier", default=1.0, min=0.0, max=1.0, step=0.01,
                               tooltip="Scales the ControlNet's effect on the negative prompt (cfg > 1 only): "
                                       "0 = only the positive prompt is steered."),
                io.String.Input("block_weights", default="",
                                tooltip="Optional: 12 numbers, one per ControlNet output from shallow to deep, and "
                                        "a 13th for the middle block, e.g. '0.1, 0.12, …, 0.825, 1'. They replace "
                                        "the soft weights (ControlNets only, not T2I-Adapters)."),
            ],
            outputs=[Weights.Output(display_name="weights",
                                    tooltip="Connect to ControlNet Controls' weights or a ControlNet Keyframe's.")],
        )

    @classmethod
    def execute(cls, base_multiplier, uncond_multiplier, block_weights) -> io.NodeOutput:
        blocks = parse_block_weights(block_weights, "ControlNet Weights: block_weights")
        if blocks is None:
            return io.NodeOutput(ControlWeights(float(base_multiplier), float(uncond_multiplier)))
        output, middle = blocks
        return io.NodeOutput(ControlWeights(1.0, float(uncond_multiplier), output, middle))


class ControlNetKeyframeNode(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="ADL_ControlNetKeyframe",
            display_name="ControlNet Keyframe (Lightning)",
            category=CONTROLNET,
            description="From start_percent of the sampling steps on, the ControlNet acts with this strength (times "
                        "the apply node's), and these frame strengths, weights and mask. Chain keyframes; connect "
                        "the last to ControlNet Controls.",
            inputs=[
                io.Float.Input("start_percent", default=0.0, min=0.0, max=1.0, step=0.001,
                               tooltip="Where in the run it starts: 0 = the first step."),
                io.Float.Input("strength", default=1.0, min=0.0, max=10.0, step=0.001,
                               tooltip="Times the apply node's strength from this keyframe on (0 = the ControlNet "
                                       "is skipped)."),
                io.String.Input("frames", default="", tooltip=FRAMES_TIP),
                io.Float.Input("other_frames", default=0.0, min=0.0, max=10.0, step=0.001,
                               tooltip="The strength of frames that frame strengths leave out (0 = not steered)."),
                io.Boolean.Input("inherit_missing", default=True,
                                 tooltip="Keep the earlier keyframe's frame strengths and weights where this one "
                                         "has none (off: drop them). A mask always stays until a keyframe brings "
                                         "its own, as in Advanced-ControlNet."),
                io.Int.Input("guarantee_steps", default=1, min=0, max=10000,
                             tooltip="Steps this keyframe holds at least once it starts (0: it may be skipped). "
                                     "A keyframe at start_percent 0 holds none: it starts before the first step."),
                Keyframes.Input("previous", optional=True, tooltip="Earlier ControlNet keyframes."),
                Weights.Input("weights", optional=True, tooltip="ControlNet Weights from this keyframe on."),
                io.Mask.Input("mask", optional=True,
                              tooltip="Where the ControlNet acts from this keyframe on (white = fully); one mask "
                                      "or one per frame."),
            ],
            outputs=[Keyframes.Output(display_name="keyframes",
                                      tooltip="Connect to ControlNet Controls' keyframes, or the next keyframe.")],
        )

    @classmethod
    def execute(cls, start_percent, strength, frames, other_frames, inherit_missing, guarantee_steps,
                previous=None, weights=None, mask=None) -> io.NodeOutput:
        keyframe = ControlKeyframe(float(start_percent), float(strength),
                                   parse_frame_strengths(frames, "ControlNet Keyframe: frames"), float(other_frames),
                                   weights, _check_mask(mask, "ControlNet Keyframe"), bool(inherit_missing),
                                   int(guarantee_steps))
        return io.NodeOutput(add_keyframe(previous, keyframe))


class ControlNetControlsNode(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="ADL_ControlNetControls",
            display_name="ControlNet Controls (Lightning)",
            category=CONTROLNET,
            description="Attaches keyframes, a strength per frame, weights and a mask to a ControlNet (also "
                        "SparseCtrl or a T2I-Adapter). Apply the result with core's Apply ControlNet as usual.",
            inputs=[
                io.ControlNet.Input("control_net", tooltip="From Load ControlNet Model (or Load SparseCtrl)."),
                io.String.Input("frames", default="",
                                tooltip=FRAMES_TIP + " Replaces every keyframe's; frames left out get the current "
                                        "keyframe's other_frames (0 without keyframes)."),
                Keyframes.Input("keyframes", optional=True, tooltip="ControlNet Keyframes over the sampling steps."),
                Weights.Input("weights", optional=True, tooltip="ControlNet Weights for every step (they replace "
                                                                "the keyframes')."),
                io.Mask.Input("mask", optional=True, tooltip="Where the ControlNet acts (white = fully): one mask or "
                                                             "one per frame, the video's aspect ratio."),
            ],
            outputs=[io.ControlNet.Output(display_name="CONTROL_NET",
                                          tooltip="The ControlNet with these controls: connect it to Apply "
                                                  "ControlNet (or Apply SparseCtrl).")],
        )

    @classmethod
    def execute(cls, control_net, frames, keyframes=None, weights=None, mask=None) -> io.NodeOutput:
        if control_net is None:
            raise MotionModuleError("ControlNet Controls: control_net is empty; connect Load ControlNet Model.")
        controls = Controls(keyframes or Controls().keyframes,
                            parse_frame_strengths(frames, "ControlNet Controls: frames"), weights,
                            _check_mask(mask, "ControlNet Controls"))
        _check_kind(control_net, controls)
        return io.NodeOutput(with_controls(control_net, controls))


def _check_kind(control_net, controls: Controls):
    if kind_of(control_net) != T2I_ADAPTER:
        return
    for w in [controls.weights] + [k.weights for k in controls.keyframes]:
        if w is not None and not w.soft:
            raise MotionModuleError("ControlNet Controls: block_weights are for ControlNets; this is a T2I-Adapter. "
                                    "Use base_multiplier (soft weights) instead.")
