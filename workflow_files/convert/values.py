"""Widget values: recognising which saved layout a foreign node's positional values fit, translating them by
the table's rules (``translate``, ``run_checks``), and the per-node-type ``TRANSFORMS`` (VideoHelperSuite's
loaders and combiner, FizzNodes' prompt schedule) for logic a lookup cannot express. ``Refuse`` carries the
reason one node is kept as it was."""
from __future__ import annotations

import re

from .graph import Node
from .table import mapping


class Refuse(Exception):
    """One node cannot be converted; the message is the reason shown to the user."""


def _kind_ok(kind: str, v) -> bool:
    if kind == "any":
        return True
    if kind == "bool":
        return isinstance(v, bool)
    if kind == "int":
        return isinstance(v, int) and not isinstance(v, bool) or isinstance(v, float) and v.is_integer()
    if kind == "num":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if kind == "str":
        return isinstance(v, str)
    if kind == "dict":
        return isinstance(v, dict)
    if kind == "null":
        return v is None
    if kind == "empty":  # a frontend-only widget (a pack's autosize or notice widget), saved as ""
        return v == ""
    return False


def _describe(values) -> str:
    names = {bool: "bool", int: "int", float: "float", str: "str", dict: "dict", list: "list", type(None): "null"}
    return f"{len(values)} values ({', '.join(names.get(type(v), type(v).__name__) for v in values)})"


def recognise(node: Node, entry: dict) -> tuple[dict, str]:
    """Named widget values and the layout assumed. Raises Refuse when no known layout fits."""
    raw = node.widget_values()
    versions = entry.get("versions", [])
    if raw is None:
        raw = []
    if isinstance(raw, dict):
        label = "named widget values" if node.ui else "API format (named inputs)"
        named = dict(raw)
        for old, new in entry.get("renamed", {}).items():  # saved before the pack renamed the input
            if old in named and new not in named:
                named[new] = named.pop(old)
                label += f"; {old} (its name before the pack renamed it {new})"
        return _omitted(node, entry, named, label)
    if not isinstance(raw, list):
        raise Refuse(f"widgets_values is neither a list nor an object: {str(raw)[:60]}")
    trailing = entry.get("trailing", {"max": 0, "kinds": []})
    fits = []
    for version in versions:
        layout = version["widgets"]
        if len(raw) < len(layout) or len(raw) > len(layout) + trailing["max"]:
            continue
        head, tail = raw[:len(layout)], raw[len(layout):]
        if all(_kind_ok(kind, v) for (_name, kind), v in zip(layout, head)) and \
                all(any(_kind_ok(k, v) for k in trailing["kinds"]) for v in tail):
            fits.append(version)
    if not fits:
        known = "; ".join(f"{v['name']}: {len(v['widgets'])} widgets" for v in versions)
        raise Refuse(f"its widget values ({_describe(raw)}) fit no layout this converter knows ({known}); "
                     "open and re-save it with a current version of its pack, or rebuild it by hand")
    best = max(fits, key=lambda v: len(v["widgets"]))  # the longest fit: trailing values never shadow a widget
    return {name: v for (name, _kind), v in zip(best["widgets"], raw)}, best["name"]


def _omitted(node: Node, entry: dict, named: dict, label: str) -> tuple[dict, str]:
    """An API prompt may leave out a node's optional inputs; the pack then runs with its own defaults, which the
    table names (``omitted``: input -> the value the pack uses). Said in the layout's label, with the inputs the
    node has never had (ComfyUI passes a node only the inputs it declares)."""
    omitted = entry.get("omitted")
    if node.ui or not omitted:
        return named, label
    used = {k: v for k, v in omitted.items() if k not in named and k not in node.links}
    named.update(used)
    known = {w for v in entry.get("versions", []) for w, _k in v["widgets"]} | set(omitted)
    extra = sorted(k for k in named if k not in known)
    if used:
        label += "; left out, so as the pack runs without them: " + ", ".join(f"{k} {v!r}" for k, v in used.items())
    if extra:
        label += "; not inputs of this node, so ignored as ComfyUI ignores them: " + ", ".join(extra)
    return named, label


