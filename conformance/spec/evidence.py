"""Evidence keys: what an expectation needs observed, as typed values with one text form.

Rule: a key is a frozen dataclass; its text (`str(key)`, e.g. "param_value:0.weight") is the
name it has in a program's output and in a results file, and `parse` is its only inverse.
A key says which named values it reads and whether it needs the model, so the runner can
tell "never produced" (an earlier step raised) from "not observed" without parsing strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class Key:
    """One observation. Subclasses set `prefix` and their fields (joined after the prefix)."""

    prefix: ClassVar[str] = ""
    model: ClassVar[bool] = False  # observing it needs the model

    def __str__(self) -> str:
        return self.prefix

    def values(self) -> tuple[str, ...]:
        """The named values this observation reads."""
        return ()

    def needs_model(self) -> bool:
        """Whether observing it needs the model."""
        return self.model


@dataclass(frozen=True)
class ParamPaths(Key):
    """Canonical paths of the parameters the framework lists, in its order, duplicates kept."""

    prefix: ClassVar[str] = "param_paths"
    model: ClassVar[bool] = True


@dataclass(frozen=True)
class TrainablePaths(Key):
    """Canonical paths of the parameters the framework would train, as it lists them
    (Keras' trainable_weights, torch's requires_grad, Gluon's grad_req != 'null')."""

    prefix: ClassVar[str] = "trainable_paths"
    model: ClassVar[bool] = True


@dataclass(frozen=True)
class NativeNames(Key):
    """canonical path -> the framework's own name for that parameter."""

    prefix: ClassVar[str] = "native_names"
    model: ClassVar[bool] = True


@dataclass(frozen=True)
class NativeLayouts(Key):
    """canonical path -> how the framework's layout differs from the canonical one."""

    prefix: ClassVar[str] = "native_layouts"
    model: ClassVar[bool] = True


@dataclass(frozen=True)
class InitCalls(Key):
    """The custom initializer's calls: [{name, shape, step}]."""

    prefix: ClassVar[str] = "init_calls"


@dataclass(frozen=True)
class AllParams(Key):
    """canonical path -> values, for every listed parameter."""

    prefix: ClassVar[str] = "all_params"
    model: ClassVar[bool] = True


@dataclass(frozen=True)
class _Path(Key):
    path: str
    model: ClassVar[bool] = True

    def __str__(self) -> str:
        return f"{self.prefix}:{self.path}"


class ParamShape(_Path):
    prefix: ClassVar[str] = "param_shape"


class ParamValue(_Path):
    prefix: ClassVar[str] = "param_value"


class ParamGrad(_Path):
    prefix: ClassVar[str] = "param_grad"


class UntiedGrad(_Path):
    """The gradient one use of a shared parameter gets in an untied copy of the model."""

    prefix: ClassVar[str] = "untied_grad"


@dataclass(frozen=True)
class _Named(Key):
    name: str

    def __str__(self) -> str:
        return f"{self.prefix}:{self.name}"


class Value(_Named):
    prefix: ClassVar[str] = "value"

    def values(self) -> tuple[str, ...]:
        return (self.name,)


class ValueGrad(_Named):
    prefix: ClassVar[str] = "value_grad"

    def values(self) -> tuple[str, ...]:
        return (self.name,)


class Probe(_Named):
    prefix: ClassVar[str] = "probe"


class Snapshot(_Named):
    prefix: ClassVar[str] = "snapshot"


@dataclass(frozen=True)
class Input(Key):
    """The input a step generated (the kit makes it from the spec; never observed)."""

    step: int
    prefix: ClassVar[str] = "input"

    def __str__(self) -> str:
        return f"input:{self.step}"


@dataclass(frozen=True)
class SameStorage(Key):
    """Whether two parameters (`what` "param") or two values ("value") share one storage."""

    what: str
    a: str
    b: str
    prefix: ClassVar[str] = "same_storage"

    def __str__(self) -> str:
        return f"same_storage:{self.what}:{self.a}|{self.b}"

    def needs_model(self) -> bool:
        return self.what == "param"

    def values(self) -> tuple[str, ...]:
        return (self.a, self.b) if self.what == "value" else ()


@dataclass(frozen=True)
class DeviceOf(Key):
    """Where a parameter (`what` "param") or a value lives."""

    what: str
    name: str
    prefix: ClassVar[str] = "device"

    def __str__(self) -> str:
        return f"device:{self.what}:{self.name}"

    def needs_model(self) -> bool:
        return self.what == "param"

    def values(self) -> tuple[str, ...]:
        return (self.name,) if self.what == "value" else ()


_SIMPLE = {cls.prefix: cls for cls in (ParamPaths, TrainablePaths, NativeNames, NativeLayouts, InitCalls, AllParams)}
_ONE_ARG = {cls.prefix: cls for cls in (ParamShape, ParamValue, ParamGrad, UntiedGrad, Value, ValueGrad, Probe,
                                        Snapshot)}


def parse(text: str) -> Key:
    """The key whose text is `text`; ValueError for anything else."""
    prefix, sep, rest = text.partition(":")
    if not sep and prefix in _SIMPLE:
        return _SIMPLE[prefix]()
    if sep and prefix in _ONE_ARG and rest:
        return _ONE_ARG[prefix](rest)
    if prefix == "input" and rest.lstrip("-").isdigit():
        return Input(int(rest))
    if prefix in ("same_storage", "device") and sep:
        what, _, name = rest.partition(":")
        if what in ("param", "value") and name:
            if prefix == "device":
                return DeviceOf(what, name)
            a, bar, b = name.partition("|")
            if bar and a and b:
                return SameStorage(what, a, b)
    raise ValueError(f"not an evidence key: {text!r}")
