"""Event types ("<resource>.<action>") and which ones an endpoint subscribes to."""

from __future__ import annotations

import re

from changes.resources import RESOURCES
from changes.selectors import ACTION_NAMES

WILDCARD = "*"


def check_event(pattern: str) -> str:
    """A subscription pattern: `organizations.create`, `contacts.*`, `*.delete` or `*`; ValueError else."""
    if pattern == WILDCARD:
        return pattern
    resource, dot, action = pattern.partition(".")
    if not dot:
        raise ValueError(f"{pattern!r} is not <resource>.<action> (or *).")
    if resource != WILDCARD and resource not in RESOURCES:
        raise ValueError(f"Unknown resource {resource!r}; one of: {', '.join(RESOURCES)}, or *.")
    if action != WILDCARD and action not in ACTION_NAMES:
        raise ValueError(f"Unknown action {action!r}; one of: {', '.join(ACTION_NAMES)}, or *.")
    return pattern


def event_pattern() -> str:
    """The patterns check_event accepts, as one regular expression (the schema's, so clients and fuzzers
    know them): `*`, or a known resource or `*`, a dot, and a known action or `*`."""
    names = [*RESOURCES, *ACTION_NAMES]
    # Plain names (no escapes: ECMAScript's unicode mode refuses `\-`, which re.escape writes).
    assert all(re.fullmatch(r"[a-z][a-z-]*", name) for name in names), names
    resources, actions = "|".join(RESOURCES), "|".join(ACTION_NAMES)
    return rf"^(\*|({resources}|\*)\.({actions}|\*))$"


def wants(patterns: list[str], resource: str, action: str) -> bool:
    for pattern in patterns:
        if pattern == WILDCARD:
            return True
        want_resource, _, want_action = pattern.partition(".")
        if want_resource in (WILDCARD, resource) and want_action in (WILDCARD, action):
            return True
    return False


def resources_wanted(patterns: list[str]) -> frozenset[str] | None:
    """The resources the patterns can match (None: any), to narrow the feed's query."""
    found: set[str] = set()
    for pattern in patterns:
        resource = pattern.partition(".")[0]
        if resource == WILDCARD:
            return None
        found.add(resource)
    return frozenset(found)
