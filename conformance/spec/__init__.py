"""The spec language: its vocabulary, declared once, and the loading of spec files.

    vocabulary     step, model, initializer, compute, probe and error kinds
    expectations   expectation kinds, one class each (schema, problems, needs, check)
    evidence       typed evidence keys
    case           Case, Outcome, pins and their resolution
    schema         the JSON Schema, assembled from the declarations
    safe_yaml      safe reading of YAML text
    loader         files -> validated cases, or problems naming file, case and key
"""

from conformance.spec.case import Case, Outcome, Resolution, match_pin
from conformance.spec.loader import (
    NOT_SPEC_NAMES,
    SpecError,
    SpecProblem,
    discover,
    load_file,
    load_specs,
    load_specs_tolerant,
    spec_digest,
)

__all__ = [
    "NOT_SPEC_NAMES",
    "Case",
    "Outcome",
    "Resolution",
    "SpecError",
    "SpecProblem",
    "discover",
    "load_file",
    "load_specs",
    "load_specs_tolerant",
    "match_pin",
    "spec_digest",
]
