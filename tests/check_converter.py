"""`make check-converter ADE=… VHS=… ACN=… FIZZ=…`: every corpus workflow (tests/fixtures/corpus) whose nodes are
all core + AnimateDiff-Evolved (ADE) + VideoHelperSuite (VHS) + Advanced-ControlNet (ACN) + FizzNodes, run as it
was published and as the converter rewrites it, on one real ComfyUI server that has this pack and those four
packs in its custom_nodes; the decoded frames of both runs are compared.

Both sides get the same graph before converting (``shrink``: 64×64 px, 8 frames, or 16 with context windows of
8, 2 steps, seed 42; every model name → the random real-shape stand-in of its kind, linked into the server's
models under the name the file uses; every video / audio / image input → a generated clip or image). The
original is then converted (``cv.convert``), both UI forms become API prompts through the live /object_info, and
every output node that takes IMAGEs (VHS Video Combine, Save Image, Preview Image, Save Video (Lightning), …) is
replaced on both sides by a test-only node (tests/support/tensor_saver) that saves the same IMAGE as float32
safetensors, so the frames are compared exactly, before any 8-bit rounding.
Result per file: same frames (relative L2 ≤ 1e-4), differs, original fails, converted fails (with the error), or
skipped (why). The table goes into docs/check-converter.md after every file. The packs are checkouts you point
at (their own licences); nothing of them is in this project.

    .venv/bin/python tests/check_converter.py --ade ADE --vhs VHS --acn ACN --fizz FIZZ [--only NAME …] [--list]
"""
from __future__ import annotations

import argparse
import copy
import fnmatch
import json
import re
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "fixtures" / "corpus"
DOC = ROOT / "docs" / "check-converter.md"
BEGIN, END = "<!-- check-converter:begin -->", "<!-- check-converter:end -->"
SIZE, FRAMES, CONTEXT_FRAMES, STEPS, SEED = 64, 8, 16, 2, 42
GOAL = 1e-4
SAVER = "ADLTest_SaveImageTensor"  # tests/support/tensor_saver: the IMAGE saved as float32
PACKS = {"ade": "ComfyUI-AnimateDiff-Evolved", "vhs": "ComfyUI-VideoHelperSuite",
         "acn": "ComfyUI-Advanced-ControlNet", "fizz": "ComfyUI_FizzNodes"}
FRONTEND_ONLY = {"Note", "MarkdownNote", "PrimitiveNode", "Reroute"}

# (node type pattern, input name) → the kind of file it names; the first match wins. Each kind has one stand-in
# (``standins``), linked into the server under every name a file uses (``folder`` None: an absolute path).
MODEL_INPUTS = [
    ("ADE_AnimateDiffLoRALoader", "lora_name", "motion_lora"),
    ("ADE_*", "model_name", "motion_module"),
    ("*", "ckpt_name", "checkpoint"),
    ("*", "vae_name", "vae"),
    ("LoraLoader*", "lora_name", "lora"),
    ("*", "control_net_name", "controlnet"),
    ("VHS_LoadVideoPath", "video", "video_path"),
    ("VHS_LoadVideo", "video", "video"),
    ("VHS_LoadAudio", "audio_file", "audio_path"),
    ("VHS_LoadAudioUpload", "audio", "audio"),
    ("LoadImage", "image", "image"),
]
FOLDERS = {"motion_lora": "animatediff_motion_lora", "motion_module": "animatediff_models",
           "checkpoint": "checkpoints", "vae": "vae", "lora": "loras", "controlnet": "controlnet",
           "video": "input", "audio": "input", "image": "input", "video_path": None, "audio_path": None}
