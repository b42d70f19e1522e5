"""Reverse-mode autograd over Tensors (micrograd style), with MXNet's recording rules.

Ops run inside `record()` attach a `Node` (parents + a `_backward` closure) to their
output. `backward()` sorts the graph topologically, runs the closures in reverse,
sums the gradient of a value used twice, and WRITES (overwrites) the gradient of
every attached leaf (MXNet's default grad_req='write'). A non-scalar without a head
gradient is summed implicitly. Without `retain_graph` the graph is freed, and a
second backward through it raises GraphFreedError.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from .errors import GraphFreedError, InplaceInRecordingError, NotInGraphError, ShapeMismatchError

_recording = False
_training = False


def is_recording() -> bool:
    return _recording


def is_training() -> bool:
    return _training


@contextmanager
def _scope(recording: bool, training: bool):
    global _recording, _training
    saved = (_recording, _training)
    _recording, _training = recording, training
    try:
        yield
    finally:
        _recording, _training = saved


def record(train_mode: bool = True):
    """Record ops for backward; switches to training mode unless train_mode=False."""
    return _scope(True, train_mode)


def pause(train_mode: bool = False):
    """Stop recording inside a record() block."""
    return _scope(False, train_mode)


def train_mode():
    """Training mode (dropout active) without changing whether ops are recorded."""
    return _scope(_recording, True)


def predict_mode():
    return _scope(_recording, False)


class Node:
    """How a recorded value was made: its parents and the closure giving their grads."""

    __slots__ = ("backward", "freed", "op", "parents")

    def __init__(self, op: str, parents, backward):
        self.op = op
        self.parents = tuple(parents)
        self.backward = backward  # grad of the output -> tuple of parent grads (or None)
        self.freed = False


def in_graph(tensor) -> bool:
    """A tensor takes part in recording: a recorded result or a leaf with a gradient."""
    return tensor._node is not None or tensor._grad is not None


def check_inplace_write(tensor) -> None:
    """MXNet's rule: inside record(), an array that takes part in the graph is read-only."""
    if _recording and in_graph(tensor):
        raise InplaceInRecordingError(
            "in-place write to an array that is part of a recording: assigning to arrays that "
            "are already in a computational graph would make gradients wrong. Call backward "
            "first or write outside autograd.record(); in-place ops (x[:] = ..., +=) are not "
            "allowed inside a record section."
        )


def _graph_freed_error(tensor) -> GraphFreedError:
    op = tensor._node.op if tensor._node is not None else "value"
    return GraphFreedError(
        f"graph freed: the graph through '{op}' was already used by a backward() and freed. "
        "To differentiate the same graph twice, pass retain_graph=True to the first backward()."
    )


def _topological_order(root) -> list:
    """Every tensor reachable from root, each after all of its parents."""
    order, seen = [], set()
    stack = [(root, False)]
    while stack:
        tensor, expanded = stack.pop()
        if expanded:
            order.append(tensor)
            continue
        if id(tensor) in seen:
            continue
        seen.add(id(tensor))
        node = tensor._node
        if node is not None and node.freed:
            raise _graph_freed_error(tensor)
        stack.append((tensor, True))
        if node is not None:
            for parent in node.parents:
                if in_graph(parent) and id(parent) not in seen:
                    stack.append((parent, False))
    return order


def _implicit_head(data: np.ndarray) -> np.ndarray:
    """Head gradient of backward() without one: ones, i.e. backward of the sum."""
    return np.ones_like(data)


def _accumulate(grads: dict, tensor, grad: np.ndarray) -> None:
    """A value used more than once receives the sum of the gradients of its uses."""
    key = id(tensor)
    if key in grads:
        grads[key] = grads[key] + grad
    else:
        grads[key] = grad


def _write_leaf_grad(tensor, grad: np.ndarray) -> None:
    """grad_req='write': each backward overwrites the leaf's gradient buffer."""
    tensor._grad[...] = grad


def _free_graph(order) -> None:
    for tensor in order:
        node = tensor._node
        if node is not None:
            node.freed = True
            node.backward = None


def backward(root, head=None, retain_graph: bool = False) -> None:
    """Differentiate root with respect to every attached leaf it depends on."""
    node = root._node
    if node is None:
        raise NotInGraphError(
            "cannot differentiate: this value was not computed inside autograd.record() "
            "from arrays with attach_grad()."
        )
    if node.freed:
        raise _graph_freed_error(root)
    if head is None:
        head_data = _implicit_head(root._data)
    else:
        head_data = np.asarray(getattr(head, "_data", head), dtype=root._data.dtype)
        if head_data.shape != root._data.shape:
            raise ShapeMismatchError(
                f"backward: head gradient shape {head_data.shape} does not match the "
                f"value's shape {root._data.shape}"
            )
    order = _topological_order(root)
    grads = {id(root): head_data}
    for tensor in reversed(order):
        grad = grads.pop(id(tensor), None)
        if grad is None:
            continue
        if tensor._node is None:
            if tensor._grad is not None:
                _write_leaf_grad(tensor, grad)
            continue
        parent_grads = tensor._node.backward(grad)
        for parent, parent_grad in zip(tensor._node.parents, parent_grads):
            if parent_grad is not None and in_graph(parent):
                _accumulate(grads, parent, parent_grad)
    if not retain_graph:
        _free_graph(order)
