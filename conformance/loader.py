"""Spec loading: safe YAML in, validated `Case` objects out, or a `SpecError` naming file, case and key.

Rule: nothing from a spec is evaluated. YAML goes through a SafeLoader that also refuses
duplicate keys and alias bombs; every document is checked against the JSON Schema shipped
in `conformance/schema/spec.schema.json`, then against the rules a schema cannot state
(one model kind per model, `reuse` of a known name, known function and probe names,
PEP 440 ranges, unique ids). Any failure becomes a `SpecProblem`; no traceback leaks out.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import yaml

from conformance.adapters import ADAPTERS
from conformance.adapters.base import COMPUTE_FUNCTIONS, ERROR_KINDS, PROBES, STEP_METHODS
from conformance.inputs import GENERATOR_KINDS

MAX_FILE_BYTES = 1_000_000
MAX_ALIASES = 100
MAX_EXPANDED_NODES = 100_000  # what aliases may expand a document to (a few aliases can make billions)
MAX_INPUT_ELEMENTS = 10_000_000  # per generated input array
CATALOGUE_NAME = "catalogue.yaml"
CLAIMS_NAME = "claims.yaml"  # the claims ledger (conformance.claims), not a spec file
NOT_SPEC_NAMES = (CATALOGUE_NAME, CLAIMS_NAME)
PIN_COMPONENTS = ("keras",)  # parts of a framework with their own version, rangeable in a pin
MODEL_KINDS = (
    "dense", "relu", "flatten", "dropout", "sequential", "my_sequential", "mlp", "mlp_no_super",
    "list_mlp", "fancy_mlp", "nest_mlp", "centered", "my_dense", "param_dict", "reuse",
    "my_sequential_by_object", "named_sequential",
)


@dataclass(frozen=True)
class SpecProblem:
    file: str
    case: str | None
    key: str
    message: str

    def __str__(self) -> str:
        case = f"case '{self.case}'" if self.case else "file"
        return f"{self.file}: {case}: key '{self.key or '<root>'}': {self.message}"


class SpecError(Exception):
    """One or more spec files are unusable; `problems` names file, case and key of each."""

    def __init__(self, problems: list[SpecProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


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

    @property
    def expect(self) -> list[dict]:
        """The normative outcome's expectations (what the note states)."""
        return self.normative.expect

    def outcome(self, label: str) -> Outcome | None:
        return next((o for o in self.outcomes if o.label == label), None)

    def pin_for(self, framework: str, version: str | None, components: dict | None = None) -> dict | None:
        """The first pin of `framework` whose version (and component) ranges match, if any."""
        return match_pin(self.pins.get(framework, []), version, components or {})

    def expected_outcome(self, framework: str, version: str | None, components: dict | None = None) -> Outcome:
        """The pinned outcome for framework@version, else the normative one."""
        pin = self.pin_for(framework, version, components)
        return self.outcome(pin["outcome"]) if pin else self.normative

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


class _NoDuplicateKeys:
    """Constructor half shared by both loaders: a mapping may not repeat a key."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    None, None, f"unhashable mapping key {key!r}", key_node.start_mark
                ) from None
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)



class _SafeSpecLoader(_NoDuplicateKeys, yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys and more than MAX_ALIASES aliases."""

    def __init__(self, stream):
        super().__init__(stream)
        self._aliases = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                event = self.peek_event()
                raise yaml.constructor.ConstructorError(
                    None, None, f"more than {MAX_ALIASES} YAML aliases (alias bomb?)", event.start_mark
                )
        return super().compose_node(parent, index)

    def compose_document(self):
        node = super().compose_document()
        distinct, expanded = _node_counts(node)
        if expanded > max(distinct, MAX_EXPANDED_NODES):
            raise yaml.constructor.ConstructorError(
                None, None, f"aliases expand the document to {expanded} nodes; the limit is "
                f"{MAX_EXPANDED_NODES} (alias bomb?)", node.start_mark,
            )
        return node


_FastSpecLoader = None
if getattr(yaml, "__with_libyaml__", False):

    class _FastSpecLoader(_NoDuplicateKeys, yaml.CSafeLoader):  # noqa: N801 - a loader class like yaml's
        """libyaml's safe parser with the same duplicate-key rule, for text without anchors:
        no `&` means no anchor, so no alias can exist and the alias limits have nothing to count."""


def _parse(text: str):
    """The spec text as plain data: libyaml when the text cannot hold an alias, else the
    pure-Python loader that counts aliases (about 8x slower on the kit's specs)."""
    if _FastSpecLoader is not None and "&" not in text:
        return yaml.load(text, Loader=_FastSpecLoader)  # noqa: S506 - a SafeLoader subclass
    return yaml.load(text, Loader=_SafeSpecLoader)  # noqa: S506 - a SafeLoader subclass


