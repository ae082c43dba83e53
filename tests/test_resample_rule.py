"""Load Video (Lightning)'s resample_rule: which source frame each frame at force_rate takes.

"VideoHelperSuite" is checked against a re-derivation written here from that rule's definition (VHS's OpenCV
loader, cv_frame_generator: the first frame is read before its loop; a frame is output each time the time read
so far, in steps of 1 / fps, reaches one output frame's time 1 / force_rate, which is then taken off), on real
clips written with PyAV, whose rate OpenCV (what VHS asks) reads the same; "on screen" against the frame on
screen at k / force_rate, in exact fractions. Then skip / every-nth / cap after resampling, the core-VIDEO
(tensor) path, the node in-process (old prompts without the input), old 11-value UI files, and the converter
setting the widget for VHS's OpenCV loaders."""
import math
from fractions import Fraction

import cv2
import pytest
import torch

import folder_paths
from animatediff_lightning.nodes.video import LoadVideo
from animatediff_lightning.video import VideoError
from animatediff_lightning.video.decode import LoadOptions, load_file, load_tensor, plan_load
from animatediff_lightning.video.resample import RESAMPLE_RULES
from animatediff_lightning.video.source import open_video
from animatediff_lightning.workflow_files import convert as cv
from animatediff_lightning.workflow_files.workflow_api import to_api
from support.clips import frame_index, index_level, make_clip
from support.foreign_workflows import UIGraph

VHS = "VideoHelperSuite"
NTSC = 30000 / 1001
RATES = [(12, 8, 24), (30, 24, 30), (24, 12, 24), (10, 25, 10), (NTSC, 24, 30)]  # fps, force_rate, frames


def vhs_frames(n: int, fps: float, rate: float) -> list[int]:
    """Source indices VHS's OpenCV loader outputs for an n-frame clip, re-derived from its rule."""
    base, target = 1 / fps, 1 / rate
    picked, have, i = [], target, 0  # frame 0 is already read, and the time starts at one output frame
    while True:
        while have < target:  # read frames until the time read reaches the next output frame
            i += 1
            if i == n:
                return picked
            have += base
        have -= target
        picked.append(i)


def on_screen_frames(n: int, fps: Fraction, rate: float) -> list[int]:
    """Output frame k shows the source frame on screen at k / rate, up to the clip's end n / fps (exact)."""
    rate = Fraction(rate)
    return [math.floor(k / rate * fps) for k in range(math.ceil(n / fps * rate))]


def indices(images) -> list[int]:
    return [frame_index(f) for f in images.numpy()]


def mod26(picked):  # the clips' index blocks repeat after 26 frames
    return [i % 26 for i in picked]


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    d = tmp_path_factory.mktemp("rate_clips")
    out = {(fps, n): make_clip(d / f"c{i}.mp4", frames=n, fps=fps) for i, (fps, _r, n) in enumerate(RATES)}
    out[(12, 12)] = make_clip(d / "twelve.mp4", frames=12, fps=12)
    return out


def load(path, **options):
    return load_file(str(path), path.name, LoadOptions(**options))


def test_rules_and_default():
    assert RESAMPLE_RULES == ("on screen", VHS)  # saved widget values: append only
    assert LoadOptions().resample_rule == "on screen"
    with pytest.raises(VideoError, match=r"resample_rule must be one of 'on screen', 'VideoHelperSuite' \(got "
                                         r"'nearest'\)"):
        LoadOptions(force_rate=8, resample_rule="nearest").check()


def test_12_to_8_the_frames_vhs_takes(clips):
    assert vhs_frames(12, 12.0, 8) == [0, 2, 4, 5, 7, 8, 10, 11]  # 4, not 3: float rounding in VHS's sums
    clip = clips[(12, 12)]
    assert indices(load(clip, force_rate=8, resample_rule=VHS).images) == [0, 2, 4, 5, 7, 8, 10, 11]
    assert indices(load(clip, force_rate=8).images) == [0, 1, 3, 4, 6, 7, 9, 10]  # "on screen", as before
    assert indices(load(clip, force_rate=8, resample_rule="on screen").images) == [0, 1, 3, 4, 6, 7, 9, 10]


