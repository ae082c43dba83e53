"""The ComfyUI side of video in and out: input/output folders and their safety, progress bars and
interruption, core VIDEO and AUDIO conversion. Decoding and encoding themselves live in ``video/``.

Paths: a clip is read only from inside ComfyUI's input folder (or, written ``name [output]``, its output
folder, as ComfyUI annotates files); a file is written only inside the output folder, first under a hidden
temporary name and renamed into place once the encoder has finished, so a failure leaves nothing behind.
"""
from __future__ import annotations

import inspect
import json
import os
import re
import uuid
from dataclasses import dataclass
from fractions import Fraction
from typing import Optional

import comfy.model_management
import comfy.utils
import folder_paths
from comfy.cli_args import args
from comfy_api.latest import InputImpl, Types

from ..video import VideoError
from ..video.decode import LoadedClip, LoadOptions, load_file, load_tensor
from ..video.encode import FORMATS, encode, tensor_frames

VIDEO_EXTENSIONS = (".mp4", ".webm", ".mkv", ".mov", ".avi", ".m4v", ".gif", ".mpg", ".mpeg", ".ts", ".flv",
                    ".wmv", ".ogv", ".3gp")
VIDEO_INPUT_NAME = "the VIDEO input"


class VideoPathError(VideoError):
    """A name or prefix that would read or write outside ComfyUI's folders."""


# -------------------------------------------------------------------------------------------- input side

def input_videos() -> list[str]:
    """Video files at the top of ComfyUI's input folder (where uploads go), for the node's list."""
    folder = folder_paths.get_input_directory()
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return sorted(n for n in names if n.lower().endswith(VIDEO_EXTENSIONS) and os.path.isfile(os.path.join(folder, n)))


def _inside(path: str, folder: str) -> bool:
    folder = os.path.abspath(folder)
    return os.path.commonpath([os.path.abspath(path), folder]) == folder


def input_candidate(name: str, input_name: str, put: str) -> tuple[str, str]:
    """(full path, folder) of ``name`` under the input folder (``… [output]`` / ``… [temp]``: those folders),
    refusing a NUL or anything that leaves the folder (``put``: what to put there, and an example path)."""
    if "\x00" in name:
        raise VideoPathError(f"{input_name} '{name!r}' contains a NUL character.")
    relative, base = folder_paths.annotated_filepath(name.strip())
    base = base or folder_paths.get_input_directory()
    relative = relative.strip().replace("\\", "/")
    candidate = os.path.normpath(os.path.join(base, relative))
    if not relative or not _inside(candidate, base):
        raise VideoPathError(f"{input_name} '{name}' is outside ComfyUI's input folder ({base}). {put}")
    return candidate, base


def resolve_input(name: str, input_name: str) -> str:
    """The full path of ``name`` under the input folder (``… [output]`` / ``… [temp]``: those folders).
    Refuses anything that leaves the folder; symlinks placed inside it by the machine's owner are followed."""
    candidate, base = input_candidate(name, input_name, "Put the clip inside that folder (sub-folders are fine) "
                                                        "and give its path relative to it, e.g. clips/shot1.mp4.")
    if not os.path.exists(candidate):
        raise VideoError(f"{input_name} '{name}' is not in ComfyUI's input folder ({base}). Upload it with the "
                         "node's upload button or copy it there, then press R to refresh the list.")
    if not os.path.isfile(candidate):
        raise VideoError(f"{input_name} '{name}' is a folder, not a video file.")
    return candidate


def input_fingerprint(video: str, path: str) -> str:
    """Changes when the chosen file changes on disk (same name, new upload), so the loader runs again."""
    try:
        full = resolve_input(path if path and path.strip() else video, "path")
        stat = os.stat(full)
        return f"{full}:{stat.st_mtime_ns}:{stat.st_size}"
    except (VideoError, OSError, TypeError):
        return ""


def _progress():
    bar = None

    def update(done: int, total: Optional[int]) -> None:
        nonlocal bar
        comfy.model_management.throw_exception_if_processing_interrupted()
        total = max(total or done + 1, done)
        if bar is None:
            bar = comfy.utils.ProgressBar(total)
        bar.update_absolute(done, total)
    return update


@dataclass
class LoadResult:
    images: object
    frame_count: int
    fps: float
    audio: Optional[dict]
    video: object  # core VIDEO of the selected frames (and audio)


def load_video(video: str, path: str, options: LoadOptions, video_input=None) -> LoadResult:
    """A connected VIDEO wins, then a typed path, then the file chosen in the list."""
    progress = _progress()
    if video_input is not None:
        clip = _load_core_video(video_input, options, progress)
    else:
        typed = (path or "").strip()
        name = typed or (video or "").strip()
        if not name:
            raise VideoError("no clip chosen: pick a file in 'video' (upload one with its button), type a path "
                             "under ComfyUI's input folder in 'path', or connect a VIDEO.")
        clip = load_file(resolve_input(name, "path" if typed else "video"), name, options, progress)
    core = InputImpl.VideoFromComponents(Types.VideoComponents(images=clip.images, audio=clip.audio,
                                                               frame_rate=clip.fps))
    return LoadResult(clip.images, clip.frame_count, float(clip.fps), clip.audio, core)


