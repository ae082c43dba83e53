"""Load a motion module; apply it to a MODEL."""
import folder_paths
from comfy_api.latest import io, ui

from ..glue.folders import MOTION_MODULES, missing_file_message
from ..glue.injection import apply_motion_module, load_motion_module_handle
from ..glue.motion_control import MotionControl
from ..glue.schedules import SCHEDULE_CHOICES
from .types import CATEGORY, MotionAdjustments, MotionKeyframes, MotionModule, MotionValue, SampleSettings


class LoadMotionModule(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="ADL_LoadMotionModule",
            display_name="Load Motion Module (Lightning)",
            category=CATEGORY,
            description="Loads an AnimateDiff / AnimateDiff-Lightning motion module from models/animatediff_models "
                        "and reports what it is.",
            inputs=[
                io.Combo.Input("model_name", options=folder_paths.get_filename_list(MOTION_MODULES),
                               tooltip="A motion module in models/animatediff_models, e.g. "
                                       "animatediff_lightning_4step_comfyui.safetensors."),
                MotionAdjustments.Input("adjust", optional=True,
                                        tooltip="Optional: position stretch and weight adjustments applied as "
                                                "the module loads (Adjust Motion Positions / Weights)."),
            ],
            outputs=[
                MotionModule.Output(display_name="MOTION_MODULE",
                                    tooltip="The loaded motion module; connect it to Apply Motion Module."),
                io.String.Output(display_name="info",
                                 tooltip="What was detected: family, version, frame limit, dtype, Lightning "
                                         "step count and the recommended settings."),
            ],
        )

    @classmethod
    def validate_inputs(cls, model_name, **_):
        if folder_paths.get_full_path(MOTION_MODULES, model_name) is None:
            return missing_file_message(MOTION_MODULES, model_name)
        return True

    @classmethod
    def execute(cls, model_name, adjust=None) -> io.NodeOutput:
        handle = load_motion_module_handle(folder_paths.get_full_path_or_raise(MOTION_MODULES, model_name),
                                           tuple(adjust or ()))
        text = handle.info.summary()
        return io.NodeOutput(handle, text, ui=ui.PreviewText(text))


class ApplyMotionModule(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="ADL_ApplyMotionModule",
            display_name="Apply Motion Module (Lightning)",
            category=CATEGORY,
            description="Adds the motion module's temporal attention to an SD1.5 model: the latent batch becomes "
                        "the frames of one video.",
            inputs=[
                io.Model.Input("model", tooltip="An SD1.5 model (any SD1.5 checkpoint; stylized ones work well)."),
                MotionModule.Input("motion_module", tooltip="From Load Motion Module."),
                io.Float.Input("motion_scale", default=1.0, min=0.0, max=2.0, step=0.01,
                               tooltip="Strength of the motion module's temporal residual (what "
                                       "AnimateDiff-Evolved calls effect). 1.0 = as trained; 0 = no motion "
                                       "(frames independent)."),
                io.Combo.Input("beta_schedule", options=list(SCHEDULE_CHOICES), default=SCHEDULE_CHOICES[0],
                               tooltip="Noise schedule. AnimateDiff and Lightning were trained on sqrt_linear "
                                       "betas; keep that unless you know why not. The lcm ones are for AnimateLCM "
                                       "and LCM-LoRA (as AnimateDiff-Evolved names them); the others are core's "
                                       "beta formulas on SD1.5's range."),
                MotionValue.Input("scale", optional=True,
                                  tooltip="Optional Motion Value: scales the temporal attention (> 1 sharper, "
                                          "< 1 softer attention across frames), per frame or per region. "
                                          "AnimateDiff-Evolved's scale."),
                MotionValue.Input("effect", optional=True,
                                  tooltip="Optional Motion Value: the motion module's effect per frame or per "
                                          "region (0 = off there), times motion_scale. AnimateDiff-Evolved's "
                                          "effect."),
                MotionKeyframes.Input("keyframes", optional=True,
                                      tooltip="Optional Motion Keyframes: scale and effect that change over the "
                                              "sampling steps."),
                io.Float.Input("start_percent", default=0.0, min=0.0, max=1.0, step=0.001, optional=True,
                               tooltip="The motion module runs from this point of the sampling steps on "
                                       "(0 = from the first step)."),
                io.Float.Input("end_percent", default=1.0, min=0.0, max=1.0, step=0.001, optional=True,
                               tooltip="... and up to this point (1 = to the last step); outside, the frames are "
                                       "sampled as separate images."),
                SampleSettings.Input("sample_settings", optional=True,
                                     tooltip="Optional Sample Settings: how the initial noise is drawn (noise "
                                             "type, seed generator, offsets, noise layers) and FreeInit."),
            ],
            outputs=[io.Model.Output(tooltip="The model with the motion module; the input model is unchanged.")],
        )

    @classmethod
    def execute(cls, model, motion_module, motion_scale, beta_schedule, scale=None, effect=None, keyframes=None,
                start_percent=0.0, end_percent=1.0, sample_settings=None) -> io.NodeOutput:
        control = MotionControl(scale, effect, tuple(keyframes or ()), start_percent, end_percent)
        schedule = {SCHEDULE_CHOICES[0]: True, SCHEDULE_CHOICES[1]: False}.get(beta_schedule, beta_schedule)
        return io.NodeOutput(apply_motion_module(model, motion_module, motion_scale, animatediff_schedule=schedule,
                                                 control=control, sample_settings=sample_settings))
