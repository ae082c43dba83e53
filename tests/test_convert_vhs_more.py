"""The converter on more VideoHelperSuite nodes, without a server: the video-info readers (VHS_VideoInfo / Loaded /
Source) onto Load Video (Lightning)'s fps / frame_count and core Get Image Size on its frames (the source's values
only where nothing makes them differ), with the reason for each output that has no counterpart; Video Combine in an
API file that leaves inputs out (VideoHelperSuite's defaults); Load Images (Upload / Path) onto Load Images
(Lightning), its typed folder made a path; the Meta Batch Manager kept with what it does. UI and API format.
(Every Load Images layout: tests/fixtures/foreign_workflows/vhs_versions.json, run by test_convert_vhs.py.)"""
import pytest
from animatediff_lightning.workflow_files import convert as cv
from support.foreign_workflows import UIGraph
from test_convert import _consistent
from test_convert_settings import kept
from test_convert_vhs import sink_sources

LOAD_OUT = [("IMAGE", "IMAGE"), ("frame_count", "INT"), ("audio", "AUDIO"), ("video_info", "VHS_VIDEOINFO")]
INFO_OUT = {"VHS_VideoInfo": ["source_fps", "source_frame_count", "source_duration", "source_width", "source_height",
                              "loaded_fps", "loaded_frame_count", "loaded_duration", "loaded_width", "loaded_height"],
            "VHS_VideoInfoLoaded": ["fps", "frame_count", "duration", "width", "height"],
            "VHS_VideoInfoSource": ["fps", "frame_count", "duration", "width", "height"]}
KINDS = ["FLOAT", "INT", "FLOAT", "INT", "INT"] * 2
LAYOUT = ["video", "force_rate", "force_size", "custom_width", "custom_height", "frame_load_cap", "skip_first_frames",
          "select_every_nth"]
PLAIN = ["clip.mp4", 0, "Disabled", 512, 512, 0, 0, 1]
RATE = ["clip.mp4", 12, "Disabled", 512, 512, 0, 0, 1]
NTH = ["clip.mp4", 0, "Disabled", 512, 512, 0, 0, 2]
SIZED = ["clip.mp4", 0, "512x?", 512, 512, 0, 0, 1]
LOADER, SIZE = "ADL_LoadVideo", "GetImageSize"


def info_ui(loader_widgets, reader, use):
    g = UIGraph()
    load = g.node("VHS_LoadVideo", [*loader_widgets, "image", {"hidden": False}], outputs=LOAD_OUT)
    info = g.node(reader, [], inputs=[("video_info", "VHS_VIDEOINFO")],
                  outputs=[(n, k) for n, k in zip(INFO_OUT[reader], KINDS)])
    g.link(load, 3, info, "video_info")
    for slot in use:
        sink = g.node("TestSink", None, inputs=[("x", KINDS[slot])])
        g.link(info, slot, sink, "x")
    return g.workflow(), load, info


def info_api(loader_widgets, reader, use):
    prompt = {"1": {"class_type": "VHS_LoadVideo", "inputs": dict(zip(LAYOUT, loader_widgets))},
              "2": {"class_type": reader, "inputs": {"video_info": ["1", 3]}}}
    for slot in use:
        prompt[str(20 + slot)] = {"class_type": "TestSink", "inputs": {"x": ["2", slot]}}
    return prompt, "1", "2"


