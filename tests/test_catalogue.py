"""The behaviour catalogue and the spec files agree, and every case quotes its note verbatim.

Rule: each behaviour id of `specs/catalogue.yaml` has at least one case, every case names
only catalogued ids, and every case's `source.claim` occurs (whitespace normalised) in the
named note file, inside the named section. Specs are read with `yaml.safe_load` so these
checks do not depend on the kit's loader; when the loader is importable, one more test
runs it over the same files.
"""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
SPECS = REPO / "specs"
CATALOGUE = SPECS / "catalogue.yaml"

# The 55 behaviour ids of design/BEHAVIOURS.md; the catalogue must list exactly these.
EXPECTED_IDS = (
    [f"MC{i}" for i in range(1, 7)]
    + [f"PA{i}" for i in range(1, 6)]
    + [f"IN{i}" for i in range(1, 9)]
    + [f"DI{i}" for i in range(1, 7)]
    + [f"SH{i}" for i in range(1, 4)]
    + [f"CL{i}" for i in range(1, 7)]
    + [f"IO{i}" for i in range(1, 7)]
    + [f"AG{i}" for i in range(1, 9)]
    + ["DR1"]
    + [f"DV{i}" for i in range(1, 7)]
)


def notes_dir() -> Path | None:
    """Where the study notes live: $CONFORMANCE_NOTES_DIR, the copy in specs/notes, or shared/notes."""
    candidates = [os.environ.get("CONFORMANCE_NOTES_DIR")]
    candidates += [REPO / "specs" / "notes", REPO / "shared" / "notes", REPO.parent / "shared" / "notes"]
    for candidate in candidates:
        if candidate and Path(candidate, ".").is_dir() and any(Path(candidate).glob("*.txt")):
            return Path(candidate)
    return None


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def load_catalogue(path: Path = CATALOGUE) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)["behaviours"]


def spec_files(root: Path = SPECS) -> list[Path]:
    return sorted(p for p in root.rglob("*.yaml") if p.name not in (CATALOGUE.name, "claims.yaml"))


def load_cases(root: Path = SPECS) -> list[tuple[str, dict]]:
    """(file relative to the repo, raw case mapping) for every case of every spec file."""
    cases = []
    for path in spec_files(root):
        with open(path, encoding="utf-8") as handle:
            document = yaml.safe_load(handle)
        for case in document["cases"]:
            cases.append((str(path.relative_to(root.parent)), case))
    return cases


@cache
def note_lines(note_path: str) -> tuple[str, ...]:
    with open(note_path, encoding="utf-8") as handle:
        return tuple(handle.read().splitlines())


def headings(lines) -> list[tuple[int, int, str]]:
    """(line index, level, text) of the Markdown headings outside fenced code blocks."""
    found, fenced = [], False
    for index, line in enumerate(lines):
        if line.strip().startswith("```"):
            fenced = not fenced
            continue
        match = re.match(r"(#+)\s+(.*\S)", line)
        if match and not fenced:
            found.append((index, len(match.group(1)), match.group(2).strip()))
    return found


def _heading_matches(text: str, part: str) -> bool:
    # "4.2.4" names "4.2.4 共享模型参数"; a full heading text names itself.
    return text == part or text.split()[0] == part


def section_text(lines, section: str) -> str | None:
    """The text under `section` ("A / B": heading B found after heading A), or None."""
    found = headings(lines)
    position, chosen = -1, None
    for part in section.split(" / "):
        match = next((h for h in found if h[0] > position and _heading_matches(h[2], part)), None)
        if match is None:
            return None
        position, chosen = match[0], match
    start, level = chosen[0], chosen[1]
    end = next((h[0] for h in found if h[0] > start and h[1] <= level), len(lines))
    return "\n".join(lines[start:end])


def source_problems(where: str, source, notes: Path) -> list[str]:
    """Why `source` does not quote its note verbatim (an empty list when it does)."""
    if not isinstance(source, dict):
        return [f"{where}: no source mapping"]
    problems = [
        f"{where}: source has no {key}"
        for key in ("note", "section", "claim")
        if not isinstance(source.get(key), str) or not source[key].strip()
    ]
    if problems:
        return problems
    path = notes / source["note"]
    if not path.is_file():
        return [f"{where}: note file {source['note']} does not exist in {notes}"]
    lines = note_lines(str(path))
    claim = normalise(source["claim"])
    if claim not in normalise("\n".join(lines)):
        return [f"{where}: claim {source['claim']!r} does not occur in {source['note']}"]
    body = section_text(lines, source["section"])
    if body is None:
        return [f"{where}: section {source['section']!r} is not a heading of {source['note']}"]
    if claim not in normalise(body):
        return [f"{where}: claim {source['claim']!r} is not inside section {source['section']!r}"]
    return []


# -- the catalogue ---------------------------------------------------------


def catalogue_problems(behaviours: list[dict]) -> list[str]:
    problems, seen = [], set()
    for entry in behaviours:
        bid = entry.get("id")
        if bid in seen:
            problems.append(f"{bid}: listed twice")
        seen.add(bid)
        for key in ("topic", "statement"):
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                problems.append(f"{bid}: no {key}")
        if not entry.get("sources"):
            problems.append(f"{bid}: no sources")
    missing = sorted(set(EXPECTED_IDS) - seen)
    extra = sorted(seen - set(EXPECTED_IDS))
    if missing:
        problems.append(f"behaviours missing from the catalogue: {missing}")
    if extra:
        problems.append(f"ids not in BEHAVIOURS.md: {extra}")
    return problems


