"""The host surface (glue/host_surface.py): every ComfyUI internal the pack touches is listed, exists on the
running host with the signature the pack assumes, and a change upstream is reported in one line while the
nodes that need it refuse to run."""
import ast
import inspect

import comfy.context_windows
import comfy.model_patcher
import comfy.sample
import comfy.samplers
import pytest
import torch

from animatediff_lightning.glue import host_surface as hs
from animatediff_lightning.nodes import NODES
from conftest import ROOT

HOST_ROOTS = ("comfy", "comfy_api", "folder_paths", "latent_preview", "server", "nodes", "node_helpers",
              "execution", "comfy_extras", "comfyui_version")
SOURCES = sorted([*(ROOT / "glue").glob("*.py"), *(ROOT / "nodes").glob("*.py"), ROOT / "__init__.py"])


def host_usages(path):
    """(dotted host symbol, ast.Call or None, line) for every use of a host module in one of our files."""
    tree = ast.parse(path.read_text(), str(path))
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] in HOST_ROOTS:
                    aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module.split(".")[0] in HOST_ROOTS:
            for a in node.names:
                aliases[a.asname or a.name] = f"{node.module}.{a.name}"
    calls = {id(n.func): n for n in ast.walk(tree) if isinstance(n, ast.Call)}
    parents = {id(child): parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Name) or node.id not in aliases:
            continue
        chain, top = [aliases[node.id]], node
        while isinstance(parents.get(id(top)), ast.Attribute):
            top = parents[id(top)]
            chain.append(top.attr)
        out.append((".".join(chain), calls.get(id(top)), node.lineno))
    return out


def covered(symbol: str) -> bool:
    return any(symbol == s or symbol.startswith(s + ".") or s.startswith(symbol + ".") for s in
               (i.symbol for i in hs.SURFACE))


def test_every_listed_internal_exists_with_the_assumed_signature():
    assert hs.check() == []


def test_every_host_symbol_the_pack_uses_is_listed():
    unlisted = [f"{p.relative_to(ROOT)}:{line} {symbol}" for p in SOURCES for symbol, _call, line in host_usages(p)
                if not covered(symbol) and symbol != hs.API]
    assert not unlisted, "add these to glue/host_internals.py SURFACE:\n" + "\n".join(unlisted)


def test_listed_arguments_are_the_ones_the_pack_passes():
    """A call in our code may pass no keyword and no more positionals than its entry declares."""
    entries = {i.symbol: i for i in hs.SURFACE}
    wrong = []
    for path in SOURCES:
        for symbol, call, line in host_usages(path):
            entry = entries.get(symbol)
            if entry is None or call is None or entry.overrides is not None:
                continue
            keywords = {k.arg for k in call.keywords if k.arg}
            extra = keywords - set(entry.kwargs)
            positional = len(call.args) if not any(isinstance(a, ast.Starred) for a in call.args) else 0
            if extra or positional > max(entry.args, len(entry.kwargs) and entry.args):
                wrong.append(f"{path.relative_to(ROOT)}:{line} {symbol} passes {positional} positional, "
                             f"keywords {sorted(extra)} not listed")
    assert not wrong, "\n".join(wrong)


def test_model_patcher_methods_the_glue_calls_are_listed():
    """Methods called on a ModelPatcher instance don't show up as module attributes: find every attribute
    name our code uses that is a ModelPatcher method, and require an entry for it."""
    used = set()
    for path in SOURCES:
        used |= {n.attr for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Attribute)}
    methods = {name for name in used if callable(getattr(comfy.model_patcher.ModelPatcher, name, None))
               and not name.startswith("__") and not hasattr(torch.Tensor, name)}  # e.g. sigmas.detach()
    listed = {i.symbol.rsplit(".", 1)[-1] for i in hs.SURFACE if i.symbol.startswith("comfy.model_patcher.ModelPatcher.")
              or i.overrides is not None}  # a method of ours that overrides a listed host method of that name
    assert methods - listed == set(), sorted(methods - listed)


