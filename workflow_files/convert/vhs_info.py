"""VideoHelperSuite's video-info readers (``VHS_VideoInfo`` / ``VideoInfoLoaded`` / ``VideoInfoSource`` on a loader's
VHS_VIDEOINFO output) → the converted Load Video (Lightning)'s own outputs and core Get Image Size; what no node
gives keeps the loader, with the reason."""
from __future__ import annotations

from .graph import Node
from .parts import Emitted, Plan
from .values import Refuse

LOADER_OUT = {"fps": 2, "frame_count": 1}   # Load Video (Lightning)'s outputs
SIZE_OUT = {"width": 0, "height": 1}         # core Get Image Size's, on the loaded images
INFO_REFUSED = {
    "source_frame_count": "the clip's own frame count (before skip / cap / select_every_nth / force_rate); Load "
                          "Video (Lightning) gives only the loaded frames' frame_count",
    "source_duration": "the clip's own length in seconds; no node gives it (Load Video (Lightning) gives the loaded "
                       "frames' frame_count and fps, and core has no node that divides them)",
    "loaded_duration": "frame_count / fps of the loaded frames, in seconds; Load Video (Lightning) gives both, but core "
                       "has no node that divides them",
}


def _source_same_as_loaded(name: str, values: dict, linked: set) -> str | None:
    """Why VHS's source_* ``name`` is not what the converted loader gives, or None when it is the same."""
    if name == "source_fps":
        if {"force_rate", "select_every_nth"} & linked:
            return "force_rate or select_every_nth comes from another node, so whether it differs is not known"
        rate, nth = values.get("force_rate") or 0, values.get("select_every_nth", 1)
        if rate or nth != 1:
            return (f"the clip's own rate; Load Video (Lightning)'s fps is the loaded frames' ((force_rate or the clip's "
                    f"rate) / select_every_nth), not the same here (force_rate {rate:g}, select_every_nth {nth})")
        return None
    if values.get("width") or values.get("height"):
        return (f"the clip's own size; the frames are resized here ({values.get('width') or '?'}x"
                f"{values.get('height') or '?'}), so core Get Image Size on them gives the new size")
    return None


def info_readers(conv, node: Node, entry: dict, values: dict, linked: set, plan_: Plan) -> set:
    """Each reader on the loader's VHS_VIDEOINFO output (``entry["info_output"]``: its output names per reader
    type): loaded fps / frame_count from the converted loader's outputs, loaded width / height from core Get Image
    Size on its images, the source's where they equal the loaded ones (no force_rate / select_every_nth, no
    resize); a used output with no counterpart keeps the loader, with the reason. The readers go. Returns the
    loader's output slots so handled."""
    spec = entry.get("info_output")
    if not spec or not conv.consumers.get((node.id, spec["slot"])):
        return set()
    size_id = None
    for reader_id, _input in conv.consumers[(node.id, spec["slot"])]:
        reader = conv.nodes[reader_id]
        names = spec["readers"].get(reader.type)
        if names is None:
            raise Refuse(entry["outputs_refused"][str(spec["slot"])] + f" (node {reader_id} {reader.type} reads it)")
        used = sorted({s for (src, s), users in conv.consumers.items() if src == reader_id and users})
        for slot in used:
            name = names[slot] if slot < len(names) else f"output {slot}"
            base = name[len("source_"):] if name.startswith("source_") else name[len("loaded_"):] \
                if name.startswith("loaded_") else name
            why = INFO_REFUSED.get(name) or (
                _source_same_as_loaded(name, values, linked) if name.startswith("source_") else None)
            if why is None and base not in LOADER_OUT and base not in SIZE_OUT:
                why = "no counterpart"
            if why:
                raise Refuse(f"node {reader_id} ({reader.type}) output {slot} ({name}) is used: {why}")
            if base in LOADER_OUT:
                plan_.redirects[(reader_id, slot)] = ("new", node.id, LOADER_OUT[base])
                continue
            if size_id is None:
                size_id = conv.new_id()
                plan_.emitted.append(Emitted(size_id, "GetImageSize", {}, {"image": ("new", node.id, 0)}, node,
                                             new=True, offset=(0, 360)))
                plan_.notes.append("the video's width / height: core Get Image Size on the loaded frames")
            plan_.redirects[(reader_id, slot)] = ("new", size_id, SIZE_OUT[base])
        plan_.claimed.add(reader_id)
        plan_.parts[reader_id] = f"reads fps / frame_count / size (here {', '.join(names[s] for s in used) or 'none'}): " \
                                 "now the loader's own outputs" + (" and Get Image Size's" if size_id else "")
    return {spec["slot"]}
