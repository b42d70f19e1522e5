"""Spec loading: safe YAML in, validated `Case` objects out, or a `SpecProblem` naming file, case and key.

Rule: nothing from a spec is evaluated. Text goes through `safe_yaml`; every document is
checked against the schema built from the declarations (`spec.schema`), then against the
rules a schema cannot state, which each kind declares itself (an expectation's `problems`)
or which span a case (one model kind per model, `reuse` of a known name, known function and
probe names, PEP 440 ranges, unique ids, input sizes). Any failure becomes a `SpecProblem`;
no traceback leaks out.
"""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass
from functools import lru_cache

import yaml

from conformance.inputs import GENERATOR_KINDS
from conformance.spec import safe_yaml
from conformance.spec.case import Case, outcomes_of, pins_of
from conformance.spec.expectations import EXPECTATIONS
from conformance.spec.vocabulary import (
    COMPUTE_FUNCTIONS,
    MODEL_KINDS,
    PIN_COMPONENTS,
    PROBES,
    STEPS,
    model_kind,
)

MAX_FILE_BYTES = 1_000_000
MAX_INPUT_ELEMENTS = 10_000_000  # per generated input array
CATALOGUE_NAME = "catalogue.yaml"
CLAIMS_NAME = "claims.yaml"  # the claims ledger (conformance.claims), not a spec file
NOT_SPEC_NAMES = (CATALOGUE_NAME, CLAIMS_NAME)


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


@lru_cache(maxsize=1)
def _validator():
    import jsonschema

    from conformance.spec.schema import spec_schema

    return jsonschema.Draft202012Validator(spec_schema())


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


class _TooBig(Exception):
    pass


def _read_regular(path: str) -> bytes:
    """A spec file's bytes: only a regular file (never a FIFO, a device or a socket, which could
    block or never end), and never more than MAX_FILE_BYTES of it."""
    import stat

    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)  # a FIFO opens without waiting for a writer
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _TooBig("not a regular file (a FIFO, device or socket is never read)")
        if info.st_size > MAX_FILE_BYTES:
            raise _TooBig(f"file is {info.st_size} bytes; the limit is {MAX_FILE_BYTES}")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
        if len(raw) > MAX_FILE_BYTES:
            raise _TooBig(f"file is more than {MAX_FILE_BYTES} bytes; the limit is {MAX_FILE_BYTES}")
        return raw
    finally:
        os.close(fd)


def load_file(path: str) -> tuple[list[Case], list[SpecProblem]]:
    """Load one spec file; returns its cases, or the problems that make it unusable."""
    file = _display_path(path)
    try:
        raw = _read_regular(path)
        text = raw.decode("utf-8")
    except _TooBig as exc:
        return [], [SpecProblem(file, None, "", str(exc))]
    except (OSError, UnicodeDecodeError) as exc:
        return [], [SpecProblem(file, None, "", f"cannot read: {exc}")]
    try:
        document = safe_yaml.parse(text)
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
    for raw in document["cases"]:
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
    from conformance.adapters import ADAPTERS

    problems: list[SpecProblem] = []

    def bad(key, message):
        problems.append(SpecProblem(file, case.id, key, message))

    names: set[str] = set()
    if case.model is not None:
        _check_model(case.model, "model", names, bad)
    for index, (kind, args) in enumerate(case.steps):
        key = f"steps[{index}].{kind}"
        if kind not in STEPS:
            bad(key, f"unknown step '{kind}'")
            continue
        if kind == "compute" and args["fn"] not in COMPUTE_FUNCTIONS:
            bad(f"{key}.fn", f"unknown function '{args['fn']}'; known: {sorted(COMPUTE_FUNCTIONS)}")
        if kind == "probe" and args["name"] not in PROBES:
            bad(f"{key}.name", f"unknown probe '{args['name']}'; known: {sorted(PROBES)}")
        if kind == "load_params" and "model" in args:
            _check_model(args["model"], f"{key}.model", set(), bad)
        for where, generator in generators(kind, args):
            message = _generator_problem(generator)
            if message:
                bad(f"{key}.{where}", message)
        if kind == "random" and "shape" in args and math.prod(args["shape"]) > MAX_INPUT_ELEMENTS:
            bad(f"{key}.shape", f"shape {args['shape']} is more than {MAX_INPUT_ELEMENTS} elements")
    for outcome in case.outcomes:
        prefix = "expect" if len(case.outcomes) == 1 else f"outcomes.{outcome.label}.expect"
        for index, item in enumerate(outcome.expect):
            kind, args = next(iter(item.items()))
            for sub, message in EXPECTATIONS[kind](args).problems(case):
                bad(f"{prefix}[{index}].{kind}" + (f".{sub}" if sub else ""), message)
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
                    from packaging.specifiers import InvalidSpecifier, SpecifierSet

                    try:
                        SpecifierSet(pin[key])
                    except InvalidSpecifier:
                        bad(f"{where}.{key}", f"not a PEP 440 version range: {pin[key]!r}")
    return problems


def generators(kind: str, args: dict):
    """(key, generator) of each input a step generates (its kind's `generated` arguments)."""
    for name in STEPS[kind].generated:
        if name not in args:
            continue
        value = args[name]
        if not STEPS[kind].nested:
            yield name, value
        elif isinstance(value, list):
            yield from ((f"{name}[{i}]", item) for i, item in enumerate(value))
        elif isinstance(value, dict) and not any(k in value for k in GENERATOR_KINDS):
            yield from ((f"{name}.{key}", item) for key, item in value.items())
        else:
            yield name, value


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
    kind = model_kind(model)
    for where, shape in _model_shapes(kind, model[kind]):
        if math.prod(shape) > MAX_INPUT_ELEMENTS:
            bad(f"{key}.{kind}.{where}", f"{list(shape)} is more than {MAX_INPUT_ELEMENTS} elements")
    if kind == "reuse" and model["reuse"] not in names:
        bad(f"{key}.reuse", f"'{model['reuse']}' is not marked with `as` earlier in the model")
    if kind == "dense" and model["dense"].get("params_from") and model["dense"]["params_from"] not in names:
        bad(f"{key}.dense.params_from", f"'{model['dense']['params_from']}' is not marked with `as` earlier in the model")
    holds = MODEL_KINDS[kind].children
    if holds == "list":
        for index, child in enumerate(model[kind]):
            _check_model(child, f"{key}.{kind}[{index}]", names, bad)
    elif holds == "named":
        for name, child in model[kind].items():
            _check_model(child, f"{key}.{kind}.{name}", names, bad)
    if "as" in model:
        if model["as"] in names:
            bad(f"{key}.as", f"name '{model['as']}' is used twice")
        names.add(model["as"])


def _model_shapes(kind: str, args) -> list[tuple[str, tuple]]:
    """(key, shape) of the arrays a model node asks the framework to allocate up front."""
    if kind in ("dense", "my_dense") and isinstance(args, dict):
        units, in_units = args.get("units", 1), args.get("in_units") or 1
        return [("units", (units, in_units))]
    if kind == "param_dict" and isinstance(args, dict):
        return [(f"params.{name}", tuple(shape)) for name, shape in (args.get("params") or {}).items()]
    return []


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
