"""VideoHelperSuite's batch helpers, VAE batched nodes and audio loaders → core ComfyUI nodes (kind ``vhs_core``).

Each ``op`` in the table (mapping.json, the entry's ``op``) is a function here: it emits the core node(s) that give
the same frames, rewires every connected output (a count output through core Get Image Size's batch_size), and
refuses, with the reason, what core cannot match. A widget fed by another node stays fed (the core node takes it
as an input) where the core node has that input and the value means the same there."""
from __future__ import annotations

import re

from .graph import Node
from .parts import Emitted, Plan
from .table import mapping
from .values import Refuse

IMAGE_LENGTH_MAX = 4096   # core Image From Batch / Repeat Image Batch: the largest length / amount they take
IMAGE_INDEX_MAX = 4095    # core Image From Batch: the largest batch_index (0.3.x)
LATENT_AMOUNT_MAX = 64    # core Repeat Latent Batch: the largest amount
TRIM_TO_END = 10000000.0  # seconds: VHS's own largest duration, for "to the end" on Trim Audio Duration
LEGACY_AUDIO_READERS = {"VHS_VideoCombine"}  # take core AUDIO once converted (Save Video (Lightning))


class Build:
    """The nodes one foreign node becomes: the first takes the foreign node's id, the rest are new beside it."""

    def __init__(self, conv, node: Node, plan: Plan):
        self.conv, self.node, self.plan = conv, node, plan
        self.count = 0
        plan.claimed.add(node.id)

    def emit(self, target: str, values: dict, inputs: dict) -> int:
        new = self.count > 0
        node_id = self.conv.new_id() if new else self.node.id
        values = {**mapping()["targets"][target].get("defaults", {}), **values}
        self.plan.emitted.append(Emitted(node_id, target, values, inputs, self.node, new=new,
                                         offset=(0, 130 * self.count)))
        self.count += 1
        return node_id

    def old(self, name: str) -> tuple | None:
        link = self.node.links.get(name)
        return ("old", *link) if link is not None else None

    def used(self, slot: int) -> bool:
        return bool(self.conv.consumers.get((self.node.id, slot)))

    def out(self, slot: int, ref: tuple):
        if self.used(slot):
            self.plan.redirects[(self.node.id, slot)] = ref

    def count_of(self, slot: int, images_ref: tuple | None, what: str):
        """Output ``slot`` (VHS's count, an INT) from core Get Image Size's batch_size on ``images_ref``."""
        if not self.used(slot):
            return
        if images_ref is None:
            raise Refuse(f"output {slot} ({what}) is connected but its images input is not")
        size_id = self.emit("GetImageSize", {}, {"image": images_ref})
        self.out(slot, ("new", size_id, 2))
        self.plan.notes.append(f"{what}: core Get Image Size's batch_size")


def _int_widget(b: Build, named: dict, linked: set, name: str, default: int, low: int, high: int | None,
                why_high: str = "") -> int | tuple:
    """A widget's int value (checked against the core node's range), or ("link", ref) when another node feeds it."""
    if name in linked:
        return ("link", b.old(name))
    value = named.get(name, default)
    if not isinstance(value, (int, float)) or isinstance(value, bool) or float(value) != int(value):
        raise Refuse(f"{name} {value!r} is not a whole number")
    value = int(value)
    if value < low or high is not None and value > high:
        raise Refuse(f"{name} {value} is outside what the core node takes ({low} to {high}){why_high}")
    return value


def _put(values: dict, inputs: dict, name: str, value):
    if isinstance(value, tuple) and value[:1] == ("link",):
        inputs[name] = value[1]
    else:
        values[name] = value


def _handled(b: Build, names: set):
    b.conv.refuse_unaccounted(b.node, names)


# --------------------------------------------------------------------------------------------------------
# VAE batched
# --------------------------------------------------------------------------------------------------------
def _vae(b: Build, named: dict, linked: set, target: str, source: str, into: str):
    _handled(b, {source, "vae", "per_batch"})
    node_id = b.emit(target, {}, {k: r for k, r in ((into, b.old(source)), ("vae", b.old("vae"))) if r})
    b.out(0, ("new", node_id, 0))
    per = "another node's value" if "per_batch" in linked else named.get("per_batch", 16)
    b.plan.notes.append(f"per_batch ({per}) only set how many frames VideoHelperSuite passed to the VAE at once (memory); "
                        f"core {target} takes the whole batch and splits it by free memory itself: the same frames "
                        "for an image VAE (each frame on its own)"
                        + ("; the link into per_batch was dropped" if "per_batch" in linked else ""))


