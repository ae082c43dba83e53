"""Stream frames (and audio) into mp4 (H.264), webm (VP9) or gif with PyAV, one frame at a time.

- mp4: libx264, yuv420p, ``crf`` (0–51, lower = better), AAC audio, metadata as MP4 tags
  (``movflags=use_metadata_tags``, as ComfyUI's own SaveVideo) and ``faststart`` so browsers can play it
  while it loads.
- webm: libvpx-vp9, yuv420p, constant quality ``crf`` (0–63), Opus audio at 48 kHz, metadata as Matroska tags
  (Matroska stores tag names in capitals: ``PROMPT``, ``WORKFLOW``).
- gif: a 256-colour palette per frame; no audio, no metadata; frame delays are whole 1/100 s, so the delay
  of each frame is rounded and the average rate stays the one asked for.

Audio: the first item of an AUDIO batch, its first two channels, resampled where the codec needs it (Opus:
48 kHz; AAC: 48 kHz unless the rate is a standard AAC rate), and cut at the last frame's end.

yuv420p needs even sizes: an odd width or height is padded by one pixel (the last column/row repeated),
never cropped. Frames come in as [H, W, 3] uint8 arrays; ``tensor_frames`` converts an IMAGE batch one
frame at a time, so encoding never holds a second copy of the clip.
"""
from __future__ import annotations

import os
from fractions import Fraction
from typing import Callable, Iterable, Optional

import av
import cv2
import numpy as np
import torch
from PIL import Image

from . import VideoError

FORMATS = ("mp4", "webm", "gif")  # widget order: append only
VIDEO_CODEC = {"mp4": "libx264", "webm": "libvpx-vp9", "gif": "gif"}
AUDIO_CODEC = {"mp4": "aac", "webm": "libopus"}
MAX_CRF = {"mp4": 51, "webm": 63, "gif": 63}
AAC_RATES = {96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000}


def even_size(width: int, height: int) -> tuple[int, int]:
    return width + width % 2, height + height % 2


def tensor_frames(images: torch.Tensor) -> Iterable[np.ndarray]:
    """An IMAGE batch [N, H, W, C] (0..1) → uint8 RGB frames, converted one at a time (in numpy, which is
    many times faster than torch's small elementwise ops on a busy CPU)."""
    scratch = None
    for frame in images:
        x = frame.detach()
        if x.device.type != "cpu" or x.dtype != torch.float32:
            x = x.to("cpu", torch.float32)
        x = x.numpy()
        x = np.repeat(x, 3, axis=-1) if x.shape[-1] == 1 else x[..., :3]
        if scratch is None or scratch.shape != x.shape:
            scratch = np.empty(x.shape, np.float32)
        np.multiply(x, 255.0, out=scratch)
        scratch += 0.5
        np.clip(scratch, 0, 255, out=scratch)
        yield scratch.astype(np.uint8)


def _rate(fps: float) -> Fraction:
    if not fps > 0:
        raise VideoError(f"fps must be more than 0 (got {fps}).")
    return Fraction(fps).limit_denominator(1001)


