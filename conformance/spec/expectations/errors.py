"""Expectations on what a step raised or warned.

Rule: an error is judged by what was raised: the phase and step, the native type (matched as
`except` catches it) and a message pattern per framework and version under `raised:`; a warning
by the text the program recorded during a step.
"""

from __future__ import annotations

import re

from conformance.spec.case import match_pin
from conformance.spec.checks import CheckResult
from conformance.spec.expectations.base import STEP, Expectation, range_problems, regex_problem
from conformance.spec.vocabulary import ERROR_KINDS, PHASES, obj

_RAISED = obj({"type": {"type": "string", "minLength": 1, "maxLength": 200},
                "message": {"type": "string", "minLength": 1, "maxLength": 500},
                "versions": {"type": "string"}, "keras": {"type": "string"}}, ["type", "message"])


class ErrorExpected(Expectation):
    """A step raised: in `phase` at `step` (-1: while the model was built), an instance of the
    native type (as `except` catches it) with a message matching the pattern given for the
    framework (and version) that ran,
    under `raised` (or `type`/`message` for every framework). `kind` names the error in the
    kit's words (ERROR_KINDS), for people; it is not what is compared."""

    kind = "error"
    schema = obj({"phase": {"enum": list(PHASES)}, "kind": {"type": "string"},
                  "step": {"type": "integer", "minimum": -1},
                  "type": {"type": "string", "minLength": 1, "maxLength": 200},
                  "message": {"type": "string", "minLength": 1, "maxLength": 500},
                  "raised": {"oneOf": [{"type": "null"}, {
                      "type": "object", "propertyNames": {"pattern": "^[a-z][a-z0-9_]*\\Z"},
                      "additionalProperties": {"oneOf": [_RAISED, {"type": "array", "items": _RAISED,
                                                                   "minItems": 1, "maxItems": 20}]}}]}},
                 ["phase", "kind", "step"])

    def more_problems(self, case):
        from conformance.adapters import ADAPTERS

        found = []
        if self.args.get("phase") == "construction" and self.args.get("step") != -1:
            found.append(("step", "a construction error is raised at step -1 (while the model is built)"))
        if self.args.get("phase") != "construction" and self.args.get("step") == -1:
            found.append(("step", "step -1 is the construction of the model: give phase construction"))
        if "message" in self.args and (problem := regex_problem(self.args["message"])):
            found.append(("message", problem))
        if not self.args.get("raised") and not ("type" in self.args and "message" in self.args):
            found.append(("raised", ("name what is raised: `raised` (type and message per framework) or "
                                     "`type` and `message` for every framework; a kind alone is no outcome")))
        if self.args.get("kind") not in ERROR_KINDS:
            found.append(("kind", f"unknown error kind '{self.args.get('kind')}'; known: {list(ERROR_KINDS)}"))
        for framework, entries in (self.args.get("raised") or {}).items():
            if framework not in ADAPTERS:
                found.append((f"raised.{framework}", f"unknown framework '{framework}'; known: {sorted(ADAPTERS)}"))
            for index, entry in enumerate(entries if isinstance(entries, list) else [entries]):
                where = f"raised.{framework}" + (f"[{index}]" if isinstance(entries, list) else "")
                if problem := regex_problem(entry["message"]):
                    found.append((f"{where}.message", problem))
                found += [(f"{where}.{k}", m) for k, m in range_problems(entry)]
        return found

    def mentions_error(self) -> bool:
        return True

    def native(self, column) -> tuple[dict | None, str]:
        """The type and message pattern expected of `column`'s framework, and where they come from."""
        if column is None:
            return None, "no column"
        entries = (self.args.get("raised") or {}).get(column.framework)
        if entries is None:
            return None, f"no native error given for {column.framework}"
        entry = match_pin(entries if isinstance(entries, list) else [entries], column.version, column.components)
        if entry is None:
            return None, f"no native error given for {column.framework} {column.version}"
        return entry, ""

    def judge(self, case, execution):
        args, err = self.args, execution.error
        column = getattr(execution, "column", None)
        entry, missing = self.native(column)
        want = f"{args['kind']} error in phase {args['phase']} at step {args['step']}"
        patterns = [(args.get("type"), args.get("message"))]
        if entry is not None:
            patterns.append((entry["type"], entry["message"]))
        for type_name, message in patterns:
            want += f" of native type {type_name}" if type_name else ""
            want += f" with a message matching /{message}/" if message else ""
        if err is None:
            return [CheckResult(False, f"error: expected {want}, observed no error")]
        seen = f"phase {err['phase']} at step {err['step']} ({err['type']}: {err['message']})"
        ok = err["phase"] == args["phase"] and err["step"] == args["step"]
        for type_name, message in patterns:
            if type_name:  # an instance of that class (its name, or its dotted path's tail), as `except` catches
                ok = ok and any(t == type_name or t.endswith("." + type_name)
                                for t in [err["type"], *err.get("bases", [])])
            if message:
                ok = ok and re.search(message, err["message"] or "") is not None
        if entry is None and not (args.get("type") and args.get("message")):
            return [CheckResult(False, f"error: expected {want}, observed {seen}; {missing}: add it under "
                                       f"raised.{column.framework if column else '<framework>'}")]
        return [CheckResult(ok, f"error: expected {want}, observed {seen}")]


class NoError(Expectation):
    kind = "no_error"

    def judge(self, case, execution):
        err = execution.error
        return [CheckResult(err is None, "no error: expected none, observed " + (
            f"{err['type']} in phase {err['phase']}: {err['message']}" if err else "none"))]


class Warning_(Expectation):
    kind = "warning"
    schema = obj({"contains": {"type": "string"}, "step": STEP})

    def _warned(self, execution) -> list[dict]:
        warned = [w for w in execution.warnings if self.args.get("step") in (None, w["step"])]
        if "contains" in self.args:
            warned = [w for w in warned if self.args["contains"].lower() in w["text"].lower()]
        return warned

    def judge(self, case, execution):
        warned = self._warned(execution)
        where = f" during step {self.args['step']}" if "step" in self.args else ""
        texts = [w["text"] for w in warned] or "none"
        return [CheckResult(bool(warned), f"warning{where} containing {self.args.get('contains', '')!r}: "
                                          f"expected at least one, observed {texts}")]


class NoWarning(Warning_):
    kind = "no_warning"
    schema = obj({"step": STEP})

    def judge(self, case, execution):
        warned = self._warned(execution)
        where = f" during step {self.args['step']}" if "step" in self.args else ""
        texts = [w["text"] for w in warned] or "none"
        return [CheckResult(not warned, f"no warning{where}: expected none, observed {texts}")]
