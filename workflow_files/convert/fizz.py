"""FizzNodes' batch prompt schedules → Prompt Travel (Lightning) (transform ``fizz_prompt_schedule``): a typed schedule
becomes 'FRAME: prompt' lines with a typed pre_text / app_text folded in; a schedule, pre_text, app_text or max_frames
fed by another node keeps its link."""
from __future__ import annotations

import json
import re

from .values import TRANSFORMS, Refuse

_FIZZ_KEY = re.compile(r"^\s*(\d+)\s*$")


def _fizz_prompt_schedule(named: dict, values: dict, notes: list, linked: set):
    """FizzNodes' batch schedule → Prompt Travel (Lightning). A typed schedule becomes 'FRAME: prompt' lines with a
    typed pre_text / app_text folded in; a schedule, pre_text or app_text fed by another node keeps its link
    (Prompt Travel reads FizzNodes' form and puts pre_text / app_text around each prompt when it runs)."""
    text, frames = named.get("text"), named.get("max_frames")
    if "max_frames" in linked:
        frames = None  # fed by another node: Prompt Travel's frames takes the same link
    elif not isinstance(frames, int) or frames < 1:
        raise Refuse("text or max_frames is missing")
    typed = {k: ("" if k in linked else str(named.get(k) or "")) for k in ("pre_text", "app_text")}
    pre, app = typed["pre_text"], typed["app_text"]
    for name in ("pre_text", "app_text"):
        if name in linked:
            notes.append(f"{name} comes from another node and stays linked: Prompt Travel puts it around every "
                         "keyframe's prompt when it runs ('--neg' or `expressions` in it stop the run with a message)")
    linked_pw = sorted(k for k in ("pw_a", "pw_b", "pw_c", "pw_d") if k in linked)
    if "text" in linked:
        values["past_last_frame"] = "leave out"
        if frames is not None:
            values["frames"] = frames
        if pre or app:
            values.update(typed)  # nothing to fold them into: the node adds them when it runs
        notes.append("the schedule text comes from another node and stays linked: Prompt Travel reads FizzNodes' "
                     "'\"FRAME\": \"prompt\",' form when it runs, leaving out keyframes at or past its frames as "
                     "FizzNodes does (frame expressions, `weights` and '--neg' parts stop it there with a message)")
        if linked_pw:
            notes.append(f"{', '.join(linked_pw)} come from other nodes: they only act in `expressions`, which Prompt "
                         "Travel does not run, so they were dropped")
        return
    if not isinstance(text, str):
        raise Refuse("text or max_frames is missing")
    body = re.sub(r",\s*$", "", text.strip())
    try:
        keyframes = json.loads("{" + body + "}", strict=False)  # a line break inside a prompt becomes a space
    except ValueError as e:
        raise Refuse(f"its schedule text is not the '\"FRAME\": \"prompt\",' list FizzNodes reads ({e})") from None
    rows = []
    for key, prompt in keyframes.items():
        match = _FIZZ_KEY.match(str(key))
        if not match:
            raise Refuse(f"keyframe {key!r} is an expression; only frame numbers are converted")
        prompt = str(prompt)
        if "`" in prompt or "`" in pre or "`" in app:
            raise Refuse("the schedule uses `expressions` (animated weights with pw_a..pw_d or t); no counterpart")
        if "--neg" in prompt or "--neg" in pre or "--neg" in app:
            raise Refuse("the schedule has '--neg' parts (negative prompts per keyframe); no counterpart")
        full = " ".join(p for p in (pre.strip(), prompt.strip(), app.strip()) if p)
        frame = int(match.group(1))
        if frames is not None and frame >= frames:
            notes.append(f"keyframe {frame} is past max_frames {frames} and was left out")
            continue
        rows.append((frame, full.replace("\n", " ")))
    if not rows:
        raise Refuse("its schedule has no keyframe inside max_frames")
    rows.sort()
    if any(named.get(k) for k in ("pw_a", "pw_b", "pw_c", "pw_d") if k not in linked) or linked_pw:
        notes.append("pw_a..pw_d were set but the schedule has no expressions using them: dropped")
    if pre or app:
        notes.append("pre_text/app_text were folded into every keyframe")
        values.update(pre_text="", app_text="")
    if rows[0][0] != 0:
        notes.append(f"the first keyframe is {rows[0][0]}: frames before it hold its prompt (as FizzNodes does)")
    values["text"] = "\n".join(f"{f}: {p}" for f, p in rows)
    if frames is not None:
        values["frames"] = frames
    else:
        values["past_last_frame"] = "leave out"
        notes.append("max_frames comes from another node, and Prompt Travel's frames takes the same link; keyframes at "
                     "or past that count are left out when it runs (past_last_frame 'leave out'), as FizzNodes does")
    notes.append("FizzNodes blends neighbouring keyframes' conditionings; Prompt Travel interpolates linearly between "
                 "keyframes too, per frame")


TRANSFORMS["fizz_prompt_schedule"] = _fizz_prompt_schedule
