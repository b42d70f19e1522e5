"""Framework mutants: realistic behaviour changes planted in a real framework, one at a time.

Rule: each catalogue module (`torch`, `tensorflow_keras3`, `tensorflow_keras2`, `mxnet`, `jax`,
`paddle`) holds `MUTANTS: dict[str, Mutant]`. A mutant imitates a change a framework release
really made or could make (its `imitates` says which, with a pointer to the changelog, issue,
pull request or documentation line). `apply()` monkeypatches the framework already importable
in this process (call it after `import <framework>` and before any user code); it is
idempotent (a patch marks what it replaced, so a second `apply()` changes nothing more).
`demo()` is a few lines of plain framework code that return a small JSON-able value showing the
behaviour the mutant changes: run in a fresh process with and without `apply()`, the two values
differ (`tests/test_framework_mutants.py`). Nothing here imports the kit, and importing a
catalogue imports no framework (its functions do).

Load a catalogue with `load_catalogue(catalogue_name(framework, keras_version))`, or import
`framework_mutants.torch` with the tests folder on `sys.path`; a catalogue module loaded by file
path (spec_from_file_location) puts the tests folder on `sys.path` itself to find this module.
A mutant outside its `versions` (or `keras`) range must not be applied (`Mutant.applies_to`).
The TensorFlow catalogues also have `prepare()`, for their demos only: it splits the CPU into two
logical devices as the kit's adapter does, and raises if TensorFlow's runtime has already started
(a mutant's `apply()` never starts it, so a worker forked from the zygote stays safe).
"""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# catalogue module -> the kit's name of the framework it patches (a key of ADAPTERS)
CATALOGUES = {
    "torch": "torch",
    "tensorflow_keras3": "tensorflow",
    "tensorflow_keras2": "tensorflow",
    "mxnet": "mxnet",
    "jax": "jax",
    "paddle": "paddle",
}

_MARK = "__framework_mutant__"


@dataclass(frozen=True)
class Mutant:
    """One planted behaviour change.

    `versions`: PEP 440 range on the framework's version where the mutant applies (None: every
    version the kit runs); `keras`: the same on the Keras version, for TensorFlow columns.
    Outside its ranges `apply()` must not be called (the framework lacks what it patches, or
    already behaves that way)."""

    name: str
    imitates: str
    apply: Callable[[], None]
    demo: Callable[[], Any]
    versions: str | None = None
    keras: str | None = None

    def applies_to(self, version: str, keras_version: str | None = None) -> bool:
        from packaging.specifiers import SpecifierSet
        from packaging.version import Version

        def inside(spec: str | None, ver: str | None) -> bool:
            if spec is None:
                return True
            if ver is None:
                return False
            return Version(Version(ver).base_version) in SpecifierSet(spec)

        return inside(self.versions, version) and inside(self.keras, keras_version)


def catalogue(*mutants: Mutant) -> dict[str, Mutant]:
    out: dict[str, Mutant] = {}
    for mutant in mutants:
        if mutant.name in out:
            raise ValueError(f"two mutants named {mutant.name!r}")
        out[mutant.name] = mutant
    return out


def mutant(name: str, imitates: str, demo: Callable[[], Any], versions: str | None = None,
           keras: str | None = None):
    """Decorator form: `@mutant(name, imitates, demo)` over the apply function."""

    def wrap(apply: Callable[[], None]) -> Mutant:
        return Mutant(name=name, imitates=" ".join(imitates.split()), apply=apply, demo=demo,
                      versions=versions, keras=keras)

    return wrap


# -- patching helpers (idempotent: each replacement carries a mark naming its mutant) ------------
def is_patched(owner, attr: str, name: str) -> bool:
    current = owner.__dict__.get(attr) if hasattr(owner, "__dict__") else getattr(owner, attr, None)
    return name in _marks(current)


def _unwrap(value):
    """The function that carries a mark: a static/class method's function, a property's getter."""
    if isinstance(value, (staticmethod, classmethod)):
        return value.__func__
    if isinstance(value, property):
        return value.fget
    return value


def _marks(value) -> set:
    """Names of the mutants whose patches are stacked in `value` (following __wrapped__)."""
    found, seen = set(), set()
    value = _unwrap(value)
    while value is not None and id(value) not in seen:
        seen.add(id(value))
        mark = getattr(value, _MARK, None)
        if mark:
            found.add(mark)
        value = _unwrap(getattr(value, "__wrapped__", None) or getattr(value, "__framework_mutant_original__", None))
    return found


def replace(owner, attr: str, name: str, make: Callable[[Any], Any]) -> None:
    """`owner.attr = make(original)`, once per mutant (a second call is a no-op).

    `make` gets the attribute as `getattr` reads it (a function for a method) and returns the
    replacement, which is marked with the mutant's name."""
    if is_patched(owner, attr, name):
        return
    raw = owner.__dict__.get(attr) if hasattr(owner, "__dict__") else None
    original = getattr(owner, attr, None)  # None: nothing to replace (the patch adds it)
    new = make(original)
    target = _unwrap(new)
    try:
        setattr(target, _MARK, name)
        target.__framework_mutant_original__ = original
    except (AttributeError, TypeError):
        pass
    if isinstance(raw, staticmethod) and not isinstance(new, staticmethod):
        new = staticmethod(new)
    elif isinstance(raw, classmethod) and not isinstance(new, classmethod):
        new = classmethod(new)
    setattr(owner, attr, new)


def wrap_function(owner, attr: str, name: str, wrapper: Callable[..., Any]) -> None:
    """Replace `owner.attr` with `wrapper(original, *args, **kwargs)` (functools.wraps kept)."""

    def make(original):
        @functools.wraps(original)
        def patched(*args, **kwargs):
            return wrapper(original, *args, **kwargs)

        try:  # introspection that does not follow __wrapped__ (getfullargspec) sees the original
            patched.__signature__ = inspect.signature(original)
        except (TypeError, ValueError):
            pass
        return patched

    replace(owner, attr, name, make)


# -- loading --------------------------------------------------------------------------------
def load_catalogue(module: str) -> dict[str, Mutant]:
    """`MUTANTS` of one catalogue module (`torch`, `tensorflow_keras3`, ...)."""
    if module not in CATALOGUES:
        raise KeyError(f"no framework-mutant catalogue {module!r}; there are {sorted(CATALOGUES)}")
    return importlib.import_module(f"{__name__}.{module}").MUTANTS


def catalogue_name(framework: str, keras_version: str | None = None) -> str:
    """The catalogue for a column: the kit's framework name, and for TensorFlow the column's
    Keras version (`components["keras"]`): Keras 3 -> tensorflow_keras3, Keras 2 -> _keras2."""
    if framework == "tensorflow":
        if keras_version is None:
            raise ValueError("a TensorFlow column needs its Keras version to pick a catalogue")
        return "tensorflow_keras3" if int(keras_version.split(".")[0]) >= 3 else "tensorflow_keras2"
    if framework not in CATALOGUES.values():
        raise KeyError(f"no framework-mutant catalogue for {framework!r}")
    return framework
