"""Prompt Travel's past_last_frame: keyframes at or past `frames` stop with an error (the default) or are left
out, as FizzNodes' batch schedules leave out keyframes past max_frames; converted FizzNodes files whose frame
count comes over a link use "leave out" (their keyframes can't be checked when converting)."""
import pytest
import torch

from animatediff_lightning.glue.prompt_travel import PAST_LAST_FRAME, parse_keyframes, travel_conditioning
from animatediff_lightning.motion_modules import MotionModuleError
from animatediff_lightning.nodes.context import PromptTravel
from animatediff_lightning.workflow_files import convert as cv
from support.foreign_workflows import UIGraph
from test_convert import by_type, named


def test_values_are_append_only():
    assert PAST_LAST_FRAME == ("error", "leave out")


def test_leave_out_skips_the_keyframe_and_its_continuation_lines():
    text = "0: a cat\n10: a dog\nin the rain\n20: a bird\nflying\n30: a fish"
    assert parse_keyframes(text, 16, "leave out") == [(0, "a cat"), (10, "a dog in the rain")]
    with pytest.raises(MotionModuleError, match="keyframe 20 is past the last frame .15.*'leave out'"):
        parse_keyframes(text, 16)


def test_order_errors_stay_for_keyframes_inside_the_video():
    with pytest.raises(MotionModuleError, match="must come after keyframe 10"):
        parse_keyframes("0: a\n10: b\n30: c\n4: d", 16, "leave out")


def test_every_keyframe_past_the_video_is_an_error_that_says_so():
    with pytest.raises(MotionModuleError, match="every keyframe is at or past the last frame .7."):
        parse_keyframes("8: a\n12: b", 8, "leave out")
    with pytest.raises(MotionModuleError, match="past_last_frame must be one of error, leave out"):
        parse_keyframes("0: a", 8, "skip")


class Clip:
    """Stands in for a CLIP only where the numbers don't matter: one distinct vector per prompt."""

    def tokenize(self, text):
        return text

    def encode_from_tokens(self, tokens, return_pooled=True):
        v = float(sum(map(ord, tokens)) % 97)
        return torch.full((1, 77, 8), v), torch.full((1, 8), v)


def test_left_out_keyframes_give_what_the_schedule_inside_the_video_gives():
    [[full, extra]] = travel_conditioning(Clip(), "0: a\n6: b\n12: c", 8, "leave out")
    [[inside, extra_inside]] = travel_conditioning(Clip(), "0: a\n6: b", 8)
    assert torch.equal(full, inside) and torch.equal(extra["pooled_output"], extra_inside["pooled_output"])


def test_node_defaults_to_error_for_saved_prompts_without_the_input():
    schema = PromptTravel.define_schema()
    widget = [i for i in schema.inputs if i.id == "past_last_frame"][0]
    assert widget.optional and widget.default == "error" and schema.inputs[3] is widget  # appended after frames
    with pytest.raises(MotionModuleError, match="keyframe 9 is past"):
        PromptTravel.execute(Clip(), "0: a\n9: b", 8)
    assert PromptTravel.execute(Clip(), "0: a\n9: b", 8, "leave out").result[0][0][0].shape[0] == 8


def _fizz(max_frames_linked: bool):
    g = UIGraph()
    ckpt = g.node("CheckpointLoaderSimple", ["m.safetensors"], outputs=[("MODEL", "MODEL"), ("CLIP", "CLIP"), ("VAE", "VAE")])
    sched = g.node("BatchPromptSchedule", ['"0": "a",\n"40": "b"', 24, False, "", "", 0, 0, 0, 0, 0, 0],
                   inputs=[("clip", "CLIP")], outputs=[("POS", "CONDITIONING"), ("NEG", "CONDITIONING")])
    g.link(ckpt, 1, sched, "clip")
    if max_frames_linked:
        g.widget_input(sched, "max_frames", "INT")
        prim = g.node("PrimitiveNode", [24], outputs=[("INT", "INT")])
        g.link(prim, 0, sched, "max_frames")
    converted, report = cv.convert(g.workflow())
    assert not report["kept"], report["kept"]
    [travel] = by_type(converted, "ADL_PromptTravel")
    return named(travel), cv.format_report(report)


def test_converter_leaves_out_past_keyframes_when_max_frames_is_linked():
    values, text = _fizz(True)
    assert values["past_last_frame"] == "leave out" and values["text"] == "0: a\n40: b"
    assert "left out when it runs (past_last_frame 'leave out'), as FizzNodes does" in text
    values, text = _fizz(False)  # the count is known: the keyframe is dropped while converting
    assert values == {"text": "0: a", "frames": 24, "past_last_frame": "error", "pre_text": "", "app_text": ""}
    assert "keyframe 40 is past max_frames 24 and was left out" in text


# ------------------------------------------------------- FizzNodes' schedule form, pre_text / app_text, links

FIZZ_TEXT = '"8" :"a dog",\n"0": "a cat\nin the snow",\n"99": "past the end",\n'


def test_fizznodes_schedule_form_is_read_as_fizznodes_reads_it():
    """Wrapped in braces, the trailing comma dropped, JSON; keyframes sorted; a newline inside a prompt is a space."""
    assert parse_keyframes(FIZZ_TEXT, 16, "leave out") == [(0, "a cat in the snow"), (8, "a dog")]
    assert parse_keyframes(FIZZ_TEXT, 16, "leave out", "masterpiece,", "4k") == [
        (0, "masterpiece, a cat in the snow 4k"), (8, "masterpiece, a dog 4k")]
    with pytest.raises(MotionModuleError, match="keyframe 99 is past the last frame"):
        parse_keyframes(FIZZ_TEXT, 16)


