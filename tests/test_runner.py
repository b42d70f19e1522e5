"""The runner survives crashes, segfaults and hangs, journals every case, and writes atomically."""

import json
import os

import pytest
from fake_adapter import (
    CRASH_SEED,
    FAIL_SEED,
    HANG_SEED,
    SEGFAULT_SEED,
    SKIP_SEED,
    UNSUPPORTED_SEED,
    FakeAdapter,
)

from conformance.loader import load_specs
from conformance.results import read_journal
from conformance.runner import run_framework, run_inprocess

FAKE = "fake_adapter:FakeAdapter"


def _case(case_id, seed, expect=None):
    return f"""
  - id: {case_id}
    title: Fake case {case_id}.
    behaviours: [MC1]
    source: {{note: fake.txt, section: "1", claim: "fake"}}
    model: {{relu: {{}}}}
    steps:
      - forward: {{input: {{values: [[{seed / 1000}]]}}}}
    expect: {expect or "[{shape: {value: out, equals: [1, 1]}}]"}
"""


def _specs(tmp_path, cases):
    path = tmp_path / "specs" / "fake.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("topic: fake\ncases:" + "".join(cases), encoding="utf-8")
    return load_specs([str(path)])


def test_crash_segfault_and_hang_are_recorded_and_the_run_goes_on(tmp_path, fake_env):
    cases = _specs(tmp_path, [
        _case("ok-before", 1), _case("crashes", CRASH_SEED), _case("ok-middle", 2),
        _case("segfaults", SEGFAULT_SEED), _case("hangs", HANG_SEED), _case("ok-after", 3),
    ])
    out = tmp_path / "results"
    path, results = run_framework(FAKE, cases, str(out), "digest", timeout_s=5)
    statuses = {c["id"]: c["status"] for c in results["cases"]}
    assert statuses == {"ok-before": "pass", "crashes": "crash", "ok-middle": "pass",
                        "segfaults": "crash", "hangs": "timeout", "ok-after": "pass"}
    by_id = {c["id"]: c for c in results["cases"]}
    assert "exit status 13" in by_id["crashes"]["message"]
    assert "step 0 (forward)" in by_id["crashes"]["message"]
    assert by_id["hangs"]["observations"]["last_step_kind"] == "forward"
    assert "within 5 s" in by_id["hangs"]["message"]
    with open(path, encoding="utf-8") as handle:
        on_disk = json.load(handle)
    assert [c["id"] for c in on_disk["cases"]] == [c.id for c in cases]
    assert not [f for f in os.listdir(out) if f.startswith(".")], "journal and temp files are cleaned up"


def test_framework_that_fails_to_import_leaves_one_marked_file_with_the_error_once(tmp_path, fake_env,
                                                                                    monkeypatch):
    monkeypatch.setenv("FAKE_ADAPTER_IMPORT_FAILS", "1")
    cases = _specs(tmp_path, [_case("a", 1), _case("b", 2)])
    path, results = run_framework(FAKE, cases, str(tmp_path / "r"), "digest", timeout_s=30)
    assert path.endswith("-unavailable.json") and results["framework_version"] == "unavailable"
    assert "fakeframework" in results["import_error"]
    assert results["cases"] == [], "the error is recorded once, not copied into every case"
    assert os.listdir(tmp_path / "r") == [os.path.basename(path)]


def test_unknown_framework_is_an_import_error_not_pass(tmp_path):
    cases = _specs(tmp_path, [_case("a", 1)])
    _, results = run_framework("nosuchframework", cases, str(tmp_path / "r"), "d", isolate=False)
    assert "nosuchframework" in results["import_error"] and results["cases"] == []


def test_statuses_in_process(tmp_path):
    cases = _specs(tmp_path, [
        _case("passes", 1), _case("fails-shape", 2, "[{shape: {value: out, equals: [2, 2]}}]"),
        _case("framework-error", FAIL_SEED), _case("expected-error", FAIL_SEED,
                                                    "[{error: {phase: first_forward, kind: shape_mismatch, step: 0}}]"),
        _case("unsupported", UNSUPPORTED_SEED), _case("skipped", SKIP_SEED),
    ])
    adapter = FakeAdapter()
    records = {r["id"]: r for r in run_inprocess(adapter, cases)}
    assert records["passes"]["status"] == "pass"
    assert records["fails-shape"]["status"] == "fail"
    assert "expected [2, 2], observed [1, 1]" in records["fails-shape"]["message"]
    assert records["framework-error"]["status"] == "fail"
    assert "unexpected ValueError in phase first_forward" in records["framework-error"]["message"]
    assert records["expected-error"]["status"] == "pass"
    assert records["expected-error"]["observations"]["error"]["type"] == "ValueError"
    assert records["unsupported"]["status"] == "unsupported"
    assert "idiom" in records["unsupported"]["message"]
    assert records["skipped"]["status"] == "skip"
    assert "second device" in records["skipped"]["message"]


def test_journal_keeps_finished_cases_when_interrupted(tmp_path, fake_env, monkeypatch):
    cases = _specs(tmp_path, [_case("a", 1), _case("b", 2), _case("c", 3)])
    from conformance import runner

    original = runner._Worker.run
    calls = []

    def run_then_interrupt(self, index, case, timeout_s, version):
        calls.append(index)
        if index == 2:
            raise KeyboardInterrupt
        return original(self, index, case, timeout_s, version)

    monkeypatch.setattr(runner._Worker, "run", run_then_interrupt)
    out = tmp_path / "r"
    with pytest.raises(KeyboardInterrupt):
        run_framework(FAKE, cases, str(out), "digest", timeout_s=30)
    written = json.loads((out / "fake_adapter_FakeAdapter-1.0.json").read_text())
    assert written["interrupted"] is True
    assert [c["id"] for c in written["cases"]] == ["a", "b"]
    assert read_journal(str(out / "nothing.jsonl")) == []


def test_torn_journal_line_is_ignored(tmp_path):
    journal = tmp_path / "j.jsonl"
    journal.write_text('{"id": "a"}\n{"id": "b"}\n{"id": "c', encoding="utf-8")
    assert [r["id"] for r in read_journal(str(journal))] == ["a", "b"]


def test_scrub_removes_the_workdir_and_memory_addresses():
    from conformance.runner import _scrub

    record = {"text": ["Dense(activation=<function relu at 0x7f90b8b43350>)", "/tmp/w/x.npy"], "n": 3}
    assert _scrub(record, "/tmp/w") == {"text": ["Dense(activation=<function relu at 0x…>)", "$WORKDIR/x.npy"], "n": 3}
    assert _scrub("index 0x1f and 0xff", "/tmp/w") == "index 0x1f and 0xff"  # short hex numbers stay
