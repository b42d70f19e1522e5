"""The JSON Schema of a spec file, built from the declarations (never written by hand).

Rule: each step, model, initializer and expectation kind contributes the schema of its
arguments from its one declaration (`vocabulary`, `expectations`); this module only
assembles them with the shared parts (generators, shapes, targets, the case, pins).
`conformance schema` prints it.
"""

from __future__ import annotations

from functools import lru_cache

from conformance.spec.expectations import EXPECTATIONS
from conformance.spec.vocabulary import INIT_KINDS, MODEL_KINDS, NAME, NUMBER, PATH, STEPS, obj

_PIN = obj({"outcome": {"type": "string", "pattern": "^[a-z][a-z0-9-]*\\Z"}, "versions": {"type": "string"},
            "keras": {"type": "string"},
            "evidence": obj({"doc": {"type": "string", "minLength": 1}, "observed": {"type": "string", "minLength": 1},
                             "note_says": {"type": "string", "minLength": 1}},
                            anyOf=[{"required": ["doc"]}, {"required": ["observed"]}])},
           ["outcome", "evidence"])
_EXPECT_LIST = {"type": "array", "items": {"$ref": "#/$defs/expectation"}, "maxItems": 200}

_CASE = obj({
    "id": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]*\\Z", "maxLength": 100},
    "title": {"type": "string", "minLength": 1, "maxLength": 300},
    "behaviours": {"type": "array", "items": {"type": "string", "pattern": "^[A-Z]{2}[0-9]+\\Z"}, "minItems": 1},
    "source": obj({"note": {"type": "string"}, "section": {"type": "string"},
                   "claim": {"type": "string", "minLength": 1}}, ["note", "section", "claim"]),
    "model": {"$ref": "#/$defs/model"},
    "steps": {"type": "array", "items": {"$ref": "#/$defs/step"}, "maxItems": 200},
    "expect": _EXPECT_LIST,
    "timeout_s": {"type": "number", "exclusiveMinimum": 0, "maximum": 3600},
    "outcomes": {"type": "object", "propertyNames": {"type": "string", "pattern": "^[a-z][a-z0-9-]*\\Z", "maxLength": 40},
                 "minProperties": 2, "maxProperties": 12,
                 "additionalProperties": obj({"normative": {"type": "boolean"},
                                              "says": {"type": "string", "minLength": 1, "maxLength": 300},
                                              "expect": _EXPECT_LIST}, ["says", "expect"])},
    "pins": {"type": "object", "propertyNames": {"type": "string", "pattern": "^[a-z][a-z0-9_]*\\Z"},
             "additionalProperties": {"oneOf": [_PIN, {"type": "array", "items": _PIN, "minItems": 1,
                                                       "maxItems": 20}]}},
}, ["id", "title", "behaviours", "source"])

_SHAPE_REF = {"$ref": "#/$defs/shape"}
_GEN = obj({"uniform": _SHAPE_REF, "normal": _SHAPE_REF, "ones": _SHAPE_REF, "zeros": _SHAPE_REF,
            "arange": {"type": "integer", "minimum": 1, "maximum": 1000000},
            "values": {"type": "array", "maxItems": 10000}, "low": NUMBER, "high": NUMBER, "mean": NUMBER,
            "std": NUMBER, "seed": {"type": "integer", "minimum": 0},
            "dtype": {"enum": ["float32", "float64", "int32", "int64"]}})
_TARGET = obj({"param": PATH, "grad": PATH, "value": NAME, "value_grad": NAME,
               "snapshot": {"type": "array", "minItems": 2, "maxItems": 2, "prefixItems": [NAME, PATH],
                            "items": False}}, minProperties=1, maxProperties=1)


def _one_key(kinds: dict, **extra) -> dict:
    """A mapping with exactly one of `kinds` (kind -> schema of its arguments) as its key."""
    return dict({"type": "object", "properties": dict(kinds), "additionalProperties": False,
                 "minProperties": 1, "maxProperties": 1}, **extra)


@lru_cache(maxsize=1)
def spec_schema() -> dict:
    """The schema every spec file is validated against."""
    model = {"type": "object", "additionalProperties": False, "minProperties": 1,
             "properties": {"as": NAME, **{name: kind.schema for name, kind in MODEL_KINDS.items()}}}
    init = {"oneOf": [{"const": "default"}, _one_key(INIT_KINDS)]}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "conformance-spec/1",
        "title": "Conformance spec file",
        "type": "object",
        "additionalProperties": False,
        "required": ["topic", "cases"],
        "properties": {"topic": {"type": "string", "minLength": 1},
                       "cases": {"type": "array", "items": {"$ref": "#/$defs/case"}, "minItems": 1, "maxItems": 1000}},
        "$defs": {
            "gen": _GEN,
            "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}, "maxItems": 8},
            "init": init,
            "model": model,
            "step": _one_key({name: kind.schema for name, kind in STEPS.items()}),
            "target": _TARGET,
            "expectation": _one_key({name: cls.schema for name, cls in EXPECTATIONS.items()}),
            "case": _CASE,
        },
    }
