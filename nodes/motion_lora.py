"""Load a Motion LoRA onto a motion module (chainable)."""
import folder_paths
from comfy_api.latest import io, ui

from ..glue.folders import MOTION_LORAS, missing_file_message
from ..glue.motion_lora import load_motion_lora
from .types import CATEGORY, MotionModule


class LoadMotionLoRA(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="ADL_LoadMotionLoRA",
            display_name="Load Motion LoRA (Lightning)",
            category=CATEGORY,
            description="Adds a Motion LoRA (camera motion such as PanLeft or ZoomIn) to a motion module. Chain "
                        "several to combine them; the motion module itself is never reloaded or changed.",
            inputs=[
                MotionModule.Input("motion_module",
                                   tooltip="From Load Motion Module, or from another Load Motion LoRA to stack "
                                           "LoRAs (e.g. PanLeft 0.8 + ZoomIn 0.5)."),
                io.Combo.Input("lora_name", options=folder_paths.get_filename_list(MOTION_LORAS),
                               tooltip="A Motion LoRA in models/animatediff_motion_lora, e.g. v2_lora_PanLeft.ckpt "
                                       "(the AnimateDiff v2 Motion LoRAs also work with Lightning)."),
                io.Float.Input("strength", default=0.8, min=-2.0, max=2.0, step=0.01,
                               tooltip="How strongly the LoRA's motion is applied: weight += strength · up·down. "
                                       "The Lightning authors (model card and paper) use 0.7–0.8 with Lightning; "
                                       "0 = off."),
            ],
            outputs=[
                MotionModule.Output(display_name="MOTION_MODULE",
                                    tooltip="The motion module with this LoRA added; connect it to Apply Motion "
                                            "Module or to another Load Motion LoRA."),
            ],
        )

    @classmethod
    def validate_inputs(cls, lora_name):
        if folder_paths.get_full_path(MOTION_LORAS, lora_name) is None:
            return missing_file_message(MOTION_LORAS, lora_name)
        return True

    @classmethod
    def execute(cls, motion_module, lora_name, strength) -> io.NodeOutput:
        handle, text = load_motion_lora(motion_module, folder_paths.get_full_path_or_raise(MOTION_LORAS, lora_name),
                                        strength)
        return io.NodeOutput(handle, ui=ui.PreviewText(text))
