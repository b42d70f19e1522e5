"""Block and Sequential (Gluon semantics): children and parameters register themselves
when assigned as attributes, so initialize() and collect_params() find them.

Assigning a Block or Parameter before `Block.__init__` ran raises MissingSuperInitError.
Blocks kept in a plain list/dict are NOT registered (a warning says so). A block used
in two places is one object: its parameters are shared and collected once.
"""

from __future__ import annotations

import warnings
from collections import OrderedDict

import numpy as np

from . import init as initializers
from . import naming
from .errors import MissingSuperInitError
from .parameter import Parameter, ParameterDict, shape_is_known


def _indent(text: str, spaces: int) -> str:
    lines = text.split("\n")
    return "\n".join([lines[0]] + [" " * spaces + line for line in lines[1:]])


class Block:
    def __init__(self, prefix: str | None = None, params: ParameterDict | None = None):
        object.__setattr__(self, "_children", OrderedDict())
        object.__setattr__(self, "_reg_params", OrderedDict())
        if params is not None:
            prefix = params.prefix  # share: look the same names up in the given dict
        self._prefix = prefix if prefix is not None else naming.next_prefix(self._alias())
        self._params = ParameterDict(self._prefix, shared=params)

    def _alias(self) -> str:
        return type(self).__name__.lower()

    @property
    def prefix(self) -> str:
        return self._prefix

    @property
    def name(self) -> str:
        return self._prefix.removesuffix("_")

    @property
    def params(self) -> ParameterDict:
        """This block's own parameters (not its children's)."""
        return self._params

    # -- registration --------------------------------------------------------
    def __setattr__(self, name, value):
        if isinstance(value, (Block, Parameter)):
            if "_children" not in self.__dict__:
                raise MissingSuperInitError(
                    f"'{type(self).__name__}' object has no attribute '_children': "
                    f"Block.__init__ has not run, so '{name}' cannot be registered. "
                    f"Call super().__init__() first in {type(self).__name__}.__init__."
                )
            if isinstance(value, Block):
                self.register_child(value, name)
            else:
                self._reg_params[name] = value
        elif _holds_blocks(value):
            warnings.warn(
                f"'{name}' is an unregistered container with Blocks. Blocks inside a list, "
                "tuple or dict are not registered automatically: their parameters are not "
                "collected or initialized. Use register_child() or nn.Sequential instead.",
                stacklevel=2,
            )
        object.__setattr__(self, name, value)

    def register_child(self, block: Block, name: str | None = None) -> None:
        if name is None:
            name = str(len(self._children))
        self._children[name] = block

    # -- parameters ----------------------------------------------------------
    def collect_params(self, select: str | None = None) -> ParameterDict:
        """Every parameter of this block and its descendants, once each, by native name."""
        collected = ParameterDict(self._prefix)
        seen: set[int] = set()

        def visit(block: Block):
            own = list(block._params.values()) + list(block._reg_params.values())
            for param in own:
                if id(param) not in seen:
                    seen.add(id(param))
                    collected._params[param.name] = param
            for child in block._children.values():
                visit(child)

        visit(self)
        if select is None:
            return collected
        return collected.select(select)

    def _collect_params_with_prefix(self, prefix: str = "") -> OrderedDict:
        """Structural path -> Parameter ("0.weight", "hidden.bias"); shared ones appear
        under every path they are reached by. Children registered under something other
        than a name (note 001's `self._modules[block] = block`) are numbered by position."""
        if prefix:
            prefix += "."
        found = OrderedDict((prefix + key, p) for key, p in self._reg_params.items())
        for index, (name, child) in enumerate(self._children.items()):
            found.update(child._collect_params_with_prefix(prefix + (name if isinstance(name, str) else str(index))))
        return found

    def initialize(
        self,
        init=None,
        device=None,
        verbose=False,
        force_reinit=False,
        seed: int | None = None,
        rng: np.random.Generator | None = None,
    ) -> None:
        """Initialize every collected parameter (deferred ones at the first forward)."""
        if rng is None and seed is not None:
            rng = np.random.default_rng(seed)
        self.collect_params().initialize(
            initializers.create(init), device, verbose, force_reinit, rng
        )

    def save_parameters(self, filename: str) -> None:
        from . import serialization

        serialization.save_parameters(self, filename)

    def load_parameters(
        self, filename: str, device=None, allow_missing=False, ignore_extra=False
    ) -> None:
        from . import serialization

        serialization.load_parameters(self, filename, device, allow_missing, ignore_extra)

    def save_params(self, filename: str) -> None:
        """The pre-1.3 name (note 002): every parameter under its native name, this block's
        prefix stripped (dense0_weight -> weight)."""
        from . import serialization

        serialization.save_params(self, filename)

    def load_params(self, filename: str, device=None, allow_missing=False, ignore_extra=False) -> None:
        """The pre-1.3 name (note 002): a file of save_params is loaded by native name, this
        block's prefix put back; a file of save_parameters as load_parameters loads it."""
        from . import serialization

        serialization.load_params(self, filename, device, allow_missing, ignore_extra)

    # -- computing -----------------------------------------------------------
    def __call__(self, *args):
        if hasattr(self, "infer_shape") and any(p.is_deferred and not shape_is_known(p.shape)
                                                for p in self._reg_params.values()):
            # Gluon 2's hook: a block whose own parameters wait for a shape sets it from the input.
            self.infer_shape(*args)
            for param in self._reg_params.values():
                if param.is_deferred and shape_is_known(param.shape):
                    param._finish_deferred_init()
        return self.forward(*args)

    def forward(self, *args):
        raise NotImplementedError(f"{type(self).__name__} must implement forward")

    def __repr__(self) -> str:
        if not self._children:
            return f"{type(self).__name__}()"
        lines = [f"  ({key}): {_indent(repr(child), 2)}" for key, child in self._children.items()]
        return f"{type(self).__name__}(\n" + "\n".join(lines) + "\n)"


def _holds_blocks(value) -> bool:
    if isinstance(value, (list, tuple)):
        return any(isinstance(v, Block) for v in value)
    if isinstance(value, dict):
        return any(isinstance(v, Block) for v in value.values())
    return False


class Sequential(Block):
    """Runs its children in the order they were added; children are named "0", "1", ..."""

    def add(self, *blocks: Block) -> Sequential:
        for block in blocks:
            self.register_child(block)
        return self

    def forward(self, x):
        for block in self._children.values():
            x = block(x)
        return x

    def __getitem__(self, index):
        children = list(self._children.values())
        if isinstance(index, slice):
            return Sequential(prefix=self._prefix).add(*children[index])
        return children[index]

    def __len__(self) -> int:
        return len(self._children)