@pytest.mark.parametrize("fps, rate, n", RATES, ids=["12to8", "30to24", "24to12", "10to25", "29.97to24"])
def test_each_rate_against_the_rederivation(clips, fps, rate, n):
    path = clips[(fps, n)]
    capture = cv2.VideoCapture(str(path))  # what VHS reads the rate and count from
    cv_fps, cv_count = capture.get(cv2.CAP_PROP_FPS), int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    capture.release()
    with open_video(str(path), path.name) as (_c, _s, info, _frames):
        pass
    assert info.fps == Fraction(fps).limit_denominator(1001) and float(info.fps) == cv_fps and cv_count == n
    expected = vhs_frames(n, cv_fps, rate)
    got = load(path, force_rate=rate, resample_rule=VHS)
    assert indices(got.images) == mod26(expected)
    assert plan_load(info, LoadOptions(force_rate=rate, resample_rule=VHS)).frames == len(expected)
    assert got.fps == Fraction(rate)
    screen = on_screen_frames(n, info.fps, rate)
    assert indices(load(path, force_rate=rate).images) == mod26(screen)
    assert plan_load(info, LoadOptions(force_rate=rate)).frames == len(screen)
    if (fps, rate) != (24, 12):  # halving the rate: both rules take every other frame
        assert expected != screen


def test_upsampling_stops_with_the_source(clips):
    """10 → 25 fps: VHS stops when the clip runs out (23 frames); "on screen" runs to the clip's end time (25)."""
    path = clips[(10, 10)]
    assert load(path, force_rate=25, resample_rule=VHS).frame_count == 23
    assert load(path, force_rate=25).frame_count == 25


@pytest.mark.parametrize("skip, nth, cap", [(3, 1, 0), (0, 2, 0), (0, 1, 5), (3, 2, 5), (1, 3, 4), (20, 1, 0)])
def test_skip_nth_cap_count_in_the_resampled_sequence(clips, skip, nth, cap):
    """As VHS: skip_first_frames, then select_every_nth, then frame_load_cap, counted after force_rate."""
    path = clips[(30, 30)]
    expected = vhs_frames(30, 30.0, 24)[skip::nth]
    expected = expected[:cap] if cap else expected
    got = load(path, force_rate=24, resample_rule=VHS, skip_first_frames=skip, select_every_nth=nth,
               frame_load_cap=cap)
    assert indices(got.images) == mod26(expected)
    assert got.fps == Fraction(24, nth)
    assert got.start == pytest.approx(skip / 24)  # VHS's audio starts at skip_first_frames / force_rate too
    with open_video(str(path), path.name) as (_c, _s, info, _frames):
        opts = LoadOptions(force_rate=24, resample_rule=VHS, skip_first_frames=skip, select_every_nth=nth,
                           frame_load_cap=cap)
        assert plan_load(info, opts).frames == len(expected)


def test_skipping_every_resampled_frame_is_refused(clips):
    with pytest.raises(VideoError, match="the clip has 8 frames at force_rate = 8 and skip_first_frames = 8"):
        load(clips[(12, 12)], force_rate=8, resample_rule=VHS, skip_first_frames=8)


def test_core_video_frames_in_memory_take_the_same_frames():
    images = torch.stack([torch.full((16, 16, 3), index_level(i) / 255) for i in range(30)])
    for fps, rate in ((Fraction(12), 8), (Fraction(30000, 1001), 24), (Fraction(10), 25)):
        got = load_tensor(images[:30], fps, None, "frames", LoadOptions(force_rate=rate, resample_rule=VHS))
        assert indices(got.images) == mod26(vhs_frames(30, float(fps), rate)), (fps, rate)
        screen = load_tensor(images[:30], fps, None, "frames", LoadOptions(force_rate=rate))
        assert indices(screen.images) == mod26(on_screen_frames(30, fps, rate)), (fps, rate)


# ------------------------------------------------------------------------------------------- the node

@pytest.fixture()
def input_folder(tmp_path, monkeypatch, clips):
    folder = tmp_path / "input"
    folder.mkdir()
    (folder / "twelve.mp4").write_bytes(clips[(12, 12)].read_bytes())
    monkeypatch.setattr(folder_paths, "get_input_directory", lambda: str(folder))
    return folder


def run_node(**inputs):
    cls = LoadVideo.PREPARE_CLASS_CLONE({"hidden_inputs": {}})
    return getattr(cls(), cls.FUNCTION)(**inputs).result


