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

from conformance.claims import CLAIMS_FILE

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
    """Read the ledger at `path` (`conformance.claims.load_ledger`); tolerate None, a missing
    file and bad content."""
    from conformance.claims import LedgerError
    from conformance.claims import load_ledger as read_ledger

    if not path or not os.path.isfile(path):
        return Ledger(path, problem=f"{NOT_FOUND}: {path}" if path else NOT_FOUND)
    try:
        items = read_ledger(path)
    except LedgerError as exc:
        return Ledger(path, problem=f"{NOT_FOUND} (unreadable or no `claims:` list): {str(exc).splitlines()[0]}")
    return Ledger(path, [item for item in items if isinstance(item, dict)])
