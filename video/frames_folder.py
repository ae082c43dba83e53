"""A folder of still images read as a video: the image files in natural order (frame2 before frame10), a
selection (skip, every n-th, cap), each image upright (EXIF orientation) and RGB, all brought to one size,
and a mask from their alpha. Pure Python (Pillow, OpenCV, numpy, torch): no ComfyUI import.

Order of operations (the node's tooltips say the same):
1. the folder's image files (extensions in ``IMAGE_EXTENSIONS``, hidden files and sub-folders left out) are
   sorted naturally;
2. ``skip_first_images`` drops that many, ``select_every_nth`` keeps every n-th of the rest,
   ``image_load_cap`` (> 0) keeps at most that many;
3. the size is the first loaded image's (upright), or width/height as Load Video computes it
   (``decode.target_size``); every image of another size is scaled to it, crop or pad as Load Video does.

Before any pixel is decoded the batch size is known (file count × the first image's size, read from its
header) and a load over ``memory_cap_gb`` is refused, with the same arithmetic as Load Video's guard
(``decode.Plan``: frames × height × width × 3 × 4 bytes). Images are kept as uint8 until the end, then
copied into the float32 batch (``decode.assemble``).
"""
from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Optional

import cv2
import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from . import VideoError
from .decode import GB, RESIZE_MODES, Plan, Progress, _size, assemble, fit_layout, target_size

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
_ORIENTATION = 0x0112     # EXIF tag; values 5-8 turn the picture a quarter, swapping width and height
_SIXTEEN_BIT = ("I", "I;16", "I;16B", "I;16L", "I;16N")


@dataclass(frozen=True)
class FolderOptions:
    image_load_cap: int = 0
    skip_first_images: int = 0
    select_every_nth: int = 1
    width: int = 0
    height: int = 0
    resize_mode: str = "crop"
    memory_cap_gb: float = 4.0

    def check(self) -> None:
        for name, low in (("image_load_cap", 0), ("skip_first_images", 0), ("select_every_nth", 1), ("width", 0),
                          ("height", 0)):
            if getattr(self, name) < low:
                raise VideoError(f"{name} must be {low} or more (got {getattr(self, name)}).")
        if self.resize_mode not in RESIZE_MODES:
            raise VideoError(f"resize_mode must be one of {', '.join(RESIZE_MODES)} (got '{self.resize_mode}').")
        if not self.memory_cap_gb > 0:
            raise VideoError(f"memory_cap_gb must be more than 0 (got {self.memory_cap_gb}).")


@dataclass
class LoadedFrames:
    images: torch.Tensor  # [N, H, W, 3] float32 in 0..1
    masks: torch.Tensor   # [N, H, W] float32: 1 - alpha (0 where opaque), as core LoadImage
    files: list[str]      # the loaded files' names, in order
    available: int        # image files in the folder

    @property
    def frame_count(self) -> int:
        return int(self.images.shape[0])


# ------------------------------------------------------------------------------------------- listing

def natural_key(name: str) -> tuple:
    """Sort key: runs of digits compare as numbers (frame2 < frame10), the rest case-insensitively; the name
    itself breaks ties (frame01 / frame1)."""
    parts = re.split(r"(\d+)", name.lower())
    return tuple(int(p) if i % 2 else p for i, p in enumerate(parts)), name


def is_image_name(name: str) -> bool:
    return not name.startswith(".") and name.lower().endswith(IMAGE_EXTENSIONS)


def _entries(folder: str, name: str) -> list[os.DirEntry]:
    if not os.path.exists(folder):
        raise VideoError(f"folder '{name}' does not exist (looked for {folder}).")
    if not os.path.isdir(folder):
        raise VideoError(f"'{name}' is a file, not a folder: choose the folder that holds the images.")
    try:
        with os.scandir(folder) as it:
            return list(it)
    except OSError as e:
        raise VideoError(f"folder '{name}' cannot be read ({e}).") from e