OLD_PROMPT = {"video": "twelve.mp4", "path": "", "frame_load_cap": 0, "skip_first_frames": 0, "select_every_nth": 1,
              "force_rate": 8.0, "width": 0, "height": 0, "resize_mode": "crop", "memory_cap_gb": 4.0}


def test_node_schema_appends_an_optional_combo():
    types = LoadVideo.INPUT_TYPES()
    assert list(types["required"]) == list(OLD_PROMPT)  # unchanged: the upload button's value still follows these
    assert list(types["optional"]) == ["video_input", "resample_rule"]
    kind, options = types["optional"]["resample_rule"]
    assert kind == "COMBO" and options["options"] == list(RESAMPLE_RULES) and options["default"] == "on screen"
    assert VHS in options["tooltip"] and "force_rate" in options["tooltip"]


def test_node_old_prompt_runs_and_the_rule_is_passed_on(input_folder):
    images, count, fps, _audio, _video = run_node(**OLD_PROMPT)  # an API prompt from before the input
    assert indices(images) == [0, 1, 3, 4, 6, 7, 9, 10] and count == 8 and fps == 8.0
    images, count, *_ = run_node(**OLD_PROMPT, resample_rule=VHS)
    assert indices(images) == [0, 2, 4, 5, 7, 8, 10, 11] and count == 8
    from comfy_api.latest import InputImpl  # a connected core VIDEO (streamed from its file) too
    video = InputImpl.VideoFromFile(str(input_folder / "twelve.mp4"))
    images, *_ = run_node(**{**OLD_PROMPT, "video": ""}, video_input=video, resample_rule=VHS)
    assert indices(images) == [0, 2, 4, 5, 7, 8, 10, 11]


def _ui_node(values):
    return {"nodes": [{"id": 1, "type": "ADL_LoadVideo", "widgets_values": values, "inputs": [], "outputs": []}],
            "links": []}


def object_info(**more) -> dict:
    """/object_info's entry for Load Video (Lightning) as the server builds it (input and input_order)."""
    types = LoadVideo.INPUT_TYPES()
    return {"ADL_LoadVideo": {"input": types, "input_order": {k: list(v) for k, v in types.items()}}, **more}


def test_ui_files_old_and_new(input_folder):
    """An 11-value node (saved before resample_rule: the upload button's 'image' last) still gives its inputs,
    the rule left to the server's default; a 12-value one has the rule before 'image' (the editor lays the
    button out after the optional widgets). Widget values are placed by the server's spec, as the editor does."""
    info = object_info()
    old = list(OLD_PROMPT.values()) + ["image"]
    assert to_api(_ui_node(old), info)["1"]["inputs"] == OLD_PROMPT
    assert indices(run_node(**to_api(_ui_node(old), info)["1"]["inputs"])[0]) == [0, 1, 3, 4, 6, 7, 9, 10]
    new = to_api(_ui_node(list(OLD_PROMPT.values()) + [VHS, "image"]), info)["1"]["inputs"]
    assert new == {**OLD_PROMPT, "resample_rule": VHS}
    assert indices(run_node(**new)[0]) == [0, 2, 4, 5, 7, 8, 10, 11]


def test_ui_files_from_a_frontend_before_input_order():
    """Without input_order (frontends before it) the button's value follows the required widgets."""
    info = {"ADL_LoadVideo": {"input": LoadVideo.INPUT_TYPES()}}
    assert to_api(_ui_node(list(OLD_PROMPT.values()) + ["image"]), info)["1"]["inputs"] == OLD_PROMPT
    new = to_api(_ui_node(list(OLD_PROMPT.values()) + ["image", VHS]), info)["1"]["inputs"]
    assert new == {**OLD_PROMPT, "resample_rule": VHS}


# -------------------------------------------------------------------------------------------- the converter

LAYOUT = ["video", "force_rate", "force_size", "custom_width", "custom_height", "frame_load_cap", "skip_first_frames",
          "select_every_nth"]  # VHS 2023-11 to 2025-01
LOAD_OUT = [("IMAGE", "IMAGE"), ("frame_count", "INT"), ("audio", "AUDIO"), ("video_info", "VHS_VIDEOINFO")]
SINK = {"TestSink": {"input": {"required": {"x": ["IMAGE"]}}}}


