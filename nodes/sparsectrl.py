"""SparseCtrl: load it (a CONTROL_NET); apply it to chosen frames of the video."""
import folder_paths
import nodes as core_nodes
from comfy_api.latest import io, ui

from ..glue.folders import missing_file_message
from ..glue.sparsectrl import SparseCtrl, load_sparsectrl
from ..motion_modules import MotionModuleError
from ..motion_modules.sparsectrl import SPREADS, parse_indexes
from .types import CATEGORY

CONTROLNET = "controlnet"
# Placements (widget values, append only): K hints spread over the video, or at typed frames.
PLACEMENTS = tuple(f"spread {s}" for s in SPREADS) + ("indexes",)


class LoadSparseCtrl(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="ADL_LoadSparseCtrl",
            display_name="Load SparseCtrl (Lightning)",
            category=f"{CATEGORY}/sparsectrl",
            description="Loads a SparseCtrl ControlNet (v3_sd15_sparsectrl_rgb or _scribble) from models/controlnet, "
                        "with the motion modules it carries. Apply it with Apply SparseCtrl to chosen frames.",
            inputs=[
                io.Combo.Input("sparsectrl_name", options=folder_paths.get_filename_list(CONTROLNET),
                               tooltip="A SparseCtrl file in models/controlnet, e.g. "
                                       "v3_sd15_sparsectrl_rgb.ckpt (image keyframes) or "
                                       "v3_sd15_sparsectrl_scribble.ckpt (sketches)."),
                io.Boolean.Input("use_motion", default=True,
                                 tooltip="Run the motion modules inside SparseCtrl (as trained): they carry a hint "
                                         "to the frames around it. Off: each hint acts on its own frame only."),
                io.Float.Input("motion_strength", default=1.0, min=0.0, max=10.0, step=0.01,
                               tooltip="Effect of SparseCtrl's own motion modules (1 = as trained)."),
                io.Float.Input("motion_scale", default=1.0, min=0.0, max=10.0, step=0.01,
                               tooltip="Scale of their temporal attention (1 = as trained; > 1 sharper)."),
            ],
            outputs=[
                io.ControlNet.Output(display_name="CONTROL_NET",
                                     tooltip="The SparseCtrl; connect it to Apply SparseCtrl (or core Apply "
                                             "ControlNet, which spreads the hints evenly)."),
                io.String.Output(display_name="info", tooltip="What the file is: RGB or scribble, its motion modules."),
            ],
        )

    @classmethod
    def validate_inputs(cls, sparsectrl_name, **_):
        if folder_paths.get_full_path(CONTROLNET, sparsectrl_name) is None:
            return missing_file_message(CONTROLNET, sparsectrl_name)
        return True

    @classmethod
    def execute(cls, sparsectrl_name, use_motion, motion_strength, motion_scale) -> io.NodeOutput:
        control = load_sparsectrl(folder_paths.get_full_path_or_raise(CONTROLNET, sparsectrl_name), use_motion,
                                  motion_strength, motion_scale)
        text = control.info.summary()
        return io.NodeOutput(control, text, ui=ui.PreviewText(text))


class ApplySparseCtrl(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="ADL_ApplySparseCtrl",
            display_name="Apply SparseCtrl (Lightning)",
            category=f"{CATEGORY}/sparsectrl",
            description="Conditions chosen frames of the video on hint images (keyframes): image i goes to the i-th "
                        "frame of the placement; the other frames follow through the motion module.",
            inputs=[
                io.Conditioning.Input("positive", tooltip="The positive conditioning."),
                io.Conditioning.Input("negative", tooltip="The negative conditioning."),
                io.ControlNet.Input("control_net", tooltip="From Load SparseCtrl (Lightning)."),
                io.Image.Input("images", tooltip="The hint images, one per conditioned frame, in frame order "
                                                 "(keyframes for RGB, sketches for scribble)."),
                io.Float.Input("strength", default=1.0, min=0.0, max=10.0, step=0.01,
                               tooltip="How strongly the hints steer their frames (0 = not at all)."),
                io.Float.Input("start_percent", default=0.0, min=0.0, max=1.0, step=0.001,
                               tooltip="From this point of the sampling steps on (0 = the first step)."),
                io.Float.Input("end_percent", default=1.0, min=0.0, max=1.0, step=0.001,
                               tooltip="Up to this point of the sampling steps (1 = the last step)."),
                io.Combo.Input("placement", options=list(PLACEMENTS), default=PLACEMENTS[0],
                               tooltip="Which frames get the images: spread uniform (first and last frame included), "
                                       "starting / ending / center spreads, or the frames typed in indexes."),
                io.String.Input("indexes", default="0",
                                tooltip="With placement 'indexes': the frame of each image, e.g. '0, 24, 47' "
                                        "(-1 = the last frame)."),
                io.Vae.Input("vae", optional=True,
                             tooltip="The checkpoint's VAE: SparseCtrl RGB encodes its hint images with it "
                                     "(required for RGB, unused for scribble)."),
            ],
            outputs=[io.Conditioning.Output(display_name="positive", tooltip="The positive conditioning, with the hints."),
                     io.Conditioning.Output(display_name="negative", tooltip="The negative conditioning, with the hints.")],
        )

    @classmethod
    def execute(cls, positive, negative, control_net, images, strength, start_percent, end_percent, placement,
                indexes, vae=None) -> io.NodeOutput:
        if not isinstance(control_net, SparseCtrl):
            raise MotionModuleError("Apply SparseCtrl: control_net is not a SparseCtrl (load it with Load SparseCtrl "
                                    "(Lightning)); apply other ControlNets with core's Apply ControlNet.")
        if control_net.latent_format is not None and vae is None:
            raise MotionModuleError("Apply SparseCtrl: SparseCtrl RGB encodes its hint images with the VAE: connect the "
                                    "checkpoint's VAE to vae.")
        if placement not in PLACEMENTS:
            raise MotionModuleError(f"Apply SparseCtrl: unknown placement '{placement}' ({', '.join(PLACEMENTS)}).")
        frames = None
        if placement == "indexes":
            frames = parse_indexes(indexes)
            if len(frames) < images.shape[0]:
                raise MotionModuleError(f"Apply SparseCtrl: {images.shape[0]} images but {len(frames)} indexes "
                                        f"('{indexes}'): type one frame per image.")
        spread = placement.removeprefix("spread ") if frames is None else "uniform"
        placed = control_net.placed(spread, frames)
        positive, negative = core_nodes.ControlNetApplyAdvanced().apply_controlnet(
            positive, negative, placed, images, strength, start_percent, end_percent, vae=vae)
        return io.NodeOutput(positive, negative)