# (node type pattern, input name) → the value both sides get ("frames": 8, or 16 when context windows are used).
SHRINK = [
    ("*", "width", SIZE), ("*", "height", SIZE), ("*", "batch_size", "frames"), ("*", "steps", STEPS),
    ("*", "seed", SEED), ("*", "noise_seed", SEED),
    ("VHS_LoadVideo*", "frame_load_cap", "frames"), ("VHS_LoadVideo*", "skip_first_frames", 0),
    ("VHS_LoadVideo*", "force_size", "Disabled"), ("VHS_LoadVideo*", "custom_width", SIZE),
    ("VHS_LoadVideo*", "custom_height", SIZE),
    ("BatchPromptSchedule*", "max_frames", "frames"), ("BatchValueSchedule*", "max_frames", "frames"),
    ("*ContextOptions*", "context_length", 8), ("*ContextOptions*", "context_overlap", 2),
]
CLIP_FRAMES = 48
# Node types that say why a file cannot run on SD1.5 stand-ins, before "another pack's nodes".
SKIP_KINDS = [("*IPAdapter*", "an IPAdapter"), ("Wan*", "a Wan model"), ("LTX*", "an LTX model"),
              ("CogVideo*", "a CogVideoX model"), ("UNETLoader", "not an SD1.5 checkpoint (UNETLoader)"),
              ("CLIPLoader", "not an SD1.5 checkpoint (CLIPLoader)")]


def match(table, node_type, name):
    for pattern, input_name, value in table:
        if input_name == name and fnmatch.fnmatchcase(node_type, pattern):
            return value
    return None


# ---------------------------------------------------------------------------------------------------------------
# Reading a file's nodes and widgets by name (UI widgets are positional over /object_info's widget inputs)
# ---------------------------------------------------------------------------------------------------------------
def is_ui(wf) -> bool:
    return isinstance(wf, dict) and isinstance(wf.get("nodes"), list)


def all_nodes(wf) -> list[tuple[str, str]]:
    """(id, type) of every node, subgraphs' included."""
    if is_ui(wf):
        nodes = list(wf["nodes"])
        for sg in wf.get("definitions", {}).get("subgraphs", []):
            nodes += sg.get("nodes", [])
        return [(str(n["id"]), n["type"]) for n in nodes]
    return [(k, v["class_type"]) for k, v in wf.items() if isinstance(v, dict) and "class_type" in v]


def widget_slots(spec: dict) -> list[tuple[str, bool]]:
    """(name, followed by a control value) of each widget input, as workflow_api.to_api reads them."""
    out = []
    for section in ("required", "optional"):
        for name, (kind, *rest) in spec["input"].get(section, {}).items():
            options = rest[0] if rest and isinstance(rest[0], dict) else {}
            if isinstance(kind, list) or kind in ("INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"):
                out.append((name, kind, bool(options.get("control_after_generate"))))
    return out


def ui_widgets(node: dict, object_info: dict) -> dict[str, int | str]:
    """widget name → index (a list) or key (a dict) in ``node['widgets_values']``."""
    raw = node.get("widgets_values")
    if isinstance(raw, dict):
        return {k: k for k in raw}
    spec = object_info.get(node["type"])
    if spec is None or not isinstance(raw, list):
        return {}
    out, i = {}, 0
    for name, kind, control in widget_slots(spec):
        if i >= len(raw):
            break
        out[name] = i
        i += 1
        if i < len(raw) and (control or (kind == "INT" and raw[i] in ("fixed", "increment", "decrement", "randomize"))):
            i += 1
    return out


