"""CFG keyframes: a cfg that changes over the sampling steps, per frame or per region."""
from comfy_api.latest import io

from ..glue.cfg import CFGKeyframe, add_cfg_keyframe
from ..motion_modules import multival
from .types import SAMPLING, CFGSchedule, MotionValue


class CFGKeyframeNode(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="ADL_CFGKeyframe",
            display_name="CFG Keyframe (Lightning)",
            category=f"{SAMPLING}/noise",
            description="From start_percent of the sampling steps on, sample with this cfg instead of the "
                        "sampler's. Chain keyframes earliest first; connect the last to Sample Settings' "
                        "custom_cfg. Lightning is distilled for cfg 1: above 1 each step runs the negative too.",
            inputs=[
                io.Float.Input("cfg", default=1.0, min=0.0, max=100.0, step=0.1, round=0.01,
                               tooltip="The cfg from this keyframe on (times value, when a Motion Value is "
                                       "connected). Exactly 1 skips the negative prompt."),
                io.Float.Input("start_percent", default=0.0, min=0.0, max=1.0, step=0.001,
                               tooltip="Where in the run it starts: 0 = the first step. The first keyframe "
                                       "holds from the first step whatever its start."),
                io.Int.Input("guarantee_steps", default=1, min=0, max=10000,
                             tooltip="Steps this keyframe holds at least once it starts (0: it may be skipped)."),
                CFGSchedule.Input("previous", optional=True,
                                  tooltip="Earlier CFG keyframes (each starts no later than this one)."),
                MotionValue.Input("value", optional=True,
                                  tooltip="Optional Motion Value: a cfg per frame or per region (mask), times "
                                          "cfg."),
            ],
            outputs=[CFGSchedule.Output(display_name="CFG_SCHEDULE",
                                        tooltip="Connect to Sample Settings' custom_cfg, or the next keyframe.")],
        )

    @classmethod
    def execute(cls, cfg, start_percent, guarantee_steps, previous=None, value=None) -> io.NodeOutput:
        # cfg × value stays a multival product: glue/cfg.py sizes its factors to the latent at each step
        scale = multival.combine(float(cfg), value)
        return io.NodeOutput(add_cfg_keyframe(previous, CFGKeyframe(scale, start_percent, guarantee_steps)))

