"""Synthetic test clips, drawn with OpenCV and encoded with PyAV.

Every frame carries its own index: the top-left block is grey level ``16 + 9·i`` (readable back after lossy
compression with ``frame_index``), and a coloured disc moves across a dark background. Audio, when asked
for, is the same per frame: with ``audio="pcm"`` (a .mov with 16-bit PCM) the samples of frame i's span all
have the value ``audio_level(i)``, so a trimmed waveform tells exactly which frames' span it covers; with
``"aac"``/``"opus"`` a 440 Hz tone (lossy codecs do not keep levels exactly).
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

VIDEO_CODECS = {".mp4": ("libx264", "yuv420p"), ".mov": ("libx264", "yuv420p"), ".mkv": ("ffv1", "yuv444p"),
                ".webm": ("libvpx-vp9", "yuv420p"), ".avi": ("mjpeg", "yuvj420p"), ".gif": ("gif", "rgb8")}
AUDIO_CODECS = {"aac": "aac", "pcm": "pcm_s16le", "opus": "libopus"}


def index_level(i: int) -> int:
    return 16 + 9 * (i % 26)  # indices are unique for the first 26 frames


def frame_index(rgb: np.ndarray) -> int:
    """The index drawn into a frame (uint8 or 0..1 float [H, W, 3]), read from its top-left block."""
    block = np.asarray(rgb, dtype=np.float64)[:4, :4]
    if block.max() <= 1.0:
        block = block * 255
    return int(round((block.mean() - 16) / 9))


def audio_level(i: int) -> float:
    return (i + 1) / 64


def draw_frame(i: int, frames: int, width: int, height: int) -> np.ndarray:
    img = np.full((height, width, 3), 40, np.uint8)
    radius = max(3, min(width, height) // 6)
    x = int(radius + (width - 2 * radius) * i / max(1, frames - 1))
    cv2.circle(img, (x, height // 2), radius, (230, 120, 30), -1)
    cv2.rectangle(img, (width // 3, height - height // 5), (width // 3 + width // 4, height - 2), (60, 200, 90), -1)
    side = max(8, min(width, height) // 4)
    img[:side, :side] = index_level(i)
    return img


def audio_track(kind: str, frames: int, fps: float, rate: int) -> np.ndarray:
    """[2, S] float32 covering the clip's duration."""
    total = round(frames / fps * rate)
    if kind == "pcm":
        t = np.arange(total)
        frame_of = np.minimum((t * fps / rate).astype(np.int64), frames - 1)
        mono = np.array([audio_level(k) for k in range(frames)], np.float32)[frame_of]
    else:
        mono = (0.4 * np.sin(2 * np.pi * 440 * np.arange(total) / rate)).astype(np.float32)
    return np.stack([mono, -mono])


def make_clip(path: Path, frames: int = 24, width: int = 64, height: int = 64, fps: float = 24,
              audio: str | None = None, rate: int = 48000) -> Path:
    """Write a clip; the container follows the suffix (.mp4 .mov .mkv .webm .avi .gif)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    codec, pix_fmt = VIDEO_CODECS[path.suffix]
    fps_q = Fraction(fps).limit_denominator(1001)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=fps_q)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        if codec == "libx264":
            stream.options = {"crf": "12", "preset": "veryfast"}
        elif codec == "libvpx-vp9":
            stream.options = {"crf": "20", "b": "0", "deadline": "realtime", "cpu-used": "8"}
        astream = None
        if audio:
            astream = container.add_stream(AUDIO_CODECS[audio], rate=rate)
            astream.layout = "stereo"
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(draw_frame(i, frames, width, height), format="rgb24")
            frame.pts, frame.time_base = i, 1 / fps_q
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
        if astream is not None:
            wave = audio_track(audio, frames, float(fps_q), rate)
            resampler = av.AudioResampler(format=astream.codec_context.format, layout="stereo", rate=rate)
            for start in range(0, wave.shape[1], rate // 10):
                chunk = av.AudioFrame.from_ndarray(np.ascontiguousarray(wave[:, start:start + rate // 10]),
                                                   format="fltp", layout="stereo")
                chunk.sample_rate, chunk.pts, chunk.time_base = rate, start, Fraction(1, rate)
                for out in resampler.resample(chunk):
                    container.mux(astream.encode(out))
            for out in resampler.resample(None):
                container.mux(astream.encode(out))
            container.mux(astream.encode(None))
    return path


def unsupported_codec_clip(path: Path) -> Path:
    """An AVI whose video codec tag no decoder knows (an MJPEG clip with its FourCC renamed)."""
    tmp = make_clip(Path(path).with_suffix(".tmp.avi"), frames=4)
    data = tmp.read_bytes()
    tmp.unlink()
    Path(path).write_bytes(data.replace(b"MJPG", b"ZQZQ"))
    return Path(path)


def truncated_clip(path: Path, keep: float = 0.4) -> Path:
    """The first ``keep`` of a valid mp4 (moov at the end, as PyAV writes it): unreadable."""
    tmp = make_clip(Path(path).with_suffix(".tmp.mp4"))
    data = tmp.read_bytes()
    tmp.unlink()
    Path(path).write_bytes(data[:int(len(data) * keep)])
    return Path(path)


def _fps(stream) -> float:
    if stream.codec_context.name == "gif":  # per-frame delays: the rate is frames / duration
        return stream.frames / float(stream.duration * stream.time_base)
    return float(stream.average_rate or stream.guessed_rate)


def decode_back(path: Path) -> dict:
    """What PyAV reads back from a file: frames, size, fps, indices, metadata, audio seconds."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
        info = {"frames": len(frames), "width": stream.codec_context.width, "height": stream.codec_context.height,
                "fps": _fps(stream), "codec": stream.codec_context.name,
                "pix_fmt": stream.codec_context.pix_fmt, "metadata": dict(container.metadata),
                "indices": [frame_index(f) for f in frames], "arrays": frames, "audio_seconds": None}
    with av.open(str(path)) as container:
        if container.streams.audio:
            a = container.streams.audio[0]
            info["audio_seconds"] = sum(f.samples for f in container.decode(a)) / a.codec_context.sample_rate
    return info