def _vae_decode(b, named, linked):
    _vae(b, named, linked, "VAEDecode", "samples", "samples")


def _vae_encode(b, named, linked):
    _vae(b, named, linked, "VAEEncode", "pixels", "pixels")


# --------------------------------------------------------------------------------------------------------
# Repeat, count
# --------------------------------------------------------------------------------------------------------
def _repeat_images(b, named, linked):
    _handled(b, {"images", "multiply_by"})
    values, inputs = {}, {k: r for k, r in (("image", b.old("images")),) if r}
    _put(values, inputs, "amount", _int_widget(b, named, linked, "multiply_by", 1, 1, IMAGE_LENGTH_MAX))
    node_id = b.emit("RepeatImageBatch", values, inputs)
    b.out(0, ("new", node_id, 0))
    b.count_of(1, ("new", node_id, 0), "count")


def _repeat_latents(b, named, linked):
    _handled(b, {"latents", "multiply_by"})
    if b.used(1):
        raise Refuse("its count output is connected: no core node gives a latent batch's length")
    values, inputs = {}, {k: r for k, r in (("samples", b.old("latents")),) if r}
    _put(values, inputs, "amount", _int_widget(b, named, linked, "multiply_by", 1, 1, LATENT_AMOUNT_MAX))
    node_id = b.emit("RepeatLatentBatch", values, inputs)
    b.out(0, ("new", node_id, 0))


def _image_count(b, named, linked):
    _handled(b, {"images"})
    node_id = b.emit("GetImageSize", {}, {k: r for k, r in (("image", b.old("images")),) if r})
    b.out(0, ("new", node_id, 2))
    b.plan.notes.append("count: core Get Image Size's batch_size")


# --------------------------------------------------------------------------------------------------------
# Split, select every n-th, merge
# --------------------------------------------------------------------------------------------------------
TAIL_NOTE = ("{what} is core Image From Batch from {start} with length 4096 (its largest): the same images unless the "
             "batch holds more than {start} + 4096, or no more than {start} (VideoHelperSuite's {what} is then empty, "
             "Image From Batch gives the last image)")


def _from(b: Build, start, length) -> int:
    values, inputs = {}, {k: r for k, r in (("image", b.old("images")),) if r}
    _put(values, inputs, "batch_index", start)
    _put(values, inputs, "length", length)
    return b.emit("ImageFromBatch", values, inputs)


def _split_images(b, named, linked):
    _handled(b, {"images", "split_index"})
    split = _int_widget(b, named, linked, "split_index", 0, -(2 ** 63), None)
    a_used, b_used = b.used(0) or b.used(1), b.used(2) or b.used(3)
    if split == 0:
        if a_used:
            raise Refuse("split_index 0 gives an empty IMAGE_A (and A_count 0), which no core node makes")
        b.out(2, b.old("images"))
        b.count_of(3, b.old("images"), "B_count")
        if b.used(2):
            b.plan.notes.append("split_index 0: IMAGE_B is the whole batch, passed straight on")
        return
    if isinstance(split, int) and split < 0:
        raise Refuse(f"split_index {split} counts from the end: IMAGE_A's length then depends on the batch's, "
                     "which no core node takes")
    where = "split_index" if isinstance(split, tuple) else str(split)
    if isinstance(split, tuple):
        b.plan.notes.append("split_index comes from another node: it stays linked, as IMAGE_A's Image From Batch "
                            "length and IMAGE_B's batch_index")
    if a_used or not b_used:
        if isinstance(split, int) and split > IMAGE_LENGTH_MAX:
            raise Refuse(f"split_index {split}: IMAGE_A would be core Image From Batch with length {split}, above its "
                         f"largest ({IMAGE_LENGTH_MAX})")
        a_id = _from(b, 0, split)
        b.out(0, ("new", a_id, 0))
        b.count_of(1, ("new", a_id, 0), "A_count")
    if b_used:
        if isinstance(split, int) and split > IMAGE_INDEX_MAX:
            raise Refuse(f"split_index {split}: IMAGE_B would be core Image From Batch from {split}, above its largest "
                         f"batch_index ({IMAGE_INDEX_MAX})")
        b_id = _from(b, split, IMAGE_LENGTH_MAX)
        b.out(2, ("new", b_id, 0))
        b.count_of(3, ("new", b_id, 0), "B_count")
        b.plan.notes.append(TAIL_NOTE.format(what="IMAGE_B", start=where))


