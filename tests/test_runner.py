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
from conformance.runner import run_framework, run_inprocess, shard

FAKE = "fake_adapter:FakeAdapter"


@pytest.fixture(params=["fork", "spawn"])
def start_mode(request, monkeypatch):
    """Workers forked from a zygote that imported the framework once (the default), or
    spawned, each importing it (CONFORMANCE_FORK=0): the records must not tell them apart."""
    monkeypatch.setenv("CONFORMANCE_FORK", "1" if request.param == "fork" else "0")
    return request.param


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


def test_crash_segfault_and_hang_are_recorded_and_the_run_goes_on(tmp_path, fake_env, start_mode):
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


def test_framework_that_fails_to_import_leaves_one_marked_file_with_the_error_once(tmp_path, fake_env, start_mode,
                                                                                    monkeypatch):
    monkeypatch.setenv("FAKE_ADAPTER_IMPORT_FAILS", "1")
    cases = _specs(tmp_path, [_case("a", 1), _case("b", 2)])
    path, results = run_framework(FAKE, cases, str(tmp_path / "r"), "digest", timeout_s=30)
    assert path.endswith("-unavailable.json") and results["framework_version"] == "unavailable"
    assert "fakeframework" in results["import_error"]
    assert results["cases"] == [], "the error is recorded once, not copied into every case"
    assert os.listdir(tmp_path / "r") == [os.path.basename(path)]


def test_framework_whose_import_kills_the_process_is_an_import_error_naming_it(tmp_path, fake_env, start_mode,
                                                                              monkeypatch):
    """A segfault in the import kills the zygote (forked) or each worker (spawned): either way
    the run ends with one import error that quotes what the process printed, and no case."""
    monkeypatch.setenv("FAKE_ADAPTER_IMPORT_SEGFAULTS", "1")
    cases = _specs(tmp_path, [_case("a", 1), _case("b", 2)])
    path, results = run_framework(FAKE, cases, str(tmp_path / "r"), "digest", timeout_s=30, workers=2)
    assert path.endswith("-unavailable.json") and results["cases"] == []
    assert "did not start" in results["import_error"]
    assert "about to die in its import" in results["import_error"]
    if start_mode == "fork":
        assert "the zygote died (exit status -11)" in results["import_error"]


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


def _interrupt_at(monkeypatch, stop_index: int) -> None:
    """Ctrl-C arrives when a worker is about to run case `stop_index`."""
    from conformance import runner

    original = runner._Worker.run

    def run_then_interrupt(self, index, case, timeout_s, version):
        if index == stop_index:
            raise KeyboardInterrupt
        return original(self, index, case, timeout_s, version)

    monkeypatch.setattr(runner._Worker, "run", run_then_interrupt)


def test_journal_keeps_finished_cases_when_interrupted(tmp_path, fake_env, monkeypatch):
    cases = _specs(tmp_path, [_case("a", 1), _case("b", 2), _case("c", 3)])
    _interrupt_at(monkeypatch, 2)
    out = tmp_path / "r"
    with pytest.raises(KeyboardInterrupt):
        run_framework(FAKE, cases, str(out), "digest", timeout_s=30, workers=1)
    written = json.loads((out / "fake_adapter_FakeAdapter-1.0.json").read_text())
    assert written["interrupted"] is True
    assert [c["id"] for c in written["cases"]] == ["a", "b"]
    assert read_journal(str(out / "nothing.jsonl")) == []


def test_interrupt_of_a_sharded_run_keeps_every_finished_case_in_case_order(tmp_path, fake_env, start_mode, monkeypatch):
    """Two workers; the second worker's second case is interrupted. What either worker
    finished before is written, in case order, and nothing cut short by the stop is."""
    ids = ["a", "b", "c", "d", "e", "f"]
    cases = _specs(tmp_path, [_case(i, n + 1) for n, i in enumerate(ids)])
    assert shard(cases, 2) == [[0, 1, 2], [3, 4, 5]]
    _interrupt_at(monkeypatch, 4)
    out = tmp_path / "r"
    with pytest.raises(KeyboardInterrupt):
        run_framework(FAKE, cases, str(out), "digest", timeout_s=30, workers=2)
    written = json.loads((out / "fake_adapter_FakeAdapter-1.0.json").read_text())
    assert written["interrupted"] is True and written["workers"] == 2
    got = [c["id"] for c in written["cases"]]
    assert "d" in got and "e" not in got and "f" not in got
    assert got == sorted(got), "records are written in case order, whichever worker finished first"
    assert all(c["status"] == "pass" for c in written["cases"])
    assert not [f for f in os.listdir(out) if f.startswith(".")], "journal cleaned up"


