"""What a plan is made of: the nodes it emits (``Emitted``), the ``Plan`` itself, and ``absorb`` for a foreign node
that converts as part of another's plan (a Motion LoRA, context options, sample settings, adjustments, noise
layers). Shared by ``plan``, ``motion`` and ``settings``."""
from __future__ import annotations

from dataclasses import dataclass, field

from .graph import Node


@dataclass
class Emitted:
    id: int
    type: str
    widgets: dict
    inputs: dict           # name -> ref: ("old", id, slot) | ("new", id, slot)
    foreign: Node          # the node it comes from (position, title, mode)
    new: bool = False      # a node that did not exist before (placed beside ``foreign``)
    offset: tuple = (0, 0)


@dataclass
class Plan:
    emitted: list = field(default_factory=list)
    redirects: dict = field(default_factory=dict)   # (old id, slot) -> ref
    claimed: set = field(default_factory=set)        # foreign ids this plan removes or rewrites
    notes: list = field(default_factory=list)
    version: str = ""
    requires: set = field(default_factory=set)      # foreign ids that must convert for this plan to hold
    feeds: set = field(default_factory=set)         # the same, for the nodes its output feeds
    parts: dict = field(default_factory=dict)        # other foreign nodes this plan converts -> their layout
    steps: int | None = None                         # the step count a Lightning module's file name gives


def absorb(plan: Plan, node: Node, label: str, notes: list, version: str):
    """``node`` converts as part of ``plan`` (its notes go into the plan's, prefixed with what it is)."""
    plan.notes += [f"{label} node {node.id}: {n}" for n in notes]
    plan.parts[node.id] = version
    plan.claimed.add(node.id)
