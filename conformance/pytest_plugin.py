"""pytest plugin: every (spec case x framework) is a pytest item.

Rule: `pytest specs --framework reference` collects `specs/**/*.yaml` (not the catalogue)
into items named `specs/params/sharing.yaml::grad-accumulates[reference]`, so `-k`, `-x`,
`--junitxml` and progress come from pytest. `pass` (the expected outcome held) passes,
`unsupported`/`skip` skip with their reasons, anything else fails naming the behaviour,
the outcome that held and, per outcome, expected against observed. Files outside a `specs` folder are never collected.
"""

from __future__ import annotations

from pathlib import Path

import pytest

_ADAPTERS: dict[str, tuple] = {}


def pytest_addoption(parser):
    group = parser.getgroup("conformance")
    group.addoption("--framework", action="append", dest="conformance_frameworks", default=None,
                    help="framework(s) to run spec cases against (default: reference)")


def _frameworks(config) -> list[str]:
    return config.getoption("conformance_frameworks") or ["reference"]


def pytest_collect_file(parent, file_path: Path):
    from conformance.spec.loader import NOT_SPEC_NAMES

    if file_path.suffix in (".yaml", ".yml") and file_path.name not in NOT_SPEC_NAMES and "specs" in file_path.parts:
        return SpecFile.from_parent(parent, path=file_path)
    return None


class SpecError(Exception):
    pass


class SpecFile(pytest.File):
    def collect(self):
        from conformance.spec.loader import load_file

        cases, problems = load_file(str(self.path))
        if problems:
            raise SpecError("\n".join(str(p) for p in problems))
        for case in cases:
            for framework in _frameworks(self.config):
                yield CaseItem.from_parent(self, name=f"{case.id}[{framework}]", case=case, framework=framework)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, SpecError):
            return f"unusable spec file:\n{excinfo.value}"
        return super().repr_failure(excinfo, style)


class CaseFailure(Exception):
    def __init__(self, record: dict):
        self.record = record
        super().__init__(record["message"])


def _adapter(framework: str):
    """(adapter, its column, problem) for `framework`, loaded once per session."""
    if framework not in _ADAPTERS:
        from conformance.adapters import load_adapter
        from conformance.run import column_of

        adapter, _, _, problem = load_adapter(framework)
        _ADAPTERS[framework] = (adapter, column_of(adapter) if adapter is not None else None, problem)
    return _ADAPTERS[framework]


class CaseItem(pytest.Item):
    def __init__(self, *, case, framework, **kwargs):
        super().__init__(**kwargs)
        self.case = case
        self.framework = framework
        for behaviour in case.behaviours:
            self.add_marker(pytest.mark.behaviour(behaviour))
        self.extra_keyword_matches.update(case.behaviours)  # so `-k SH2` selects a behaviour's cases
        self.user_properties.append(("behaviours", ",".join(case.behaviours)))

    def runtest(self):
        from conformance.run import run_case

        adapter, column, problem = _adapter(self.framework)
        if problem:
            raise CaseFailure({"status": "error", "message": problem, "checks": [], "behaviours": self.case.behaviours,
                               "title": self.case.title, "observations": {}})
        record = run_case(adapter, self.case, column)
        self.user_properties.append(("status", record["status"]))
        status = record["status"]
        if status == "pass":
            return
        if status in ("unsupported", "skip"):
            pytest.skip(f"{status}: {record['message']}")
        raise CaseFailure(record)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, CaseFailure):
            record = excinfo.value.record
            lines = [f"{record['status'].upper()}: [{', '.join(self.case.behaviours)}] {self.case.title}",
                     f"  claim: {self.case.source.get('claim', '')}"]
            if record.get("expected_outcome"):
                lines.append(f"  expected outcome: {record['expected_outcome']}; held: {record.get('outcome') or 'none'}")
            if record.get("message") and record.get("checks"):
                lines.append(f"  {record['message']}")
            for item in record.get("checks") or []:
                mark = "ok  " if item["ok"] else ("n/a " if item["ok"] is None else "FAIL")
                where = f"[{item['outcome']}] " if item.get("outcome") else ""
                lines.append(f"  {mark} {where}{item['check']}")
            if not record.get("checks"):
                lines.append(f"  {record['message']}")
            error = (record.get("observations") or {}).get("error")
            if error:
                lines.append(f"  observed error: {error.get('type')} in {error.get('phase')}: {error.get('message')}")
            return "\n".join(lines)
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, 0, f"{self.case.file}::{self.case.id}[{self.framework}]"


def pytest_configure(config):
    config.addinivalue_line("markers", "behaviour(id): the behaviour id a spec case covers")
