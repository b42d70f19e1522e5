"""The claims ledger (specs/claims.yaml) is complete and true to the notes and the specs.

Rule: every claim has cases or an out-of-scope reason; every case it names exists in the
spec files; every quote occurs verbatim (whitespace normalised) inside its note's section;
ids are unique. Case ids are read with `yaml.safe_load` straight from the spec files, so
this test does not depend on the kit's loader. The checks are shown to fail on a broken
copy of the ledger.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conformance import claims as ledger

REPO = Path(__file__).resolve().parent.parent
SPECS = REPO / "specs"
NOTES = SPECS / "notes"
NOT_SPECS = ("catalogue.yaml", "claims.yaml")


def spec_case_ids(root: Path = SPECS) -> set[str]:
    ids = set()
    for path in sorted(root.rglob("*.yaml")):
        if path.name in NOT_SPECS:
            continue
        with open(path, encoding="utf-8") as handle:
            document = yaml.safe_load(handle)
        ids |= {case["id"] for case in document.get("cases") or []}
    return ids


@pytest.fixture(scope="module")
def claims() -> list[dict]:
    return ledger.load_ledger(SPECS / "claims.yaml")


@pytest.fixture(scope="module")
def case_ids() -> set[str]:
    return spec_case_ids()


def test_ledger_lists_claims_of_every_note(claims):
    notes = {c["note"] for c in claims}
    assert notes == {p.name for p in NOTES.glob("*.txt")}, "every note has claims in the ledger"
    assert len(claims) >= 200


def test_every_claim_has_cases_or_a_reason_and_quotes_its_note(claims, case_ids):
    problems = ledger.ledger_problems(claims, case_ids, NOTES)
    assert not problems, f"{len(problems)} problem(s):\n" + "\n".join(problems)


def test_coverage_counts_add_up(claims, case_ids):
    report = ledger.coverage(claims, case_ids)
    assert [row["note"] for row in report["notes"]] == sorted({c["note"] for c in claims})
    for row in report["notes"]:
        assert row["covered"] + row["out_of_scope"] + len(row["uncovered"]) == row["claims"]
    total = report["total"]
    assert total["claims"] == len(claims)
    assert total["covered"] + total["out_of_scope"] + len(total["uncovered"]) == len(claims)


def test_out_of_scope_is_the_exception(claims):
    # Out of scope means training loops, timing, other chapters, prose without a result;
    # most claims must be checked by cases.
    out = [c for c in claims if c.get("out_of_scope")]
    assert len(out) * 5 < len(claims), f"{len(out)} of {len(claims)} claims are out of scope"


# -- the checks above can fail ----------------------------------------------------------


def test_checks_fail_on_a_broken_ledger(claims, case_ids):
    good = next(c for c in claims if c.get("cases") and set(c["cases"]) <= case_ids)
    assert not ledger.ledger_problems([good], case_ids, NOTES)

    def problems_of(**change):
        claim = dict(good, **change)
        for key in [k for k, v in change.items() if v is None]:
            del claim[key]
        return ledger.ledger_problems([claim], case_ids, NOTES)

    assert any("neither cases nor" in p for p in problems_of(cases=None))
    assert any("neither cases nor" in p for p in problems_of(cases=[]))
    assert any("does not exist" in p for p in problems_of(cases=["no-such-case"]))
    assert any("both cases and" in p for p in problems_of(out_of_scope="because"))
    assert not problems_of(cases=None, out_of_scope="a reason")
    assert any("is not inside section" in p for p in problems_of(quote=good["quote"] + " (not in the note)"))
    assert any("is not a heading" in p for p in problems_of(section="no such heading"))
    assert any("does not exist in" in p for p in problems_of(note="999_missing.txt"))
    assert any("framework" in p for p in problems_of(framework="caffe"))
    assert any("unknown keys" in p for p in problems_of(case=["x"]))
    assert any("listed twice" in p for p in ledger.ledger_problems([good, good], case_ids, NOTES))
    # A quote from another section of the same note is not accepted.
    by_id = {c["id"]: c for c in claims}
    shared = by_id["000-4.2.4-01"]  # a quote of 4.2.4 is not in 4.1.1
    wrong = dict(shared, section=by_id["000-4.1.1-03"]["section"])
    assert any("is not inside section" in p for p in ledger.ledger_problems([wrong], case_ids, NOTES))


def test_coverage_marks_missing_cases_uncovered(claims):
    sample = [dict(c) for c in claims[:10]]
    covered = ledger.coverage(sample, case_ids=set())
    in_scope = [c["id"] for c in sample if c.get("cases")]
    assert covered["total"]["uncovered"] == in_scope
    assert covered["total"]["covered"] == 0


def test_case_ids_are_read_from_every_spec_file():
    ids = spec_case_ids()
    assert "grad-of-2x-squared-is-4x" in ids and "shared-grad-is-sum-of-uses" in ids


def test_conformance_list_shows_claim_coverage_per_note(capsys, monkeypatch):
    from conformance.cli import main

    monkeypatch.chdir(REPO)
    main(["list", "--json"])
    import json

    listing = json.loads(capsys.readouterr().out)
    notes = {row["note"]: row for row in listing["claims"]["notes"]}
    assert set(notes) == {p.name for p in NOTES.glob("*.txt")}
    assert listing["claims"]["total"]["claims"] == len(ledger.load_ledger(SPECS / "claims.yaml"))
    main(["list"])
    text = capsys.readouterr().out
    assert "claims of the notes" in text and "000_a174af33e3c9ad3d.txt" in text