def vhs_ui(type_, force_rate, linked=False):
    g = UIGraph()
    trailing = ["image", {"hidden": False}] if type_ == "VHS_LoadVideo" else [{"hidden": False}]
    load = g.node(type_, ["clip.mp4", force_rate, "Disabled", 512, 512, 0, 0, 1, *trailing], outputs=LOAD_OUT)
    sink = g.node("TestSink", None, inputs=[("x", "IMAGE")])
    g.link(load, 0, sink, "x")
    if linked:  # force_rate from a Primitive
        g.widget_input(load, "force_rate", "FLOAT")
        g.link(g.node("PrimitiveNode", [force_rate], outputs=[("FLOAT", "FLOAT")]), 0, load, "force_rate")
    return g.workflow()


def vhs_api(type_, force_rate):
    return {"1": {"class_type": type_, "inputs": dict(zip(LAYOUT, ["clip.mp4", force_rate, "Disabled", 512, 512, 0, 0, 1]))},
            "2": {"class_type": "TestSink", "inputs": {"x": ["1", 0]}}}


@pytest.mark.parametrize("type_", ["VHS_LoadVideo", "VHS_LoadVideoPath"])
def test_converter_sets_the_vhs_rule_at_a_force_rate(type_):
    converted, report = cv.convert(vhs_ui(type_, 8))
    [node] = [n for n in converted["nodes"] if n["type"] == "ADL_LoadVideo"]
    values = node["widgets_values"]
    assert len(values) == 12 and values[5] == 8 and values[10:] == [VHS, "image"]  # the rule, then the upload value
    notes = " | ".join(report["converted"][0]["notes"])
    assert "force_rate 8: resample_rule VideoHelperSuite takes the source frames VideoHelperSuite took" in notes
    inputs = to_api(converted, object_info(**SINK))["1"]["inputs"]
    assert inputs["force_rate"] == 8 and inputs["resample_rule"] == VHS  # where the editor reads it back
    api, report = cv.convert(vhs_api(type_, 8))
    assert api["1"]["class_type"] == "ADL_LoadVideo" and api["1"]["inputs"]["resample_rule"] == VHS


@pytest.mark.parametrize("type_", ["VHS_LoadVideo", "VHS_LoadVideoPath"])
def test_converter_leaves_the_default_at_the_clips_rate(type_):
    converted, report = cv.convert(vhs_ui(type_, 0))
    [node] = [n for n in converted["nodes"] if n["type"] == "ADL_LoadVideo"]
    assert node["widgets_values"][10:] == ["on screen", "image"]
    assert not any("resample_rule" in n for n in report["converted"][0]["notes"])
    api, _report = cv.convert(vhs_api(type_, 0))
    assert api["1"]["inputs"]["resample_rule"] == "on screen"


def test_converter_leaves_ffmpeg_loaders_on_screen():
    """VHS's FFmpeg loaders resample with FFmpeg's fps filter, not the OpenCV rule."""
    prompt = {"1": {"class_type": "VHS_LoadVideoFFmpeg",
                    "inputs": {"video": "clip.mp4", "force_rate": 8, "force_size": "Disabled", "custom_width": 512,
                               "custom_height": 512, "frame_load_cap": 0, "start_time": 0}},
              "2": {"class_type": "TestSink", "inputs": {"x": ["1", 0]}}}
    api, report = cv.convert(prompt)
    assert api["1"]["class_type"] == "ADL_LoadVideo" and api["1"]["inputs"]["resample_rule"] == "on screen"


def test_converter_linked_force_rate_gets_the_vhs_rule():
    """A force_rate fed by another node may be anything: the rule is set (at 0 it is not used)."""
    converted, report = cv.convert(vhs_ui("VHS_LoadVideo", 8, linked=True))
    [node] = [n for n in converted["nodes"] if n["type"] == "ADL_LoadVideo"]
    assert node["widgets_values"][10:] == [VHS, "image"]
    assert [i for i in node["inputs"] if i["name"] == "force_rate"][0]["link"] is not None  # still fed
    assert any("force_rate comes from another node: resample_rule VideoHelperSuite" in n
               for n in report["converted"][0]["notes"])