def test_shard_keeps_files_together_and_depends_only_on_the_cases(tmp_path):
    files = {"x": 5, "y": 2, "z": 3}
    cases = []
    for name, n in files.items():
        cases += _specs(tmp_path / name, [_case(f"{name}{i}", i + 1) for i in range(n)])
    shards = shard(cases, 2)
    assert shards == shard(list(cases), 2), "the same cases always shard the same way"
    assert sorted(i for s in shards for i in s) == list(range(10)), "every case once"
    assert all(s == sorted(s) for s in shards), "a worker runs its cases in case order"
    for s in shards:  # no file split over two workers while there are enough files
        assert len({cases[i].file for i in s} & {cases[i].file for t in shards if t is not s for i in t}) == 0
    assert sorted(len(s) for s in shards) == [5, 5]
    assert shard(cases, 1) == [list(range(10))]
    one_file = _specs(tmp_path / "one", [_case(f"o{i}", i + 1) for i in range(5)])
    assert shard(one_file, 2) == [[0, 1, 2], [3, 4]], "a single file is halved rather than left on one worker"
    assert shard(one_file, 9) == [[0], [1], [2], [3], [4]]


def test_two_workers_give_the_records_of_one(tmp_path, fake_env, start_mode):
    """Crash, segfault, hang and pass records are the same whether one worker or two ran them."""
    specs = [_case("ok-before", 1), _case("crashes", CRASH_SEED), _case("ok-middle", 2),
             _case("segfaults", SEGFAULT_SEED), _case("hangs", HANG_SEED), _case("ok-after", 3)]
    cases = _specs(tmp_path, specs)
    runs = {}
    for n in (1, 2):
        _, results = run_framework(FAKE, cases, str(tmp_path / f"r{n}"), "digest", timeout_s=5, workers=n)
        runs[n] = [{k: v for k, v in c.items() if k != "duration_s"} for c in results["cases"]]
        assert results.get("workers") == n
    assert [c["id"] for c in runs[2]] == [c.id for c in cases]
    for one, two in zip(runs[1], runs[2]):
        if one["status"] in ("crash", "timeout"):  # the stderr tail names the worker's own history
            one, two = ({k: v for k, v in r.items() if k not in ("message", "observations")} for r in (one, two))
        assert one == two


def test_torn_journal_line_is_ignored(tmp_path):
    journal = tmp_path / "j.jsonl"
    journal.write_text('{"id": "a"}\n{"id": "b"}\n{"id": "c', encoding="utf-8")
    assert [r["id"] for r in read_journal(str(journal))] == ["a", "b"]


def test_scrub_removes_the_workdir_and_memory_addresses():
    from conformance.runner import _scrub

    record = {"text": ["Dense(activation=<function relu at 0x7f90b8b43350>)", "/tmp/w/x.npy"], "n": 3}
    assert _scrub(record, "/tmp/w") == {"text": ["Dense(activation=<function relu at 0x…>)", "$WORKDIR/x.npy"], "n": 3}
    assert _scrub("index 0x1f and 0xff", "/tmp/w") == "index 0x1f and 0xff"  # short hex numbers stay
    mxnet15 = "[17:05:27] src/imperative/imperative.cc:295: Check failed: !AGInfo::IsNone(*i): Cannot differentiate"
    assert _scrub(mxnet15, "/tmp/w") == mxnet15.replace("17:05:27", "hh:mm:ss")
    assert _scrub("values [10:20:30] stay", "/tmp/w") == "values [10:20:30] stay"  # not a log prefix