def _every_nth_images(b, named, linked):
    _handled(b, {"images", "select_every_nth", "skip_first_images"})
    nth = _int_widget(b, named, linked, "select_every_nth", 1, 1, None)
    if nth != 1:  # core has no node that takes every n-th image: the pack's, the same slice and count
        values, inputs = {}, {k: r for k, r in (("images", b.old("images")),) if r}
        _put(values, inputs, "select_every_nth", nth)
        _put(values, inputs, "skip_first_images", _int_widget(b, named, linked, "skip_first_images", 0, 0, None))
        node_id = b.emit("ADL_SelectEveryNthImage", values, inputs)
        b.out(0, ("new", node_id, 0))
        b.out(1, ("new", node_id, 1))
        b.plan.notes.append("Select Every Nth Image (Lightning): the same images (images[skip_first_images::"
                            "select_every_nth]) and count; a selection that skips every image stops there with a "
                            "message, where VideoHelperSuite passed an empty batch on")
        return
    skip = _int_widget(b, named, linked, "skip_first_images", 0, 0, IMAGE_INDEX_MAX)
    if skip == 0:
        b.out(0, b.old("images"))
        b.count_of(1, b.old("images"), "count")
        b.plan.notes.append("select_every_nth 1 with nothing skipped keeps every image: the batch is passed straight on")
        return
    node_id = _from(b, skip, IMAGE_LENGTH_MAX)
    b.out(0, ("new", node_id, 0))
    b.count_of(1, ("new", node_id, 0), "count")
    b.plan.notes.append(TAIL_NOTE.format(what="the selection", start="skip_first_images" if isinstance(skip, tuple)
                                         else skip))


SCALE_METHODS = ("nearest-exact", "bilinear", "area", "bicubic")  # VHS's, less bislerp, which core Upscale Image lacks


def _merge_images(b, named, linked):
    _handled(b, {"images_A", "images_B"})
    for name in ("merge_strategy", "scale_method", "crop"):
        if name in linked:
            raise Refuse(f"{name} comes from another node; make it a widget first")
    strategy = named.get("merge_strategy", "match A")
    method, crop = named.get("scale_method", "nearest-exact"), named.get("crop", "disabled")
    if strategy == "match larger":
        raise Refuse("merge_strategy match larger: which batch is resized depends on their sizes, known only when it "
                     "runs; core Batch Images always keeps the first one's size (use match A or match B)")
    if strategy not in ("match A", "match B", "match smaller"):
        raise Refuse(f"merge_strategy {strategy!r} is not one VideoHelperSuite had")
    if crop not in ("disabled", "center"):
        raise Refuse(f"crop {crop!r} is not one VideoHelperSuite had")
    if method not in SCALE_METHODS + ("bislerp",):
        raise Refuse(f"scale_method {method!r} is not one VideoHelperSuite had")
    a, bb = b.old("images_A"), b.old("images_B")
    if strategy == "match smaller":
        b.plan.notes.append("merge_strategy match smaller: VideoHelperSuite's rule resizes images_B to images_A's size "
                            "whichever is smaller, so images_A's size is kept here too")
    template_a = strategy != "match B"
    if template_a and method == "bilinear" and crop == "center":
        merged = b.emit("ImageBatch", {}, {k: r for k, r in (("image1", a), ("image2", bb)) if r})
    else:
        if method == "bislerp":
            raise Refuse("scale_method bislerp: core Upscale Image has no bislerp for images")
        if a is None or bb is None:
            raise Refuse("images_A or images_B is not connected")
        size_of, scaled = (a, bb) if template_a else (bb, a)
        size_id = b.emit("GetImageSize", {}, {"image": size_of})
        scale_id = b.emit("ImageScale", {"upscale_method": method, "crop": crop},
                          {"image": scaled, "width": ("new", size_id, 0), "height": ("new", size_id, 1)})
        first, second = (a, ("new", scale_id, 0)) if template_a else (("new", scale_id, 0), bb)
        merged = b.emit("ImageBatch", {}, {"image1": first, "image2": second})
        b.plan.notes.append(f"images_{'B' if template_a else 'A'} goes through core Upscale Image ({method}, crop {crop}) "
                            f"to images_{'A' if template_a else 'B'}'s size (Get Image Size), then core Batch Images: "
                            "VideoHelperSuite's resize")
    b.out(0, ("new", merged, 0))
    b.count_of(1, ("new", merged, 0), "count")


