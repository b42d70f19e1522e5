"""What every expectation kind shares: the `Expectation` base class, and the schema parts and
validators that more than one kind uses.

Rule: a kind subclasses `Expectation` and keeps in its class everything the kit knows about it
(schema, `problems`, `needs`, `check`); what several kinds use is declared here, once.
"""

from __future__ import annotations

import re
from typing import ClassVar

from conformance.spec.checks import CheckResult, Missing
from conformance.spec.evidence import Key
from conformance.spec.vocabulary import PIN_COMPONENTS, obj

STEP = {"type": "integer", "minimum": 0}  # the schema of a step index


def regex_problem(text: str) -> str | None:
    """What is wrong with a regular expression a spec gives, or None."""
    try:
        re.compile(text)
    except (re.error, RecursionError, OverflowError, ValueError) as exc:
        return f"bad regular expression: {exc}"
    return None


class Expectation:
    """One expectation of a case: `args` is the mapping under its kind's key."""

    kind: ClassVar[str] = ""
    schema: ClassVar[dict] = obj({})
    step_keys: ClassVar[tuple[str, ...]] = ("step",)  # arguments that name a step index

    def __init__(self, args: dict):
        self.args = args if isinstance(args, dict) else {}

    def problems(self, case) -> list[tuple[str, str]]:
        """(key under this expectation, message) for what the schema cannot say."""
        found = []
        for key in self.step_keys:
            step = self.args.get(key)
            if isinstance(step, int) and step >= len(case.steps):
                found.append(("", f"step {step} does not exist (the case has {len(case.steps)})"))
        return found + self.more_problems(case)

    def more_problems(self, case) -> list[tuple[str, str]]:
        return []

    def needs(self, case) -> list[Key]:
        return []

    def check(self, case, execution) -> list[CheckResult]:
        try:
            return self.judge(case, execution)
        except Missing as missing:
            return [CheckResult(False, f"{self.kind} {self.args}: {missing}")]

    def judge(self, case, execution) -> list[CheckResult]:
        raise NotImplementedError

    def mentions_error(self) -> bool:
        """An outcome with this expectation expects a step to raise."""
        return False


def range_problems(entry: dict) -> list[tuple[str, str]]:
    """(key, message) for each version range of a pinned entry that is not a PEP 440 range."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    found = []
    for key in ("versions", *PIN_COMPONENTS):
        if key in entry:
            try:
                SpecifierSet(entry[key])
            except InvalidSpecifier:
                found.append((key, f"not a PEP 440 version range: {entry[key]!r}"))
    return found