def test_one_comfy_api_version_everywhere():
    versions = {s.split(".")[1] for p in SOURCES for s, _c, _l in host_usages(p) if s.startswith("comfy_api.")}
    assert versions == {hs.API.split(".")[1]}


def test_every_node_names_its_dependencies_with_real_ids():
    ids = {node.define_schema().node_id for node in NODES}
    assert set(hs.ALL) == ids
    assert all(set(i.nodes) <= ids for i in hs.SURFACE)
    assert all(i.nodes for i in hs.SURFACE if not i.symbol.startswith("server."))  # routes serve no node
    assert all(i.why for i in hs.SURFACE)


def test_server_entries_hold_without_a_running_server():
    """``server`` can be imported with no server built (0.33's comfy_extras/nodes_images.py imports it, so it is
    in sys.modules in-process): every server entry names what the module defines, never what a running server
    sets (``PromptServer.instance`` is checked through PromptServer's source)."""
    entries = [i for i in hs.SURFACE if i.symbol.startswith("server.")]
    assert entries and not any(i.symbol.endswith(".instance") for i in entries)
    assert any("PromptServer.instance = self" in i.source for i in entries)


# ---- what happens when upstream changes: emulated on this host ------------------------------------------

@pytest.fixture
def restore_check():
    yield
    hs.check_at_start(log=print, info=print)  # after monkeypatch has put the host back


def sample_node():
    return next(n for n in NODES if n.define_schema().node_id == hs.SAMPLE)


def test_a_removed_internal_is_one_log_line_and_its_nodes_refuse_to_run(monkeypatch, restore_check):
    monkeypatch.delattr(comfy.sample, "sample_custom")
    lines = []
    problems = hs.check_at_start(log=lines.append)
    assert [p.internal.symbol for p in problems] == ["comfy.sample.sample_custom"]
    assert len(lines) == 1
    assert lines[0].startswith("[AnimateDiff-Lightning] ComfyUI 0.")  # names the host's version
    assert "comfy.sample.sample_custom is missing" in lines[0] and hs.SAMPLE in lines[0]
    with pytest.raises(hs.HostSurfaceError, match=r"comfy\.sample\.sample_custom is missing"):
        sample_node().execute(model=None, positive=None, negative=None, latent_image=None, seed=0, steps=4,
                              cfg=1.0, denoise=1.0)
    hs.guard(next(n for n in NODES if n.define_schema().node_id == hs.LOAD_VIDEO))  # unaffected: runs


def test_a_changed_signature_is_reported(monkeypatch, restore_check):
    original = comfy.samplers.sampler_object
    monkeypatch.setattr(comfy.samplers, "sampler_object", lambda name, inpaint_options: original(name))
    problems = hs.check()
    assert [(p.internal.symbol, p.what) for p in problems] == [
        ("comfy.samplers.sampler_object", "now requires 'inpaint_options', which the pack does not pass")]

    monkeypatch.setattr(comfy.sample, "prepare_noise", lambda latent_image, seed: None)
    assert "takes 2 positional arguments, the pack passes 3" in {p.what for p in hs.check()}


def test_an_overridden_method_with_new_parameters_is_reported(monkeypatch, restore_check):
    handler = comfy.context_windows.IndexListContextHandler

    def set_step(self, timestep, model_options, substep=None):
        pass
    monkeypatch.setattr(handler, "set_step", set_step)
    [problem] = hs.check()
    assert problem.internal.symbol.endswith("IndexListContextHandler.set_step")
    assert "(timestep, model_options, substep)" in problem.what


def test_a_host_source_text_the_pack_relies_on_is_checked(monkeypatch, restore_check):
    entry = next(i for i in hs.SURFACE if i.symbol.endswith("openaimodel.forward_timestep_embed"))
    assert hs.check_one(entry) is None
    renamed = hs.Internal(entry.symbol, entry.why, entry.nodes, source=('"forward_timestep_embed_patches"',))
    assert "no longer contains" in hs.check_one(renamed).what
    assert inspect.getsource(comfy.sample.sample_custom)  # the host ships sources: the check can read them
