"""Reading results files: each path is either a usable `Run` or a `ResultsError` saying why not.

Rule: nothing is guessed. A file that is missing, not JSON, or not shaped like
"conformance-results/1" is unusable input; a well-formed run with no cases or with an
import error is still a run (the gate fails it, the report shows it). Optional case
fields get their documented defaults here, so readers never test for missing keys.
A run written before outcomes existed (status `known`) is still read: `Run.legacy`
counts such cases, the report says so in a banner and the gate names it.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import json
import operator
import os
from collections import Counter
from dataclasses import dataclass, field

from conformance.results import FORMAT

STATUSES = ("pass", "fail", "unsupported", "skip", "error", "crash", "timeout")
LEGACY_STATUSES = ("known",)  # written by kits before outcomes; read, shown, and flagged
READABLE_STATUSES = STATUSES + LEGACY_STATUSES
# JSON has no NaN or infinities: results carry them as these strings (and Python's json
# writes the bare constants, which `load_run` turns into the same strings).
NON_FINITE = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}

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
    "outcome": None,  # the label of the outcome that held, or None
    "expected_outcome": None,  # the pinned (or normative) label
    "normative_outcome": None,  # the note's outcome
    "outcomes": list,  # [{label, says, normative, held, failed}]
    "pin": None,  # the matching pin ({outcome, evidence, versions?, keras?}) or None
    "checks": list,
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
    def components(self) -> dict:
        """Parts with their own versions, e.g. {"keras": "3.15.1"} (empty when none)."""
        value = self.data.get("components")
        return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}

    @property
    def label(self) -> str:
        """The column's display label: the run's own `column`, else "framework version · part v"."""
        column = self.data.get("column")
        if isinstance(column, str) and column.strip():
            return column.strip()
        parts = [f"{self.framework} {self.version}"]
        parts += [f"{k} {v}" for k, v in sorted(self.components.items())]
        return " · ".join(parts)

    @functools.cached_property
    def legacy(self) -> int:
        """How many cases carry a status this kit no longer writes (`known`); counted once."""
        statuses = Counter(map(_STATUS, self.cases))
        return sum(statuses[status] for status in LEGACY_STATUSES)

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


@contextlib.contextmanager
def gc_paused():
    """Pause the cyclic garbage collector while many small objects are built.

    Decoding tens of MB of JSON creates millions of containers; each allocation burst
    triggers full collections that find nothing (the objects are all alive). Pausing it
    makes loading 3-4x faster; it is switched back on (as it was) afterwards.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def cell_label(case: dict | None) -> str:
    """What a cell shows: the label of the outcome that held, else the status."""
    if case is None:
        return "not run"
    return case.get("outcome") or case["status"]


def load_run(path: str) -> Run:
    """Read and check one results file; raise `ResultsError` when it is unusable."""
    try:
        with open(path, "rb") as handle:  # bytes, then one decode: no newline translation
            text = handle.read().decode("utf-8")
    except FileNotFoundError:
        raise ResultsError(path, "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ResultsError(path, f"cannot read: {exc}") from None
    if not text.strip():
        raise ResultsError(path, "file is empty (0 bytes of JSON)")
    with gc_paused():
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


_STATUS = operator.itemgetter("status")
_ALL_KEYS = frozenset(CASE_DEFAULTS)
# The fields whose default is not None: present and None means "fill in the default".
_filled_values = operator.itemgetter(*[k for k, v in CASE_DEFAULTS.items() if v is not None])
_texts = operator.itemgetter(*_TEXT_FIELDS)
_TEXT_TYPES = (str,) * len(_TEXT_FIELDS)
_LABEL_KEYS = ("outcome", "expected_outcome", "normative_outcome")
_labels = operator.itemgetter(*_LABEL_KEYS)
_LABEL_TYPES = frozenset((str, type(None)))


def _check_case(path: str, index: int, case, seen: set[str]) -> dict:
    """Check one case and fill in its optional fields (in place: the dict is freshly parsed).

    Written for speed (60,000 cases in a large report): the common case, every key
    present and well typed, costs a few C-level operations."""
    if type(case) is not dict:
        raise ResultsError(path, f"cases[{index}] is not an object")
    case_id = case.get("id")
    if type(case_id) is not str or not case_id:
        raise ResultsError(path, f"cases[{index}] has no string 'id'")
    if case_id in seen:
        raise ResultsError(path, f"cases[{index}]: case id {case_id!r} appears twice")
    seen.add(case_id)
    if case.get("status") not in READABLE_STATUSES:
        raise ResultsError(path, f"case {case_id!r}: unknown status {case.get('status')!r}")
    if not case.keys() >= _ALL_KEYS or None in _filled_values(case):
        for key, default in CASE_DEFAULTS.items():
            if case.get(key) is None and default is not None:
                case[key] = default() if callable(default) else default
            elif key not in case:
                case[key] = None
    if tuple(map(type, _texts(case))) != _TEXT_TYPES:
        key = next(k for k in _TEXT_FIELDS if type(case[k]) is not str)
        raise ResultsError(path, f"case {case_id!r}: '{key}' must be a string")
    if type(case["behaviours"]) is not list:
        raise ResultsError(path, f"case {case_id!r}: 'behaviours' must be a list")
    if type(case["source"]) is not dict:
        case["source"] = {}
    if type(case["outcomes"]) is not list:
        case["outcomes"] = []
    labels = _labels(case)
    if not _LABEL_TYPES.issuperset(map(type, labels)) or "" in labels:
        for key, value in zip(_LABEL_KEYS, labels):
            if value is not None and (type(value) is not str or not value):
                case[key] = None
    if case["pin"] is not None and type(case["pin"]) is not dict:
        case["pin"] = None
    return case
