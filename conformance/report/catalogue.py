"""The behaviour catalogue as the report sees it: ids, topics and statements, or nothing.

Rule: the report never fails because of the catalogue. A missing or malformed
`specs/catalogue.yaml` gives an empty catalogue plus a one-line `problem` the page shows.
Expected shape: {behaviours: [{id, topic, statement, sources}]}.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import yaml

# libyaml's safe loader when PyYAML was built with it (10x faster), else the pure-Python one.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Behaviour:
    id: str
    topic: str
    statement: str
    sources: str  # one line of text, whatever shape the catalogue used


@dataclass
class Catalogue:
    behaviours: dict[str, Behaviour] = field(default_factory=dict)  # in file order
    problem: str | None = None


def load_catalogue(path: str | None) -> Catalogue:
    """Read the catalogue at `path`; tolerate None, a missing file and bad content."""
    if not path:
        return Catalogue()
    if not os.path.exists(path):
        return Catalogue(problem=f"behaviour catalogue not found: {path}")
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.load(handle, Loader=_SAFE_LOADER)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return Catalogue(problem=f"behaviour catalogue unreadable: {path}: {first_line}")
    items = data.get("behaviours") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return Catalogue(problem=f"behaviour catalogue has no 'behaviours' list: {path}")
    catalogue = Catalogue()
    skipped = 0
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            skipped += 1
            continue
        catalogue.behaviours[item["id"]] = Behaviour(
            id=item["id"],
            topic=str(item.get("topic") or ""),
            statement=str(item.get("statement") or ""),
            sources=sources_text(item.get("sources")),
        )
    if skipped:
        catalogue.problem = f"behaviour catalogue: {skipped} entries without an id were ignored"
    return catalogue


def sources_text(sources) -> str:
    """Render a catalogue `sources` value (str, list of str, list of {note, section}) as text."""
    if sources is None:
        return ""
    if isinstance(sources, str):
        return sources
    if isinstance(sources, dict):
        sources = [sources]
    if not isinstance(sources, list):
        return str(sources)
    parts = []
    for item in sources:
        if isinstance(item, dict):
            note = str(item.get("note", ""))
            section = item.get("section")
            parts.append(f"{note} §{section}" if section else note)
        else:
            parts.append(str(item))
    return "; ".join(p for p in parts if p)
