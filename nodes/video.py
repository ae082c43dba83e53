"""Load a clip into an IMAGE batch; save an IMAGE batch as mp4 / webm / gif.

Widget order is positional in saved workflows (widgets_values): append new inputs at the end, never
reorder or rename.
- ADL_LoadVideo: video, path, frame_load_cap, skip_first_frames, select_every_nth, force_rate, width,
  height, resize_mode, memory_cap_gb, resample_rule — then the frontend's upload button value (the editor lays
  widgets out by input_order, which does not name the button, so its value comes last). Files saved before
  resample_rule have 11 values, 'image' last: js/adl_video.js puts their rule back to "on screen", and
  workflow_files/workflow_api.py reads them the same way. The VIDEO socket (video_input) has no widget.
- ADL_SaveVideo: fps, filename_prefix, format, crf — images and audio are sockets.
- ADL_LoadImages: directory, path, image_load_cap, skip_first_images, select_every_nth, fps, width, height,
  resize_mode, memory_cap_gb. Outputs: images, mask, frame_count, fps (VideoHelperSuite's Load Images
  outputs first, in its order).
"""
from comfy_api.latest import io, ui

from ..glue.images import images_fingerprint, input_folders, load_images
from ..glue.video import input_fingerprint, input_videos, load_video, save_video
from ..video.decode import RESAMPLE_RULES, RESIZE_MODES, LoadOptions
from ..video.encode import FORMATS
from ..video.frames_folder import IMAGE_EXTENSIONS, FolderOptions
from .types import CATEGORY

VIDEO = f"{CATEGORY}/video"


class LoadVideo(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="ADL_LoadVideo",
            display_name="Load Video (Lightning)",
            category=VIDEO,
            description="Decodes a clip frame by frame into an IMAGE batch, with frame selection, resampling, "
                        "resizing, its audio, and a memory guard that refuses a load too big before decoding.",
            inputs=[
                io.Combo.Input("video", options=input_videos(), upload=io.UploadType.video,
                               tooltip="A clip in ComfyUI's input folder; the upload button puts one there. "
                                       "Ignored when 'path' is filled in or a VIDEO is connected."),
                io.String.Input("path", default="",
                                tooltip="Optional: a clip's path under ComfyUI's input folder, e.g. "
                                        "clips/shot1.mp4 (sub-folders allowed). Used instead of 'video' when not "
                                        "empty. Paths leaving the input folder are refused."),
                io.Int.Input("frame_load_cap", default=0, min=0, max=1_000_000,
                             tooltip="Load at most this many frames (counted after force_rate, skip and "
                                     "select_every_nth). 0 = all, up to memory_cap_gb."),
                io.Int.Input("skip_first_frames", default=0, min=0, max=10_000_000,
                             tooltip="Drop this many frames from the start (counted at force_rate when set)."),
                io.Int.Input("select_every_nth", default=1, min=1, max=1000,
                             tooltip="Keep every n-th frame after skipping: 2 halves the frames and the fps."),
                io.Float.Input("force_rate", default=0.0, min=0.0, max=240.0, step=1.0, round=0.001,
                               tooltip="Resample the clip to this frame rate first (frames are repeated or "
                                       "dropped, never blended; resample_rule says which). 0 = keep the clip's rate."),
                io.Int.Input("width", default=0, min=0, max=8192, step=8,
                             tooltip="Output width, rounded to a multiple of 8. 0 with height 0 = keep the "
                                     "clip's size; 0 with a height = follow the clip's aspect ratio."),
                io.Int.Input("height", default=0, min=0, max=8192, step=8,
                             tooltip="Output height, rounded to a multiple of 8. 0 with width 0 = keep the "
                                     "clip's size; 0 with a width = follow the clip's aspect ratio."),
                io.Combo.Input("resize_mode", options=list(RESIZE_MODES), default=RESIZE_MODES[0],
                               tooltip="When the target aspect differs from the clip's: crop = keep the aspect, "
                                       "fill the frame and cut the centre out; pad = keep the aspect, fit the "
                                       "whole clip and fill the rest with black."),
                io.Float.Input("memory_cap_gb", default=4.0, min=0.01, max=1024.0, step=0.5, round=0.01,
                               tooltip="Refuse (before decoding) a load whose IMAGE batch would take more than "
                                       "this many GB (10^9 bytes; frames × height × width × 3 × 4 bytes). The "
                                       "message says how many frames fit."),
                io.Video.Input("video_input", optional=True,
                               tooltip="Optional core VIDEO (e.g. from Load Video); when connected it is used "
                                       "instead of 'video' and 'path', with the same options."),
                # appended (optional, so old prompts without it run as before); the upload button's value
                # still comes after it in saved files, see the module docstring
                io.Combo.Input("resample_rule", options=list(RESAMPLE_RULES), default=RESAMPLE_RULES[0],
                               optional=True,
                               tooltip="Which source frame each frame takes when force_rate is set: on screen = "
                                       "the frame on screen at that frame's time, up to the clip's end; "
                                       "VideoHelperSuite = the frames VideoHelperSuite's Load Video takes (its "
                                       "time-budget rule, stopping when the source ends), so workflows "
                                       "converted from it load the same frames. Ignored when force_rate is 0."),
            ],
            outputs=[
                io.Image.Output(display_name="images", tooltip="The frames: IMAGE batch [N, H, W, 3], 0..1."),
                io.Int.Output(display_name="frame_count", tooltip="How many frames were loaded (N)."),
                io.Float.Output(display_name="fps",
                                tooltip="Frame rate of the loaded frames: (force_rate or the clip's rate) / "
                                        "select_every_nth. Connect it to the saver's fps."),
                io.Audio.Output(display_name="audio",
                                tooltip="The clip's audio for the loaded frames' time span, or None when the "
                                        "clip has no audio (nodes that require audio will then fail)."),
                io.Video.Output(display_name="video",
                                tooltip="The loaded frames, fps and audio as a core VIDEO, for core video nodes."),
            ],
        )

    @classmethod
    def validate_inputs(cls, video, path=""):
        # Taking 'video' here lets a typed path or a connected VIDEO stand in for an empty or stale file list;
        # the file itself is checked when the node runs, with a message that names it.
        return True

    @classmethod
    def fingerprint_inputs(cls, video=None, path="", **kwargs):
        return input_fingerprint(video, path)

    @classmethod
    def execute(cls, video, path, frame_load_cap, skip_first_frames, select_every_nth, force_rate, width, height,
                resize_mode, memory_cap_gb, video_input=None, resample_rule=RESAMPLE_RULES[0]) -> io.NodeOutput:
        options = LoadOptions(frame_load_cap, skip_first_frames, select_every_nth, force_rate, width, height,
                              resize_mode, memory_cap_gb, resample_rule)
        r = load_video(video, path, options, video_input)
        return io.NodeOutput(r.images, r.frame_count, r.fps, r.audio, r.video)


