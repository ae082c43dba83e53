"""Temporal consistency of a finished video: warp error and brightness flicker, plus a plot.

Pure numpy / OpenCV / torch (no ComfyUI import). Frames are numbered from 0, as in the IMAGE batch;
transition t is the step from frame t to frame t+1.

Warp error (per transition t, 0..1 units, lower is better)
    Dense optical flow F from frame t to frame t+1 on Rec.709 luma (OpenCV DIS or Farneback). Frame t+1
    is pulled back onto frame t with cv2.remap at x + F(x); the error is the mean absolute RGB difference
    to frame t over the valid pixels. A pixel is valid when x + F(x) lands inside the frame and, with the
    occlusion check on, when the flow is forward-backward consistent (Sundaram et al. 2010):
    |F(x) + B(x + F(x))|^2 <= 0.01 (|F|^2 + |B|^2) + 0.5 px^2, B being the flow from t+1 back to t.
    Pixels that fail the round trip are occluded or disoccluded (nothing in frame t+1 corresponds to
    them), so any colour there would be "wrong" and they would count motion as an error. The price:
    content so broken that flow cannot follow it is masked too, so the valid fraction is reported next
    to every value; a low one means the warp error understates the damage. Global brightness changes
    are part of the warp error (they are temporal inconsistency too); flicker isolates them. With no
    valid pixel at all the transition falls back to the plain frame difference (coverage 0). Frames
    larger than 512 px on a side are analysed downscaled (INTER_AREA) to bound the flow's cost.

Flicker (per transition t, 0..1 luma units)
    L_f = mean Rec.709 luma of frame f (on the stored sRGB-encoded values, i.e. luma Y', as displayed).
    The jump is dL_t = L_{t+1} - L_t. The local fade rate R_t is the median of the jumps of the
    neighbouring transitions t-2, t-1, t+1, t+2 (those that exist, t itself excluded); flicker_t =
    |dL_t - R_t|. Why: a fade of any speed changes luma by about the same amount every frame, so its
    jumps match their neighbours' and score 0 (exactly for a linear fade; an ease-in/out curve leaves a
    remainder of the order of its frame-to-frame change in rate, mostly at the two ends of the clip where
    the neighbours are one-sided). A one-frame flash scores its size on its two transitions, a lasting pop
    on one, strobing every other frame on all. The median keeps one flash from inflating the rate used
    for its neighbours, so flashes stay where they are instead of smearing like a second difference.
    A frame f is a flicker frame when its in- and out-transitions jump in opposite directions beyond
    the trend (it leaves the trend and comes back); its amount is the smaller of the two, signed
    (+ brighter, - darker). Transitions above the threshold that are not such a flash are luma pops.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import cv2
import numpy as np

FLOW_METHODS = ("DIS", "Farneback")
LUMA_709 = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)
MAX_SIDE = 512  # frames are analysed at most this large (INTER_AREA) to bound flow time on big clips
TREND_RADIUS = 2  # neighbouring transitions on each side that estimate the local fade rate


@dataclass
class ConsistencyResult:
    luma: np.ndarray  # [N] mean luma per frame
    warp_error: np.ndarray  # [N-1]
    valid_fraction: np.ndarray  # [N-1] share of pixels the warp error was measured on
    luma_jump: np.ndarray  # [N-1] L_{t+1} - L_t
    flicker_signed: np.ndarray  # [N-1] jump minus the local fade rate
    frame_flicker: np.ndarray  # [N] signed flash amount per frame, 0 where the frame is no flash
    size: tuple[int, int]  # (height, width) analysed
    flow_method: str
    occlusion_check: bool
    threshold: float
    notes: list[str] = field(default_factory=list)

    @property
    def frames(self) -> int:
        return len(self.luma)

    @property
    def flicker(self) -> np.ndarray:
        return np.abs(self.flicker_signed)

    @property
    def mean_warp_error(self) -> float:
        return float(np.mean(self.warp_error))

    @property
    def mean_flicker(self) -> float:
        return float(np.mean(self.flicker))

    @property
    def flicker_frames(self) -> list[int]:
        return [int(f) for f in np.flatnonzero(np.abs(self.frame_flicker) > self.threshold)]

    @property
    def luma_pops(self) -> list[int]:
        """Transitions above the threshold that are not the in/out edge of a flicker frame."""
        flashes = set(self.flicker_frames)
        return [int(t) for t in np.flatnonzero(self.flicker > self.threshold)
                if t not in flashes and t + 1 not in flashes]

    def report(self, worst: int = 3) -> str:
        n, (h, w) = self.frames, self.size
        lines = [
            f"Video consistency: {n} frames ({n - 1} transitions), analysed at {w}x{h}, flow {self.flow_method}, "
            f"occlusion check {'on' if self.occlusion_check else 'off'}. Frames numbered from 0.",
            f"mean warp error {self.mean_warp_error:.4f} (mean |RGB| difference after motion compensation, "
            f"0..1, lower is better)",
            f"mean flicker {self.mean_flicker:.4f} (mean luma jump beyond the local fade trend, 0..1, "
            f"lower is better)",
        ]
        flashes = self.flicker_frames
        lines.append(f"flicker frames (> {self.threshold:g}): " + (", ".join(
            f"{f} ({self.frame_flicker[f]:+.3f} {'brighter' if self.frame_flicker[f] > 0 else 'darker'})"
            for f in flashes) if flashes else "none"))
        pops = self.luma_pops
        lines.append(f"luma pops (> {self.threshold:g}): " + (", ".join(
            f"{t}->{t + 1} ({self.flicker_signed[t]:+.3f})" for t in pops) if pops else "none"))
        order = np.argsort(-self.warp_error, kind="stable")[:worst]
        lines.append("worst warp error: " + ", ".join(
            f"{t}->{t + 1} ({self.warp_error[t]:.4f})" for t in order))
        lines += self.notes
        lines.append("transition  warp_err  valid%  luma_next  jump     flicker")
        for t in range(n - 1):
            flag = " <" if self.flicker[t] > self.threshold else ""
            lines.append(f"{t:>4}->{t + 1:<4}  {self.warp_error[t]:.4f}    {100 * self.valid_fraction[t]:5.1f}  "
                         f"{self.luma[t + 1]:.4f}     {self.luma_jump[t]:+.4f}  {self.flicker[t]:.4f}{flag}")
        return "\n".join(lines)


def _frame_rgb(frames, i: int, scale: float) -> np.ndarray:
    """Frame i as float32 RGB [H,W,3] in 0..1 (alpha dropped, grey expanded), resized by `scale`."""
    frame = frames[i]
    if hasattr(frame, "detach"):
        frame = frame.detach().float().cpu().numpy()
    frame = np.asarray(frame, dtype=np.float32)
    frame = np.repeat(frame, 3, axis=2) if frame.shape[2] == 1 else frame[..., :3]
    frame = np.nan_to_num(np.clip(frame, 0.0, 1.0))
    if scale < 1.0:
        size = (max(1, round(frame.shape[1] * scale)), max(1, round(frame.shape[0] * scale)))
        frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(frame)


class _Flow:
    def __init__(self, method: str, height: int, width: int):
        if method not in FLOW_METHODS:
            raise ValueError(f"flow_method must be one of {', '.join(FLOW_METHODS)} (got {method!r}).")
        self.method = method
        self.levels = max(1, int(math.log2(max(min(height, width), 16) / 16)) + 1)
        self.dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM) if method == "DIS" else None

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if self.dis is not None:
            return self.dis.calc(a, b, None)
        return cv2.calcOpticalFlowFarneback(a, b, None, 0.5, self.levels, 15, 3, 5, 1.2, 0)


def _to_gray8(luma: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(luma * 255.0), 0, 255).astype(np.uint8)


def _warp_error(cur: np.ndarray, nxt: np.ndarray, fwd: np.ndarray, bwd: np.ndarray | None,
                grid: tuple[np.ndarray, np.ndarray]) -> tuple[float, float]:
    h, w = cur.shape[:2]
    map_x, map_y = grid[0] + fwd[..., 0], grid[1] + fwd[..., 1]
    valid = (map_x >= 0) & (map_x <= w - 1) & (map_y >= 0) & (map_y <= h - 1)
    if bwd is not None:
        back = cv2.remap(bwd, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        round_trip = np.sum((fwd + back) ** 2, axis=2)
        valid &= round_trip <= 0.01 * (np.sum(fwd ** 2, axis=2) + np.sum(back ** 2, axis=2)) + 0.5
    if not valid.any():  # nothing can be motion-compensated: fall back to the plain frame difference
        return float(np.mean(np.abs(cur - nxt))), 0.0
    warped = cv2.remap(nxt, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    diff = np.mean(np.abs(cur - warped), axis=2)
    return float(diff[valid].mean()), float(valid.mean())


def _flicker(luma: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    jump = np.diff(luma)
    rate = np.zeros_like(jump)
    for t in range(len(jump)):
        neighbours = [jump[s] for s in range(t - TREND_RADIUS, t + TREND_RADIUS + 1)
                      if s != t and 0 <= s < len(jump)]
        rate[t] = np.median(neighbours) if neighbours else 0.0
    signed = jump - rate
    frame = np.zeros_like(luma)
    for f in range(1, len(luma) - 1):
        a, b = signed[f - 1], signed[f]
        if a * b < 0:
            frame[f] = math.copysign(min(abs(a), abs(b)), a)
    return jump, signed, frame


def measure_consistency(frames, flow_method: str = "DIS", occlusion_check: bool = True,
                        flicker_threshold: float = 0.01, max_side: int = MAX_SIDE,
                        progress: Callable[[int, int], None] | None = None) -> ConsistencyResult:
    """Measures an IMAGE batch [N,H,W,C] (torch or numpy, 0..1). Raises ValueError on fewer than 2 frames."""
    shape = tuple(frames.shape)
    if len(shape) != 4 or shape[3] not in (1, 3, 4):
        raise ValueError(f"images: expected an IMAGE batch [frames, height, width, channels], got shape {shape}.")
    n = shape[0]
    if n < 2:
        raise ValueError(f"images: consistency needs at least 2 frames (a video), got {n}. Connect the whole "
                         f"decoded batch, not a single image.")
    scale = min(1.0, max_side / max(shape[1], shape[2]))
    cur = _frame_rgb(frames, 0, scale)
    h, w = cur.shape[:2]
    flow = _Flow(flow_method, h, w)
    grid = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    cur_luma = cur @ LUMA_709
    luma, errors, valid = [float(cur_luma.mean())], [], []
    for i in range(1, n):
        nxt = _frame_rgb(frames, i, scale)
        nxt_luma = nxt @ LUMA_709
        a, b = _to_gray8(cur_luma), _to_gray8(nxt_luma)
        fwd = flow(a, b)
        bwd = flow(b, a) if occlusion_check else None
        err, frac = _warp_error(cur, nxt, fwd, bwd, grid)
        errors.append(err)
        valid.append(frac)
        luma.append(float(nxt_luma.mean()))
        cur, cur_luma = nxt, nxt_luma
        if progress is not None:
            progress(i, n - 1)
    luma_arr = np.array(luma, dtype=np.float64)
    jump, signed, frame = _flicker(luma_arr)
    valid_arr = np.array(valid)
    notes = []
    low = np.flatnonzero(valid_arr < 0.5)
    if len(low):
        notes.append("low flow coverage (< 50% of pixels valid) on " + ", ".join(f"{t}->{t + 1}" for t in low)
                     + ": the flow could not follow the content there, so warp error understates it.")
    return ConsistencyResult(luma_arr, np.array(errors), valid_arr, jump, signed, frame, (h, w), flow_method,
                             occlusion_check, float(flicker_threshold), notes)


def _nice_ceiling(value: float) -> float:
    exponent = math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if step * 10 ** exponent >= value * (1 - 1e-9):
            return step * 10 ** exponent
    return 10.0 ** (exponent + 1)


def _panel(img, box, xs, values, n, color, title, floor, marks=(), threshold=None):
    x0, y0, x1, y1 = box
    dark, grid_c, font = (40, 40, 40), (225, 225, 225), cv2.FONT_HERSHEY_SIMPLEX
    top = _nice_ceiling(max(floor, float(np.max(values)) * 1.05 if len(values) else floor))

    def px(x, y):
        return (int(round(x0 + (x1 - x0) * x / max(n - 1, 1))), int(round(y1 - (y1 - y0) * min(y, top) / top)))

    for k in range(5):
        yv = top * k / 4
        yy = px(0, yv)[1]
        cv2.line(img, (x0, yy), (x1, yy), grid_c, 1)
        cv2.putText(img, f"{yv:.3g}", (4, yy + 4), font, 0.35, dark, 1, cv2.LINE_AA)
    for f in marks:
        cv2.line(img, (px(f, 0)[0], y0), (px(f, 0)[0], y1), (230, 60, 60), 1)
    if threshold is not None and threshold < top:
        cv2.line(img, (x0, px(0, threshold)[1]), (x1, px(0, threshold)[1]), (150, 150, 150), 1, cv2.LINE_4)
    points = np.array([px(x, y) for x, y in zip(xs, values)], dtype=np.int32)
    cv2.polylines(img, [points], False, color, 2, cv2.LINE_AA)
    for p in points:
        cv2.circle(img, tuple(int(c) for c in p), 2, color, -1, cv2.LINE_AA)
    cv2.rectangle(img, (x0, y0), (x1, y1), dark, 1)
    cv2.putText(img, title, (x0 + 4, y0 - 5), font, 0.4, color, 1, cv2.LINE_AA)
    step = max(1, math.ceil((n - 1) / 12))
    for f in range(0, n, step):
        cv2.line(img, (px(f, 0)[0], y1), (px(f, 0)[0], y1 + 3), dark, 1)
        label = str(f)
        cv2.putText(img, label, (px(f, 0)[0] - 4 * len(label), y1 + 14), font, 0.35, dark, 1, cv2.LINE_AA)


def plot_consistency(result: ConsistencyResult, width: int = 512, height: int = 320) -> np.ndarray:
    """Per-transition warp error and flicker curves (points between their two frames), flicker frames marked
    in red, flicker threshold dashed grey. Returns float32 RGB [height, width, 3] in 0..1."""
    img = np.full((height, width, 3), 255, dtype=np.uint8)
    n, font, dark = result.frames, cv2.FONT_HERSHEY_SIMPLEX, (40, 40, 40)
    xs = np.arange(n - 1) + 0.5
    left, right, top1, gap, bottom = 46, width - 12, 40, 42, 24
    panel_h = max(20, (height - top1 - gap - bottom) // 2)
    top2 = top1 + panel_h + gap
    marks = result.flicker_frames
    _panel(img, (left, top1, right, top1 + panel_h), xs, result.warp_error, n, (30, 90, 200),
           f"warp error per transition (mean {result.mean_warp_error:.4f})", 0.02, marks)
    _panel(img, (left, top2, right, top2 + panel_h), xs, result.flicker, n, (230, 130, 20),
           f"flicker per transition (mean {result.mean_flicker:.4f})", 0.02, marks, result.threshold)
    for y in (top1 + panel_h, top2 + panel_h):
        cv2.putText(img, "frame", (2, y + 14), font, 0.35, dark, 1, cv2.LINE_AA)
    cv2.putText(img, f"{n} frames, flow {result.flow_method}" + ("   red: flicker frame" if marks else ""),
                (left, 14), font, 0.4, dark, 1, cv2.LINE_AA)
    return img.astype(np.float32) / 255.0
