"""The runner survives crashes, segfaults and hangs, journals every case, and writes atomically."""

import json
import os

import pytest
from fake_adapter import (
    CRASH_SEED,
    FAIL_SEED,
    HANG_SEED,
    MEMORY_SEED,
    SEGFAULT_SEED,
    SKIP_SEED,
    UNSUPPORTED_SEED,
    FakeAdapter,
)

from conformance.results import read_journal
from conformance.run import Interrupted, run_framework, run_inprocess, shard
from conformance.spec.loader import load_specs

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
    # faulthandler's stack (a segfault; SIGUSR1 before a hanging worker is killed) names the step
    assert "in step 0 (forward) at cell.py line" in by_id["segfaults"]["message"]
    assert "in step 0 (forward) at cell.py line" in by_id["hangs"]["message"]
    assert "within 5 s" in by_id["hangs"]["message"]
    assert all(by_id[i]["program"].startswith('"""' + i) for i in by_id), "every record keeps its program"
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
        _case("framework-error", FAIL_SEED),
        _case("expected-error", FAIL_SEED, "[{error: {phase: first_forward, kind: shape_mismatch, step: 0, "
                                           "type: ValueError, message: shapes do not fit}}]"),

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



def test_a_worker_runs_under_a_memory_cap_and_a_huge_request_is_the_cases_fail(tmp_path, fake_env, start_mode,
                                                                             monkeypatch):
    """16 GiB asked for (untouched, so the machine would grant it) under a 2 GiB cap: the
    program's step raises MemoryError, recorded as its error; the next case runs as usual."""
    monkeypatch.setenv("CONFORMANCE_WORKER_MEMORY_MB", "2048")
    cases = _specs(tmp_path, [_case("huge", MEMORY_SEED), _case("after", 2)])
    _, results = run_framework(FAKE, cases, str(tmp_path / "r"), "digest", timeout_s=60, workers=1)
    huge, after = results["cases"]
    assert huge["status"] == "fail" and huge["observations"]["error"]["type"].endswith("MemoryError"), huge
    assert "unexpected" in huge["message"] and after["status"] == "pass"


def _interrupt_at(monkeypatch, stop_index: int) -> None:
    """Ctrl-C arrives when a worker is about to run case `stop_index`."""
    from conformance.run import pool as runner

    original = runner.Worker.run

    def run_then_interrupt(self, index, case, timeout_s):
        if index == stop_index:
            raise KeyboardInterrupt
        return original(self, index, case, timeout_s)

    monkeypatch.setattr(runner.Worker, "run", run_then_interrupt)


def test_an_interrupted_run_never_replaces_a_complete_results_file(tmp_path, fake_env, monkeypatch):
    """What finished goes beside the complete results file (OUT/partial/results), which is
    left as it was; the exception says where, and nothing else is left in the folder."""
    cases = _specs(tmp_path, [_case("a", 1), _case("b", 2), _case("c", 3)])
    out = tmp_path / "out" / "results"
    complete, _ = run_framework(FAKE, cases, str(out), "digest", timeout_s=30, workers=1)
    before = open(complete, encoding="utf-8").read()
    _interrupt_at(monkeypatch, 2)
    with pytest.raises(Interrupted) as stopped:
        run_framework(FAKE, cases, str(out), "digest", timeout_s=30, workers=1)
    assert open(complete, encoding="utf-8").read() == before, "the complete file is untouched"
    written = json.loads(open(stopped.value.written, encoding="utf-8").read())
    assert stopped.value.written == str(tmp_path / "out" / "partial" / "results" / "fake_adapter_FakeAdapter-1.0.json")
    assert written["interrupted"] is True and [c["id"] for c in written["cases"]] == ["a", "b"]
    assert "after 2 of 3 cases" in stopped.value.text() and complete in stopped.value.text()
    assert os.listdir(out) == [os.path.basename(complete)], "no journal or temporary file is left"
    assert read_journal(str(out / "nothing.jsonl")) == []


