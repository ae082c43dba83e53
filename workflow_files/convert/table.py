"""The conversion table (``workflow_files/mapping.json``): node types converted, their layouts and rules, the
target nodes' schemas, and the foreign types known and not converted. Read once, cached."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

MAPPING_PATH = Path(__file__).resolve().parent.parent / "mapping.json"


@lru_cache(maxsize=1)
def mapping() -> dict:
    return json.loads(MAPPING_PATH.read_text(encoding="utf-8"))


def known_types() -> dict[str, str]:
    """Every foreign node type the table converts → its pack."""
    return {t: e["pack"] for t, e in mapping()["nodes"].items()}


def absent_types() -> dict[str, tuple[str, str]]:
    """Foreign node types known and *not* converted → (pack, why)."""
    return {t: (pack, why) for pack, entries in mapping()["absent"].items() for t, why in entries.items()}


# Node-type prefixes of the packs the table converts: a node with one that the table does not know is still named
# in the report (a newer node than the table, or one it has not met), never left without a word.
PACK_PREFIXES = {"ADE_": "AnimateDiff-Evolved", "VHS_": "VideoHelperSuite", "ACN_": "Advanced-ControlNet"}


def pack_of_unknown(type_: str) -> str | None:
    """The pack an unknown node type belongs to, by its prefix; None for other packs' and core nodes."""
    if type_ in mapping()["nodes"] or type_ in absent_types():
        return None
    return next((pack for prefix, pack in PACK_PREFIXES.items() if type_.startswith(prefix)), None)