class LoadImages(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        kinds = ", ".join(e[1:] for e in IMAGE_EXTENSIONS)
        return io.Schema(
            node_id="ADL_LoadImages",
            display_name="Load Images (Lightning)",
            category=VIDEO,
            description="Reads a folder of numbered images (an image sequence) into an IMAGE batch and a MASK, "
                        "in natural order, with frame selection, resizing and a memory guard that refuses a load "
                        "too big before decoding.",
            inputs=[
                io.Combo.Input("directory", options=input_folders(),
                               tooltip="A sub-folder of ComfyUI's input folder holding the images (press R to "
                                       "refresh the list). Ignored when 'path' is filled in."),
                io.String.Input("path", default="",
                                tooltip="Optional: a folder's path under ComfyUI's input folder, e.g. frames/shot1 "
                                        "(sub-folders allowed). Used instead of 'directory' when not empty. Paths "
                                        "leaving the input folder are refused."),
                io.Int.Input("image_load_cap", default=0, min=0, max=1_000_000,
                             tooltip="Load at most this many images (counted after skip and select_every_nth). "
                                     "0 = all, up to memory_cap_gb."),
                io.Int.Input("skip_first_images", default=0, min=0, max=10_000_000,
                             tooltip="Drop this many images from the start of the sorted list."),
                io.Int.Input("select_every_nth", default=1, min=1, max=1000,
                             tooltip="Keep every n-th image after skipping: 2 halves the frames and the fps."),
                io.Float.Input("fps", default=8.0, min=0.01, max=240.0, step=1.0, round=0.001,
                               tooltip="The sequence's frame rate (a folder has none of its own); the fps output "
                                       "is this / select_every_nth. Connect that to the saver's fps."),
                io.Int.Input("width", default=0, min=0, max=8192, step=8,
                             tooltip="Output width, rounded to a multiple of 8. 0 with height 0 = the first "
                                     "loaded image's size; 0 with a height = follow its aspect ratio."),
                io.Int.Input("height", default=0, min=0, max=8192, step=8,
                             tooltip="Output height, rounded to a multiple of 8. 0 with width 0 = the first "
                                     "loaded image's size; 0 with a width = follow its aspect ratio."),
                io.Combo.Input("resize_mode", options=list(RESIZE_MODES), default=RESIZE_MODES[0],
                               tooltip="Every image is brought to the output size (the first image's unless "
                                       "width/height are set). When its aspect differs: crop = fill the frame "
                                       "and cut the centre out; pad = fit the whole image, black bars (masked)."),
                io.Float.Input("memory_cap_gb", default=4.0, min=0.01, max=1024.0, step=0.5, round=0.01,
                               tooltip="Refuse (before decoding) a load whose IMAGE batch would take more than "
                                       "this many GB (10^9 bytes; images × height × width × 3 × 4 bytes; the "
                                       "MASK adds a third). The message says how many images fit."),
            ],
            outputs=[
                io.Image.Output(display_name="images",
                                tooltip=f"The images ({kinds}) in natural order (frame2 before frame10; other "
                                        "files are left out), upright per their EXIF orientation: IMAGE batch "
                                        "[N, H, W, 3], 0..1."),
                io.Mask.Output(display_name="mask",
                               tooltip="1 - alpha per image, as core Load Image: 0 where opaque, so all zeros "
                                       "for images without transparency; pad bars count as transparent. "
                                       "[N, H, W]."),
                io.Int.Output(display_name="frame_count", tooltip="How many images were loaded (N)."),
                io.Float.Output(display_name="fps", tooltip="fps / select_every_nth, for the saver's fps."),
            ],
        )

    @classmethod
    def validate_inputs(cls, directory, path=""):
        # As Load Video: a typed path can stand in for an empty or stale folder list; the folder itself is
        # checked when the node runs, with a message that names it.
        return True

    @classmethod
    def fingerprint_inputs(cls, directory=None, path="", **kwargs):
        return images_fingerprint(directory, path)

    @classmethod
    def execute(cls, directory, path, image_load_cap, skip_first_images, select_every_nth, fps, width, height,
                resize_mode, memory_cap_gb) -> io.NodeOutput:
        options = FolderOptions(image_load_cap, skip_first_images, select_every_nth, width, height, resize_mode,
                                memory_cap_gb)
        r = load_images(directory, path, options, fps)
        return io.NodeOutput(r.images, r.masks, r.frame_count, r.fps)


class SaveVideo(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="ADL_SaveVideo",
            display_name="Save Video (Lightning)",
            category=VIDEO,
            description="Encodes an IMAGE batch (and audio) frame by frame into mp4, webm or gif in ComfyUI's "
                        "output folder, with the workflow embedded where the format allows.",
            inputs=[
                io.Image.Input("images", tooltip="The frames to save, in order."),
                io.Float.Input("fps", default=8.0, min=0.01, max=240.0, step=1.0, round=0.001,
                               tooltip="Frames per second; connect Load Video's fps to keep the clip's timing."),
                io.String.Input("filename_prefix", default="AnimateDiff-Lightning/video",
                                tooltip="File name in ComfyUI's output folder; '/' makes sub-folders and a counter "
                                        "is added (name_00001_.mp4). Absolute paths and '..' are refused."),
                io.Combo.Input("format", options=list(FORMATS), default=FORMATS[0],
                               tooltip="mp4 = H.264 yuv420p + AAC audio, plays everywhere; webm = VP9 + Opus; "
                                       "gif = 256 colours, no audio. mp4 and webm pad an odd width or height by "
                                       "one pixel (edge repeated) to make it even; gif keeps the size."),
                io.Int.Input("crf", default=19, min=0, max=63,
                             tooltip="Quality: lower = better and bigger. mp4 0-51 (17-23 typical), webm 0-63 "
                                     "(24-35 typical). Ignored for gif."),
                io.Audio.Input("audio", optional=True,
                               tooltip="Optional audio (mp4 and webm), cut at the last frame. None = silent."),
            ],
            outputs=[io.Video.Output(display_name="video", tooltip="The saved file as a core VIDEO.")],
            hidden=[io.Hidden.prompt, io.Hidden.extra_pnginfo],
            is_output_node=True,
        )

    @classmethod
    def execute(cls, images, fps, filename_prefix, format, crf, audio=None) -> io.NodeOutput:
        r = save_video(images, fps, filename_prefix, format, crf, audio, cls.hidden.prompt, cls.hidden.extra_pnginfo)
        saved = ui.SavedResult(r.filename, r.subfolder, io.FolderType.output)
        # the frontend plays "animated" results in a <video>, which cannot show a gif: gifs go to an <img>
        preview = {"images": [saved]} if format == "gif" else ui.PreviewVideo([saved])
        return io.NodeOutput(r.video, ui=preview)


VIDEO_NODES = [LoadVideo, SaveVideo, LoadImages]