def _node_counts(root) -> tuple[int, int]:
    """(distinct nodes, nodes once every alias is expanded) of a composed YAML graph."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack = [(root, False)]
    while stack:
        node, finished = stack.pop()
        children = _children(node)
        if finished:
            sizes[id(node)] = 1 + sum(sizes[id(child)] for child in children)
            on_path.discard(id(node))
            continue
        if id(node) in sizes:
            continue
        on_path.add(id(node))
        stack.append((node, True))
        for child in children:
            if id(child) in on_path:
                raise yaml.constructor.ConstructorError(
                    None, None, "an alias refers to a node that contains it (recursive YAML)", child.start_mark
                )
            if id(child) not in sizes:
                stack.append((child, False))
    return len(sizes), sizes[id(root)]


def _children(node) -> list:
    if isinstance(node, yaml.SequenceNode):
        return node.value
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


@lru_cache(maxsize=1)
def _validator():
    import jsonschema

    text = resources.files("conformance").joinpath("schema/spec.schema.json").read_text("utf-8")
    return jsonschema.Draft202012Validator(json.loads(text))


def discover(paths: list[str]) -> list[str]:
    """Spec files named by `paths` (files, or folders searched recursively), sorted."""
    found = []
    for path in paths:
        if os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    if name.endswith((".yaml", ".yml")) and name not in NOT_SPEC_NAMES:
                        found.append(os.path.join(root, name))
        else:
            found.append(path)
    return sorted(dict.fromkeys(_display_path(p) for p in found))


def _display_path(path: str) -> str:
    rel = os.path.relpath(path)
    return rel if not rel.startswith("..") else os.path.abspath(path)


def spec_digest(files: list[str]) -> str:
    """sha256 over the spec files' names and bytes: equal digests mean equal specs."""
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(_display_path(path).encode())
        with open(path, "rb") as handle:
            digest.update(handle.read())
    return digest.hexdigest()