@pytest.mark.parametrize("text, pre, app, message", [
    ('"0": "a cat" "4": "b"', "", "", "reads as a FizzNodes schedule .* but is not one"),
    ('"0": "a cat", "max_f/2": "a dog"', "", "", "keyframe 'max_f/2' is an expression"),
    ('"0": "a (cat:`pw_a`)"', "", "", "text has `expressions`"),
    ('"0": "a cat --neg blurry"', "", "", "text has a --neg part"),
    ("0: a cat", "best --neg worst", "", "pre_text has a --neg part"),
    ("0: a cat", "", "(x:`t/2`)", "app_text has `expressions`"),
])
def test_what_fizznodes_runs_and_this_node_does_not_stops_with_a_message(text, pre, app, message):
    with pytest.raises(MotionModuleError, match=message):
        parse_keyframes(text, 16, "error", pre, app)


def test_this_packs_form_keeps_its_text_as_typed():
    """'--neg' in a 'FRAME: prompt' line is the user's words, encoded as before."""
    assert parse_keyframes("0: a cat --neg", 4) == [(0, "a cat --neg")]


def test_node_takes_pre_and_app_text_appended_last():
    schema = PromptTravel.define_schema()
    assert [i.id for i in schema.inputs][-3:] == ["past_last_frame", "pre_text", "app_text"]
    assert all(i.optional and i.default == "" for i in schema.inputs[-2:])
    [[a, _]] = PromptTravel.execute(Clip(), FIZZ_TEXT, 16, "leave out", "best", "").result[0]
    [[b, _]] = PromptTravel.execute(Clip(), "0: best a cat in the snow\n8: best a dog", 16).result[0]
    assert torch.equal(a, b)


def fizz_linked(text_linked=True, pre_linked=True, pw_linked=False):
    """A 2024-05+ BatchPromptSchedule whose schedule and pre_text come from core string nodes."""
    g = UIGraph()
    ckpt = g.node("CheckpointLoaderSimple", ["m.safetensors"], outputs=[("MODEL", "MODEL"), ("CLIP", "CLIP"), ("VAE", "VAE")])
    inputs = [("clip", "CLIP"), ("pre_text", "STRING"), ("app_text", "STRING"), ("pw_a", "FLOAT")]
    sched = g.node("BatchPromptSchedule", [FIZZ_TEXT, 12, False, 0, 0], inputs=inputs,
                   outputs=[("POS", "CONDITIONING"), ("NEG", "CONDITIONING")])
    g.link(ckpt, 1, sched, "clip")
    if text_linked:
        g.widget_input(sched, "text", "STRING")
        g.link(g.node("PrimitiveStringMultiline", [FIZZ_TEXT], outputs=[("STRING", "STRING")]), 0, sched, "text")
    if pre_linked:
        g.link(g.node("PrimitiveStringMultiline", ["masterpiece"], outputs=[("STRING", "STRING")]), 0, sched, "pre_text")
    if pw_linked:
        g.link(g.node("PrimitiveFloat", [0.5], outputs=[("FLOAT", "FLOAT")]), 0, sched, "pw_a")
    return g.workflow()


def travel_of(converted):
    [travel] = by_type(converted, "ADL_PromptTravel")
    links = {s["name"]: s["link"] for s in travel["inputs"] if s.get("link") is not None}
    return named(travel), links


def test_converter_keeps_a_linked_schedule_and_pre_text_linked():
    converted, report = cv.convert(fizz_linked(pw_linked=True))
    assert not report["kept"], report["kept"]
    values, links = travel_of(converted)
    assert set(links) == {"clip", "text", "pre_text"}  # pw_a's link is dropped, with a note
    assert values["frames"] == 12 and values["past_last_frame"] == "leave out" and values["app_text"] == ""
    text = cv.format_report(report)
    assert "the schedule text comes from another node and stays linked" in text
    assert "pre_text comes from another node and stays linked" in text
    assert "pw_a come from other nodes: they only act in `expressions`" in text


def test_converter_folds_typed_text_and_links_only_pre_text():
    converted, report = cv.convert(fizz_linked(text_linked=False))
    assert not report["kept"], report["kept"]
    values, links = travel_of(converted)
    assert set(links) == {"clip", "pre_text"}
    assert values["text"] == "0: a cat in the snow\n8: a dog" and values["past_last_frame"] == "error"
    assert "keyframe 99 is past max_frames 12 and was left out" in cv.format_report(report)


def test_api_file_with_linked_schedule():
    prompt = {"1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "m.safetensors"}},
              "2": {"class_type": "PrimitiveStringMultiline", "inputs": {"value": FIZZ_TEXT}},
              "3": {"class_type": "BatchPromptSchedule",
                    "inputs": {"text": ["2", 0], "max_frames": 12, "print_output": False, "pre_text": ["2", 0],
                               "app_text": "4k", "start_frame": 0, "end_frame": 0, "clip": ["1", 1]}}}
    converted, report = cv.convert(prompt)
    assert not report["kept"], report["kept"]
    assert converted["3"]["class_type"] == "ADL_PromptTravel"
    assert converted["3"]["inputs"] == {"clip": ["1", 1], "text": ["2", 0], "frames": 12, "past_last_frame": "leave out",
                                        "pre_text": ["2", 0], "app_text": "4k"}
