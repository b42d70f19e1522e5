"""The results format as this kit reads it: the formats, statuses and case fields it knows.

Rule: `check_results` lets nothing unchecked through. An object not shaped like a results
object ("conformance-results/1" or "/2"), nested deeper than `MAX_DEPTH`, or whose core
fields have the wrong type (ids outside the specs' character set, statuses, texts,
behaviours, observations, the column's identity) is refused with a `ResultsError`.
Display-only fields of the wrong type (`source`, `outcomes`, `pin`, `checks`, outcome
labels, `duration_s`) fall back to their defaults, entry by entry, and strings are escaped
(`sanitize`). Optional case fields get their documented defaults here, so readers never
test for missing keys.
"""

from __future__ import annotations

import math
import operator
import re
from itertools import chain

from conformance.report.sanitize import (
    DICTS,
    LISTS,
    MAX_DEPTH,
    NONE,
    STRINGS,
    all_clean,
    check_or_none,
    checks_ok,
    clean_text,
    clean_tree,
    good_label,
    is_name,
    known_labels,
    label_or_none,
    nests_too_deep,
    outcome_or_none,
    outcomes_ok,
    pin_or_none,
    pins_ok,
    scan,
)
from conformance.results import FORMAT
from conformance.spec import vocabulary

STATUSES = tuple(vocabulary.STATUSES)  # declared once, in the spec vocabulary
LEGACY_STATUSES = ("known",)  # written by kits before outcomes; read, shown, and flagged
READABLE_STATUSES = STATUSES + LEGACY_STATUSES
# The results formats this reader understands: /2 renames the record's `snippet` to
# `program` and drops the per-outcome `normative` flag; both read the same.
READABLE_FORMATS = tuple(dict.fromkeys((FORMAT, "conformance-results/1", "conformance-results/2")))
# JSON has no NaN or infinities: results carry them as these strings (and Python's json
# writes the bare constants, which `load_run` turns into the same strings).
NON_FINITE = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}
# A case id as the specs allow it (the spec schema's case `id`: pattern and maxLength).
CASE_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,99}")
# Optional case fields and their defaults (callables make a fresh list/dict per case).
CASE_DEFAULTS = {
    "file": "",
    "topic": "",
    "title": "",
    "behaviours": list,
    "message": "",
    "observations": dict,
    "source": dict,
    "snippet": "",  # the case's program (renamed `program` in conformance-results/2)
    "outcome": None,  # the label of the outcome that held, or None
    "expected_outcome": None,  # the pinned (or normative) label
    "normative_outcome": None,  # the note's outcome
    "outcomes": list,  # [{label, says, held, failed}] (+ `normative` in format /1)
    "pin": None,  # the matching pin ({outcome, evidence, versions?, keras?}) or None
    "checks": list,  # [{ok, check, outcome}]
}
_TEXT_FIELDS = ("file", "topic", "title", "message", "snippet")
# What a run says about where it ran (the report's table of columns shows them).
_ENVIRONMENT_TEXTS = (
    "kit_version",
    "python",
    "numpy",
    "platform",
    "spec_digest",
    "started",
    "finished",
)


class ResultsError(Exception):
    """A results file that cannot be used; names the file and the reason."""

    def __init__(self, path: str, reason: str):
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