def widget_values(wf, object_info):
    """Yield (node type, input name, getter, setter) over every widget value of the file (a PrimitiveNode's value
    under the type and name of the widget it feeds)."""
    if not is_ui(wf):
        for node in wf.values():
            if isinstance(node, dict) and "class_type" in node:
                for name, value in list(node["inputs"].items()):
                    if not isinstance(value, list):
                        yield node["class_type"], name, (lambda n=node, k=name: n["inputs"][k]), (
                            lambda v, n=node, k=name: n["inputs"].__setitem__(k, v))
        return
    graphs = [wf] + list(wf.get("definitions", {}).get("subgraphs", []))
    for graph in graphs:
        nodes = {n["id"]: n for n in graph.get("nodes", [])}
        links = {}
        for link in graph.get("links", []):
            if isinstance(link, dict):
                links[link["id"]] = (link["target_id"], link["target_slot"])
            else:
                links[link[0]] = (link[3], link[4])
        for node in nodes.values():
            raw = node.get("widgets_values")
            if node["type"] == "PrimitiveNode":
                for out in node.get("outputs", []):
                    for lid in out.get("links") or []:
                        if lid in links and links[lid][0] in nodes and raw:
                            target = nodes[links[lid][0]]
                            slot = target.get("inputs", [])[links[lid][1]] if links[lid][1] < len(
                                target.get("inputs", [])) else {}
                            name = (slot.get("widget") or {}).get("name") or slot.get("name")
                            yield target["type"], name, (lambda r=raw: r[0]), (lambda v, r=raw: r.__setitem__(0, v))
                continue
            for name, key in ui_widgets(node, object_info).items():
                yield node["type"], name, (lambda r=raw, k=key: r[k]), (lambda v, r=raw, k=key: r.__setitem__(k, v))


def uses_context(wf) -> bool:
    return any(fnmatch.fnmatchcase(t, "*ContextOptions*") for _, t in all_nodes(wf))


def shrink(wf, object_info, standins) -> dict:
    """The file made small and pointed at the stand-ins (``standins``: kind → {name used → name to use}); applied
    to the original, so the converted graph carries the same numbers."""
    wf = copy.deepcopy(wf)
    frames = CONTEXT_FRAMES if uses_context(wf) else FRAMES
    for node_type, name, get, put in widget_values(wf, object_info):
        kind = match(MODEL_INPUTS, node_type, name)
        if kind is not None and isinstance(get(), str):
            put(standins[kind].get(get(), get()))
            continue
        value = match(SHRINK, node_type, name)
        if value is not None:
            put(frames if value == "frames" else value)
    return wf


def model_names(wf, object_info) -> dict[str, set[str]]:
    """kind → the names the file uses."""
    out: dict[str, set[str]] = {}
    for node_type, name, get, _put in widget_values(wf, object_info):
        kind = match(MODEL_INPUTS, node_type, name)
        if kind is not None and isinstance(get(), str) and get():
            out.setdefault(kind, set()).add(get())
    return out


def skip_reason(wf, object_info) -> str | None:
    types = {t for _, t in all_nodes(wf)}
    sub_ids = {sg.get("id") for sg in wf.get("definitions", {}).get("subgraphs", [])} if is_ui(wf) else set()
    for pattern, why in SKIP_KINDS:
        hits = sorted(t for t in types if fnmatch.fnmatchcase(t, pattern))
        if hits:
            return f"{why}: {', '.join(hits[:3])}"
    missing = sorted(t for t in types - FRONTEND_ONLY - sub_ids if t not in object_info)
    if missing:
        return f"another pack's nodes: {', '.join(missing[:4])}{' …' if len(missing) > 4 else ''}"
    for kind in ("checkpoint",):
        for name in model_names(wf, object_info).get(kind, ()):
            if re.search(r"xl|turbo|sd3|flux", name, re.I):
                return f"not an SD1.5 checkpoint: {name}"
    return None


# ---------------------------------------------------------------------------------------------------------------
# Stand-ins
# ---------------------------------------------------------------------------------------------------------------
def vae_file() -> Path:
    """The stand-in checkpoint's VAE alone (a VAE Loader file)."""
    from safetensors.torch import load_file, save_file
    from support.model_cache import cache_dir
    from support.sd15_models import sd15_checkpoint_file
    path = cache_dir() / "vae-sd15-random-fp16.safetensors"
    if not path.is_file():
        sd = load_file(str(sd15_checkpoint_file()))
        save_file({k[len("first_stage_model."):]: v for k, v in sd.items() if k.startswith("first_stage_model.")},
                  str(path.with_name(".tmp-" + path.name)))
        path.with_name(".tmp-" + path.name).replace(path)
    return path


