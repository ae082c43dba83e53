"""Video consistency score on synthetic clips: warp error, flicker, plot, and the node in-process."""
import cv2
import numpy as np
import pytest
import torch

import folder_paths
from animatediff_lightning.nodes.consistency import VideoConsistency
from animatediff_lightning.video.consistency import FLOW_METHODS, measure_consistency, plot_consistency

FRAMES, SIZE = 24, 64


def textured_clip(frames=FRAMES, size=SIZE, velocity=(1.5, 0.75), seed=0) -> np.ndarray:
    """A blurred-noise colour texture panning by a sub-pixel velocity, values within 0.15..0.75."""
    texture = np.random.default_rng(seed).random((2 * size, 2 * size, 3)).astype(np.float32)
    texture = cv2.GaussianBlur(texture, (0, 0), 2.0)
    texture = 0.15 + 0.6 * (texture - texture.min()) / (texture.max() - texture.min())

    def shift(i):
        return np.float32([[1, 0, -size / 2 - velocity[0] * i], [0, 1, -size / 2 - velocity[1] * i]])
    return np.stack([cv2.warpAffine(texture, shift(i), (size, size), flags=cv2.INTER_LINEAR)
                     for i in range(frames)])


@pytest.fixture(scope="module")
def clip():
    return textured_clip()


@pytest.fixture(scope="module")
def smooth(clip):
    return {m: measure_consistency(torch.from_numpy(clip), m) for m in FLOW_METHODS}


@pytest.mark.parametrize("method", FLOW_METHODS)
def test_smooth_translation_scores_near_zero(smooth, method):
    r = smooth[method]
    assert r.warp_error.shape == r.flicker.shape == (FRAMES - 1,) and r.luma.shape == (FRAMES,)
    assert r.mean_warp_error < 0.005 and r.warp_error.max() < 0.01
    assert r.mean_flicker < 0.002
    assert r.flicker_frames == [] and r.luma_pops == []
    assert r.valid_fraction.min() > 0.9  # only what pans out of the frame is left out


@pytest.mark.parametrize("method", FLOW_METHODS)
def test_shuffled_frames_score_high(clip, smooth, method):
    order = np.random.default_rng(1).permutation(FRAMES)
    r = measure_consistency(clip[order], method)
    assert r.mean_warp_error > 0.02 and r.mean_warp_error > 8 * smooth[method].mean_warp_error
    assert "worst warp error" in r.report()


@pytest.mark.parametrize("amount", [0.15, -0.15])
def test_injected_flicker_is_found_at_those_frames(clip, smooth, amount):
    flashed = clip.copy()
    flashed[[7, 15]] += amount
    r = measure_consistency(flashed)
    assert r.flicker_frames == [7, 15] and r.luma_pops == []
    assert r.frame_flicker[[7, 15]] == pytest.approx([amount, amount], abs=0.005)
    assert np.flatnonzero(r.flicker > r.threshold).tolist() == [6, 7, 14, 15]  # into and out of each flash
    word = "brighter" if amount > 0 else "darker"
    assert f"flicker frames (> 0.01): 7 ({amount:+.3f} {word}), 15 ({amount:+.3f} {word})" in r.report()
    # The flow still follows the pan: the flash transitions show the brightness step, the others stay clean.
    flash = [6, 7, 14, 15]
    assert r.warp_error[flash] == pytest.approx([abs(amount)] * 4, abs=0.01)
    assert np.delete(r.warp_error, flash) == pytest.approx(np.delete(smooth["DIS"].warp_error, flash), abs=0.002)
    assert r.valid_fraction.min() > 0.9


@pytest.mark.parametrize("curve", ["linear", "ease"])
def test_smooth_fade_is_not_flicker(clip, curve):
    t = np.linspace(0.0, 1.0, FRAMES)
    gain = 1.0 - 0.7 * t if curve == "linear" else 0.65 + 0.35 * np.cos(np.pi * t)
    r = measure_consistency(clip * gain[:, None, None, None].astype(np.float32))
    assert r.luma[0] - r.luma[-1] > 0.25  # a real fade
    assert r.flicker_frames == [] and r.luma_pops == []
    assert r.flicker.max() < r.threshold / 2 and r.mean_flicker < 0.002
    assert "flicker frames (> 0.01): none" in r.report()


def test_strobing_and_a_lasting_pop(clip):
    strobe = clip.copy()
    strobe[::2] += 0.05
    r = measure_consistency(strobe)
    assert r.flicker_frames == list(range(1, FRAMES - 1)) and r.mean_flicker > 0.04
    pop = clip.copy()
    pop[10:] += 0.1
    r = measure_consistency(pop)
    assert r.flicker_frames == [] and r.luma_pops == [9] and "9->10 (+0.100)" in r.report()


def test_fewer_than_two_frames_is_a_clear_error(clip):
    with pytest.raises(ValueError, match=r"images: .*at least 2 frames.*got 1"):
        measure_consistency(clip[:1])
    with pytest.raises(ValueError, match="images: expected an IMAGE batch"):
        measure_consistency(clip[0])
    with pytest.raises(ValueError, match=r"images: .*got 1"):
        VideoConsistency.execute(torch.from_numpy(clip[:1]), "DIS", True, 0.01)


def test_plot_image(smooth):
    plot = plot_consistency(smooth["DIS"])
    assert plot.shape == (320, 512, 3) and plot.dtype == np.float32
    assert 0.0 <= plot.min() and plot.max() <= 1.0 and plot.std() > 0.05  # drawn on, not blank
    assert plot_consistency(measure_consistency(textured_clip(frames=2))).shape == (320, 512, 3)


def test_node_schema_and_execute_in_process(clip, smooth, tmp_path, monkeypatch):
    monkeypatch.setattr(folder_paths, "temp_directory", str(tmp_path))
    info = VideoConsistency.GET_NODE_INFO_V1()
    assert info["name"] == "ADL_VideoConsistency" and info["category"].startswith("AnimateDiff-Lightning")
    required = info["input"]["required"]
    assert list(required) == ["images", "flow_method", "occlusion_check", "flicker_threshold"]
    assert all(options[0].get("tooltip") for _, *options in required.values()) and all(info["output_tooltips"])
    assert info["output"] == ["FLOAT", "FLOAT", "STRING", "IMAGE"] and info["output_node"]

    out = VideoConsistency.execute(torch.from_numpy(clip), "DIS", True, 0.01)
    warp, flicker, report, plot = out.args
    assert isinstance(warp, float) and warp == pytest.approx(smooth["DIS"].mean_warp_error)
    assert isinstance(flicker, float) and flicker < 0.002
    assert report.startswith(f"Video consistency: {FRAMES} frames") and "23->24" not in report
    assert plot.shape == (1, 320, 512, 3) and plot.dtype == torch.float32
    ui = out.ui
    assert ui["text"] == (report,) and (tmp_path / ui["images"][0]["filename"]).is_file()
