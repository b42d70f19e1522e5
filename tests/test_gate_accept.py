"""Accepting a moved behaviour: `conformance gate --baseline DIR --accept COLUMN` rewrites the
baseline of the columns named and nothing else; and CI gates against the committed baseline.

The baselines here are small synthetic results files, never the committed ones.
"""

from __future__ import annotations

import configparser
import json
import os

import pytest
from test_gate import case, run

from conformance.cli import main
from conformance.gate.baseline import accept

# One spec case, `a` (as tests/test_cli.py writes them): what `--specs specs` must cover.
SPEC = """topic: fake
cases:
  - id: a
    title: Fake case a.
    behaviours: [MC1]
    source: {note: fake.txt, section: "1", claim: "fake"}
    model: {relu: {}}
    steps:
      - forward: {input: {values: [[0.001]]}}
    expect: [{shape: {value: out, equals: [1, 1]}}]
"""


def _write(folder, name, data) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")
    return str(path)


@pytest.fixture
def columns(tmp_path, monkeypatch):
    """A baseline folder (torch, mxnet, reference) and new results in which torch and mxnet
    moved; the specs (./specs) define their one case, `a`."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "a.yaml").write_text(SPEC, encoding="utf-8")
    base, new = tmp_path / "baseline", tmp_path / "results"
    _write(base, "torch-2.13.0.json", run("torch", "2.13.0", [case("a", outcome="overwrite")]))
    _write(base, "mxnet-1.9.1.json", run("mxnet", "1.9.1", [case("a", outcome="overwrite")]))
    _write(
        base, "reference-0.1.0.json", run("reference", "0.1.0", [case("a", outcome="overwrite")])
    )
    _write(new, "torch-2.13.0.json", run("torch", "2.13.0", [case("a", outcome="accumulate")]))
    _write(new, "mxnet-1.9.1.json", run("mxnet", "1.9.1", [case("a", outcome="accumulate")]))
    _write(new, "reference-0.1.0.json", run("reference", "0.1.0", [case("a", outcome="overwrite")]))
    return base, new


def _bytes(folder) -> dict:
    return {name: (folder / name).read_bytes() for name in sorted(os.listdir(folder))}


def test_accept_rewrites_only_the_named_column(columns, capsys):
    base, new = columns
    before = _bytes(base)
    code = main(
        ["gate", str(new), "--baseline", str(base), "--specs", "specs", "--accept", "torch@2.13"]
    )
    out = capsys.readouterr().out
    after = _bytes(base)
    assert after["torch-2.13.0.json"] == (new / "torch-2.13.0.json").read_bytes()  # byte for byte
    assert {k: v for k, v in after.items() if k != "torch-2.13.0.json"} == {
        k: v for k, v in before.items() if k != "torch-2.13.0.json"}  # fmt: skip
    assert sorted(after) == sorted(before)
    assert "accepted torch 2.13.0" in out
    # the gate ran after: torch now agrees with its baseline, mxnet still moved
    assert code == 1
    moved = [line for line in out.splitlines() if "MOVED" in line]
    assert len(moved) == 1 and "mxnet 1.9.1: overwrite -> accumulate" in moved[0], out
    assert not [n for n in os.listdir(base) if n.startswith(".")], "no temporary file left"


def test_accepting_every_moved_column_makes_the_gate_pass(columns, capsys):
    base, new = columns
    code = main(["gate", str(new), "--baseline", str(base), "--specs", "specs",
                 "--accept", "torch", "--accept", "mxnet"])  # fmt: skip
    assert code == 0, capsys.readouterr().out


def test_accept_replaces_the_file_of_the_same_column_under_another_name(tmp_path):
    base, new = tmp_path / "baseline", tmp_path / "results"
    old = _write(
        base, "torch-old-name.json", run("torch", "2.13.0", [case("a", outcome="overwrite")])
    )
    keep = _write(
        base, "torch-2.12.0.json", run("torch", "2.12.0", [case("a", outcome="overwrite")])
    )
    _write(new, "torch-2.13.0.json", run("torch", "2.13.0", [case("a", outcome="accumulate")]))
    code, lines = accept([str(new)], str(base), ["torch 2.13.0"])
    assert code == 0, lines
    assert not os.path.exists(old) and os.path.exists(keep)  # another version is another column
    assert sorted(os.listdir(base)) == ["torch-2.12.0.json", "torch-2.13.0.json"]


def test_accept_never_overwrites_another_columns_file_of_the_same_name(tmp_path):
    base, new = tmp_path / "baseline", tmp_path / "results"
    _write(base, "torch.json", run("torch", "2.12.0", [case("a", outcome="overwrite")]))
    before = _bytes(base)
    _write(new, "torch.json", run("torch", "2.13.0", [case("a", outcome="accumulate")]))
    code, lines = accept([str(new)], str(base), ["torch"])
    assert code == 2 and "holds another column (torch 2.12.0)" in lines[0]
    assert _bytes(base) == before


@pytest.mark.parametrize("name, says", [
    ("paddle", "matches no column"),
    ("torch@2.1", "matches no column"),  # 2.1 is not a prefix of 2.13.0 at a dot
])  # fmt: skip
def test_accept_refuses_a_name_that_matches_no_column(columns, name, says):
    base, new = columns
    before = _bytes(base)
    code, lines = accept([str(new)], str(base), [name])
    assert code == 2 and says in lines[0] and "torch 2.13.0" in lines[0]
    assert _bytes(base) == before


def test_accept_refuses_an_ambiguous_name_and_a_partial_run(tmp_path):
    base, new = tmp_path / "baseline", tmp_path / "results"
    _write(base, "x.json", run("reference", "0.1.0", [case("a")]))
    _write(
        new, "tf-k2.json", run("tensorflow", "2.21.0", [case("a")], components={"keras": "2.21.0"})
    )
    _write(
        new, "tf-k3.json", run("tensorflow", "2.21.0", [case("a")], components={"keras": "3.15.1"})
    )
    _write(new, "torch.json", run("torch", "2.13.0", [case("a")], interrupted=True))
    code, lines = accept([str(new)], str(base), ["tensorflow"])
    assert code == 2 and "matches 2 columns" in lines[0]
    code, lines = accept([str(new)], str(base), ["tensorflow@2.21,keras@3"])
    assert (
        code == 0
        and os.path.exists(base / "tf-k3.json")
        and not os.path.exists(base / "tf-k2.json")
    )
    code, lines = accept([str(new)], str(base), ["torch"])
    assert code == 2 and "interrupted" in lines[0]
    code, lines = accept(
        [str(new)], str(base), ["tensorflow 2.21.0 · keras 2.21.0"], spec_cases=["a", "b"]
    )
    assert code == 2 and "1 spec cases are not in it" in lines[0]


def test_accept_needs_one_baseline_folder(columns, capsys):
    base, new = columns
    assert main(["gate", str(new), "--specs", "specs", "--accept", "torch"]) == 2
    assert "one --baseline folder" in capsys.readouterr().err
    torch = str(base / "torch-2.13.0.json")
    assert (
        main(["gate", str(new), "--specs", "specs", "--baseline", torch, "--accept", "torch"]) == 2
    )
    assert "not a folder" in capsys.readouterr().err


# -- CI gates against the committed baseline ---------------------------------------------------


def _tox(root) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(os.path.join(root, "tox.ini"), encoding="utf-8")
    return parser


def test_the_report_env_gates_against_the_committed_baseline(root):
    commands = [
        c.strip() for c in _tox(root)["testenv:report"]["commands"].splitlines() if c.strip()
    ]
    gates = [c for c in commands if c.startswith("conformance gate")]
    assert gates == ["conformance gate --baseline reports/baseline"], commands


def test_ci_ends_with_the_report_env(root):
    with open(os.path.join(root, ".ci", "run"), encoding="utf-8") as handle:
        script = handle.read()
    assert "python3 -m tox -e report" in script.split("for env in $columns")[1]