def coverage_problems(behaviours: list[dict], cases: list[tuple[str, dict]]) -> list[str]:
    known = {entry["id"] for entry in behaviours}
    covered: dict[str, int] = {bid: 0 for bid in known}
    problems = []
    for file, case in cases:
        for bid in case.get("behaviours") or []:
            if bid not in known:
                problems.append(
                    f"{file}::{case.get('id')}: behaviour {bid} is not in the catalogue"
                )
            else:
                covered[bid] += 1
        if not case.get("behaviours"):
            problems.append(f"{file}::{case.get('id')}: names no behaviour")
    problems += [
        f"{bid}: no case covers it" for bid, count in sorted(covered.items()) if count == 0
    ]
    return problems


def claim_problems(cases: list[tuple[str, dict]], notes: Path) -> list[str]:
    problems = []
    for file, case in cases:
        problems += source_problems(f"{file}::{case.get('id')}", case.get("source"), notes)
    return problems


def test_catalogue_lists_each_behaviour_once():
    problems = catalogue_problems(load_catalogue())
    assert not problems, "\n".join(problems)


def test_every_behaviour_has_a_case_and_every_case_a_known_behaviour():
    problems = coverage_problems(load_catalogue(), load_cases())
    assert not problems, "\n".join(problems)


def test_case_ids_are_unique():
    seen: dict[str, str] = {}
    problems = []
    for file, case in load_cases():
        if case["id"] in seen:
            problems.append(f"{case['id']}: in {seen[case['id']]} and {file}")
        seen[case["id"]] = file
    assert not problems, "\n".join(problems)


@pytest.fixture(scope="module")
def notes() -> Path:
    """The study notes; they ship in specs/notes, so not finding them is a failure."""
    found = notes_dir()
    assert found is not None, "study notes not found in specs/notes (or $CONFORMANCE_NOTES_DIR)"
    return found


def test_every_case_quotes_its_note_verbatim(notes):
    problems = claim_problems(load_cases(), notes)
    assert not problems, "\n".join(problems)


def test_catalogue_sources_name_note_sections(notes):
    problems = []
    for entry in load_catalogue():
        for source in entry.get("sources") or []:
            path = notes / source["note"]
            if not path.is_file():
                problems.append(f"{entry['id']}: note {source['note']} does not exist")
            elif section_text(note_lines(str(path)), source["section"]) is None:
                problems.append(
                    f"{entry['id']}: {source['section']!r} is not a heading of {source['note']}"
                )
    assert not problems, "\n".join(problems)


def test_catalogue_topics_match_the_spec_files():
    topics = {}
    for path in spec_files():
        with open(path, encoding="utf-8") as handle:
            document = yaml.safe_load(handle)
        for case in document["cases"]:
            for bid in case["behaviours"]:
                topics.setdefault(bid, set()).add(document["topic"])
    problems = [
        f"{e['id']}: catalogue topic {e['topic']!r}, spec topics {sorted(topics[e['id']])}"
        for e in load_catalogue()
        if e["id"] in topics and e["topic"] not in topics[e["id"]]
    ]
    assert not problems, "\n".join(problems)


def test_kit_loader_accepts_the_specs():
    loader = pytest.importorskip("conformance.loader")
    cases = loader.load_specs([str(SPECS)])
    assert {c.id for c in cases} == {case["id"] for _, case in load_cases()}


# -- the checks above can fail ----------------------------------------------


def test_checks_fail_on_a_broken_catalogue_and_a_misquoted_claim(notes):
    behaviours = [dict(e) for e in load_catalogue() if e["id"] != "SH2"]
    assert any("SH2" in p for p in catalogue_problems(behaviours))
    cases = load_cases()
    assert any("SH2 is not in the catalogue" in p for p in coverage_problems(behaviours, cases))
    lonely = [(f, c) for f, c in cases if "DR1" not in c["behaviours"]]
    assert "DR1: no case covers it" in coverage_problems(load_catalogue(), lonely)
    # A claim from 4.2.4 of note 000: verbatim there, absent elsewhere.
    good = {
        "note": "000_a174af33e3c9ad3d.txt",
        "section": "4.2.4 共享模型参数",
        "claim": "# 在构造第三隐藏层时通过params来指定它使⽤第⼆隐藏层的参数",
    }
    assert not source_problems("x", good, notes)
    assert not source_problems("x", dict(good, section="4.2.4"), notes)
    assert not source_problems(
        "x", dict(good, claim="  在构造第三隐藏层时通过params来指定它使⽤第⼆隐藏层的参数\n"), notes
    )
    # Retyped with the common 用/二 instead of the note's Kangxi radicals ⽤/⼆: not verbatim.
    retyped = dict(good, claim="# 在构造第三隐藏层时通过params来指定它使用第二隐藏层的参数")
    assert source_problems("x", retyped, notes)
    assert source_problems("x", dict(good, claim=good["claim"] + " (not in the note)"), notes)
    assert source_problems("x", dict(good, claim=""), notes)
    assert source_problems("x", dict(good, section="no such heading"), notes)
    assert source_problems("x", dict(good, section="4.2.2 初始化模型参数"), notes)
    assert source_problems(
        "x", dict(good, note="001_2800fb46d4a284d6.txt", section="参数管理"), notes
    )