def _key_path(parts) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def load_file(path: str) -> tuple[list[Case], list[SpecProblem]]:
    """Load one spec file; returns its cases, or the problems that make it unusable."""
    file = _display_path(path)
    try:
        size = os.path.getsize(path)
        if size > MAX_FILE_BYTES:
            return [], [SpecProblem(file, None, "", f"file is {size} bytes; the limit is {MAX_FILE_BYTES}")]
        with open(path, "rb") as handle:
            raw = handle.read()
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [], [SpecProblem(file, None, "", f"cannot read: {exc}")]
    try:
        document = _parse(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        key = f"line {where.line + 1}, column {where.column + 1}" if where else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return [], [SpecProblem(file, None, key, f"invalid YAML: {problem}")]
    except RecursionError:
        return [], [SpecProblem(file, None, "", "invalid YAML: nested too deeply")]
    except Exception as exc:  # noqa: BLE001 - PyYAML's scalar constructors raise bare errors
        # e.g. `!!int ` (IndexError), `!!bool x` (KeyError), 5000 digits or the date 2001-13-45 (ValueError)
        detail = str(exc).splitlines()[0] if str(exc) else ""
        return [], [SpecProblem(file, None, "", f"invalid YAML: cannot construct a value: {type(exc).__name__}: {detail}")]
    if document is None:
        return [], [SpecProblem(file, None, "", "the file is empty; a spec file is a mapping with `topic` and `cases`")]
    return _validate_document(file, document)


def _case_id_at(document, path) -> str | None:
    if len(path) >= 2 and path[0] == "cases" and isinstance(path[1], int):
        try:
            case = document["cases"][path[1]]
            if isinstance(case, dict) and isinstance(case.get("id"), str):
                return case["id"]
        except (KeyError, IndexError, TypeError):
            pass
        return f"#{path[1]}"
    return None


def _validate_document(file: str, document) -> tuple[list[Case], list[SpecProblem]]:
    try:
        errors = sorted(_validator().iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    except RecursionError:
        return [], [SpecProblem(file, None, "", "document is nested too deeply")]
    if errors:
        problems = []
        for error in errors[:20]:
            best = _best_error(error)
            path = list(best.absolute_path) + _unexpected_key(best)
            key = _key_path(path[2:] if path[:1] == ["cases"] and len(path) >= 2 else path)
            problems.append(SpecProblem(file, _case_id_at(document, path), key, _short(best.message)))
        return [], problems
    cases, problems = [], []
    for index, raw in enumerate(document["cases"]):
        case = Case(
            id=raw["id"], file=file, topic=document["topic"], title=raw["title"],
            behaviours=list(raw["behaviours"]), source=dict(raw["source"]), outcomes=outcomes_of(raw),
            model=raw.get("model"), steps=[next(iter(s.items())) for s in raw.get("steps") or []],
            pins=pins_of(raw), timeout_s=raw.get("timeout_s"),
        )
        found = _shape_problems(file, raw) or _semantic_problems(file, case)
        problems.extend(found)
        if not found:
            cases.append(case)
    return cases, problems


def _shape_problems(file: str, raw: dict) -> list[SpecProblem]:
    """What the schema does not say well: `expect` xor `outcomes`, exactly one normative outcome."""
    case_id = raw["id"]
    if ("expect" in raw) == ("outcomes" in raw):
        return [SpecProblem(file, case_id, "expect", "give either `expect` (one outcome) or `outcomes` (two or more)")]
    if "outcomes" in raw:
        normative = [label for label, o in raw["outcomes"].items() if o.get("normative")]
        if len(normative) != 1:
            return [SpecProblem(file, case_id, "outcomes", f"exactly one outcome must be `normative: true`; "
                                                           f"found {normative or 'none'}")]
    return []


def _best_error(error):
    """For oneOf/anyOf failures, descend to the most specific sub-error."""
    import jsonschema

    return jsonschema.exceptions.best_match([error]) if error.context else error


def _unexpected_key(error) -> list[str]:
    """An unknown key is named in the key path too, not only in the message."""
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        extra = [str(k) for k in error.instance if k not in error.schema.get("properties", {})]
        if len(extra) == 1:
            return extra
    return []


def _short(message: str) -> str:
    return message if len(message) <= 300 else message[:297] + "..."


def _semantic_problems(file: str, case: Case) -> list[SpecProblem]:
    problems: list[SpecProblem] = []

    def bad(key, message):
        problems.append(SpecProblem(file, case.id, key, message))

    names: set[str] = set()
    if case.model is not None:
        _check_model(case.model, "model", names, bad)
    for index, (kind, args) in enumerate(case.steps):
        key = f"steps[{index}].{kind}"
        if kind not in STEP_METHODS:
            bad(key, f"unknown step '{kind}'")
        if kind == "compute" and args["fn"] not in COMPUTE_FUNCTIONS:
            bad(f"{key}.fn", f"unknown function '{args['fn']}'; known: {sorted(COMPUTE_FUNCTIONS)}")
        if kind == "probe" and args["name"] not in PROBES:
            bad(f"{key}.name", f"unknown probe '{args['name']}'; known: {sorted(PROBES)}")
        if kind == "load_params" and "model" in args:
            _check_model(args["model"], f"{key}.model", set(), bad)
        for where, generator in _generators(kind, args):
            message = _generator_problem(generator)
            if message:
                bad(f"{key}.{where}", message)
    expectation_lists = [
        ("expect" if len(case.outcomes) == 1 else f"outcomes.{o.label}.expect", o.expect) for o in case.outcomes
    ]
    probe_names = set(PROBES) | {a["as"] for k, a in case.steps if k == "probe" and "as" in a}
    for prefix, expectations in expectation_lists:
        for index, item in enumerate(expectations):
            kind, args = next(iter(item.items()))
            step = args.get("step", args.get("saved_step", args.get("input_step")))
            if isinstance(step, int) and step >= len(case.steps):
                bad(f"{prefix}[{index}].{kind}", f"step {step} does not exist (the case has {len(case.steps)})")
            if kind == "error" and "step" not in args and args["phase"] != "construction":
                bad(f"{prefix}[{index}].error.step", "an error expectation names the step that raises "
                                                     "(only a construction error has none)")
            if kind == "error" and "message" in args:
                try:
                    re.compile(args["message"])
                except (re.error, RecursionError, OverflowError, ValueError) as exc:
                    bad(f"{prefix}[{index}].error.message", f"bad regular expression: {exc}")
            if kind == "error" and args["kind"] not in ERROR_KINDS:
                bad(f"{prefix}[{index}].error.kind", f"unknown error kind '{args['kind']}'; known: {list(ERROR_KINDS)}")
            if kind == "probe" and args["name"] not in probe_names:
                bad(f"{prefix}[{index}].probe.name", f"unknown probe '{args['name']}' (not a probe nor a probe step's `as`)")
            if kind == "values" and len([k for k in args if k in ("param", "grad", "value", "value_grad", "snapshot")]) != 1:
                bad(f"{prefix}[{index}].values", "name exactly one target: param, grad, value, value_grad or snapshot")
            if kind in ("shape", "grad", "device") and len([k for k in args if k in ("param", "value")]) != 1:
                bad(f"{prefix}[{index}].{kind}", "name exactly one of param or value")
            if kind == "param_names" and "pattern" in args:
                try:
                    re.compile(args["pattern"])
                except (re.error, RecursionError, OverflowError, ValueError) as exc:
                    bad(f"{prefix}[{index}].param_names.pattern", f"bad regular expression: {exc}")
    labels = [o.label for o in case.outcomes]
    for framework, pins in case.pins.items():
        if framework not in ADAPTERS:
            bad(f"pins.{framework}", f"unknown framework '{framework}'; known: {sorted(ADAPTERS)}")
        for index, pin in enumerate(pins):
            where = f"pins.{framework}" + (f"[{index}]" if len(pins) > 1 else "")
            if pin["outcome"] not in labels:
                bad(f"{where}.outcome", f"pins outcome '{pin['outcome']}', which the case does not define; "
                                        f"its outcomes: {labels}")
            for key in ("versions",) + PIN_COMPONENTS:
                if key in pin:
                    try:
                        from packaging.specifiers import InvalidSpecifier, SpecifierSet

                        SpecifierSet(pin[key])
                    except InvalidSpecifier:
                        bad(f"{where}.{key}", f"not a PEP 440 version range: {pin[key]!r}")
    return problems


def _generators(kind: str, args: dict):
    """(key, generator) of each input a step generates."""
    if kind == "forward":
        yield "input", args["input"]
    elif kind == "tensor":
        yield "value", args["value"]
    elif kind == "backward" and "head" in args:
        yield "head", args["head"]
    elif kind == "save_tensors":
        value = args["value"]
        if isinstance(value, list):
            yield from ((f"value[{i}]", item) for i, item in enumerate(value))
        elif not any(k in value for k in GENERATOR_KINDS):
            yield from ((f"value.{name}", item) for name, item in value.items())
        else:
            yield "value", value


def _generator_problem(generator: dict) -> str | None:
    """What would make `conformance.inputs.generate` fail on this generator, found before any run."""
    kinds = [k for k in GENERATOR_KINDS if k in generator]
    if len(kinds) != 1:
        return f"a generator names exactly one of {list(GENERATOR_KINDS)}, got {kinds or 'none'}"
    if kinds == ["values"]:
        import numpy as np

        try:
            np.asarray(generator["values"], dtype=np.float64)
        except (ValueError, TypeError, OverflowError):
            return "values must be a rectangular nested list of numbers"
    elif kinds != ["arange"] and math.prod(generator[kinds[0]]) > MAX_INPUT_ELEMENTS:
        return f"{kinds[0]} {generator[kinds[0]]} is more than {MAX_INPUT_ELEMENTS} elements"
    return None


def _check_model(model: dict, key: str, names: set[str], bad) -> None:
    kinds = [k for k in model if k != "as"]
    if len(kinds) != 1:
        bad(key, f"a model names exactly one kind, got {kinds or 'none'}")
        return
    kind = kinds[0]
    if kind == "reuse" and model["reuse"] not in names:
        bad(f"{key}.reuse", f"'{model['reuse']}' is not marked with `as` earlier in the model")
    if kind == "dense" and model["dense"].get("params_from") and model["dense"]["params_from"] not in names:
        bad(f"{key}.dense.params_from", f"'{model['dense']['params_from']}' is not marked with `as` earlier in the model")
    if kind in ("sequential", "my_sequential", "my_sequential_by_object"):
        for index, child in enumerate(model[kind]):
            _check_model(child, f"{key}.{kind}[{index}]", names, bad)
    if kind == "named_sequential":
        for name, child in model[kind].items():
            _check_model(child, f"{key}.{kind}.{name}", names, bad)
    if "as" in model:
        if model["as"] in names:
            bad(f"{key}.as", f"name '{model['as']}' is used twice")
        names.add(model["as"])


def load_specs_tolerant(paths: list[str]) -> tuple[list[Case], list[SpecProblem]]:
    """Load every file; return the good cases and the problems of the bad files."""
    cases: list[Case] = []
    problems: list[SpecProblem] = []
    files = discover(paths)
    for path in files:
        if not os.path.exists(path):
            problems.append(SpecProblem(path, None, "", "no such file"))
            continue
        file_cases, file_problems = load_file(path)
        problems.extend(file_problems)
        cases.extend(file_cases)
    seen: dict[str, str] = {}
    unique = []
    for case in cases:
        if case.id in seen:
            problems.append(SpecProblem(case.file, case.id, "id", f"duplicate id (also in {seen[case.id]})"))
            continue
        seen[case.id] = case.file
        unique.append(case)
    if not files:
        problems.append(SpecProblem(", ".join(paths) or "<none>", None, "", "no spec files found"))
    return unique, problems


def load_specs(paths: list[str]) -> list[Case]:
    """All cases of the spec files under `paths`; raises SpecError if any file is bad."""
    cases, problems = load_specs_tolerant(paths)
    if problems:
        raise SpecError(problems)
    return cases
