"""The reference framework's own exception classes: one class per failure it reports.

Each message names what went wrong and what to do, as Gluon's messages do. The
classes also derive from the closest built-in exception so plain `except` clauses
written for Gluon (RuntimeError, ValueError, AttributeError) keep working.
"""

from __future__ import annotations


class ReferenceFrameworkError(Exception):
    """Base of every error the reference raises on purpose."""


class NotInitializedError(ReferenceFrameworkError, RuntimeError):
    """A parameter's data was read before it was initialized."""


class DeferredInitializationError(NotInitializedError):
    """A parameter's shape is not known yet; it will be initialized at the first forward."""


class MissingSuperInitError(ReferenceFrameworkError, AttributeError):
    """A sublayer or parameter was assigned before Block.__init__ ran."""


class ShapeMismatchError(ReferenceFrameworkError, ValueError):
    """Operand or parameter shapes do not fit."""


class DeviceMismatchError(ReferenceFrameworkError, ValueError):
    """Operands live on two different devices."""


class GraphFreedError(ReferenceFrameworkError, RuntimeError):
    """backward() through a graph that an earlier backward() already freed."""


class NotInGraphError(ReferenceFrameworkError, RuntimeError):
    """backward() on a value that was not computed inside autograd.record()."""


class InplaceInRecordingError(ReferenceFrameworkError, RuntimeError):
    """An in-place write to an array that takes part in a recording."""


class LoadMismatchError(ReferenceFrameworkError, ValueError):
    """A parameter file does not fit the model it is loaded into."""


class LoadShapeMismatchError(LoadMismatchError, ShapeMismatchError):
    """A parameter in the file has the right name but another shape."""


class UnsafeFileError(ReferenceFrameworkError, ValueError):
    """A file that would need pickle (object arrays) or is not a reference file."""


class NoGradientError(ReferenceFrameworkError, RuntimeError):
    """A gradient was asked for where none is attached."""