def _has_frame_edits(video_input) -> bool:
    """Whether a core VIDEO carries a trim, crop or rotation that only ``get_components()`` applies; its
    ``get_stream_source()`` is still the untrimmed file. Newer ComfyUI says so with ``has_pending_frame_edits()``
    (``VideoFromFile(file, start_time=…, duration=…, crop=…)``); 0.33 has trims only, read from
    ``get_active_trim_window()`` (core's Video Slice node makes them); 0.3.75 has neither. A VIDEO that cannot
    say is treated as edited: its frames come from ``get_components()``, which is always right, only slower."""
    pending = getattr(video_input, "has_pending_frame_edits", None)
    trim_window = getattr(video_input, "get_active_trim_window", None)
    try:
        if pending is not None:
            return bool(pending())
        if trim_window is not None:
            start_time, duration = trim_window()
            return bool(start_time or duration)
    except Exception:  # noqa: BLE001 — an implementation that cannot tell: take the safe path
        return True
    # Before trims existed (0.3.75) a VideoFromFile is the whole file; one that takes a trim but does not
    # say whether it has one cannot tell.
    return "start_time" in inspect.signature(type(video_input).__init__).parameters


def _load_core_video(video_input, options: LoadOptions, progress) -> LoadedClip:
    if isinstance(video_input, InputImpl.VideoFromFile) and not _has_frame_edits(video_input):
        source = video_input.get_stream_source()  # a path or an in-memory file: decoded as a stream
        name = os.path.basename(source) if isinstance(source, str) else VIDEO_INPUT_NAME
        return load_file(source, name, options, progress)
    try:
        components = video_input.get_components()
    except Exception as e:  # noqa: BLE001 — whatever a VIDEO implementation raises, say where it came from
        raise VideoError(f"{VIDEO_INPUT_NAME} could not give its frames ({type(e).__name__}: {e}).") from e
    audio = components.audio if components.audio and "waveform" in components.audio else None
    return load_tensor(components.images, Fraction(components.frame_rate), audio, VIDEO_INPUT_NAME, options,
                       progress)


# ------------------------------------------------------------------------------------------- output side

_DRIVE = re.compile(r"^[A-Za-z]:")


def safe_prefix(prefix: str) -> str:
    """``filename_prefix`` as a relative 'sub/folder/name', or VideoPathError if it could leave the output
    folder (absolute, drive letter, '~', '..', control characters); '\\' counts as a separator."""
    text = (prefix or "").strip()
    if not text:
        raise VideoPathError("filename_prefix is empty: give a name such as video/ComfyUI.")
    if any(ord(c) < 32 for c in text):
        raise VideoPathError(f"filename_prefix {text!r} contains control characters.")
    if text.startswith(("/", "\\", "~")) or _DRIVE.match(text) or os.path.isabs(text):
        raise VideoPathError(f"filename_prefix '{text}' is an absolute path: files are saved only inside "
                             "ComfyUI's output folder. Use a relative name such as video/ComfyUI.")
    parts = [p for p in re.split(r"[\\/]+", text) if p not in ("", ".")]
    if ".." in parts:
        raise VideoPathError(f"filename_prefix '{text}' contains '..': files are saved only inside ComfyUI's "
                             "output folder. Use a relative name without '..', such as video/ComfyUI.")
    if not parts:
        raise VideoPathError(f"filename_prefix '{text}' has no file name part: use e.g. video/ComfyUI.")
    return "/".join(parts)


def _metadata(prompt, extra_pnginfo) -> dict[str, str]:
    """The prompt and workflow, as ComfyUI's own savers store them (disabled by --disable-metadata)."""
    if args.disable_metadata:
        return {}
    metadata = {}
    if prompt is not None:
        metadata["prompt"] = json.dumps(prompt)
    for key, value in (extra_pnginfo or {}).items():
        metadata[key] = json.dumps(value)
    return metadata


@dataclass
class SaveResult:
    filename: str
    subfolder: str
    path: str
    video: object  # core VIDEO reading the saved file


def save_video(images, fps: float, filename_prefix: str, fmt: str, crf: int, audio: Optional[dict] = None,
               prompt=None, extra_pnginfo=None) -> SaveResult:
    if fmt not in FORMATS:
        raise VideoError(f"format must be one of {', '.join(FORMATS)} (got '{fmt}').")
    if images is None or images.ndim != 4 or images.shape[0] == 0:
        raise VideoError("no frames to save: the image batch is empty.")
    if audio is not None and not (isinstance(audio, dict) and "waveform" in audio and "sample_rate" in audio):
        raise VideoError("audio must be a ComfyUI AUDIO ({'waveform': [B, C, S], 'sample_rate': int}).")
    count, height, width = int(images.shape[0]), int(images.shape[1]), int(images.shape[2])
    prefix = safe_prefix(filename_prefix)
    output_dir = folder_paths.get_output_directory()
    folder, filename, counter, subfolder, _ = folder_paths.get_save_image_path(prefix, output_dir, width, height)
    if not _inside(folder, output_dir):
        raise VideoPathError(f"filename_prefix '{filename_prefix}' resolves outside ComfyUI's output folder.")
    final = os.path.join(folder, f"{filename}_{counter:05}_.{fmt}")
    partial = os.path.join(folder, f".{filename}_{counter:05}_.{uuid.uuid4().hex[:8]}.partial")
    bar = comfy.utils.ProgressBar(count)

    def on_frame(done: int) -> None:
        bar.update_absolute(done, count)
        comfy.model_management.throw_exception_if_processing_interrupted()

    try:
        encode(partial, fmt, tensor_frames(images), width, height, fps, crf, audio,
               _metadata(prompt, extra_pnginfo), on_frame)
        os.replace(partial, final)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    return SaveResult(os.path.basename(final), subfolder, final, InputImpl.VideoFromFile(final))
