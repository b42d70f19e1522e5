"""The README, held to what it shows: every command in it runs here (on the committed
baselines, so the results are fixed), its table of columns is tox.ini's column envs with the
baselines' labels, and its first screen shows the two commands.

Commands are the lines of its code blocks and its inline code that starts with `conformance `.
The two setup commands are checked by their parts: the first one's last part, `conformance
run`, runs here (creating a virtual environment and installing the kit is what the tests env
already did); the second one is what runs this file (`tox -e tests`), so its env is checked in
tox.ini instead of run again.
"""

from __future__ import annotations

import configparser
import os
import re
import shlex
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.report.runs import load_run

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BASELINE = ROOT / "reports" / "baseline"
SETUP = "python3 -m venv .venv && .venv/bin/pip install -q -e . && .venv/bin/conformance run"
TESTS = 'python3 -m pip install -q "tox>=4" && python3 -m tox -e tests'
PLACEHOLDERS = {"<id>": "two-backward-passes-overwrite"}  # inline commands name a case so


def readme_commands() -> list[str]:
    """Every command the README shows, in order, once each."""
    text = README.read_text(encoding="utf-8")
    commands, fenced = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif (fenced or line.startswith("    ")) and line.strip():
            commands.append(line.strip())
    commands += [
        span for span in re.findall(r"`([^`\n]+)`", text) if span.startswith("conformance ")
    ]
    return list(dict.fromkeys(commands))


def tox_ini() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ROOT / "tox.ini", encoding="utf-8")
    return parser


@pytest.fixture
def checkout(tmp_path, monkeypatch):
    """A folder that looks like a checkout: the committed baselines and the specs, linked."""
    if not any(BASELINE.glob("*.json")):
        pytest.skip(f"no committed baselines in {BASELINE}")
    (tmp_path / "reports").mkdir()
    os.symlink(BASELINE, tmp_path / "reports" / "baseline")
    os.symlink(ROOT / "specs", tmp_path / "specs")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_first_screen_shows_the_two_commands_and_the_readme_fits_two_screens():
    lines = README.read_text(encoding="utf-8").splitlines()
    first_screen = "\n".join(lines[:15])
    assert f"    {SETUP}" in first_screen
    assert f"    {TESTS}" in first_screen
    assert len(lines) <= 120, f"README.md has {len(lines)} lines: move detail to docs/"
    assert readme_commands()[:2] == [SETUP, TESTS]


def test_the_setup_commands_name_what_exists():
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(
        r'(?m)^conformance = "conformance\.cli:main"$', pyproject
    )  # .venv/bin/conformance
    ini = tox_ini()
    assert "tests" in [e.strip() for e in ini["tox"]["envlist"].split(",")]
    assert (
        "pytest" in ini["testenv:tests"]["commands"] and "tests" in ini["testenv:tests"]["commands"]
    )


# `conformance run` (inline, and the first setup command's last part) runs in its own test below
@pytest.mark.parametrize(
    "command", [c for c in readme_commands() if c not in (SETUP, TESTS, "conformance run")]
)
def test_every_command_in_the_readme_runs(command, checkout, capsys):
    words = shlex.split(" ".join(PLACEHOLDERS.get(w, w) for w in command.split(" ")))
    assert words[0] == "conformance", f"the README shows a command this test cannot run: {command}"
    code = main(words[1:])
    captured = capsys.readouterr()
    assert code == 0, f"{command}: exit {code}\n{captured.err[-2000:]}"
    if "--compare" in words and "-o" not in words:
        assert captured.out.startswith("# Porting from mxnet 1.9.1 to torch ")


def test_the_first_setup_command_runs_the_matrix(checkout, capsys):
    """`.venv/bin/conformance run` in a fresh environment: every installed framework (here the
    reference), its results file and the report."""
    assert SETUP.endswith("&& .venv/bin/conformance run")
    assert main(["run"]) == 0, capsys.readouterr().err[-2000:]
    assert (checkout / "reports" / "results" / "reference-0.1.0.json").is_file()
    assert (checkout / "reports" / "index.html").is_file()


def test_the_porting_guide_the_readme_describes(checkout, capsys):
    """mxnet -> torch: the checklist opens with the differences of most cases: AG6
    (accumulate/overwrite) and the initializers (IN1, the defaults; IN2, init.Normal on a whole
    net, which in torch leaves the biases as they were) are its first three."""
    assert main(["report", "reports/baseline", "--compare", "mxnet", "torch"]) == 0
    captured = capsys.readouterr()
    lines = [line for line in captured.out.splitlines() if re.match(r"\d+\. \*\*", line)]
    top = {line.split("**")[1]: line for line in lines[:3]}
    assert set(top) == {"AG6", "IN1", "IN2"}, lines[:3]
    assert "the gradients of both passes add up" in top["AG6"]
    assert "using the newest, torch 2.14.1+cu130" in captured.err  # and says which it picked


@pytest.fixture(scope="module")
def baseline_view():
    from conformance.report import load_view

    if not any(BASELINE.glob("*.json")):
        pytest.skip(f"no committed baselines in {BASELINE}")
    return load_view([str(BASELINE)])[0]


@pytest.mark.parametrize(
    ("name", "label"),
    [("torch", "torch 2.14.1+cu130"), ("mxnet@1.8", "mxnet 1.8.0"),
     ("tensorflow@2.15", "tensorflow 2.15.1 · keras 2.15.0"),
     ("tensorflow@2.21", "tensorflow 2.21.0 · keras 3.15.1"),
     ("tensorflow@2.21,keras@2", "tensorflow 2.21.0 · keras 2.21.0"),
     ('"torch 2.13.0+cpu"', "torch 2.13.0+cpu")],
)  # fmt: skip
def test_the_column_names_the_readme_uses_resolve(name, label, baseline_view):
    from conformance.report.compare import resolve

    readme = README.read_text(encoding="utf-8")
    assert name in readme
    index, _ = resolve(baseline_view, name.strip('"'))
    assert baseline_view.columns[index].label == label


def test_the_table_of_columns_is_tox_inis_column_envs_with_the_baselines_labels():
    text = README.read_text(encoding="utf-8")
    rows = re.findall(r"(?m)^\| `([a-z0-9-]+)` \| ([^|]+) \|", text)
    ini = tox_ini()
    envlist = [e.strip() for e in ini["tox"]["envlist"].split(",") if e.strip()]
    columns = [e for e in envlist if e not in ("tests", "report")]
    assert [env for env, _ in rows] == columns  # every column env, in tox's order
    for env, _ in rows:
        assert ini.has_section(f"testenv:{env}")
    labels = sorted(load_run(str(path)).label for path in BASELINE.glob("*.json"))
    assert sorted(label.strip() for _, label in rows) == labels