def test_interrupted_before_any_case_writes_nothing_and_says_so(tmp_path, fake_env, monkeypatch):
    cases = _specs(tmp_path, [_case("a", 1), _case("b", 2)])
    _interrupt_at(monkeypatch, 0)
    out = tmp_path / "out" / "results"
    with pytest.raises(Interrupted) as stopped:
        run_framework(FAKE, cases, str(out), "digest", timeout_s=30, workers=1)
    assert stopped.value.written is None and "nothing was written" in stopped.value.text()
    assert os.listdir(out) == [] and not (tmp_path / "out" / "partial").exists()


def test_interrupt_of_a_sharded_run_keeps_every_finished_case_in_case_order(tmp_path, fake_env, start_mode, monkeypatch):
    """Two workers; the second worker's second case is interrupted. What either worker
    finished before is written, in case order, and nothing cut short by the stop is."""
    ids = ["a", "b", "c", "d", "e", "f"]
    cases = _specs(tmp_path, [_case(i, n + 1) for n, i in enumerate(ids)])
    assert shard(cases, 2) == [[0, 1, 2], [3, 4, 5]]
    _interrupt_at(monkeypatch, 4)
    out = tmp_path / "r"
    with pytest.raises(Interrupted) as stopped:
        run_framework(FAKE, cases, str(out), "digest", timeout_s=30, workers=2)
    written = json.loads(open(stopped.value.written, encoding="utf-8").read())
    assert written["interrupted"] is True and written["workers"] == 2
    got = [c["id"] for c in written["cases"]]
    assert "d" in got and "e" not in got and "f" not in got
    assert got == sorted(got), "records are written in case order, whichever worker finished first"
    assert all(c["status"] == "pass" for c in written["cases"])
    assert os.listdir(out) == [], "journal cleaned up, and no results file replaced"


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
    from conformance.run.case import _scrub

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


def _leftovers(folder) -> list[str]:
    """What a run left in its temporary folder (worker and zygote folders, case folders)."""
    return sorted(os.listdir(folder))


def _run_cli(tmp_path, specs, *extra, **popen):
    import subprocess
    import sys

    env = dict(os.environ, TMPDIR=str(tmp_path / "tmp"), PYTHONPATH=os.path.dirname(__file__))
    os.makedirs(env["TMPDIR"], exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-m", "conformance", "run", "--framework", FAKE, "--specs", str(specs), "--out",
         str(tmp_path / "out"), "--no-report", *extra], env=env, text=True, **popen)


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="finds the worker processes in Linux's /proc")
@pytest.mark.parametrize("signame", ["SIGTERM", "SIGHUP"])
def test_sigterm_and_sighup_stop_a_run_like_ctrl_c_and_leave_nothing_behind(tmp_path, fake_env, signame):
    """The signal reaches the runner only (a service manager's stop): it stops its workers, even
    one stuck in a hanging case, keeps what finished beside the results, removes its temporary
    folders and journal, and exits 128 + the signal's number."""
    import signal
    import subprocess
    import time

    specs = tmp_path / "specs.yaml"
    specs.write_text("topic: fake\ncases:" + _case("a", 1) + _case("b-hangs", HANG_SEED), encoding="utf-8")
    proc = _run_cli(tmp_path, specs, "--workers", "1", "--timeout", "600", stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT)
    journal_dir = tmp_path / "out" / "partial" / "results"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(
            j.read_text().strip() for j in (journal_dir.glob(".*.partial.jsonl") if journal_dir.exists() else [])):
        time.sleep(0.1)
    everyone = [proc.pid] + _children(proc.pid) + [g for c in _children(proc.pid) for g in _children(c)]
    assert len(everyone) >= 2, "the run has a worker"
    os.kill(proc.pid, getattr(signal, signame))
    output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 128 + getattr(signal, signame), output
    assert "interrupted after 1 of 2 cases" in output, output
    written = json.loads((journal_dir / "fake_adapter_FakeAdapter-1.0.json").read_text())
    assert written["interrupted"] is True and [c["id"] for c in written["cases"]] == ["a"]
    assert sorted(os.listdir(journal_dir)) == ["fake_adapter_FakeAdapter-1.0.json"], "no journal left"
    time.sleep(0.5)
    alive = [pid for pid in everyone if os.path.exists(f"/proc/{pid}") and "Z" not in open(f"/proc/{pid}/stat").read().split(")")[1][:3]]
    assert not alive, f"processes left running: {alive}"
    assert _leftovers(tmp_path / "tmp") == [], "temporary folders left"