def _image_entries(folder: str, name: str) -> tuple[list[os.DirEntry], int]:
    entries = _entries(folder, name)
    images = [e for e in entries if is_image_name(e.name) and e.is_file()]
    images.sort(key=lambda e: natural_key(e.name))
    return images, len(entries) - len(images)


def image_files(folder: str, name: Optional[str] = None) -> list[str]:
    """The folder's image file names in natural order (not recursive)."""
    return [e.name for e in _image_entries(folder, name or folder)[0]]


def folder_fingerprint(folder: str) -> str:
    """Changes when an image file is added, removed, renamed or rewritten: the loader runs again."""
    try:
        images, _ = _image_entries(folder, folder)
        digest = hashlib.sha256(os.path.abspath(folder).encode())
        for e in images:
            stat = e.stat()
            digest.update(f"\0{e.name}\0{stat.st_mtime_ns}\0{stat.st_size}".encode())
        return digest.hexdigest()
    except (VideoError, OSError):
        return ""


def select(files: list, opts: FolderOptions) -> list:
    chosen = files[opts.skip_first_images::opts.select_every_nth]
    return chosen[:opts.image_load_cap] if opts.image_load_cap else chosen


# ------------------------------------------------------------------------------------------ planning

def _unreadable(name: str, file: str, e: Exception) -> VideoError:
    return VideoError(f"'{name}/{file}' cannot be read as an image: it is corrupt, truncated or not an image "
                      f"({type(e).__name__}: {e}). Replace it or move it out of the folder.")


def upright_size(path: str, name: str, file: str) -> tuple[int, int]:
    """(width, height) as shown, from the header only (no pixels decoded)."""
    try:
        with Image.open(path) as img:
            width, height = img.size
            turned = img.getexif().get(_ORIENTATION, 1) in (5, 6, 7, 8)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        raise _unreadable(name, file, e) from e
    return (height, width) if turned else (width, height)


def memory_message(name: str, frames: int, plan: Plan, opts: FolderOptions) -> str:
    if plan.max_frames == 0:
        return (f"'{name}': one image at {plan.width}×{plan.height} takes {_size(plan.frame_bytes)}, more than "
                f"memory_cap_gb = {opts.memory_cap_gb:g}. Lower width/height or raise memory_cap_gb.")
    return (f"'{name}': {frames} images at {plan.width}×{plan.height} would take "
            f"{_size(frames * plan.frame_bytes)} as an IMAGE batch (float32), over memory_cap_gb = "
            f"{opts.memory_cap_gb:g}. {plan.max_frames} images fit: set image_load_cap to {plan.max_frames} or "
            "less, or raise select_every_nth (or lower width/height, or raise memory_cap_gb if this machine has "
            "the RAM).")