class VideoWriter:
    """``write`` frames one by one, then ``close``; ``abort`` on failure (the caller removes the file)."""

    def __init__(self, path: str, fmt: str, width: int, height: int, fps: float, crf: int = 19,
                 audio: Optional[dict] = None, metadata: Optional[dict[str, str]] = None):
        if fmt not in FORMATS:
            raise VideoError(f"format must be one of {', '.join(FORMATS)} (got '{fmt}').")
        if not 0 <= crf <= MAX_CRF[fmt]:
            raise VideoError(f"crf {crf} is out of range for {fmt}: use 0–{MAX_CRF[fmt]} (lower = better quality).")
        self.fmt, self.width, self.height, self.rate = fmt, width, height, _rate(fps)
        self.frames = 0
        options = {"movflags": "use_metadata_tags+faststart"} if fmt == "mp4" else {}
        self.container = av.open(path, mode="w", format=fmt, options=options)
        try:
            if fmt != "gif":
                for key, value in (metadata or {}).items():
                    self.container.metadata[key] = value
            self._add_video(crf)
            self._add_audio(audio)
        except Exception:
            self.abort()
            raise

    def _add_video(self, crf: int) -> None:
        stream = self.container.add_stream(VIDEO_CODEC[self.fmt], rate=self.rate)
        if self.fmt == "gif":
            stream.width, stream.height, stream.pix_fmt = self.width, self.height, "pal8"
            self.time_base = Fraction(1, 100)
        else:
            stream.width, stream.height = even_size(self.width, self.height)
            stream.pix_fmt = "yuv420p"
            stream.options = ({"crf": str(crf)} if self.fmt == "mp4" else
                              {"crf": str(crf), "b": "0", "deadline": "good", "cpu-used": "4", "row-mt": "1"})
            self.time_base = 1 / self.rate
        stream.codec_context.time_base = self.time_base
        self.stream = stream

    def _add_audio(self, audio: Optional[dict]) -> None:
        self.audio = self.audio_stream = None
        if audio is None or self.fmt not in AUDIO_CODEC:
            return
        waveform = audio["waveform"]
        waveform = waveform[0] if waveform.ndim == 3 else waveform
        if waveform.shape[-1] == 0:
            return
        self.audio = np.ascontiguousarray(waveform[:2].detach().to("cpu", torch.float32).numpy())
        self.audio_rate = int(audio["sample_rate"])
        self.audio_done = 0
        layout = "mono" if self.audio.shape[0] == 1 else "stereo"
        out_rate = self.audio_rate if self.fmt == "mp4" and self.audio_rate in AAC_RATES else 48000
        self.audio_stream = self.container.add_stream(AUDIO_CODEC[self.fmt], rate=out_rate)
        self.audio_stream.layout = layout
        self.layout = layout
        ctx = self.audio_stream.codec_context
        self.resampler = av.AudioResampler(format=ctx.format, layout=layout, rate=out_rate)

    def _audio_until(self, seconds: float, flush: bool = False) -> None:
        """Encode the audio up to ``seconds`` (interleaved with the video); audio past the last frame is cut."""
        if self.audio is None:
            return
        end = min(self.audio.shape[1], round(seconds * self.audio_rate))
        if end > self.audio_done:
            chunk = av.AudioFrame.from_ndarray(np.ascontiguousarray(self.audio[:, self.audio_done:end]),
                                               format="fltp", layout=self.layout)
            chunk.sample_rate, chunk.pts = self.audio_rate, self.audio_done
            chunk.time_base = Fraction(1, self.audio_rate)
            self.audio_done = end
            for out in self.resampler.resample(chunk):
                self.container.mux(self.audio_stream.encode(out))
        if flush:
            for out in self.resampler.resample(None):
                self.container.mux(self.audio_stream.encode(out))
            self.container.mux(self.audio_stream.encode(None))

    def _frame(self, rgb: np.ndarray) -> av.VideoFrame:
        if self.fmt == "gif":
            paletted = Image.fromarray(rgb).quantize(256, method=Image.Quantize.FASTOCTREE)
            palette = np.zeros((256, 4), np.uint8)
            colours = np.frombuffer(bytes(paletted.getpalette()[:768]), np.uint8).reshape(-1, 3)
            palette[:, 0], palette[:len(colours), 1:] = 255, colours
            return av.VideoFrame.from_ndarray((np.asarray(paletted), palette), format="pal8")
        w, h = even_size(self.width, self.height)
        if (w, h) != (self.width, self.height):
            rgb = cv2.copyMakeBorder(rgb, 0, h - self.height, 0, w - self.width, cv2.BORDER_REPLICATE)
        return av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")

    def write(self, rgb: np.ndarray) -> None:
        if rgb.shape != (self.height, self.width, 3) or rgb.dtype != np.uint8:
            raise VideoError(f"frame {self.frames} is {rgb.shape} {rgb.dtype}; every frame must be "
                             f"({self.height}, {self.width}, 3) uint8 (all images of one batch have one size).")
        frame = self._frame(rgb)
        if self.fmt == "gif":  # whole centiseconds, rounded per frame so the average rate is kept
            frame.pts = round(self.frames * 100 / self.rate)
        else:
            frame.pts = self.frames
        frame.time_base = self.time_base
        self.container.mux(self.stream.encode(frame))
        self.frames += 1
        self._audio_until(self.frames / self.rate)

    def close(self) -> None:
        self.container.mux(self.stream.encode(None))
        self._audio_until(self.frames / self.rate, flush=True)
        self.container.close()

    def abort(self) -> None:
        try:
            self.container.close()
        except Exception:  # the file is removed by the caller anyway
            pass


def encode(path: str, fmt: str, frames: Iterable[np.ndarray], width: int, height: int, fps: float,
           crf: int = 19, audio: Optional[dict] = None, metadata: Optional[dict[str, str]] = None,
           on_frame: Optional[Callable[[int], None]] = None) -> int:
    """Write ``frames`` to ``path``; returns the frame count. On any failure ``path`` is removed."""
    writer = None
    try:
        writer = VideoWriter(path, fmt, width, height, fps, crf, audio, metadata)
        for rgb in frames:
            writer.write(rgb)
            if on_frame:
                on_frame(writer.frames)
        if writer.frames == 0:
            raise VideoError("no frames to save: the image batch is empty.")
        writer.close()
        return writer.frames
    except av.error.FFmpegError as e:
        if writer is not None:
            writer.abort()
        if os.path.exists(path):
            os.remove(path)
        done = writer.frames if writer is not None else 0
        raise VideoError(f"saving the {fmt} failed after {done} frames ({e}).") from e
    except BaseException:
        if writer is not None:
            writer.abort()
        if os.path.exists(path):
            os.remove(path)
        raise
