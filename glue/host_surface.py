"""Every ComfyUI internal the pack touches, why, and a check that the running ComfyUI still has it.

ComfyUI changes its internals between releases without notice; AnimateDiff packs that relied on them
broke silently (coloured noise instead of video). ``host_internals.py`` is the one list of what the pack
imports, calls, overrides or reads in the host, with the parameters it passes or assumes. At start-up
``check_at_start()`` verifies each entry on the running ComfyUI; a failed one is logged in one line naming
the symbol and the ComfyUI version, and the nodes that depend on it refuse to run with that message
(``guard``) instead of producing wrong output. ``tests/test_host_surface.py`` runs the same check and also
reads the pack's source to make sure nothing it touches is missing from this list.

What a check can see: that a module, class, function or enum member exists; that a callable accepts the
keyword names and number of positional arguments the pack passes (or, for a method the pack overrides,
that the host still defines it with exactly the parameters the override takes); that a source text the
pack relies on (a dictionary key the host reads, an attribute it sets) is still in the host function.
Behaviour beyond that is covered by the tests against the host.

The ``comfy_api`` version: V3 nodes are declared against ``comfy_api.latest``. ``comfy_api.v0_0_2``
(which this pack named before) is marked ``STABLE = False`` and re-exports ``latest``'s ``io``/``ui``, in
0.3.75 and upstream alike, so naming it froze nothing while suggesting it did; ``v0_0_3`` does not exist
in the oldest ComfyUI the pack supports. Naming ``latest`` says what really runs, and the entries in host_internals.py
check every schema class and keyword argument the nodes use, so a change there is reported at start.
"""
from __future__ import annotations

import importlib
import inspect
import logging
import sys
from dataclasses import dataclass

from ..motion_modules import MotionModuleError
from .host_internals import (  # noqa: F401  (re-exported: the list and its node groups)
    ALL, API, LOAD_VIDEO, SAMPLE, SURFACE, Internal)


@dataclass(frozen=True)
class Problem:
    internal: Internal
    what: str  # e.g. "is missing", "no longer takes 'seed'"

    def line(self, version: str) -> str:
        names = ", ".join(self.internal.nodes)
        return (f"ComfyUI {version}: {self.internal.symbol} {self.what} (the pack uses it: {self.internal.why}). "
                f"Refusing to run {names} rather than give wrong output: update AnimateDiff-Lightning, or "
                "report this line.")


def resolve(symbol: str):
    """The object a dotted name points at: the longest importable module prefix, then attributes."""
    parts = symbol.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attribute in parts[cut:]:
            obj = getattr(obj, attribute)  # AttributeError: reported by the caller
        return obj
    raise ImportError(f"no module {parts[0]}")


def _signature(obj):
    target = obj.__init__ if inspect.isclass(obj) else obj
    signature = inspect.signature(target)
    params = list(signature.parameters.values())
    if inspect.isclass(obj) or (params and params[0].name in ("self", "cls") and not inspect.ismethod(target)):
        params = params[1:]
    return params


def _call_problem(internal: Internal, obj) -> str | None:
    try:
        params = _signature(obj)
    except (TypeError, ValueError):
        return None  # a builtin without a signature: existence is all that can be checked
    if internal.overrides is not None:
        names = tuple(p.name for p in params)
        if names != internal.overrides:
            return f"now takes ({', '.join(names)}) where the pack's override takes ({', '.join(internal.overrides)})"
        return None
    kinds = inspect.Parameter
    has_varargs = any(p.kind is kinds.VAR_POSITIONAL for p in params)
    has_varkw = any(p.kind is kinds.VAR_KEYWORD for p in params)
    positional = [p for p in params if p.kind in (kinds.POSITIONAL_ONLY, kinds.POSITIONAL_OR_KEYWORD)]
    if internal.args > len(positional) and not has_varargs:
        return f"takes {len(positional)} positional arguments, the pack passes {internal.args}"
    by_name = {p.name: p for p in params if p.kind in (kinds.POSITIONAL_OR_KEYWORD, kinds.KEYWORD_ONLY)}
    for name in internal.kwargs:
        if name not in by_name and not has_varkw:
            return f"no longer takes '{name}'"
    required = [p.name for p in positional[internal.args:] if p.default is p.empty and p.name not in internal.kwargs]
    required += [p.name for p in params if p.kind is kinds.KEYWORD_ONLY and p.default is p.empty
                 and p.name not in internal.kwargs]
    if required:
        return f"now requires '{required[0]}', which the pack does not pass"
    return None


def check_one(internal: Internal) -> Problem | None:
    if internal.symbol.startswith("server.") and "server" not in sys.modules:
        return None  # ComfyUI's server module is not imported outside a server (on 0.3.75): checked there
    try:
        obj = resolve(internal.symbol)
    except (ImportError, AttributeError):
        return Problem(internal, "is missing")
    except Exception as e:  # noqa: BLE001 — a host module that fails to import is reported the same way
        return Problem(internal, f"cannot be imported ({type(e).__name__}: {e})")
    if callable(obj) and (internal.args or internal.kwargs or internal.overrides is not None):
        what = _call_problem(internal, obj)
        if what:
            return Problem(internal, what)
    if internal.source:
        try:
            text = inspect.getsource(obj.__init__ if inspect.isclass(obj) and "self." in internal.source[0] else obj)
        except (OSError, TypeError):
            text = None
        missing = [s for s in internal.source if text is not None and s not in text]
        if missing:
            return Problem(internal, f"no longer contains {missing[0]}")
    return None


def check(surface=SURFACE) -> list[Problem]:
    return [p for p in map(check_one, surface) if p is not None]


def comfyui_version() -> str:
    try:
        return importlib.import_module("comfyui_version").__version__
    except Exception:  # noqa: BLE001 — a checkout without the generated version file
        return "(unknown version)"


_problems: dict[str, list[str]] = {}  # node id -> lines


def check_at_start(log=logging.warning, info=logging.info) -> list[Problem]:
    """Run the check; log one line per problem; remember which nodes must refuse to run."""
    problems = check()
    version = comfyui_version()
    if not problems:
        checked = sum(1 for i in SURFACE if not i.symbol.startswith("server.") or "server" in sys.modules)
        info(f"[AnimateDiff-Lightning] ComfyUI {version}: the {checked} ComfyUI internals the pack relies on "
             "are all present.")
    _problems.clear()
    for problem in problems:
        line = problem.line(version)
        log(f"[AnimateDiff-Lightning] {line}")
        for node in problem.internal.nodes:
            _problems.setdefault(node, []).append(line)
    return problems


class HostSurfaceError(MotionModuleError):
    """The running ComfyUI lacks something a node relies on."""


def guard(node) -> None:
    """Raise the start-up check's message if ``node`` (a node class) depends on something the host lacks."""
    if not _problems:
        return
    lines = _problems.get(node.define_schema().node_id)
    if lines:
        raise HostSurfaceError(" ".join(lines))
