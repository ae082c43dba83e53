"""The ComfyUI side of Load Images: the input folder's sub-folders, the same path rule as Load Video (a folder
is read only from inside ComfyUI's input folder, or ``name [output]`` / ``name [temp]``), progress and
interruption. Reading the images themselves is ``video/frames_folder.py``'s job."""
from __future__ import annotations

import os
from dataclasses import dataclass

import folder_paths

from ..video import VideoError
from ..video.frames_folder import FolderOptions, folder_fingerprint, load_folder
from .video import VideoPathError, _progress, input_candidate  # noqa: F401  (VideoPathError: what a bad path raises here)


def input_folders() -> list[str]:
    """The sub-folders at the top of ComfyUI's input folder, for the node's list."""
    folder = folder_paths.get_input_directory()
    try:
        with os.scandir(folder) as it:
            return sorted((e.name for e in it if e.is_dir() and not e.name.startswith(".")), key=str.lower)
    except OSError:
        return []


def resolve_input_folder(name: str, input_name: str) -> str:
    """The full path of the folder ``name`` under the input folder (annotated ``… [output]``: that folder);
    refuses anything that leaves it, as Load Video refuses a clip outside it."""
    candidate, base = input_candidate(name, input_name, "Put the images in a folder inside it (sub-folders are "
                                                        "fine) and give its path relative to it, e.g. frames/shot1.")
    if not os.path.exists(candidate):
        raise VideoError(f"{input_name} '{name}': no such folder in ComfyUI's input folder ({base}). Create it "
                         "there and put the images in it, then press R to refresh the list.")
    if not os.path.isdir(candidate):
        raise VideoError(f"{input_name} '{name}' is a file, not a folder: choose the folder that holds the images.")
    return candidate


def _chosen(directory: str, path: str) -> tuple[str, str]:
    typed = (path or "").strip()
    return (typed, "path") if typed else ((directory or "").strip(), "directory")


def images_fingerprint(directory: str, path: str) -> str:
    """Changes when an image in the chosen folder is added, removed or rewritten, so the loader runs again."""
    try:
        name, input_name = _chosen(directory, path)
        return folder_fingerprint(resolve_input_folder(name, input_name))
    except (VideoError, OSError, TypeError):
        return ""


@dataclass
class ImagesResult:
    images: object
    masks: object
    frame_count: int
    fps: float


def load_images(directory: str, path: str, options: FolderOptions, fps: float) -> ImagesResult:
    """A typed path wins over the folder chosen in the list. ``fps`` is the sequence's rate; every n-th divides
    it, as Load Video's fps output."""
    name, input_name = _chosen(directory, path)
    if not name:
        raise VideoError("no folder chosen: pick a sub-folder of ComfyUI's input folder in 'directory', or type "
                         "a folder path under it in 'path'.")
    if not fps > 0:
        raise VideoError(f"fps must be more than 0 (got {fps}).")
    frames = load_folder(resolve_input_folder(name, input_name), name, options, _progress())
    return ImagesResult(frames.images, frames.masks, frames.frame_count, float(fps) / options.select_every_nth)


def select_every_nth(images, select_every_nth: int, skip_first_images: int):
    """Select Every Nth Image: ``images[skip_first_images::select_every_nth]``, as VideoHelperSuite's node slices
    (its count the selection's length). A selection with no image left stops with a message, where VideoHelperSuite
    passes an empty batch on to fail in a later node."""
    nth, skip = int(select_every_nth), int(skip_first_images)
    if nth < 1 or skip < 0:
        raise VideoError(f"select_every_nth must be at least 1 and skip_first_images at least 0 (got {nth} and {skip}).")
    selected = images[skip::nth]
    if selected.shape[0] == 0:
        raise VideoError(f"skip_first_images {skip} skips all {images.shape[0]} images: nothing is left to select. "
                         f"Skip fewer than {images.shape[0]}.")
    return selected, int(selected.shape[0])
