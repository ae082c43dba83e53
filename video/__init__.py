"""Video files in and out, in pure Python (PyAV, OpenCV, numpy, torch): no ComfyUI import.

source — open a clip, probe its video stream, read its frames one at a time and its audio;
decode — plan what a load will produce (size, frame count, memory) before decoding, then
decode frame by frame with frame selection, resampling, resizing and the audio of the selected span;
encode — stream frames (and audio) into mp4 (H.264), webm (VP9) or gif.

Every problem a user can cause (missing or corrupt file, no frames left, over the memory cap, a codec this
build cannot decode, …) raises ``VideoError``, a ``ValueError`` whose message names the file or the input
and says what to do.
"""


class VideoError(ValueError):
    """A clip that cannot be loaded or saved as asked; the message tells the user what to change."""