# --------------------------------------------------------------------------------------------------------
# Audio
# --------------------------------------------------------------------------------------------------------
def _legacy_audio(b: Build):
    """2023-12 to 2024-06 VideoHelperSuite loaders gave their own VHS_AUDIO; core AUDIO goes only where converted
    nodes take it."""
    outputs = (b.node.raw.get("outputs") or []) if b.node.ui else []
    if not outputs or outputs[0].get("type") != "VHS_AUDIO":
        return
    for consumer_id, _name in b.conv.consumers.get((b.node.id, 0), []):
        consumer = b.conv.nodes[consumer_id]
        if consumer.type not in LEGACY_AUDIO_READERS:
            raise Refuse(f"its output is VideoHelperSuite's own VHS_AUDIO (2023-12 to 2024-06), and node "
                         f"{consumer_id} ({consumer.type}) takes that type, not core AUDIO")
        b.plan.feeds.add(consumer_id)


def _audio(b: Build, named: dict, linked: set, name: str, start_name: str):
    _handled(b, {start_name, "duration"})
    if b.used(1):
        raise Refuse("its duration output is connected: no core node gives an audio's length")
    _legacy_audio(b)
    load_id = b.emit("LoadAudio", {"audio": name}, {})
    start = ("link", b.old(start_name)) if start_name in linked else named.get(start_name, 0) or 0
    duration = ("link", b.old("duration")) if "duration" in linked else named.get("duration", 0) or 0
    if start == 0 and duration == 0:
        b.out(0, ("new", load_id, 0))
        return
    values, inputs = {}, {"audio": ("new", load_id, 0)}
    _put(values, inputs, "start_index", float(start) if not isinstance(start, tuple) else start)
    _put(values, inputs, "duration", float(duration or TRIM_TO_END) if not isinstance(duration, tuple) else duration)
    trim_id = b.emit("TrimAudioDuration", values, inputs)
    b.out(0, ("new", trim_id, 0))
    said = [f"{start_name} {'from another node' if isinstance(start, tuple) else start}",
            f"duration {'from another node' if isinstance(duration, tuple) else duration or '0 (to the end)'}"]
    b.plan.notes.append(f"{', '.join(said)}: core Trim Audio Duration cuts the decoded audio (to the nearest sample) "
                        "where VideoHelperSuite had ffmpeg seek" + (
                            f"; to the end is duration {TRIM_TO_END:g} s" if duration == 0 else "")
                        + ("; a linked duration of 0 is an error there, not 'to the end'"
                           if isinstance(duration, tuple) else ""))


def _load_audio_upload(b, named, linked):
    if "audio" in linked:
        raise Refuse("audio comes from another node; make it a widget first")
    name = named.get("audio")
    if not isinstance(name, str) or not name:
        raise Refuse("no audio file is chosen")
    _audio(b, named, linked, name, "start_time")


def _load_audio_path(b, named, linked):
    if "audio_file" in linked:
        raise Refuse("audio_file comes from another node; core Load Audio takes a file picked from the input folder")
    path = str(named.get("audio_file") or "").strip().strip('"').replace("\\", "/")
    if re.match(r"^[a-z]+://", path):
        raise Refuse(f"audio_file {path!r} is a URL; core Load Audio takes a file from the input folder")
    if not path.startswith("input/") or ".." in path.split("/") or path in ("input/", ""):
        raise Refuse(f"audio_file {path!r} is not a file under ComfyUI's input folder, the only place core Load Audio "
                     "reads: move it there and pick it in Load Audio")
    name = path[len("input/"):]
    b.plan.notes.append(f"audio_file 'input/{name}' became Load Audio's '{name}' (a file in the input folder)")
    _audio(b, named, linked, name, "seek_seconds")


OPS = {"vae_decode": _vae_decode, "vae_encode": _vae_encode, "repeat_images": _repeat_images,
       "repeat_latents": _repeat_latents, "image_count": _image_count, "split_images": _split_images,
       "every_nth_images": _every_nth_images, "merge_images": _merge_images,
       "load_audio_upload": _load_audio_upload, "load_audio_path": _load_audio_path}


def plan(conv, node: Node, entry: dict, named: dict, plan_: Plan):
    conv.refuse_linked(node, entry)
    linked = conv.linked_inputs(node, entry, named)
    OPS[entry["op"]](Build(conv, node, plan_), named, linked)
