"""The claims ledger: every checkable claim of the study notes, and the cases that check it.

Rule: `specs/claims.yaml` lists each claim once, with the note, the section and a verbatim
quote (whitespace normalised) found inside that section, the framework the claim is about,
and either `cases: [case ids]` that check it or `out_of_scope: reason`. This module only
reads files (no framework import); `ledger_problems` says what is wrong, `coverage` counts
per note. The report and `conformance list` call `coverage`.
"""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path

CLAIMS_FILE = "claims.yaml"
FRAMEWORKS = ("mxnet", "torch", "tensorflow", "any")
ID_PATTERN = re.compile(r"^\d{3}-[^\s]+-\d{2}$")
KEYS = {"id", "note", "section", "quote", "framework", "cases", "out_of_scope", "says"}


class LedgerError(Exception):
    """The ledger file cannot be read at all (missing, not YAML, no `claims` list)."""


def load_ledger(path: str | os.PathLike) -> list[dict]:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's safe loader where PyYAML has it
    try:
        with open(path, encoding="utf-8") as handle:
            document = yaml.load(handle, Loader=loader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise LedgerError(f"{path}: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("claims"), list):
        raise LedgerError(f"{path}: needs a top-level `claims:` list")
    return document["claims"]


def ledger_path(specs_dir: str | os.PathLike = "specs") -> Path:
    return Path(specs_dir) / CLAIMS_FILE


def notes_dir(specs_dir: str | os.PathLike = "specs") -> Path:
    return Path(os.environ.get("CONFORMANCE_NOTES_DIR") or Path(specs_dir) / "notes")


# -- finding quotes in notes (same rules as tests/test_catalogue.py) ---------------------


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@cache
def _note_lines(path: str) -> tuple[str, ...]:
    with open(path, encoding="utf-8") as handle:
        return tuple(handle.read().splitlines())


def _headings(lines) -> list[tuple[int, int, str]]:
    found, fenced = [], False
    for index, line in enumerate(lines):
        if line.strip().startswith("```"):
            fenced = not fenced
            continue
        match = re.match(r"(#+)\s+(.*\S)", line)
        if match and not fenced:
            found.append((index, len(match.group(1)), match.group(2).strip()))
    return found


def section_text(lines, section: str) -> str | None:
    """The text under `section` ("A / B": heading B found after heading A), or None.
    A part names a heading by its full text or by its first word ("4.2.4")."""
    found = _headings(lines)
    position, chosen = -1, None
    for part in section.split(" / "):
        match = next(
            (h for h in found if h[0] > position and (h[2] == part or h[2].split()[0] == part)),
            None,
        )
        if match is None:
            return None
        position, chosen = match[0], match
    start, level = chosen[0], chosen[1]
    end = next((h[0] for h in found if h[0] > start and h[1] <= level), len(lines))
    return "\n".join(lines[start:end])


def quote_problem(notes: Path, note: str, section: str, quote: str) -> str | None:
    path = notes / note
    if not path.is_file():
        return f"note {note} does not exist in {notes}"
    lines = _note_lines(str(path))
    body = section_text(lines, section)
    if body is None:
        return f"section {section!r} is not a heading of {note}"
    if normalise(quote) not in normalise(body):
        return f"quote {quote!r} is not inside section {section!r} of {note}"
    return None


# -- checking the ledger -----------------------------------------------------------------


def ledger_problems(claims: list, case_ids: set[str], notes: Path | None) -> list[str]:
    """Every reason the ledger is wrong; empty when it is right. `notes=None` skips quotes."""
    problems, seen = [], set()
    for index, claim in enumerate(claims):
        if not isinstance(claim, dict):
            problems.append(f"claim #{index}: not a mapping")
            continue
        cid = claim.get("id", f"#{index}")
        where = f"claim {cid}"
        if not isinstance(cid, str) or not ID_PATTERN.match(cid):
            problems.append(f"{where}: id must look like 000-4.2.1-03")
        if cid in seen:
            problems.append(f"{where}: listed twice")
        seen.add(cid)
        extra = set(claim) - KEYS
        if extra:
            problems.append(f"{where}: unknown keys {sorted(extra)}")
        for key in ("note", "section", "quote", "framework"):
            if not isinstance(claim.get(key), str) or not claim[key].strip():
                problems.append(f"{where}: no {key}")
        if claim.get("framework") not in FRAMEWORKS:
            problems.append(f"{where}: framework must be one of {FRAMEWORKS}")
        if isinstance(claim.get("note"), str) and isinstance(cid, str) and not cid.startswith(claim["note"][:3]):
            problems.append(f"{where}: id does not start with the note number {claim['note'][:3]}")
        cases, reason = claim.get("cases"), claim.get("out_of_scope")
        if cases and reason:
            problems.append(f"{where}: has both cases and out_of_scope")
        elif not cases and not (isinstance(reason, str) and reason.strip()):
            problems.append(f"{where}: neither cases nor an out_of_scope reason")
        if cases is not None and not (isinstance(cases, list) and all(isinstance(c, str) for c in cases)):
            problems.append(f"{where}: cases must be a list of case ids")
        elif cases:
            problems += [f"{where}: case {c!r} does not exist" for c in cases if c not in case_ids]
        if notes is not None and all(isinstance(claim.get(k), str) for k in ("note", "section", "quote")):
            problem = quote_problem(notes, claim["note"], claim["section"], claim["quote"])
            if problem:
                problems.append(f"{where}: {problem}")
    return problems


def coverage(claims: list, case_ids: set[str] | None = None) -> dict:
    """Per note: claims, covered (every named case exists when `case_ids` is given),
    out_of_scope, uncovered (ids). Plus a total."""
    per_note: dict[str, dict] = {}
    for claim in claims:
        if not isinstance(claim, dict):
            continue
        note = str(claim.get("note", "?"))
        row = per_note.setdefault(
            note, {"note": note, "claims": 0, "covered": 0, "out_of_scope": 0, "uncovered": []}
        )
        row["claims"] += 1
        cases = claim.get("cases") or []
        if claim.get("out_of_scope") and not cases:
            row["out_of_scope"] += 1
        elif cases and (case_ids is None or all(c in case_ids for c in cases)):
            row["covered"] += 1
        else:
            row["uncovered"].append(claim.get("id"))
    rows = [per_note[k] for k in sorted(per_note)]
    total = {
        "claims": sum(r["claims"] for r in rows),
        "covered": sum(r["covered"] for r in rows),
        "out_of_scope": sum(r["out_of_scope"] for r in rows),
        "uncovered": [c for r in rows for c in r["uncovered"]],
    }
    return {"notes": rows, "total": total}


def coverage_for_specs(specs_dir: str | os.PathLike = "specs", case_ids: set[str] | None = None) -> dict | None:
    """Coverage of the ledger in `specs_dir`, or None when there is no ledger there."""
    path = ledger_path(specs_dir)
    if not path.is_file():
        return None
    return coverage(load_ledger(path), case_ids)