CASES = [  # loader widgets, reader, used outputs, what each sink reads as converted, or a fragment of the reason
    (PLAIN, "VHS_VideoInfo", [0, 3, 4, 5, 6, 8, 9],
     [(LOADER, 2), (SIZE, 0), (SIZE, 1), (LOADER, 2), (LOADER, 1), (SIZE, 0), (SIZE, 1)]),
    (PLAIN, "VHS_VideoInfoLoaded", [0, 1, 3, 4], [(LOADER, 2), (LOADER, 1), (SIZE, 0), (SIZE, 1)]),
    (PLAIN, "VHS_VideoInfoSource", [0, 3, 4], [(LOADER, 2), (SIZE, 0), (SIZE, 1)]),
    (SIZED, "VHS_VideoInfo", [0, 8], [(LOADER, 2), (SIZE, 0)]),   # resized: the loaded size is still Get Image Size's
    (RATE, "VHS_VideoInfo", [5], [(LOADER, 2)]),
    (RATE, "VHS_VideoInfo", [0], "output 0 (source_fps) is used: the clip's own rate; Load Video (Lightning)'s fps is "
                                 "the loaded frames' ((force_rate or the clip's rate) / select_every_nth), not the same "
                                 "here (force_rate 12, select_every_nth 1)"),
    (NTH, "VHS_VideoInfoSource", [0], "select_every_nth 2"),
    (SIZED, "VHS_VideoInfo", [3], "output 3 (source_width) is used: the clip's own size; the frames are resized here "
                                  "(512x?)"),
    (PLAIN, "VHS_VideoInfo", [1], "output 1 (source_frame_count) is used: the clip's own frame count"),
    (PLAIN, "VHS_VideoInfo", [2], "output 2 (source_duration) is used: the clip's own length in seconds"),
    (PLAIN, "VHS_VideoInfo", [7], "output 7 (loaded_duration) is used: frame_count / fps of the loaded frames"),
    (PLAIN, "VHS_VideoInfoLoaded", [2], "output 2 (loaded_duration) is used"),
]


@pytest.mark.parametrize("widgets, reader, use, expect", CASES)
@pytest.mark.parametrize("ui", [True, False], ids=["ui", "api"])
def test_video_info_readers(widgets, reader, use, expect, ui):
    graph, load, info = (info_ui if ui else info_api)(widgets, reader, use)
    out, report = cv.convert(graph)
    if ui:
        _consistent(out)
    if isinstance(expect, str):
        reasons = kept(report)
        assert expect in reasons[load], reasons
        assert reasons[info].startswith("not supported: ")
        return
    assert not report["kept"], report["kept"]
    assert sink_sources(out, ui) == sorted(expect)
    [entry] = report["converted"]
    assert any(f"{reader} (node {info}) [reads fps / frame_count / size (here " in w for w in entry["with"])
    assert len([n for n in (out["nodes"] if ui else out.values()) if (n.get("type") or n.get("class_type")) == SIZE]) \
        == (1 if (SIZE, 0) in expect or (SIZE, 1) in expect else 0)


def test_a_linked_force_rate_keeps_source_fps_unknown():
    graph, load, _info = info_api(PLAIN, "VHS_VideoInfo", [0])
    graph["9"] = {"class_type": "PrimitiveFloat", "inputs": {"value": 8.0}}
    graph["1"]["inputs"]["force_rate"] = ["9", 0]
    _out, report = cv.convert(graph)
    assert "force_rate or select_every_nth comes from another node" in kept(report)[load]


# --------------------------------------------------------------------------------------------------------
# Video Combine in an API file that leaves inputs out
# --------------------------------------------------------------------------------------------------------
def test_video_combine_api_without_frame_rate_or_format_takes_vhs_defaults():
    prompt = {"1": {"class_type": "TestSource", "inputs": {}},
              "2": {"class_type": "VHS_VideoCombine", "inputs": {"images": ["1", 0], "filename_prefix": "text2video",
                                                                "fps": "{{fps | default(16)}}", "output_dir": "/output"}}}
    out, report = cv.convert(prompt)
    assert not report["kept"], report["kept"]
    assert out["2"] == {"class_type": "ADL_SaveVideo", "inputs": {"fps": 8.0, "filename_prefix": "text2video",
                                                                  "format": "gif", "crf": 19, "images": ["1", 0]}}
    notes = report["converted"][0]["notes"]
    assert "frame_rate, format not in the file: VideoHelperSuite's default frame_rate 8, format image/gif is used" in notes
    assert "fps, output_dir: not a Video Combine input VideoHelperSuite has had; dropped" in notes
    prompt["2"]["inputs"] = {"images": ["1", 0]}
    out, report = cv.convert(prompt)
    assert out["2"]["inputs"]["filename_prefix"] == "AnimateDiff" and not report["kept"]
    assert not any("not a Video Combine input" in n for n in report["converted"][0]["notes"])


