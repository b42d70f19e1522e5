"""The claims ledger as the report sees it: the claims of the notes, or a one-line problem.

Rule: the report never fails because of the ledger. A missing or unreadable
`claims.yaml` gives no claims plus a `problem` ("claims ledger not found: PATH") that the
page, the Markdown and results.json show. By default the ledger is the one beside the
behaviour catalogue the report uses, else the kit's own (`conformance/specs/claims.yaml`).
The file is read once, with libyaml's loader where PyYAML has it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import yaml

from conformance.claims import CLAIMS_FILE

_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
NOT_FOUND = "claims ledger not found"


@dataclass
class Ledger:
    path: str | None
    claims: list[dict] = field(default_factory=list)  # the entries that are mappings, in order
    problem: str | None = None


def kit_ledger_path() -> str:
    """The kit's own ledger: beside its shipped specs (a link to ../specs in a checkout)."""
    from importlib import resources

    return os.path.realpath(str(resources.files("conformance").joinpath("specs", CLAIMS_FILE)))


def default_ledger_path(catalogue_path: str | None) -> str:
    """The ledger beside `catalogue_path` where there is one, else the kit's own."""
    if catalogue_path:
        beside = os.path.join(os.path.dirname(catalogue_path) or ".", CLAIMS_FILE)
        if os.path.isfile(beside):
            return beside
    return kit_ledger_path()


def load_ledger(path: str | None) -> Ledger:
    """Read the ledger at `path`; tolerate None, a missing file and bad content."""
    if not path or not os.path.isfile(path):
        return Ledger(path, problem=f"{NOT_FOUND}: {path}" if path else NOT_FOUND)
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.load(handle, Loader=_SAFE_LOADER)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return Ledger(path, problem=f"{NOT_FOUND} (unreadable): {path}: {first_line}")
    items = data.get("claims") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return Ledger(path, problem=f"{NOT_FOUND} (no `claims:` list): {path}")
    return Ledger(path, [item for item in items if isinstance(item, dict)])
