"""Where frames and audio come from: open a clip (path or file object), probe its video stream into a
``ClipInfo`` (size as shown, rate, frame count, codec, display rotation), decode its frames one at a time,
and read its audio for a span of seconds.

Everything a user can get wrong about the file itself (missing, corrupt, no video stream, a codec this build
cannot decode, damaged mid-way) raises ``VideoError`` here; what is done with the frames is ``decode``'s job.
"""
from __future__ import annotations

import itertools
import os
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from typing import Iterator, Optional

import av
import numpy as np
import torch

from . import VideoError


@dataclass(frozen=True)
class ClipInfo:
    name: str
    width: int
    height: int
    fps: Fraction
    frame_count: Optional[int]  # from the container's metadata; None when it does not say
    codec: str
    audio: bool
    exact: bool = True          # frame_count read from the container's frame count, not from a duration
    quarter_turns: int = 0      # display rotation (phone clips), counter-clockwise; width/height are as shown


def _stream_seconds(container, stream) -> Optional[float]:
    tag = stream.metadata.get("DURATION") or stream.metadata.get("duration")  # Matroska/WebM per-stream tag
    if tag:
        try:
            h, m, s = tag.split(":")
            return int(h) * 3600 + int(m) * 60 + float(s)
        except ValueError:
            pass
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / av.time_base
    return None


@contextmanager
def open_video(source, name: str):
    """(container, video stream, ClipInfo, frames) for a path or file object; VideoError for anything
    unreadable. The first frame is decoded here, for its display rotation; ``frames`` still yields it."""
    if isinstance(source, (str, os.PathLike)) and not os.path.isfile(source):
        raise VideoError(f"'{name}' does not exist (looked for {source}). Check the name, or upload the clip.")
    try:
        container = av.open(source, mode="r")
    except (av.error.FFmpegError, OSError) as e:
        raise VideoError(f"'{name}' cannot be read as a video: it is corrupt, truncated or not a video file "
                         f"({e}). Re-export or re-download it, or pick another file.") from e
    try:
        if not container.streams.video:
            raise VideoError(f"'{name}' has no video stream (an audio-only or data file?). Pick a video file.")
        stream = container.streams.video[0]
        if stream.codec_context is None:
            raise VideoError(f"'{name}' uses a video codec this PyAV/FFmpeg build cannot decode. Convert it to "
                             f"H.264 mp4 (e.g. ffmpeg -i in -c:v libx264 -pix_fmt yuv420p out.mp4) and load that.")
        fps = Fraction(stream.average_rate or stream.guessed_rate or stream.base_rate or 24)
        if stream.codec_context.name == "gif" and stream.frames and stream.duration:  # delays vary per frame
            fps = Fraction(stream.frames) / (stream.duration * stream.time_base)
        count, exact = stream.frames or None, bool(stream.frames)
        if count is None:
            seconds = _stream_seconds(container, stream)
            count = round(seconds * fps) if seconds else None
        frames = file_frames(container, stream, name)
        first = next(frames, None)
        turns = round((first[1].rotation or 0) / 90) % 4 if first is not None else 0
        width, height = stream.codec_context.width, stream.codec_context.height
        info = ClipInfo(name, *((height, width) if turns % 2 else (width, height)), fps, count,
                        stream.codec_context.name, bool(container.streams.audio), exact, turns)
        yield container, stream, info, (itertools.chain([first], frames) if first is not None else iter(()))
    finally:
        container.close()


def file_frames(container, stream, name: str) -> Iterator[tuple[float, av.VideoFrame]]:
    """(presentation time in seconds, frame), decoded one at a time."""
    stream.thread_type = "AUTO"
    n = 0
    try:
        for frame in container.decode(stream):
            yield (frame.time if frame.time is not None else n / float(stream.average_rate or 24)), frame
            n += 1
    except av.error.FFmpegError as e:
        raise VideoError(f"'{name}' is damaged: decoding stopped after {n} frames ({e}). Re-export or re-download "
                         "it, or load fewer frames with frame_load_cap.") from e


def read_audio(source, name: str, start: float, duration: float) -> Optional[dict]:
    """The first audio stream's samples in [start, start + duration) (stream clock, seconds), or None."""
    if hasattr(source, "seek"):
        source.seek(0)
    with av.open(source, mode="r") as container:
        stream = next((s for s in container.streams.audio if s.codec_context is not None), None)
        if stream is None:
            return None
        rate, channels = stream.codec_context.sample_rate, stream.codec_context.channels
        out = np.zeros((channels, max(0, round(duration * rate))), np.float32)
        resampler = av.AudioResampler(format="fltp", layout=stream.codec_context.layout, rate=rate)
        filled, position = 0, None
        try:
            for packet in container.demux(stream):
                for frame in packet.decode():
                    for chunk in resampler.resample(frame):
                        t = chunk.time if chunk.time is not None else position
                        position = (t or 0.0) + chunk.samples / rate
                        offset = round(((t or 0.0) - start) * rate)
                        data = chunk.to_ndarray()
                        a, b = max(0, offset), min(out.shape[1], offset + data.shape[1])
                        if a < b:
                            out[:, a:b] = data[:, a - offset:b - offset]
                            filled = max(filled, b)
                if position is not None and position >= start + duration:
                    break
        except av.error.FFmpegError as e:
            raise VideoError(f"'{name}': its audio track is damaged ({e}). Re-export the clip, or strip its "
                             "audio.") from e
    if filled == 0:
        return None
    return {"waveform": torch.from_numpy(out[:, :filled]).unsqueeze(0), "sample_rate": int(rate)}