class Linked(set):
    """The names of a node's widgets fed by links; ``primitives``: those fed by a primitive holding a literal
    (name -> (its node id, the value)); ``resolved``: those whose primitive's value was typed in instead."""

    def __init__(self, names=()):
        super().__init__(names)
        self.primitives: dict[str, tuple] = {}
        self.resolved: set[str] = set()

    def __sub__(self, other):  # what is left keeps its primitives, and shares ``resolved`` with this set
        out = Linked(set(self) - set(other))
        out.primitives = {k: v for k, v in self.primitives.items() if k in out}
        out.resolved = self.resolved
        return out


PRIMITIVE_TYPES = {"PrimitiveNode",  # the editor's own (UI format): its value is its first widget value
                   "PrimitiveInt", "PrimitiveFloat", "PrimitiveString", "PrimitiveStringMultiline", "PrimitiveBoolean"}


def primitive_value(node: Node):
    """The literal a primitive node holds (the editor's PrimitiveNode, or core's Primitive* nodes), else None."""
    if node.type not in PRIMITIVE_TYPES:
        return None
    raw = node.widget_values()
    value = raw[0] if isinstance(raw, list) and raw else raw.get("value") if isinstance(raw, dict) else None
    return value if isinstance(value, (str, int, float, bool)) and not node.links else None


def translate(spec: dict, named: dict, linked: set, notes: list) -> object:
    """One target widget's value from the foreign widgets by its rule in the table; may raise Refuse. A linked
    widget gives ("link", name); with a table or a range it is refused, unless the rule says ``"linked": "keep"``,
    or a primitive feeds it: its value is then translated and typed in (the link dropped, with a note)."""
    if "value" in spec:
        return spec["value"]
    name = spec["from"]
    if name in linked:
        if "table" in spec or ("min" in spec or "max" in spec) and spec.get("linked") != "keep":
            primitive = getattr(linked, "primitives", {}).get(name)
            if primitive is None:
                raise Refuse(f"{name} comes from another node, so its value cannot be translated; make it a widget "
                             "first")
            linked.resolved.add(name)
            notes.append(f"{name} came from a primitive (node {primitive[0]}) holding {primitive[1]!r}: its value "
                         "was typed into the converted node (this pack's names differ, so the link could not stay)")
            return translate_value(spec, primitive[1], notes)
        return ("link", name)
    if name not in named:
        if "default" in spec:
            return translate_value(spec, spec["default"], notes)
        raise Refuse(f"widget {name!r} is missing")
    return translate_value(spec, named[name], notes)


def translate_value(spec: dict, value, notes: list):
    if "table" in spec:
        table = mapping()["tables"][spec["table"]]
        row = table.get(str(value)) if isinstance(value, (str, int, float)) else None
        row = row if row is not None else table.get("*")
        if row is None:
            raise Refuse(f"{spec['from']} {value!r} is not a value this converter knows")
        if "refuse" in row:
            raise Refuse(row["refuse"].format(value=value))
        if row.get("note"):
            notes.append(row["note"].format(value=value))
        value = row["to"]
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if number and ("min" in spec and value < spec["min"] or "max" in spec and value > spec["max"]):
        raise Refuse(f"{spec['from']} {value} is outside what the replacement takes "
                         f"({spec.get('min', '-∞')} to {spec.get('max', '∞')})")
    return value


def run_checks(entry: dict, named: dict, notes: list):
    for check in entry.get("checks", []):
        value = named.get(check["widget"], check.get("default"))
        if value is None or value == check["equals"]:
            continue
        message = check["say"].format(value=value)
        if check["else"] == "refuse":
            raise Refuse(message)
        notes.append(message)


# --------------------------------------------------------------------------------------------------------
# Transforms named in the table (logic that a lookup cannot express)
# --------------------------------------------------------------------------------------------------------
_PRESET = re.compile(r"^(\?|\d+)x(\?|\d+)$")


