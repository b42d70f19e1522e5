"""Reading results files: each path is either a usable `Run` or a `ResultsError` saying why not.

Rule: nothing is guessed. A file that is missing, not JSON, or not shaped like
"conformance-results/1" is unusable input; a well-formed run with no cases or with an
import error is still a run (the gate fails it, the report shows it). Optional case
fields get their documented defaults here, so readers never test for missing keys.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

from conformance.results import FORMAT

STATUSES = ("pass", "fail", "known", "unsupported", "skip", "error", "crash", "timeout")

# Optional case fields and their defaults (callables make a fresh list/dict per case).
CASE_DEFAULTS = {
    "file": "",
    "topic": "",
    "title": "",
    "behaviours": list,
    "message": "",
    "observations": dict,
    "source": dict,
    "snippet": "",
}
_TEXT_FIELDS = ("file", "topic", "title", "message", "snippet")


class ResultsError(Exception):
    """A results file that cannot be used; names the file and the reason."""

    def __init__(self, path: str, reason: str):
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


@dataclass(frozen=True)
class Run:
    """One results file: one framework@version on one machine."""

    path: str
    data: dict
    text: str = field(default="", repr=False, compare=False)  # the file as read, for merging

    @property
    def framework(self) -> str:
        return self.data["framework"]

    @property
    def version(self) -> str:
        return self.data["framework_version"]

    @property
    def label(self) -> str:
        return f"{self.framework}@{self.version}"

    @property
    def cases(self) -> list[dict]:
        return self.data["cases"]

    @property
    def import_error(self) -> str | None:
        return self.data.get("import_error")

    def environment(self) -> dict:
        """Everything about the run except its cases."""
        return {k: v for k, v in self.data.items() if k != "cases"}


def expand_paths(paths: list[str]) -> list[str]:
    """Directories become their `*.json` files (sorted); files are kept as given."""
    out: list[str] = []
    for path in paths:
        if os.path.isdir(path):
            names = sorted(n for n in os.listdir(path) if n.endswith(".json"))
            out.extend(os.path.join(path, n) for n in names)
        else:
            out.append(path)
    return out


def load_run(path: str) -> Run:
    """Read and check one results file; raise `ResultsError` when it is unusable."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise ResultsError(path, "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ResultsError(path, f"cannot read: {exc}") from None
    if not text.strip():
        raise ResultsError(path, "file is empty (0 bytes of JSON)")
    try:
        # NaN/Infinity (not JSON, but Python writes them) stay visible as strings.
        data = json.loads(text, parse_constant=str)
    except json.JSONDecodeError as exc:
        raise ResultsError(path, f"not JSON: {exc}") from None
    return Run(path=path, data=check_results(path, data), text=text)


def check_results(path: str, data) -> dict:
    """Validate the shape of a results object; fill in case defaults (in place) and return it."""
    if not isinstance(data, dict):
        raise ResultsError(path, f"expected a JSON object, got {type(data).__name__}")
    if data.get("format") != FORMAT:
        raise ResultsError(path, f"format is {data.get('format')!r}, expected {FORMAT!r}")
    for key in ("framework", "framework_version"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise ResultsError(path, f"'{key}' must be a non-empty string")
    if not isinstance(data.get("cases"), list):
        raise ResultsError(path, "'cases' must be a list")
    import_error = data.get("import_error")
    if import_error is not None and not isinstance(import_error, str):
        raise ResultsError(path, "'import_error' must be null or a string")
    seen: set[str] = set()
    for index, case in enumerate(data["cases"]):
        _check_case(path, index, case, seen)
    return data


def _check_case(path: str, index: int, case, seen: set[str]) -> dict:
    """Check one case and fill in its optional fields (in place: the dict is freshly parsed)."""
    if not isinstance(case, dict):
        raise ResultsError(path, f"cases[{index}] is not an object")
    case_id = case.get("id")
    if not isinstance(case_id, str) or not case_id:
        raise ResultsError(path, f"cases[{index}] has no string 'id'")
    if case_id in seen:
        raise ResultsError(path, f"cases[{index}]: case id {case_id!r} appears twice")
    seen.add(case_id)
    if case.get("status") not in STATUSES:
        raise ResultsError(path, f"case {case_id!r}: unknown status {case.get('status')!r}")
    for key, default in CASE_DEFAULTS.items():
        if case.get(key) is None:
            case[key] = default() if callable(default) else default
    for key in _TEXT_FIELDS:
        if not isinstance(case[key], str):
            raise ResultsError(path, f"case {case_id!r}: '{key}' must be a string")
    if not isinstance(case["behaviours"], list):
        raise ResultsError(path, f"case {case_id!r}: 'behaviours' must be a list")
    if not isinstance(case["source"], dict):
        case["source"] = {}
    return case
