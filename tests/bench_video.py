"""Video in / out speed and memory, as a markdown section for docs/benchmarks.md.

    from bench_video import run; print(run(quick=True))      # what `make bench` calls (quick: fewer frames)
    .venv/bin/python tests/bench_video.py [--quick]          # prints the section

- decode: a generated 512×512 H.264 clip → IMAGE batch through ``video.decode.load_file`` (PyAV decode,
  RGB conversion, float32 batch), frames/s; also with a resize to 256×256 and with select_every_nth = 2;
- encode: a 512×512 IMAGE batch → mp4 / webm / gif through ``video.encode.encode``, frames/s;
- memory: peak RSS while encoding 240 frames at 512×512, each format in a fresh subprocess: the clip is drawn
  straight into its float32 batch, the peak counter is reset (``/proc/self/clear_refs``), then the batch is
  encoded; "peak / clip" = (peak RSS − RSS before the clip existed) / the clip's size. Goal: < 1.5×.
  Also the peak while decoding the same 240 frames into a batch (frames wait as uint8: ≈ 1.25× expected).
No ComfyUI import: this is the pure-Python layer the nodes call (the nodes add only a progress bar).
"""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIZE = 512
RSS_FRAMES = 240
GOAL_RATIO = 1.5


def _pack():
    """Import this pack as `animatediff_lightning` without booting ComfyUI (video/ needs none)."""
    if "animatediff_lightning" not in sys.modules:
        spec = importlib.util.spec_from_file_location("animatediff_lightning", ROOT / "__init__.py",
                                                      submodule_search_locations=[str(ROOT)])
        module = importlib.util.module_from_spec(spec)
        sys.modules["animatediff_lightning"] = module
        spec.loader.exec_module(module)
    if str(ROOT / "tests") not in sys.path:
        sys.path.insert(0, str(ROOT / "tests"))


def _status(key: str) -> int:
    """VmRSS / VmHWM of this process, bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"{key} not in /proc/self/status")


def _drawn_batch(frames: int, size: int):
    """A [frames, size, size, 3] float32 clip drawn frame by frame into one preallocated batch."""
    import torch
    from support.clips import draw_frame
    batch = torch.empty((frames, size, size, 3), dtype=torch.float32)
    for i in range(frames):
        batch[i].copy_(torch.from_numpy(draw_frame(i, frames, size, size))).div_(255.0)
    return batch


def rss_decode_child(path: str) -> dict:
    _pack()
    import torch  # noqa: F401  (imported before the baseline)
    from animatediff_lightning.video.decode import LoadOptions, load_file
    before = _status("VmRSS")
    images = load_file(path, os.path.basename(path), LoadOptions()).images
    clip_bytes = images.numel() * images.element_size()
    peak = _status("VmHWM")
    return {"fmt": "decode", "clip": clip_bytes, "before": before, "peak": peak, "reset": True,
            "ratio": (peak - before) / clip_bytes}


def rss_child(fmt: str, frames: int, size: int) -> dict:
    _pack()
    import torch  # noqa: F401  (imported before the baseline)
    from animatediff_lightning.video.encode import encode, tensor_frames
    before = _status("VmRSS")
    images = _drawn_batch(frames, size)
    clip_bytes = images.numel() * images.element_size()
    with_clip = _status("VmRSS")
    reset = True
    try:
        Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    except OSError:
        reset = False
    with tempfile.TemporaryDirectory() as d:
        start = time.perf_counter()
        encode(os.path.join(d, f"bench.{fmt}"), fmt, tensor_frames(images), size, size, 24.0, 23)
        seconds = time.perf_counter() - start
    peak = _status("VmHWM")
    return {"fmt": fmt, "clip": clip_bytes, "before": before, "with_clip": with_clip, "peak": peak,
            "reset": reset, "seconds": seconds, "ratio": (peak - before) / clip_bytes}


def _child(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=True,
                         timeout=1200)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def run(quick: bool = False) -> str:
    _pack()
    import av
    import torch
    from animatediff_lightning.video.decode import LoadOptions, load_file
    from animatediff_lightning.video.encode import encode, tensor_frames
    from support.clips import make_clip

    frames, repeats = (48, 1) if quick else (240, 3)
    lines = ["## Video in / out", "",
             f"{SIZE}×{SIZE}, {frames} frames, best of {repeats}; {torch.get_num_threads()} torch threads, "
             f"{os.cpu_count()} CPUs, PyAV {av.__version__}. Pure-Python layer (`video/`), no ComfyUI.", "",
             "| what | frames/s |", "|---|---:|"]
    with tempfile.TemporaryDirectory() as d:
        clip = make_clip(Path(d) / "bench.mp4", frames=frames, width=SIZE, height=SIZE)
        for label, options in [("decode mp4 (H.264) → IMAGE batch", LoadOptions()),
                               ("decode + resize to 256×256", LoadOptions(width=256, height=256)),
                               ("decode, select_every_nth = 2", LoadOptions(select_every_nth=2))]:
            seconds = _best(lambda: load_file(str(clip), clip.name, options), repeats)
            out = frames // options.select_every_nth
            lines.append(f"| {label} | {out / seconds:.0f} |")
        images = _drawn_batch(frames, SIZE)
        for fmt, what in [("mp4", "H.264 crf 23"), ("webm", "VP9 crf 23"), ("gif", "256 colours")]:
            path = os.path.join(d, f"out.{fmt}")
            seconds = _best(lambda: encode(path, fmt, tensor_frames(images), SIZE, SIZE, 24.0, 23), repeats)
            lines.append(f"| encode IMAGE batch → {fmt} ({what}) | {frames / seconds:.0f} |")
        lines += ["", "frames/s counts the frames that come out (select_every_nth = 2 still decodes every frame). "
                      "The frames are synthetic (flat colours, one moving disc): real footage encodes slower.", "",
                  f"Peak memory for {RSS_FRAMES} frames at {SIZE}×{SIZE}, a fresh process each (encode goal: "
                  f"peak / clip < {GOAL_RATIO}×):", "",
                  "| step | clip (float32) | RSS before clip | peak RSS | peak − before | peak / clip | goal |",
                  "|---|---:|---:|---:|---:|---:|---|"]
        rss_clip = make_clip(Path(d) / "rss.mp4", frames=RSS_FRAMES, width=SIZE, height=SIZE)
        rows = [("decode mp4 → IMAGE batch", _child("--rss-decode", str(rss_clip)))]
        rows += [(f"encode → {fmt}", _child("--rss-child", fmt, str(RSS_FRAMES), str(SIZE)))
                 for fmt in (["mp4"] if quick else ["mp4", "webm", "gif"])]
    mb = 1e6
    for label, r in rows:
        goal = "—" if r["fmt"] == "decode" else ("met" if r["ratio"] < GOAL_RATIO else "MISSED")
        lines.append(f"| {label} | {r['clip'] / mb:.0f} MB | {r['before'] / mb:.0f} MB | {r['peak'] / mb:.0f} MB | "
                     f"{(r['peak'] - r['before']) / mb:.0f} MB | {r['ratio']:.2f}× | {goal} |")
    if not all(r["reset"] for _, r in rows):
        lines += ["", "(/proc/self/clear_refs was not writable: an encode peak includes drawing the clip.)"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--rss-decode":
        print(json.dumps(rss_decode_child(sys.argv[2])))
    elif len(sys.argv) > 1 and sys.argv[1] == "--rss-child":
        print(json.dumps(rss_child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))))
    else:
        print(run(quick="--quick" in sys.argv))
