"""The expectation on a probe: what one of the notes' own snippets returned or printed.

Rule: `equals` entries and `contains` fragments hold for every framework; under `printed`, what
one framework (and version) prints is compared whole.
"""

from __future__ import annotations

from conformance.results import ADDRESS
from conformance.spec.case import match_pin
from conformance.spec.checks import CheckResult, get
from conformance.spec.evidence import Probe
from conformance.spec.expectations.base import Expectation, range_problems
from conformance.spec.vocabulary import PROBES, obj

_PRINTED = {"type": "object", "properties": {"versions": {"type": "string"}, "keras": {"type": "string"}},
            "minProperties": 1}


class ProbeResult(Expectation):
    """What one of the notes' snippets returned (a probe step): `equals` entries, `contains`
    fragments, and under `printed` what this framework (and version) prints, whole: each
    entry's keys (other than `versions`/`keras`) must equal the probe's entries exactly."""

    kind = "probe"
    schema = obj({"name": {"type": "string"}, "equals": {"type": "object"},
                  "contains": {"type": "object", "minProperties": 1, "additionalProperties": {"type": "string"}},
                  "printed": {"oneOf": [{"type": "null"}, {
                      "type": "object", "propertyNames": {"pattern": "^[a-z][a-z0-9_]*\\Z"},
                      "additionalProperties": {"oneOf": [_PRINTED, {"type": "array", "items": _PRINTED,
                                                                    "minItems": 1, "maxItems": 20}]}}]}},
                 ["name"])

    def more_problems(self, case):
        from conformance.adapters import ADAPTERS

        names = set(PROBES) | {a["as"] for k, a in case.steps if k == "probe" and "as" in a}
        found = []
        if self.args.get("name") not in names:
            found.append(("name", f"unknown probe '{self.args.get('name')}' (not a probe nor a probe step's `as`)"))
        for framework, entries in (self.args.get("printed") or {}).items():
            if framework not in ADAPTERS:
                found.append((f"printed.{framework}", f"unknown framework '{framework}'; known: {sorted(ADAPTERS)}"))
            for index, entry in enumerate(entries if isinstance(entries, list) else [entries]):
                where = f"printed.{framework}" + (f"[{index}]" if isinstance(entries, list) else "")
                found += [(f"{where}.{k}", m) for k, m in range_problems(entry)]
        return found

    def needs(self, case):
        return []  # the probe step itself records what it returned

    def judge(self, case, execution):
        result = get(execution, Probe(self.args["name"]))
        wanted = self.args.get("equals", {})
        bad = {k: (v, result.get(k) if isinstance(result, dict) else None) for k, v in wanted.items()
               if not isinstance(result, dict) or result.get(k) != v}
        found = [CheckResult(not bad, f"probe {self.args['name']}: expected {wanted}, observed {result}")]
        for key, text in (self.args.get("contains") or {}).items():
            seen = result.get(key) if isinstance(result, dict) else None
            found.append(CheckResult(isinstance(seen, str) and text in seen,
                                     f"probe {self.args['name']}: {key} should contain {text!r}, observed {seen!r}"))
        if "printed" in self.args:
            found.append(self._printed(result, getattr(execution, "column", None)))
        return found if ("contains" not in self.args and "printed" not in self.args) or wanted else found[1:]

    def _printed(self, result, column) -> CheckResult:
        name = self.args["name"]
        entries = (self.args.get("printed") or {}).get(column.framework) if column is not None else None
        entry = None
        if entries is not None:
            entry = match_pin(entries if isinstance(entries, list) else [entries], column.version, column.components)
        if entry is None:
            framework = column.framework if column is not None else "<framework>"
            return CheckResult(False, f"probe {name}: no printed text given for {framework} "
                                      f"{column.version if column else ''}: add it under printed.{framework}; "
                                      f"observed {result!r}")
        wanted = {k: v for k, v in entry.items() if k not in ("versions", "keras")}
        seen = {k: result.get(k) if isinstance(result, dict) else None for k in wanted}
        # a memory address in printed text (flax prints nn.relu as `<... object at 0x7f...>`)
        # differs from run to run: compared as the records keep it, `0x…`
        seen = {k: ADDRESS.sub("0x…", v) if isinstance(v, str) else v for k, v in seen.items()}
        differ = [k for k in wanted if seen[k] != wanted[k]]
        return CheckResult(not differ, f"probe {name}: printed whole, expected {wanted!r}, observed {seen!r}")