def _vhs_rate_rule(named: dict, values: dict, notes: list, linked: set):
    """VHS's OpenCV loaders pick the frames at force_rate by their own rule: Load Video (Lightning)'s
    resample_rule "VideoHelperSuite" is that rule (its "on screen" picks others, e.g. 0, 1, 3, … of 12 fps at 8)."""
    rate = named.get("force_rate") or 0
    if "force_rate" in linked:
        values["resample_rule"] = "VideoHelperSuite"
        notes.append("force_rate comes from another node: resample_rule VideoHelperSuite, so any rate other than 0 "
                     "takes the frames VideoHelperSuite took")
    elif rate > 0:
        values["resample_rule"] = "VideoHelperSuite"
        notes.append(f"force_rate {rate:g}: resample_rule VideoHelperSuite takes the source frames VideoHelperSuite "
                     "took (its rule, e.g. 0, 2, 4, 5, … of a 12 fps clip at 8, and no frame past the clip's last)")


def _vhs_load_video(named: dict, values: dict, notes: list, linked: set, opencv: bool = True):
    if opencv:
        _vhs_rate_rule(named, values, notes, linked)
    size = named.get("force_size")
    width, height = named.get("custom_width", 0) or 0, named.get("custom_height", 0) or 0
    if size is None or size == "Disabled":
        if size == "Disabled":
            width = height = 0
    elif size == "Custom Width":
        height = 0
    elif size == "Custom Height":
        width = 0
    elif size == "Custom":
        pass
    elif _PRESET.match(str(size)):
        w, h = _PRESET.match(size).groups()
        width, height = (0 if w == "?" else int(w)), (0 if h == "?" else int(h))
    else:
        raise Refuse(f"force_size {size!r} is not a value VideoHelperSuite had")
    if {"custom_width", "custom_height"} & linked:
        raise Refuse("custom_width/custom_height come from other nodes; make them widgets first")
    values["width"], values["height"] = int(width), int(height)
    if width and height:
        values["resize_mode"] = "crop"
        notes.append(f"size {width}x{height}: scaled to cover and centre-cropped (resize_mode crop), as VHS does")
    fmt = named.get("format")
    if fmt is not None:
        translate_value({"from": "format", "table": "vhs_load_format"}, fmt, notes)


def _vhs_load_video_path(named: dict, values: dict, notes: list, linked: set, opencv: bool = True):
    """VHS paths are typed paths (absolute, or relative to ComfyUI's folder); ours are under the input folder."""
    _vhs_load_video(named, values, notes, linked, opencv)
    if "video" in linked:
        raise Refuse("the video path comes from another node; type it into the converted node's path instead")
    path = str(named.get("video") or "").strip().strip('"').replace("\\", "/")
    if path.startswith("input/"):
        path = path[len("input/"):]
        notes.append(f"path 'input/{path}' became '{path}' (Load Video (Lightning) reads paths under the input folder)")
    elif path.startswith("/") or re.match(r"^[A-Za-z]:/", path) or ".." in path.split("/"):
        notes.append(f"path {path!r} is outside ComfyUI's input folder: Load Video (Lightning) reads only under it, "
                     "so move the clip there and set path to its name (the node says so when it runs)")
    values["path"] = path


VHS_COMBINE_DEFAULTS = {"frame_rate": 8, "filename_prefix": "AnimateDiff", "format": "image/gif"}
VHS_COMBINE_NAMES = {"frame_rate", "loop_count", "filename_prefix", "format", "pingpong", "save_output", "images", "audio",
                     "meta_batch", "vae", "latents", "videopreview", "lossless",  # and the format options over time:
                     "bitrate", "coder", "context", "crf", "dither", "gop_size", "input_color_depth", "level", "megabit",
                     "pix_fmt", "profile", "quality", "save_metadata", "slicecrc", "slices", "trim_to_audio"}