def test_video_combine_format_options_are_not_called_unknown():
    prompt = {"1": {"class_type": "TestSource", "inputs": {}},
              "2": {"class_type": "VHS_VideoCombine", "inputs": {
                  "images": ["1", 0], "frame_rate": ["9", 6], "loop_count": 0, "filename_prefix": "x",
                  "format": "video/h264-mp4", "pix_fmt": "yuv420p", "bitrate": 10, "megabit": True, "save_metadata": True,
                  "pingpong": False, "save_output": True}},
              "9": {"class_type": "TestSource", "inputs": {}}}
    out, report = cv.convert(prompt)
    assert not report["kept"], report["kept"]
    assert out["2"]["inputs"]["fps"] == ["9", 6]
    assert not any("not in the file" in n or "not a Video Combine input" in n for n in report["converted"][0]["notes"])


# --------------------------------------------------------------------------------------------------------
# Load Images (Upload / Path)
# --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("typed, path, note", [
    ("input/frames/a", "frames/a", "became path 'frames/a'"),
    ("./output/renders/b/", "renders/b [output]", "became path 'renders/b [output]'"),
    ('"temp\\c"', "c [temp]", "became path 'c [temp]'"),
    ("./output/", "output", "is not a sub-folder of ComfyUI's input, output or temp folder"),
    ("/data/frames", "/data/frames", "is not a sub-folder"),
    ("input/../secret", "input/../secret", "is not a sub-folder"),
])
@pytest.mark.parametrize("ui", [True, False], ids=["ui", "api"])
def test_load_images_path_becomes_a_path(typed, path, note, ui):
    if ui:
        g = UIGraph()
        node = g.node("VHS_LoadImagesPath", [typed, 6, 1, 2, {"hidden": False}],
                      outputs=[("IMAGE", "IMAGE"), ("MASK", "MASK"), ("frame_count", "INT")])
        out, report = cv.convert(g.workflow())
        [converted] = [n for n in out["nodes"] if n["id"] == node]
        values = dict(zip([w for w, _k in cv.mapping()["targets"]["ADL_LoadImages"]["widgets"]], converted["widgets_values"]))
    else:
        out, report = cv.convert({"1": {"class_type": "VHS_LoadImagesPath", "inputs": {
            "directory": typed, "image_load_cap": 6, "skip_first_images": 1, "select_every_nth": 2}}})
        converted, values = out["1"], out["1"]["inputs"]
    assert not report["kept"], report["kept"]
    assert values["path"] == path and values["directory"] == ""
    assert (values["image_load_cap"], values["skip_first_images"], values["select_every_nth"]) == (6, 1, 2)
    notes = " | ".join(report["converted"][0]["notes"])
    assert note in notes and "orders the files naturally" in notes


def test_load_images_api_omitted_inputs_are_vhs_defaults():
    out, report = cv.convert({"1": {"class_type": "VHS_LoadImages", "inputs": {"directory": "frames"}}})
    assert not report["kept"], report["kept"]
    assert out["1"] == {"class_type": "ADL_LoadImages", "inputs": {
        "directory": "frames", "path": "", "image_load_cap": 0, "skip_first_images": 0, "select_every_nth": 1,
        "fps": 8.0, "width": 0, "height": 0, "resize_mode": "crop", "memory_cap_gb": 4.0}}


@pytest.mark.parametrize("type_", ["VHS_LoadImages", "VHS_LoadImagesPath"])
def test_load_images_linked_directory_or_meta_batch_stays(type_):
    out, report = cv.convert({"1": {"class_type": type_, "inputs": {"directory": ["2", 0]}},
                              "2": {"class_type": "TestSource", "inputs": {}}})
    assert "directory comes from another node" in kept(report)["1"]
    out, report = cv.convert({"1": {"class_type": type_, "inputs": {"directory": "frames", "meta_batch": ["2", 0]}},
                              "2": {"class_type": "VHS_BatchManager", "inputs": {"frames_per_batch": 4, "count": 1}}})
    reasons = kept(report)
    assert reasons["1"].startswith("input meta_batch is connected: VideoHelperSuite's Meta Batch Manager (meta_batch) "
                                   "runs the whole graph again for each batch of frames_per_batch frames")
    assert reasons["2"].startswith("not supported: the Meta Batch Manager runs the whole graph again")