def test_a_killed_runner_takes_its_zygote_and_workers_with_it(tmp_path, fake_env):
    """SIGKILL cannot be handled; the zygote and the workers die with their parent anyway."""
    import signal
    import subprocess
    import time

    specs = tmp_path / "specs.yaml"
    specs.write_text("topic: fake\ncases:" + _case("a-hangs", HANG_SEED), encoding="utf-8")
    proc = _run_cli(tmp_path, specs, "--workers", "1", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    descendants: list[int] = []
    while time.monotonic() < deadline and len(descendants) < 2:
        descendants = _children(proc.pid) + [g for c in _children(proc.pid) for g in _children(c)]
        time.sleep(0.2)
    time.sleep(1.0)  # the worker is in its hanging case
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    time.sleep(1.0)
    assert not [pid for pid in descendants if os.path.exists(f"/proc/{pid}")
                and "Z" not in open(f"/proc/{pid}/stat").read().split(")")[1][:3]]


def test_a_killed_worker_is_a_crash_and_the_run_goes_on_without_leaking(tmp_path, fake_env, start_mode):
    """A worker killed from outside (the OOM killer, a person) is its case's crash; the next
    case gets a fresh worker; no temporary folder survives the run."""
    import threading
    import time

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    cases = _specs(tmp_path, [_case("a", 1), _case("killed", HANG_SEED), _case("c", 3)])
    out = tmp_path / "r"

    def kill_the_hanging_worker():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for child in _children(os.getpid()) + [g for c in _children(os.getpid()) for g in _children(c)]:
                try:
                    if "time.sleep" in open(f"/proc/{child}/cmdline").read() or _in_sleep(child):
                        os.kill(child, 9)
                        return
                except OSError:
                    pass
            time.sleep(0.2)

    killer = threading.Thread(target=kill_the_hanging_worker, daemon=True)
    old = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = str(tmp)
    import tempfile

    tempfile.tempdir = None
    try:
        killer.start()
        _, results = run_framework(FAKE, cases, str(out), "digest", timeout_s=60, workers=1)
    finally:
        os.environ.pop("TMPDIR") if old is None else os.environ.__setitem__("TMPDIR", old)
        tempfile.tempdir = None
    assert [c["status"] for c in results["cases"]] == ["pass", "crash", "pass"]
    assert "exit status -9" in results["cases"][1]["message"]
    assert _leftovers(tmp) == []


def _in_sleep(pid: int) -> bool:
    """Whether a worker process is sleeping in the fake framework's hang (its wait channel)."""
    try:
        with open(f"/proc/{pid}/wchan", encoding="utf-8") as handle:
            channel = handle.read()
        with open(f"/proc/{pid}/cmdline", encoding="utf-8") as handle:
            is_worker = "conformance.worker" in handle.read()
    except OSError:
        return False
    return is_worker and "hrtimer" in channel or is_worker and "nanosleep" in channel


def test_a_dead_zygote_is_started_again_once_then_the_column_is_broken(tmp_path, fake_env, monkeypatch):
    """Kill the zygote with a worker: the next case forks from a new zygote. Kill it again:
    the column is recorded as broken, with the reason, and every remaining case says so."""
    from conformance.run import pool

    monkeypatch.setenv("CONFORMANCE_FORK", "1")
    cases = _specs(tmp_path, [_case(f"c{i}", CRASH_SEED if i in (1, 3) else i + 1) for i in range(6)])
    original = pool.Worker.run
    kills = []

    def run_killing_the_zygote(self, index, case, timeout_s):
        if index in (1, 3):  # before each crashing case, the zygote dies too
            os.kill(self.zygote.proc.pid, 9)
            self.zygote.proc.wait()
            kills.append(index)
        return original(self, index, case, timeout_s)

    monkeypatch.setattr(pool.Worker, "run", run_killing_the_zygote)
    _, results = run_framework(FAKE, cases, str(tmp_path / "r"), "digest", timeout_s=30, workers=1)
    statuses = [c["status"] for c in results["cases"]]
    assert statuses[:3] == ["pass", "crash", "pass"], "after the first death a new zygote served c2"
    assert statuses[4:] == ["error", "error"], statuses
    assert "the zygote died twice" in results["broken"]
    assert "column broken" in results["cases"][5]["message"]


def test_a_closed_pipe_is_quiet_and_the_results_are_complete(tmp_path, fake_env):
    """`conformance run -v | head -1`: no traceback, and every case is in the results file."""
    import subprocess

    specs = tmp_path / "specs.yaml"
    specs.write_text("topic: fake\ncases:" + "".join(_case(f"c{i}", i + 1) for i in range(4)), encoding="utf-8")
    proc = _run_cli(tmp_path, specs, "-v", "--workers", "2", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = proc.stdout.readline()
    proc.stdout.close()  # the reader goes away after one line
    _, errors = proc.communicate(timeout=60)
    assert first.startswith("partial run"), first
    assert "Traceback" not in errors and "BrokenPipeError" not in errors, errors
    assert proc.returncode == 0, errors
    written = json.loads((tmp_path / "out" / "partial" / "results" / "fake_adapter_FakeAdapter-1.0.json").read_text())
    assert len(written["cases"]) == 4 and "interrupted" not in written


@pytest.mark.parametrize("errno_name", ["ENOSPC", "EROFS"])
def test_a_full_disk_or_read_only_output_is_a_message_and_loses_nothing(tmp_path, fake_env, monkeypatch, capsys,
                                                                      errno_name):
    """Writing the results fails (no space left; a read-only folder): the command says so and
    exits 1, the earlier complete results file is untouched, and no temporary file, journal
    or worker folder is left (the fault is injected: a tmpfs needs privileges CI may lack)."""
    import errno

    from conformance import cli
    from conformance import results as results_module

    specs = tmp_path / "specs.yaml"
    specs.write_text("topic: fake\ncases:" + _case("a", 1) + _case("b", 2), encoding="utf-8")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    out = tmp_path / "out"
    assert cli.main(["run", "--framework", FAKE, "--specs", str(specs), "--out", str(out), "--no-report"]) == 0
    folder = out / "partial" / "results"
    complete = folder / "fake_adapter_FakeAdapter-1.0.json"
    before = complete.read_text()
    real_replace = os.replace

    def failing_replace(src, dst, *args, **kwargs):
        if str(dst).endswith(".json"):
            raise OSError(getattr(errno, errno_name), os.strerror(getattr(errno, errno_name)), str(dst))
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(results_module.os, "replace", failing_replace)
    capsys.readouterr()
    code = cli.main(["run", "--framework", FAKE, "--specs", str(specs), "--out", str(out), "--no-report"])
    err = capsys.readouterr().err
    assert code == 1 and os.strerror(getattr(errno, errno_name)) in err and "Traceback" not in err, err
    assert complete.read_text() == before
    assert sorted(os.listdir(folder)) == [complete.name], "no temporary results file or journal left"
    assert _leftovers(tmp) == []


def test_the_worker_temp_folder_holds_every_case_folder(tmp_path, fake_env, start_mode, monkeypatch):
    """Each case's folder is made inside its worker's own folder, so a worker killed in the
    middle of a case (a timeout here) leaves nothing in the temporary folder."""
    import tempfile

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setattr(tempfile, "tempdir", None)
    cases = _specs(tmp_path, [_case("a", 1), _case("hangs", HANG_SEED), _case("c", 3)])
    _, results = run_framework(FAKE, cases, str(tmp_path / "r"), "digest", timeout_s=3, workers=1)
    assert [c["status"] for c in results["cases"]] == ["pass", "timeout", "pass"]
    assert _leftovers(tmp) == []