def _children(pid: int) -> list[int]:
    """Process ids whose parent is `pid` (Linux /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="utf-8") as handle:
                    stat = handle.read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:  # field 4, after "(comm)" and the state
                found.append(int(entry))
    return found


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="finds the worker processes in Linux's /proc")
def test_ctrl_c_to_the_process_group_keeps_finished_cases_and_records_no_crash(tmp_path, fake_env, start_mode):
    """Ctrl-C reaches the runner and its workers alike. The workers leave it to the runner,
    which stops them and writes what finished: no case is recorded as a crash of a worker
    that the interrupt killed. Each worker's first case passes at once, its second hangs."""
    import signal
    import subprocess
    import sys
    import time

    specs = tmp_path / "specs" / "fake.yaml"
    specs.parent.mkdir(parents=True)
    specs.write_text("topic: fake\ncases:" + "".join(
        [_case("a", 1), _case("b-hangs", HANG_SEED), _case("c", 2), _case("d-hangs", HANG_SEED)]), encoding="utf-8")
    cases = load_specs([str(specs)])
    assert shard(cases, 2) == [[0, 1], [2, 3]]
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "conformance", "run", "--framework", FAKE, "--specs", str(specs), "--out", str(out),
         "--workers", "2", "--no-report", "--timeout", "60"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    results = out / "partial" / "results" / "fake_adapter_FakeAdapter-1.0.json"
    journal_lines = 0
    deadline = time.monotonic() + 60
    while journal_lines < 2 and time.monotonic() < deadline:  # both quick cases are journalled
        journals = list((out / "partial" / "results").glob(".*.partial.jsonl")) if results.parent.exists() else []
        journal_lines = sum(len(j.read_text().splitlines()) for j in journals)
        time.sleep(0.1)
    assert journal_lines == 2, "the two quick cases never finished"
    # The workers get the signal first (the race a terminal's Ctrl-C can give), then everyone.
    children = _children(proc.pid)
    workers = [pid for child in children for pid in _children(child)] if start_mode == "fork" else children
    assert len(workers) == 2 and len(children) == (1 if start_mode == "fork" else 2), (children, workers)
    for pid in workers + children:  # the zygote too: it leaves Ctrl-C to the runner as well
        os.kill(pid, signal.SIGINT)
    time.sleep(1.0)
    os.killpg(proc.pid, signal.SIGINT)
    output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 130, output
    written = json.loads(results.read_text())
    assert written["interrupted"] is True
    assert [(c["id"], c["status"]) for c in written["cases"]] == [("a", "pass"), ("c", "pass")]


def test_forked_workers_import_once_and_start_the_runtime_themselves(tmp_path, fake_env, monkeypatch):
    """Forked: the zygote imports the framework once, for both workers and for every restart
    after a crash, a segfault or a hang; only the workers ask for the devices (which may start
    a framework's runtime threads, never safe to fork). Spawned: one import per worker process."""
    cases = _specs(tmp_path, [_case("ok", 1), _case("crashes", CRASH_SEED), _case("segfaults", SEGFAULT_SEED),
                              _case("hangs", HANG_SEED), _case("ok-after", 3)])
    events = {}
    for mode in ("1", "0"):
        log = tmp_path / f"log{mode}"
        monkeypatch.setenv("FAKE_ADAPTER_LOG", str(log))
        monkeypatch.setenv("CONFORMANCE_FORK", mode)
        _, results = run_framework(FAKE, cases, str(tmp_path / f"r{mode}"), "digest", timeout_s=3, workers=2)
        assert [c["status"] for c in results["cases"]] == ["pass", "crash", "crash", "timeout", "pass"]
        events[mode] = [line.split() for line in log.read_text().splitlines()]
    loads = [pid for event, pid in events["1"] if event == "load"]
    described = [pid for event, pid in events["1"] if event == "devices"]
    assert len(loads) == 1, events["1"]
    # Shards [ok, crashes, segfaults] and [hangs, ok-after]: two workers, and two restarts
    # (after the crash and after the hang; the segfault ends its worker's share).
    assert shard(cases, 2) == [[0, 1, 2], [3, 4]]
    assert len(described) == 2 + 2 and loads[0] not in described, "each worker, restarts too, describes itself"
    spawned = [event for event, _ in events["0"]]
    assert spawned.count("load") == 2 + 2 == spawned.count("devices")
