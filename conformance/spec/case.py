"""A spec case and its outcomes: what a case is once loaded, and which outcome a framework is pinned to.

Rule: a `Case` is plain data; the expected outcome of a framework@version is decided here
and only here (`Case.resolve`), and the verdict and the record carry it from then on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from conformance.spec.vocabulary import PIN_COMPONENTS

NORMATIVE_DEFAULT_LABEL = "as-noted"  # the label of a case's only outcome when it names none


@dataclass
class Outcome:
    """One behaviour a framework may show for a case: a label, a line, a complete set of checks."""

    label: str
    says: str
    expect: list[dict]
    normative: bool = False

    def to_json(self) -> dict:
        return {"label": self.label, "says": self.says, "expect": self.expect, "normative": self.normative}


@dataclass(frozen=True)
class Resolution:
    """Which outcome a framework@version is expected to show, and why (its pin, or none)."""

    expected: Outcome
    normative: Outcome
    pin: dict | None


@dataclass
class Case:
    id: str
    file: str
    topic: str
    title: str
    behaviours: list[str]
    source: dict
    outcomes: list[Outcome]  # the normative outcome first
    model: dict | None = None
    steps: list[tuple[str, dict]] = field(default_factory=list)
    pins: dict = field(default_factory=dict)  # framework -> [pin, ...] (first match wins)
    timeout_s: float | None = None

    @property
    def nodeid(self) -> str:
        return f"{self.file}::{self.id}"

    @property
    def normative(self) -> Outcome:
        return next(o for o in self.outcomes if o.normative)

    def outcome(self, label: str) -> Outcome | None:
        return next((o for o in self.outcomes if o.label == label), None)

    def resolve(self, framework: str, version: str | None, components: dict | None = None) -> Resolution:
        """The first pin of `framework` whose version (and component) ranges match, and the
        outcome it names; with no matching pin, the normative outcome."""
        pin = match_pin(self.pins.get(framework, []), version, components or {})
        expected = self.outcome(pin["outcome"]) if pin else self.normative
        return Resolution(expected, self.normative, pin)

    def all_expectations(self) -> list[dict]:
        return [e for outcome in self.outcomes for e in outcome.expect]

    def to_json(self) -> dict:
        return {
            "id": self.id, "file": self.file, "topic": self.topic, "title": self.title,
            "behaviours": self.behaviours, "source": self.source, "model": self.model,
            "steps": [{k: a} for k, a in self.steps], "outcomes": [o.to_json() for o in self.outcomes],
            "pins": self.pins, "timeout_s": self.timeout_s,
        }

    @classmethod
    def from_json(cls, data: dict) -> Case:
        steps = [next(iter(s.items())) for s in data.get("steps") or []]
        return cls(
            id=data["id"], file=data["file"], topic=data["topic"], title=data["title"],
            behaviours=data["behaviours"], source=data["source"],
            outcomes=[Outcome(**o) for o in data["outcomes"]], model=data.get("model"), steps=steps,
            pins=data.get("pins") or {}, timeout_s=data.get("timeout_s"),
        )


def _parse_version(text):
    from packaging.version import InvalidVersion, Version

    try:
        return Version(Version(str(text)).public)
    except (InvalidVersion, TypeError):
        return None


def match_pin(pins: list[dict], version: str | None, components: dict) -> dict | None:
    """First pin whose `versions` contains `version` and whose component ranges (`keras`)
    contain the run's component versions. An unparsable version matches only open pins."""
    from packaging.specifiers import SpecifierSet

    parsed = _parse_version(version)
    for pin in pins:
        ranges = [("versions", parsed)] + [(name, _parse_version(components.get(name))) for name in PIN_COMPONENTS]
        ok = True
        for key, have in ranges:
            if key not in pin:
                continue
            if have is None or not SpecifierSet(pin[key]).contains(have, prereleases=True):
                ok = False
                break
        if ok:
            return pin
    return None


def outcomes_of(raw: dict) -> list[Outcome]:
    """The case's outcomes, normative first: `expect` alone is one normative outcome."""
    if "outcomes" not in raw:
        return [Outcome(raw.get("label", NORMATIVE_DEFAULT_LABEL), raw["title"], raw.get("expect") or [], True)]
    found = [Outcome(label, o["says"], o["expect"], bool(o.get("normative"))) for label, o in raw["outcomes"].items()]
    return sorted(found, key=lambda o: not o.normative)


def pins_of(raw: dict) -> dict:
    return {fw: (list(p) if isinstance(p, list) else [p]) for fw, p in (raw.get("pins") or {}).items()}