SD15_ATTENTIONS = [(f"down_blocks_{b}_attentions_{a}", c) for b, c in enumerate((320, 640, 1280)) for a in (0, 1)] + [
    ("mid_block_attentions_0", 1280)] + [(f"up_blocks_{b}_attentions_{a}", c) for b, c in ((1, 1280), (2, 640), (3, 320))
                                          for a in (0, 1, 2)]


def lora_file() -> Path:
    """A random rank-4 SD1.5 UNet LoRA (kohya names, every attention projection), so a LoRA Loader changes the
    frames."""
    import torch
    from safetensors.torch import save_file
    from support.model_cache import cache_dir
    path = cache_dir() / "lora-sd15-random-r4.safetensors"
    if not path.is_file():
        g, sd, rank = torch.Generator().manual_seed(5), {}, 4
        for prefix, c in SD15_ATTENTIONS:
            for attn in ("attn1", "attn2"):
                for proj in ("to_q", "to_k", "to_v", "to_out_0"):
                    fan_in = 768 if attn == "attn2" and proj in ("to_k", "to_v") else c
                    key = f"lora_unet_{prefix}_transformer_blocks_0_{attn}_{proj}"
                    sd[f"{key}.lora_down.weight"] = torch.randn(rank, fan_in, generator=g) * 0.05
                    sd[f"{key}.lora_up.weight"] = torch.randn(c, rank, generator=g) * 0.05
                    sd[f"{key}.alpha"] = torch.tensor(float(rank))
        save_file(sd, str(path.with_name(".tmp-" + path.name)))
        path.with_name(".tmp-" + path.name).replace(path)
    return path


def standin_files(base: Path) -> dict[str, Path]:
    from PIL import Image
    from support.clips import make_clip
    from support.controlnet_models import controlnet_file
    from support.lora_models import real_motion_lora_file
    from support.models import real_motion_module_file
    from support.sd15_models import sd15_checkpoint_file
    media = base / "input" / "check_converter"  # inside the input folder: the converted loaders read only there
    media.mkdir(parents=True, exist_ok=True)
    clip = make_clip(media / "clip.mp4", frames=CLIP_FRAMES, width=SIZE, height=SIZE, fps=12, audio="aac")
    image = media / "image.png"
    if not image.exists():
        import numpy as np
        Image.fromarray((np.indices((SIZE, SIZE)).sum(0) * 2 % 256).astype("uint8")).convert("RGB").save(image)
    return {"checkpoint": sd15_checkpoint_file(), "motion_module": real_motion_module_file(),
            "motion_lora": real_motion_lora_file(), "controlnet": controlnet_file(), "vae": vae_file(),
            "lora": lora_file(), "video": clip, "audio": clip, "image": image, "video_path": clip,
            "audio_path": clip}


def link_standins(base: Path, files: dict[str, Path], used: dict[str, set[str]]) -> dict[str, dict[str, str]]:
    """Each name a file uses → a link to its kind's stand-in in the server's folder (name kept); absolute-path
    inputs → the stand-in's path. Returns kind → {name used → name to use}."""
    out: dict[str, dict[str, str]] = {}
    for kind, names in used.items():
        folder = FOLDERS[kind]
        for name in names:
            if folder is None:
                out.setdefault(kind, {})[name] = str(files[kind])
                continue
            safe = name.replace("\\", "/").lstrip("/")
            if ".." in Path(safe).parts:
                safe = Path(safe).name
            if folder != "input" and Path(safe).suffix.lower() not in (".safetensors", ".sft"):
                # the stand-ins are safetensors: a .ckpt / .pt / .bin name would be read as a pickle
                safe = str(Path(safe).with_suffix(".safetensors"))
            link = base / ("input" if folder == "input" else f"models/{folder}") / safe
            link.parent.mkdir(parents=True, exist_ok=True)
            if not link.exists():
                link.symlink_to(files[kind].resolve())
            out.setdefault(kind, {})[name] = safe
    return out


