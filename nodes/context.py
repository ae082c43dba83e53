"""Long videos: context windows, and prompt travel."""
from comfy_api.latest import io

from ..glue.context import FUSE_METHODS, NOISE_TYPES, SCHEDULES, apply_context_windows, make_handler
from ..glue.prompt_travel import PAST_LAST_FRAME, travel_conditioning
from .types import CATEGORY

LONG = f"{CATEGORY}/long video"


class ContextOptions(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="ADL_ContextOptions",
            display_name="Context Options (Lightning)",
            category=LONG,
            description="Renders videos longer than the motion module's window in overlapping windows; hints and "
                        "per-frame prompts follow their frames into every window.",
            inputs=[
                io.Model.Input("model", tooltip="The model with the motion module applied."),
                io.Int.Input("context_length", default=16, min=2, max=64,
                             tooltip="Frames per window. 16 as Lightning was trained; at most 32."),
                io.Int.Input("context_overlap", default=4, min=0, max=63,
                             tooltip="Frames shared by neighbouring windows (smaller than context_length)."),
                io.Combo.Input("context_schedule", options=list(SCHEDULES), default="static",
                               tooltip="static: fixed windows; uniform: windows shift every step; looped: windows "
                                       "wrap around the end (for seamless loops with closed_loop)."),
                io.Combo.Input("fuse_method", options=list(FUSE_METHODS), default="pyramid",
                               tooltip="How overlapping windows are blended: pyramid weights a window's centre "
                                       "most; flat averages; overlap-linear ramps across the overlap only."),
                io.Boolean.Input("closed_loop", default=False,
                                 tooltip="With the looped schedule: the last frames blend into the first."),
                io.Combo.Input("noise_type", options=list(NOISE_TYPES), default="per-frame",
                               tooltip="per-frame: independent noise. FreeNoise: later frames reuse the first "
                                       "window's noise, shuffled, for steadier long videos; no window ever holds "
                                       "the same noise frame twice. FreeNoise (legacy): this pack's earlier "
                                       "FreeNoise (windows can repeat a noise frame), for reproducing saved "
                                       "workflows. FreeNoise (AnimateDiff-Evolved): AnimateDiff-Evolved's "
                                       "FreeNoise frame for frame (windows can repeat a noise frame), for "
                                       "converted workflows."),
                io.Int.Input("context_stride", default=1, min=1, max=32, optional=True,
                             tooltip="uniform and looped schedules only (static ignores it): 1 takes windows of "
                                     "consecutive frames; n > 1 also takes windows of frames 2, 4, … 2^(n-1) "
                                     "apart, each spacing only while the video is long enough for it (at most "
                                     "ceil(log2(frames / context_length)) + 1 spacings in all), as "
                                     "AnimateDiff-Evolved's context_stride does. uniform: where the widest "
                                     "spacing used, 2^k, needs more frames than the video has ((context_length "
                                     "- 1) × 2^k + 1), its window reaches past the last frame (in "
                                     "AnimateDiff-Evolved too) and the run stops with a message; looped wraps "
                                     "such windows round instead."),
            ],
            outputs=[io.Model.Output(tooltip="The model, sampling in context windows.")],
        )

    @classmethod
    def execute(cls, model, context_length, context_overlap, context_schedule, fuse_method, closed_loop,
                noise_type, context_stride=1) -> io.NodeOutput:
        handler = make_handler(context_length, context_overlap, context_schedule, fuse_method, closed_loop,
                               noise_type, context_stride)
        return io.NodeOutput(apply_context_windows(model, handler))


class PromptTravel(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="ADL_PromptTravel",
            display_name="Prompt Travel (Lightning)",
            category=LONG,
            description="Keyframed prompts, interpolated frame by frame.",
            inputs=[
                io.Clip.Input("clip", tooltip="The checkpoint's CLIP."),
                io.String.Input("text", multiline=True, default="0: a cat walking in the snow\n48: a cat walking on the beach",
                                tooltip="One keyframe per line: 'FRAME: prompt'. Frames between keyframes blend "
                                        "the two prompts; before the first and after the last they hold. "
                                        "FizzNodes' schedule text ('\"0\": \"a cat\",' per keyframe) is read too."),
                io.Int.Input("frames", default=96, min=1, max=10000,
                             tooltip="Number of frames (the latent batch size)."),
                io.Combo.Input("past_last_frame", options=list(PAST_LAST_FRAME), default="error", optional=True,
                               tooltip="A keyframe at or past `frames`: error stops with a message naming it; "
                                       "leave out skips it (and the lines continuing it), as FizzNodes' batch "
                                       "schedules skip keyframes past max_frames. Converted FizzNodes files whose "
                                       "frame count comes over a link use leave out."),
                io.String.Input("pre_text", default="", optional=True,
                                tooltip="Optional: put before every keyframe's prompt, with a space (FizzNodes' "
                                        "pre_text), e.g. a style shared by all keyframes."),
                io.String.Input("app_text", default="", optional=True,
                                tooltip="Optional: put after every keyframe's prompt, with a space (FizzNodes' "
                                        "app_text)."),
            ],
            outputs=[io.Conditioning.Output(tooltip="Per-frame conditioning; connect as positive.")],
        )

    @classmethod
    def execute(cls, clip, text, frames, past_last_frame="error", pre_text="", app_text="") -> io.NodeOutput:
        return io.NodeOutput(travel_conditioning(clip, text, frames, past_last_frame, pre_text, app_text))
