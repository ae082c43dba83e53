"""Video Consistency: warp error and brightness flicker of a finished video, as numbers, a report and a plot."""
import comfy.utils
import torch
from comfy_api.latest import io, ui

from ..video.consistency import FLOW_METHODS, measure_consistency, plot_consistency
from .types import CATEGORY


class VideoConsistency(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="ADL_VideoConsistency",
            display_name="Video Consistency (Lightning)",
            category=f"{CATEGORY}/video",
            description="Measures how temporally consistent a video is: optical-flow warp error between "
                        "consecutive frames and brightness flicker. Compare 2/4/8-step results or settings "
                        "on the same clip: lower is steadier.",
            is_output_node=True,
            inputs=[
                io.Image.Input("images", tooltip="The video: an IMAGE batch of at least 2 frames, in order "
                                                 "(e.g. from VAE Decode)."),
                io.Combo.Input("flow_method", options=list(FLOW_METHODS), default=FLOW_METHODS[0],
                               tooltip="OpenCV optical flow. DIS: fast, follows large motion and tolerates "
                                       "brightness changes. Farneback: smoother, slower. Compare results "
                                       "only with the same method."),
                io.Boolean.Input("occlusion_check", default=True,
                                 tooltip="Leave out pixels whose forward and backward flow disagree "
                                         "(occluded or revealed areas), so motion is not counted as error. "
                                         "The report gives the share of pixels kept per transition."),
                io.Float.Input("flicker_threshold", default=0.01, min=0.001, max=0.5, step=0.001,
                               tooltip="Luma jump beyond the local fade trend (0..1, 0.01 is about 2.5 of 255 "
                                       "levels) above which the report lists a frame or transition as "
                                       "flicker. Does not change the mean values."),
            ],
            outputs=[
                io.Float.Output(display_name="mean_warp_error",
                                tooltip="Mean absolute RGB difference (0..1) between each frame and the next "
                                        "one warped back onto it with optical flow. Lower is better."),
                io.Float.Output(display_name="mean_flicker",
                                tooltip="Mean frame-to-frame jump of mean luma beyond the local fade trend "
                                        "(0..1). Smooth fades score 0. Lower is better."),
                io.String.Output(display_name="report",
                                 tooltip="Per-transition warp error, valid-pixel share, luma, jump and flicker; "
                                         "the flicker frames and the worst transitions. Frames count from 0."),
                io.Image.Output(display_name="plot",
                                tooltip="A 512x320 chart of warp error and flicker per transition, flicker "
                                        "frames marked in red."),
            ],
        )

    @classmethod
    def execute(cls, images, flow_method, occlusion_check, flicker_threshold) -> io.NodeOutput:
        pbar = comfy.utils.ProgressBar(max(1, int(images.shape[0]) - 1))
        result = measure_consistency(images, flow_method, occlusion_check, flicker_threshold,
                                     progress=lambda done, total: pbar.update_absolute(done, total))
        report = result.report()
        plot = torch.from_numpy(plot_consistency(result)).unsqueeze(0)
        preview = ui.PreviewImage(plot, cls=cls).as_dict()
        preview["text"] = (report,)
        return io.NodeOutput(result.mean_warp_error, result.mean_flicker, report, plot, ui=preview)