def plan_folder(first_size: tuple[int, int], frames: int, name: str, opts: FolderOptions) -> Plan:
    """Output size and the memory guard, before decoding (Load Video's ``Plan``; fps does not apply)."""
    width, height = target_size(*first_size, opts.width, opts.height)
    plan = Plan(width, height, Fraction(1), frames, int(opts.memory_cap_gb * GB // (width * height * 3 * 4)))
    if plan.max_frames == 0 or frames > plan.max_frames:
        raise VideoError(memory_message(name, frames, plan, opts))
    return plan


# ------------------------------------------------------------------------------------------- reading

def read_image(path: str, name: str, file: str) -> tuple[np.ndarray, Optional[np.ndarray]]:
    """(RGB [H, W, 3] uint8, alpha [H, W] uint8 or None), upright, as core LoadImage reads a file: 16-bit
    greyscale scaled to 8 bits, a palette or colour key with transparency read as alpha."""
    try:
        with Image.open(path) as img:
            img.load()
            img = ImageOps.exif_transpose(img)
            if img.mode in _SIXTEEN_BIT:
                grey = np.clip(np.asarray(img, dtype=np.float32) / 257.0 + 0.5, 0, 255).astype(np.uint8)
                return np.repeat(grey[..., None], 3, axis=-1), None
            if "transparency" in img.info and "A" not in img.getbands():
                img = img.convert("RGBA")
            alpha = np.asarray(img.getchannel("A")) if "A" in img.getbands() else None
            rgb = np.asarray(img.convert("RGB"))
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        raise _unreadable(name, file, e) from e
    return rgb, alpha


def _resize(array: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    shrink = size[0] * size[1] < array.shape[0] * array.shape[1]
    return cv2.resize(array, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)


def fit(rgb: np.ndarray, alpha: Optional[np.ndarray], width: int, height: int,
        mode: str) -> tuple[np.ndarray, Optional[np.ndarray]]:
    """Scale to width × height the way Load Video does (``decode.fit_layout``: crop cuts the centre out, pad
    centres on black). Pad bars count as transparent: their mask is 1, as for an image with alpha."""
    src_h, src_w = rgb.shape[:2]
    if (src_w, src_h) == (width, height):
        return rgb, alpha
    sw, sh, x, y = fit_layout(src_w, src_h, width, height, mode)
    rgb = _resize(rgb, (sw, sh))
    padded = mode == "pad" and (sw, sh) != (width, height)
    if alpha is None and padded:
        alpha = np.full((src_h, src_w), 255, np.uint8)
    alpha = _resize(alpha, (sw, sh)) if alpha is not None else None
    if (sw, sh) == (width, height):
        return rgb, alpha
    if mode == "crop":
        return rgb[y:y + height, x:x + width], (alpha[y:y + height, x:x + width] if alpha is not None else None)
    canvas, opaque = np.zeros((height, width, 3), np.uint8), np.zeros((height, width), np.uint8)
    canvas[y:y + sh, x:x + sw], opaque[y:y + sh, x:x + sw] = rgb, alpha
    return canvas, opaque


def _masks(alphas: list, height: int, width: int) -> torch.Tensor:
    masks = torch.zeros((len(alphas), height, width), dtype=torch.float32)
    target = masks.numpy()
    for i, alpha in enumerate(alphas):
        if alpha is not None:
            np.multiply(alpha, np.float32(-1 / 255), out=target[i], casting="unsafe")
            target[i] += 1.0
    return masks


def load_folder(folder: str, name: str, opts: FolderOptions, progress: Optional[Progress] = None) -> LoadedFrames:
    """Read the folder's images as ``opts`` asks; ``name`` is how messages call the folder."""
    opts.check()
    entries, others = _image_entries(folder, name)
    if not entries:
        skipped = f" ({others} other file{'s' if others != 1 else ''} or folder{'s' if others != 1 else ''} " \
                  "left out)" if others else ""
        raise VideoError(f"folder '{name}' holds no images{skipped}: put {', '.join(IMAGE_EXTENSIONS)} files "
                         "in it, or choose another folder.")
    chosen = select(entries, opts)
    if not chosen:
        raise VideoError(f"'{name}': no images left to load: the folder has {len(entries)} images and "
                         f"skip_first_images = {opts.skip_first_images} skips them all. Set skip_first_images "
                         f"below {len(entries)}.")
    plan = plan_folder(upright_size(chosen[0].path, name, chosen[0].name), len(chosen), name, opts)
    arrays, alphas = [], []
    for i, entry in enumerate(chosen):
        rgb, alpha = fit(*read_image(entry.path, name, entry.name), plan.width, plan.height, opts.resize_mode)
        arrays.append(rgb)
        alphas.append(alpha)
        if progress:
            progress(i + 1, len(chosen))
    masks = _masks(alphas, plan.height, plan.width)
    return LoadedFrames(assemble(arrays, plan.height, plan.width), masks, [e.name for e in chosen], len(entries))