def check_results(path: str, data) -> dict:
    """Validate the shape of a results object; fill in case defaults (in place) and return it."""
    if not isinstance(data, dict):
        raise ResultsError(path, f"expected a JSON object, got {type(data).__name__}")
    if data.get("format") not in READABLE_FORMATS:
        expected = " or ".join(repr(f) for f in READABLE_FORMATS)
        raise ResultsError(path, f"format is {_brief(data.get('format'))}, expected {expected}")
    for key in ("framework", "framework_version"):
        if not is_name(data.get(key)):
            raise ResultsError(path, f"'{key}' must be a non-empty one-line string")
    column = data.get("column")
    if column is not None and not (column == "" or is_name(column)):
        raise ResultsError(path, "'column' must be null or a one-line string")
    components = data.get("components")
    if components is not None and not (
        type(components) is dict and all(is_name(k) and is_name(v) for k, v in components.items())
    ):
        raise ResultsError(path, "'components' must be an object of one-line strings")
    if not isinstance(data.get("cases"), list):
        raise ResultsError(path, "'cases' must be a list")
    import_error = data.get("import_error")
    if import_error is not None and type(import_error) is not str:
        raise ResultsError(path, "'import_error' must be null or a string")
    if data.get("interrupted") not in (None, True, False):
        raise ResultsError(path, "'interrupted' must be true or false")
    for key in _ENVIRONMENT_TEXTS:
        if type(data.get(key)) not in _STR_OR_NONE:
            raise ResultsError(path, f"'{key}' must be null or a string")
    if type(data.get("devices")) not in (dict, NONE):
        raise ResultsError(path, "'devices' must be null or an object")
    if type(data.get("workers")) not in (int, NONE):
        raise ResultsError(path, "'workers' must be null or a whole number")
    for key in [k for k in data if k != "cases"]:
        if nests_too_deep([data[key]]):
            raise ResultsError(path, f"'{key}' nests more than {MAX_DEPTH} deep")
        data[key] = clean_tree(data[key])
    cases = data["cases"]
    seen: set[str] = set()
    for index, case in enumerate(cases):
        _check_case(path, index, case, seen)
    if not _all_well_formed(cases):  # something to refuse, drop or escape: case by case
        for index, case in enumerate(cases):
            _check_fields(path, index, case)
    return data


_ALL_KEYS = frozenset(CASE_DEFAULTS)
# The fields whose default is not None: present and None means "fill in the default".
_filled_values = operator.itemgetter(*[k for k, v in CASE_DEFAULTS.items() if v is not None])
_texts = operator.itemgetter(*_TEXT_FIELDS)
_TEXT_TYPES = (str,) * len(_TEXT_FIELDS)
_LABEL_KEYS = ("outcome", "expected_outcome", "normative_outcome")
_labels = operator.itemgetter(*_LABEL_KEYS)
_is_case_id = CASE_ID.fullmatch
_STR_OR_NONE = frozenset((str, NONE))


def _check_case(path: str, index: int, case, seen: set[str]) -> dict:
    """Check one case's identity and status and fill in its optional fields (in place: the
    dict is freshly parsed). Everything else is checked for all cases at once
    (`_all_well_formed`), and case by case only when that finds something.

    Written for speed (60,000 cases in a large report): the common case, every key
    present and well typed, costs a few C-level operations."""
    if type(case) is not dict:
        raise ResultsError(path, f"cases[{index}] is not an object")
    case_id = case.get("id")
    if type(case_id) is not str or not case_id:
        raise ResultsError(path, f"cases[{index}] has no string 'id'")
    if case_id in seen:
        raise ResultsError(path, f"cases[{index}]: case id {_brief(case_id)} appears twice")
    seen.add(case_id)
    if case.get("status") not in READABLE_STATUSES:
        raise ResultsError(
            path, f"case {_brief(case_id)}: unknown status {_brief(case.get('status'))}"
        )
    if case.get("snippet") is None and "program" in case:  # conformance-results/2
        case["snippet"] = case["program"]
    if not case.keys() >= _ALL_KEYS or None in _filled_values(case):
        for key, default in CASE_DEFAULTS.items():
            if case.get(key) is None and default is not None:
                case[key] = default() if callable(default) else default
            elif key not in case:
                case[key] = None
    return case


