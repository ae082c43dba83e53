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
    assert widget.optional and widget.default == "error" and schema.inputs[-1] is widget  # appended last
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
    assert values == {"text": "0: a", "frames": 24, "past_last_frame": "error"}
    assert "keyframe 40 is past max_frames 24 and was left out" in text