def _vhs_video_combine(named: dict, values: dict, notes: list, linked: set):
    missing = [n for n in VHS_COMBINE_DEFAULTS if n not in named and n not in linked]
    if missing:
        notes.append(f"{', '.join(missing)} not in the file: VideoHelperSuite's default "
                     f"{', '.join(f'{n} {VHS_COMBINE_DEFAULTS[n]}' for n in missing)} is used")
    unknown = sorted(n for n in named if n not in VHS_COMBINE_NAMES and n not in linked)
    if unknown:
        notes.append(f"{', '.join(unknown)}: not a Video Combine input VideoHelperSuite has had; dropped")
    crf = named.get("crf")
    fmt = values.get("format")
    if crf is not None and "crf" not in linked:
        limit = {"mp4": 51, "webm": 63}.get(fmt)
        if limit is not None and crf > limit:
            notes.append(f"crf {crf} is above {fmt}'s {limit}: {limit} is used")
            crf = limit
        values["crf"] = int(crf)
    if named.get("pix_fmt") not in (None, "yuv420p"):
        notes.append(f"pix_fmt {named['pix_fmt']} is not offered: yuv420p is used")
    if values.get("fps") is not None and not isinstance(values["fps"], tuple):
        values["fps"] = float(values["fps"])


def _start_time(named: dict, values: dict, notes: list, linked: set):
    """VHS's FFmpeg loaders start at a time in seconds; Load Video (Lightning) skips frames, counted at force_rate."""
    start = named.get("start_time") or 0
    if "start_time" in linked:
        raise Refuse("start_time comes from another node; make it a widget first")
    if not start:
        return
    rate = named.get("force_rate") or 0
    if not rate:
        raise Refuse(f"start_time {start} s: Load Video (Lightning) skips whole frames counted at force_rate, and "
                     "force_rate is 0 (the clip's own rate, unknown here); set force_rate in the original first")
    values["skip_first_frames"] = int(round(start * rate))
    notes.append(f"start_time {start} s at force_rate {rate} became skip_first_frames {values['skip_first_frames']}")


def _vhs_load_video_ffmpeg(named: dict, values: dict, notes: list, linked: set):
    _vhs_load_video(named, values, notes, linked, opencv=False)  # FFmpeg's fps filter: another rule
    _start_time(named, values, notes, linked)


def _vhs_load_video_ffmpeg_path(named: dict, values: dict, notes: list, linked: set):
    _vhs_load_video_path(named, values, notes, linked, opencv=False)
    _start_time(named, values, notes, linked)


IMAGES_NOTE = ("Load Images (Lightning) orders the files naturally (frame2 before frame10; VideoHelperSuite sorted them "
               "by name), brings every image to the first one's size (VideoHelperSuite: the most common size) and gives "
               "an all-zero mask of the images' size when none has alpha (VideoHelperSuite: 64x64)")


def _vhs_load_images(named: dict, values: dict, notes: list, linked: set):
    if "directory" in linked:
        raise Refuse("directory comes from another node; make it a widget first")
    notes.append(IMAGES_NOTE)


def _vhs_load_images_path(named: dict, values: dict, notes: list, linked: set):
    """VHS's typed folder (absolute, or relative to ComfyUI's folder) → path under the input folder, or NAME [output]
    / NAME [temp] for one under the output / temp folder."""
    if "directory" in linked:
        raise Refuse("the directory comes from another node; type it into the converted node's path instead")
    path = str(named.get("directory") or "").strip().strip('"').replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    path = path.rstrip("/")
    top, _, rest = path.partition("/")
    if top in ("input", "output", "temp") and rest and ".." not in rest.split("/"):
        values["path"] = rest if top == "input" else f"{rest} [{top}]"
        notes.append(f"directory {named.get('directory')!r} became path {values['path']!r} (Load Images (Lightning) "
                     "reads folders under the input folder, or NAME [output] / [temp])")
    else:
        values["path"] = path
        notes.append(f"directory {named.get('directory')!r} is not a sub-folder of ComfyUI's input, output or temp "
                     "folder: Load Images (Lightning) reads only those, so move the images into one and set path to it "
                     "(the node says so when it runs)")
    notes.append(IMAGES_NOTE)


TRANSFORMS = {"vhs_load_video": _vhs_load_video, "vhs_load_video_path": _vhs_load_video_path, "vhs_video_combine": _vhs_video_combine,
              "vhs_load_video_ffmpeg": _vhs_load_video_ffmpeg,
              "vhs_load_video_ffmpeg_path": _vhs_load_video_ffmpeg_path, "vhs_load_images": _vhs_load_images,
              "vhs_load_images_path": _vhs_load_images_path}