def _check_fields(path: str, index: int, case: dict) -> None:
    """Case by case: refuse a wrong core field, drop a wrong display field, escape control
    characters (in place)."""
    case_id = case["id"]
    if not _is_case_id(case_id):
        raise ResultsError(
            path,
            f"cases[{index}]: the id {_brief(case_id)} is not a case id (one line of a-z, 0-9 "
            "and '-', as the specs allow, at most 100 characters)",
        )
    texts = _texts(case)
    if tuple(map(type, texts)) != _TEXT_TYPES:
        key = next(k for k in _TEXT_FIELDS if type(case[k]) is not str)
        raise ResultsError(path, f"case {case_id!r}: '{key}' must be a string")
    for key, text in zip(_TEXT_FIELDS, texts):
        if not text.isprintable():  # newlines, tabs, or something to escape
            case[key] = clean_text(text)
    behaviours = case["behaviours"]
    if type(behaviours) is not list or not set(map(type, behaviours)) <= STRINGS:
        raise ResultsError(path, f"case {case_id!r}: 'behaviours' must be a list of strings")
    if not all(map(str.isprintable, behaviours)):
        raise ResultsError(path, f"case {case_id!r}: 'behaviours' must be one-line strings")
    if type(case["observations"]) is not dict:
        raise ResultsError(path, f"case {case_id!r}: 'observations' must be an object")
    too_deep, unclean = scan([case["observations"]])
    if too_deep:
        raise ResultsError(
            path, f"case {case_id!r}: 'observations' nest more than {MAX_DEPTH} deep"
        )
    if unclean:
        case["observations"] = clean_tree(case["observations"])
    source = case["source"]
    if type(source) is not dict:
        case["source"] = {}
    elif not (set(map(type, source.values())) <= STRINGS and all_clean(source.values())):
        case["source"] = {} if nests_too_deep([source]) else clean_tree(source)
    outcomes = case["outcomes"]
    if type(outcomes) is not list:
        case["outcomes"] = []
    elif outcomes and not outcomes_ok(outcomes):
        case["outcomes"] = [o for o in map(outcome_or_none, outcomes) if o is not None]
    labels = _labels(case)
    if not known_labels(labels):
        for key, value in zip(_LABEL_KEYS, labels):
            if value is not None and not good_label(value):
                case[key] = None
    if case["pin"] is not None and not pins_ok([case["pin"]]):
        case["pin"] = pin_or_none(case["pin"])
    checks = case["checks"]
    if type(checks) is not list:
        case["checks"] = []
    elif checks and not checks_ok(checks):
        case["checks"] = [c for c in map(check_or_none, checks) if c is not None]
    duration = case.get("duration_s")
    if duration is not None and (type(duration) not in (int, float) or not math.isfinite(duration)):
        case["duration_s"] = None


_get_id, _get_behaviours, _get_observations, _get_source, _get_outcomes, _get_pin, _get_checks = (
    operator.itemgetter(k)
    for k in ("id", "behaviours", "observations", "source", "outcomes", "pin", "checks")
)
_get_duration = operator.methodcaller("get", "duration_s")
_DURATION_TYPES = frozenset((int, float, type(None)))
# All the case ids of a file joined by commas (which no id holds): one match checks them all.
_CASE_IDS = re.compile(rf"{CASE_ID.pattern}(?:,{CASE_ID.pattern})*")


def _all_well_formed(cases: list) -> bool:
    """True when every case's fields are well typed and clean: the fast path, all cases at
    once, with C-level iterators. False sends the file through `_check_fields`."""
    if not cases:
        return True
    try:
        ids = ",".join(map(_get_id, cases))
        if ids.count(",") != len(cases) - 1 or not _CASE_IDS.fullmatch(ids):
            return False
        if not all_clean(chain.from_iterable(map(_texts, cases))):
            return False  # a text that is not a string, or holds a control character
        behaviours = list(map(_get_behaviours, cases))
        if not set(map(type, behaviours)) <= LISTS:
            return False
        if not " ".join(chain.from_iterable(behaviours)).isprintable():
            return False
        observations = list(map(_get_observations, cases))
        if not set(map(type, observations)) <= DICTS or any(scan(observations)):
            return False
        sources = list(map(_get_source, cases))
        if not set(map(type, sources)) <= DICTS:
            return False
        if not all_clean(chain.from_iterable(map(dict.values, sources))):
            return False
        outcomes = list(map(_get_outcomes, cases))
        if not set(map(type, outcomes)) <= LISTS or not outcomes_ok(
            list(chain.from_iterable(outcomes))
        ):
            return False
        labels = list(chain.from_iterable(map(_labels, cases)))
        if not known_labels(labels) and not all(map(label_or_none, labels)):
            return False
        pins = [pin for pin in map(_get_pin, cases) if pin is not None]
        if pins and not pins_ok(pins):
            return False
        checks = list(map(_get_checks, cases))
        if not set(map(type, checks)) <= LISTS or not checks_ok(list(chain.from_iterable(checks))):
            return False
        durations = list(map(_get_duration, cases))
        if not set(map(type, durations)) <= _DURATION_TYPES:
            return False
        total = sum(filter(None, durations))  # finite unless one is not (or the sum overflows)
        return total - total == 0
    except (KeyError, TypeError, AttributeError):  # a key missing, or a value of the wrong type
        return False


def _brief(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
