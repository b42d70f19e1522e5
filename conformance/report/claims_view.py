"""The claims of the notes in the report: per note and per column, how many hold as noted.

Rule: one pass over the ledger's claims and their cases. In a column a claim "differs" when
a case holds another outcome than the note's, is "as noted" when every case passed holding
the note's outcome, else shows the worst status of its cases; a claim with no cases is out
of scope (with its reason) or uncovered.
"""

from __future__ import annotations

from conformance.report.claims import Ledger
from conformance.report.model import (
    MISSING,
    CaseEntry,
    ClaimRow,
    ClaimsView,
    NoteClaims,
    worst,
)

AS_NOTED, DIFFERS = "as noted", "differs"


def claims_view(ledger: Ledger, cases: list[CaseEntry], n: int) -> ClaimsView:
    """Claim coverage per note from the ledger, and per column (of `n`) how many covered
    claims have every case passing there. One pass over the claims and their cases."""
    view = ClaimsView(ledger.path, ledger.problem)
    if ledger.problem:
        return view
    by_id = {entry.id: entry for entry in cases}
    notes: dict[str, NoteClaims] = {}
    for claim in ledger.claims:
        name = str(claim.get("note") or "?")
        note = notes.get(name)
        if note is None:
            note = notes[name] = NoteClaims(name, passing=[0] * n, as_noted=[0] * n, differ=[0] * n)
        raw = claim.get("cases")
        ids = [str(c) for c in raw] if isinstance(raw, list) else []
        reason = claim.get("out_of_scope")
        reason = str(reason).strip() if reason and not ids else ""
        row = ClaimRow(
            id=str(claim.get("id") or "?"),
            section=str(claim.get("section") or ""),
            quote=" ".join(str(claim.get("quote") or "").split()),
            says=str(claim.get("says") or ""),
            cases=ids,
            out_of_scope=reason,
        )
        note.claims += 1
        note.rows.append(row)
        if ids:
            note.covered += 1
            entries = [by_id.get(c) for c in ids]
            for ci in range(n):
                status = _claim_status([e.statuses[ci] if e else MISSING for e in entries])
                row.statuses.append(status)
                note.passing[ci] += status == "pass"
                verdict = _claim_verdict([e.normative[ci] if e else None for e in entries], status)
                row.verdicts.append(verdict)
                note.as_noted[ci] += verdict == AS_NOTED
                note.differ[ci] += verdict == DIFFERS
        else:
            row.statuses = [""] * n
            row.verdicts = [""] * n
            if reason:
                note.out_of_scope += 1
            else:
                note.uncovered.append(row.id)
    view.notes = [notes[k] for k in sorted(notes)]
    total = NoteClaims("total", passing=[0] * n, as_noted=[0] * n, differ=[0] * n)
    for note in view.notes:
        total.claims += note.claims
        total.covered += note.covered
        total.out_of_scope += note.out_of_scope
        total.uncovered += note.uncovered
        total.passing = [a + b for a, b in zip(total.passing, note.passing)]
        total.as_noted = [a + b for a, b in zip(total.as_noted, note.as_noted)]
        total.differ = [a + b for a, b in zip(total.differ, note.differ)]
    view.total = total
    return view


def _claim_verdict(flags: list[bool | None], status: str) -> str:
    """A claim in one column: "differs" when a case holds another outcome than the note's
    (pinned: the cell passes, yet the claim does not hold there), "as noted" when every case
    passed holding the note's outcome, else the claim's status (skip, fail, not run, ...)."""
    if False in flags:
        return DIFFERS
    if status == "pass":
        return AS_NOTED if all(flags) else "pass"
    return status


def _claim_status(statuses: list[str]) -> str:
    """`pass` when every case passed; else the worst of those that did not (MISSING last)."""
    others = [s for s in statuses if s != "pass"]
    if not others:
        return "pass"
    return worst(others)
