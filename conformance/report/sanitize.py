"""A results file's values made safe to show: well-typed entries kept, strings escaped.

Rule: every string a reader gets is free of control characters other than newline and tab
(they are escaped as `\\xNN`), so no text of a results file can forge a line of the gate's
output or of summary.md; no value nests deeper than `MAX_DEPTH`. A display-only entry
(an outcome, a check, a pin) of the wrong type is dropped, never guessed at. The checks
run over all entries at once with C-level iterators, the fast path a large file needs.
"""

from __future__ import annotations

import operator
import re
from itertools import chain, compress, repeat
from operator import is_

# An outcome label: one word of printable characters (the specs allow [a-z][a-z0-9-]*).
OUTCOME_LABEL = re.compile(r"[^\s\x00-\x1f\x7f-\x9f]{1,80}")
MAX_DEPTH = 64  # containers inside containers; real results files nest about 8 deep
MAX_NAME = 200  # characters of a framework name, version, component or column label
# Control characters (C0 but newline and tab, DEL, C1) and the Unicode line separators.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
# Outcome labels already found well formed (a small vocabulary), and None: a set lookup
# per case instead of three pattern matches.
_GOOD_LABELS: set = {None}
_is_label = OUTCOME_LABEL.fullmatch
# Sets of types, for `set(map(type, values)) <= ...`: one C-level pass over many values.
NONE = type(None)
STRINGS = frozenset((str,))
LISTS = frozenset((list,))
DICTS = frozenset((dict,))
_BOOL_OR_NONE = frozenset((bool, NONE))

# -- the display-only fields: well-typed entries kept, the rest dropped ----------------------

_get_label, _get_says, _get_failed = (operator.itemgetter(k) for k in ("label", "says", "failed"))
_get_held, _get_normative, _get_outcome = (
    operator.methodcaller("get", k) for k in ("held", "normative", "outcome")
)
_get_ok, _get_check = operator.itemgetter("ok"), operator.itemgetter("check")


def known_labels(labels) -> bool:
    """True when every one of `labels` is None or a label already found well formed."""
    try:
        return _GOOD_LABELS.issuperset(labels)
    except TypeError:  # a list or an object where a label belongs
        return False


def good_label(value) -> bool:
    if type(value) is not str or not _is_label(value):
        return False
    if len(_GOOD_LABELS) < 10_000:
        _GOOD_LABELS.add(value)
    return True


def outcomes_ok(outcomes: list) -> bool:
    """The fast path: every outcome entry well typed and clean, checked with C-level iterators."""
    try:
        return (
            set(map(type, outcomes)) <= DICTS
            and (
                known_labels(map(_get_label, outcomes))
                or all(map(good_label, map(_get_label, outcomes)))
            )
            and all_clean(map(_get_says, outcomes))
            and set(map(type, map(_get_held, outcomes))) <= _BOOL_OR_NONE
            and set(map(type, map(_get_normative, outcomes))) <= _BOOL_OR_NONE
            and set(map(type, map(_get_failed, outcomes))) <= LISTS
            and all_clean(chain.from_iterable(map(_get_failed, outcomes)))
        )
    except (KeyError, TypeError, AttributeError):  # a key missing, or a value of the wrong type
        return False


def checks_ok(checks: list) -> bool:
    try:
        return (
            set(map(type, checks)) <= DICTS
            and set(map(type, map(_get_ok, checks))) <= _BOOL_OR_NONE  # None: not checked
            and all_clean(map(_get_check, checks))
            and (
                known_labels(map(_get_outcome, checks))
                or all(map(label_or_none, map(_get_outcome, checks)))
            )
        )
    except (KeyError, TypeError, AttributeError):
        return False


def label_or_none(value) -> bool:
    return value is None or good_label(value)


def outcome_or_none(item) -> dict | None:
    if type(item) is not dict or type(item.get("label")) is not str or not _is_label(item["label"]):
        return None
    out = dict(item)
    says = item.get("says")
    out["says"] = clean_text(says) if type(says) is str else ""
    if type(item.get("held")) not in (bool, NONE):
        out["held"] = None
    if item.get("normative") not in (None, True, False):
        out.pop("normative")
    failed = item.get("failed")
    out["failed"] = (
        [clean_text(f) for f in failed if type(f) is str] if type(failed) is list else []
    )
    return out


def check_or_none(item) -> dict | None:
    if (
        type(item) is not dict
        or type(item.get("ok")) not in _BOOL_OR_NONE
        or type(item.get("check")) is not str
    ):
        return None
    outcome = item.get("outcome")
    if outcome is not None and (type(outcome) is not str or not _is_label(outcome)):
        return None
    return {**item, "check": clean_text(item["check"])}