# ---------------------------------------------------------------------------------------------------------------
# Running and comparing
# ---------------------------------------------------------------------------------------------------------------
def to_prompt(wf, object_info) -> dict:
    from workflow_files.workflow_api import to_api
    return to_api(wf, object_info) if is_ui(wf) else copy.deepcopy(wf)


def save_images_instead(prompt: dict, object_info: dict, side: str, stem: str) -> dict:
    """Every output node fed IMAGEs → the test-only float saver fed the same IMAGE (prefix by side and node id);
    other output nodes are dropped. Returns {node id: prefix}."""
    outs = {}
    for nid, node in list(prompt.items()):
        info = object_info.get(node["class_type"], {})
        if not info.get("output_node"):
            continue
        images = node["inputs"].get("images")
        if not isinstance(images, list):
            images = next((v for k, v in node["inputs"].items() if isinstance(v, list) and k in ("image", "frames")),
                          None)
        del prompt[nid]
        if isinstance(images, list):
            prefix = f"check_converter/{stem}/{side}/{nid}"
            prompt[nid] = {"class_type": SAVER, "inputs": {"images": images, "filename_prefix": prefix}}
            outs[nid] = prefix
    return outs


def frames_of(server, outputs: dict, nid: str):
    """The saved IMAGE batch [N, H, W, C] as float64 in 0..1, or None."""
    from safetensors.numpy import load_file
    saved = outputs.get(nid, {}).get("tensors", [])
    if not saved:
        return None
    return load_file(str(server.base_dir / "output" / saved[0]["filename"]))["images"].astype("float64")


def rel_l2(a, b) -> float:
    import numpy as np
    if a.shape != b.shape:
        return float("inf")
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-12))


def short(message: str, n: int = 160) -> str:
    return re.sub(r"\s+", " ", message or "").strip()[:n].replace("|", "\\|")


def check_file(server, object_info, name, wf, standins) -> tuple[str, str]:
    """(result, note) of one runnable file."""
    from workflow_files import convert as cv
    small = shrink(wf, object_info, standins)
    try:
        converted, report = cv.convert(small)
    except Exception as e:  # noqa: BLE001 - reported in the table
        return "converter fails", short(f"{type(e).__name__}: {e}")
    kept = sorted({k.get("type", "?") for k in report.get("kept", [])})
    note = f"{len(report.get('converted', []))} converted" + (f", kept: {', '.join(kept)}" if kept else "")
    stem = Path(name).stem[:60]
    prompts = {}
    for side, graph in (("original", small), ("converted", converted)):
        try:
            prompts[side] = to_prompt(graph, object_info)
        except Exception as e:  # noqa: BLE001
            return f"{side} fails", short(f"to API: {e}") + f"; {note}"
    outs = {side: save_images_instead(p, object_info, side, stem) for side, p in prompts.items()}
    unchanged = json.dumps(prompts["original"], sort_keys=True) == json.dumps(prompts["converted"], sort_keys=True).replace(
        "/converted/", "/original/")
    if not outs["original"]:
        return "skipped", "no output node takes IMAGEs"
    results = {}
    for side in ("original", "converted"):
        t = time.time()
        r = server.run(prompts[side])
        print(f"    {side}: {'ok' if r['ok'] else 'FAILED'} in {time.time() - t:.0f} s", flush=True)
        if not r["ok"]:
            err = r["error"] or ""
            if r.get("node_errors"):
                err += " " + json.dumps(r["node_errors"])[:300]
            results[side] = err
        else:
            results[side] = r["outputs"]
    if isinstance(results["original"], str):
        extra = "; converted fails too: " + short(results["converted"], 100) if isinstance(results["converted"], str) else ""
        return "original fails", short(results["original"]) + extra + f"; {note}"
    if isinstance(results["converted"], str):
        return "converted fails", short(results["converted"]) + f"; {note}"
    distances, shapes, levels, off = [], [], 0.0, 0.0
    conv_ids = list(outs["converted"])
    for i, nid in enumerate(outs["original"]):
        other = nid if nid in outs["converted"] else (conv_ids[i] if i < len(conv_ids) else None)
        a = frames_of(server, results["original"], nid)
        b = frames_of(server, results["converted"], other) if other else None
        if a is None or b is None:
            return "differs", f"output {nid}: {'no frames' if a is None else 'no converted counterpart'}; {note}"
        distances.append(rel_l2(b, a))
        if a.shape == b.shape:
            levels = max(levels, float(abs(a - b).max()))
            off = max(off, float((abs(a - b) > 0).mean()))
        shapes.append(f"{a.shape[0]}×{a.shape[2]}×{a.shape[1]}" if a.shape == b.shape else f"{a.shape} vs {b.shape}")
    worst = max(distances)
    result = "same frames" if worst <= GOAL else "differs"
    if unchanged:
        return f"{result} ({worst:.1e}, graph unchanged)", f"the converted graph up to the images is the original; {note}"
    diff = f"largest difference {levels:.1e} (of 0..1) in {off:.2%} of values" if levels else "identical"
    return f"{result} ({worst:.1e})", f"{len(distances)} output(s), {', '.join(sorted(set(shapes)))}, {diff}; {note}"


