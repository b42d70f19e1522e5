"""Expectation kinds, one class each: its schema, its validation, what it needs observed, its check.

Rule: everything the kit knows about an expectation kind lives in its class. `problems`
finds what the schema cannot say (before any run), `needs` names the evidence keys to
observe, `check` judges the observed evidence and returns results that say what was
expected and what was observed. Every framework is judged by this same code. The classes
live by family; this module is their registry (`EXPECTATIONS`, `expectation()`):

    base         the Expectation base class, and the schema parts and validators kinds share
    observed     an observed value, shape, gradient, listing, storage, device or init call
    errors       what a step raised or warned
    recomputed   what NumPy recomputes: the model's output, untied gradients, a round trip
    probes       what one of the notes' snippets returned or printed
"""

from __future__ import annotations

from conformance.spec.expectations.base import Expectation
from conformance.spec.expectations.errors import ErrorExpected, NoError, NoWarning, Warning_
from conformance.spec.expectations.observed import (
    Device,
    DistinctStorage,
    Grad,
    InitCalls_,
    ParamNames,
    SameStorage_,
    Shape,
    Values,
)
from conformance.spec.expectations.probes import ProbeResult
from conformance.spec.expectations.recomputed import (
    GradEqualsUntiedSum,
    OutputMatchesManual,
    Roundtrip,
)

EXPECTATIONS: dict[str, type[Expectation]] = {cls.kind: cls for cls in (
    Shape, Values, Grad, SameStorage_, DistinctStorage, ParamNames, ErrorExpected, NoError, Warning_, NoWarning,
    Device, InitCalls_, OutputMatchesManual, GradEqualsUntiedSum, Roundtrip, ProbeResult,
)}


def expectation(item: dict) -> Expectation:
    """The Expectation of a one-key mapping such as {"shape": {...}}."""
    kind, args = next(iter(item.items()))
    return EXPECTATIONS[kind](args)


__all__ = ["EXPECTATIONS", "Expectation", "expectation"]