_get_evidence = operator.methodcaller("get", "evidence")
_get_versions = operator.methodcaller("get", "versions")
_get_keras = operator.methodcaller("get", "keras")


def pins_ok(pins: list) -> bool:
    """Every pin {outcome, evidence: {doc?, observed?, note_says?}, versions?, keras?} well
    typed and clean (the fast path, C-level iterators)."""
    if not set(map(type, pins)) <= DICTS:
        return False
    try:
        outcomes = list(map(_get_outcome, pins))
        evidence = list(map(_get_evidence, pins))
        ranges = [
            r for r in chain(map(_get_versions, pins), map(_get_keras, pins)) if r is not None
        ]
        return (
            None not in outcomes
            and (known_labels(outcomes) or all(map(good_label, outcomes)))
            and set(map(type, evidence)) <= DICTS
            and all_clean(chain.from_iterable(map(dict.values, evidence)))
            and all_clean(ranges)
        )
    except (TypeError, AttributeError):
        return False


def pin_or_none(pin) -> dict | None:
    """A pin {outcome, evidence: {doc?, observed?, note_says?}, versions?, keras?}, else None."""
    if (
        type(pin) is not dict
        or type(pin.get("outcome")) is not str
        or not _is_label(pin["outcome"])
    ):
        return None
    evidence = pin.get("evidence")
    if evidence is not None and not (
        type(evidence) is dict and set(map(type, evidence.values())) <= {str}
    ):
        return None
    if not all(type(pin.get(k)) in (str, NONE) for k in ("versions", "keras")):
        return None
    clean = dict(pin)
    if evidence is not None:
        clean["evidence"] = {k: clean_text(v) for k, v in evidence.items()}
    for key in ("versions", "keras"):
        if pin.get(key) is not None:
            clean[key] = clean_text(pin[key])
    return clean


# -- strings and nesting ---------------------------------------------------------------------


def all_clean(strings) -> bool:
    """True when every item of `strings` is a string with no control character but newline
    and tab (C-level: printable strings cost one call, the others one search each)."""
    items = strings if type(strings) is list else list(strings)
    if not set(map(type, items)) <= STRINGS:
        return False
    return all(map(str.isprintable, items)) or not any(map(_CONTROL.search, items))


def _escape_control(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clean_text(text: str) -> str:
    """`text` with control characters (all but newline and tab) escaped as \\xNN / \\uNNNN."""
    if text.isprintable() or not _CONTROL.search(text):
        return text
    return _CONTROL.sub(_escape_control, text)


def is_name(value) -> bool:
    """A framework name, version, component or column label: one printable line."""
    return (
        type(value) is str
        and 0 < len(value) <= MAX_NAME
        and value.isprintable()
        and value.strip() == value
    )


_CONTAINERS = (dict, list)
_is_container = frozenset(_CONTAINERS).__contains__


def scan(roots: list) -> tuple[bool, bool]:
    """(too deep, unclean) for the JSON values `roots`: whether any holds containers more than
    `MAX_DEPTH` deep (the gate's diff and the page's encoder recurse into observations), and
    whether any of their strings holds a control character (keys reach no text output: the
    page writes them as JSON, the gate escapes its lines). One level of all of them
    at a time, with C-level iterators only: a large file costs little."""
    level = list(compress(roots, map(_is_container, map(type, roots))))
    unclean = False
    for _ in range(MAX_DEPTH):
        kinds = list(map(type, level))
        dicts = list(compress(level, map(is_, kinds, repeat(dict))))
        lists = compress(level, map(is_, kinds, repeat(list)))
        children = list(
            chain(chain.from_iterable(map(dict.values, dicts)), chain.from_iterable(lists))
        )
        kinds = list(map(type, children))
        if not unclean:
            unclean = not all_clean(compress(children, map(is_, kinds, repeat(str))))
        level = list(compress(children, map(_is_container, kinds)))
        if not level:
            return False, unclean
    return True, unclean


def nests_too_deep(roots: list) -> bool:
    return scan(roots)[0]


def clean_tree(value):
    """`value` (any JSON) with every string in it (keys too) escaped by `clean_text` (a new
    value)."""
    kind = type(value)
    if kind is str:
        return clean_text(value)
    if kind is dict:
        return {clean_text(str(k)): clean_tree(v) for k, v in value.items()}
    if kind is list:
        return [clean_tree(v) for v in value]
    return value