# ---------------------------------------------------------------------------------------------------------------
# The doc
# ---------------------------------------------------------------------------------------------------------------
def read_rows(doc: Path) -> dict[str, tuple[str, str, str, str]]:
    text = doc.read_text() if doc.exists() else ""
    rows = {}
    if BEGIN in text:
        for line in text.split(BEGIN)[1].split(END)[0].splitlines():
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
            if len(cells) == 4 and cells[0] not in ("file", "---"):
                rows[cells[0].strip("`")] = tuple(cells)
    return rows


def write_doc(doc: Path, rows: dict, order: list[str], header: str):
    table = ["| file | format | result | note |", "| --- | --- | --- | --- |"]
    table += [" | ".join(("| `" + n + "`",) + rows[n][1:]) + " |" for n in order if n in rows]
    counts = {}
    for n in order:
        if n in rows:
            key = rows[n][2].split(" (")[0]
            counts[key] = counts.get(key, 0) + 1
    summary = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
    body = f"{BEGIN}\n{header}\n\n{summary}.\n\n" + "\n".join(table) + f"\n{END}"
    text = doc.read_text() if doc.exists() else (
        "# Converted workflows against the originals\n\n"
        "Written by `make check-converter` (tests/check_converter.py); see its docstring for the method.\n\n")
    if BEGIN in text:
        text = text.split(BEGIN)[0] + body + text.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + body + "\n"
    doc.write_text(text)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for key, pack in PACKS.items():
        ap.add_argument(f"--{key}", help=f"a {pack} checkout")
    ap.add_argument("--only", nargs="*", help="corpus file names (or parts of them)")
    ap.add_argument("--list", action="store_true", help="list the corpus files and exit")
    ap.add_argument("--out", type=Path, default=DOC)
    ap.add_argument("--base", type=Path, help="the server's base directory (default: a temporary one)")
    a = ap.parse_args()
    sources = json.loads((CORPUS / "SOURCES.json").read_text())
    names = [s["file"] for s in sources]
    formats = {s["file"]: s["format"] for s in sources}
    if a.list:
        print("\n".join(f"{formats[n]:3}  {n}" for n in names))
        return 0
    for key, pack in PACKS.items():
        path = getattr(a, key)
        if not path or not (Path(path) / "__init__.py").is_file():
            sys.exit(f"--{key} must be a {pack} checkout (a folder with __init__.py), not {path!r}")
    chosen = [n for n in names if not a.only or any(o == n or o in n for o in a.only)]
    if not chosen:
        sys.exit(f"no corpus file matches {a.only}")

    sys.path.insert(0, str(ROOT / "tests"))
    sys.path.insert(0, str(ROOT))
    import tempfile

    import conftest  # noqa: F401  (the host importable, the test model cache)
    from conftest import COMFYUI_PATH
    from support.server import ComfyServer

    started = time.time()
    base = a.base or Path(tempfile.mkdtemp(prefix="check_converter_"))
    print(f"server base {base}", flush=True)
    server = ComfyServer(COMFYUI_PATH, base, {}, extra_args=["--preview-method", "none"],
                         extra_custom_nodes={**{PACKS[k]: Path(getattr(a, k)).resolve() for k in PACKS},
                                             "adl_test_tensor_saver": ROOT / "tests" / "support" / "tensor_saver"})
    files = standin_files(base)
    server.start(timeout=600)
    rows = read_rows(a.out) if a.only else {}
    header = lambda: (  # noqa: E731
        f"`make check-converter` ({time.strftime('%Y-%m-%d')}, {(time.time() - started) / 60:.1f} min"
        f"{', --only runs' if a.only else ''}; ComfyUI at {COMFYUI_PATH.name}, CPU): each file shrunk the same way "
        f"on both sides ({SIZE}×{SIZE} px, {FRAMES} frames or {CONTEXT_FRAMES} with context windows of 8 / overlap 2, "
        f"{STEPS} steps, seed {SEED}, random real-shape SD1.5 stand-ins under the files' model names), converted, "
        f"both run on one server with ADE, VHS, ACN and FizzNodes installed; every IMAGE output is saved as float32 "
        f"on both sides (no 8-bit rounding). Result: the largest relative L2 distance over the outputs (goal ≤ {GOAL:g}).")
    any_differs = False
    try:
        object_info = server.get("/object_info")
        loaded = {k: any(PACKS[k] in v.get("python_module", "") for v in object_info.values()) for k in PACKS}
        if not all(loaded.values()):
            sys.exit(f"packs that did not load on the server: {[PACKS[k] for k, ok in loaded.items() if not ok]}; "
                     f"see {server.log_path}")
        workflows = {n: json.loads((CORPUS / n).read_text()) for n in chosen}
        reasons = {n: skip_reason(workflows[n], object_info) for n in chosen}
        used: dict[str, set[str]] = {}
        for n in chosen:
            if reasons[n] is None:
                for kind, ns in model_names(workflows[n], object_info).items():
                    used.setdefault(kind, set()).update(ns)
        standins = link_standins(base, files, used)
        for i, n in enumerate(chosen, 1):
            t = time.time()
            print(f"[{i}/{len(chosen)}] {n}", flush=True)
            if reasons[n]:
                result, note = "skipped", reasons[n]
            else:
                try:
                    result, note = check_file(server, object_info, n, workflows[n], standins)
                except Exception as e:  # noqa: BLE001 - one file's harness failure is a row, not the end
                    traceback.print_exc()
                    result, note = "harness error", short(f"{type(e).__name__}: {e}")
                if not server.alive():
                    server.start(timeout=600)
            any_differs |= result.startswith("differs")
            print(f"    {result} — {note} ({time.time() - t:.0f} s)", flush=True)
            rows[n] = (n, formats[n].upper(), result, note.replace("|", "\\|"))
            write_doc(a.out, rows, names, header())
    finally:
        server.stop()
    print(f"done in {(time.time() - started) / 60:.1f} min; table in {a.out}", flush=True)
    return 1 if any_differs else 0


if __name__ == "__main__":
    sys.exit(main())
