"""No framework package builds an observation itself: the framework speaks, the kit listens.

Rule, checked two ways on every framework package (conformance/adapters/<framework>/ and the
shared Gluon idiom):

- in the kit's own code: an idiom only writes text. Its modules import no framework and run no
  framework name (torch, tf, keras, mx, gluon, nd, jax, jnp, flax, paddle...); adapter.py uses
  its framework only to load it and describe the column (version, components, devices,
  runtime start, per-program state reset);
- in what it writes: every program of every case, for every framework, is searched for the
  kit's old ways of making evidence: identity by Python `id()` or `is` between objects the
  program itself placed (as an observation), `np.shares_memory` on host copies, filters of the parameter listing by
  class (`isinstance(..., Constant)`), private completion of deferred layers
  (`_finish_deferred_init`), and any import of the kit (the reference column excepted: the
  reference framework is part of the kit). Storage comparisons go through `storage()`, whose
  body asks the framework's own handle (data_ptr, unsafe_buffer_pointer, the array interface).
"""

from __future__ import annotations

import ast
import os
import re

import pytest

from conformance.adapters import ADAPTERS, get_adapter
from conformance.program.idiom import Unsupported
from conformance.program.writer import Column, write_program
from conformance.spec import load_specs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ADAPTERS_DIR = os.path.join(ROOT, "conformance", "adapters")
FRAMEWORK_NAMES = {"torch", "nn", "tf", "keras", "tf_keras", "mx", "mxnet", "gluon", "nd", "autograd", "jax", "jnp",
                   "flax", "paddle", "optax"}
FRAMEWORK_MODULES = {"torch", "tensorflow", "keras", "tf_keras", "mxnet", "jax", "flax", "paddle", "optax"}
DESCRIBING = {"load", "version", "components", "devices", "start_runtime", "fresh_state", "program_env"}
FORBIDDEN = {  # pattern in a program -> what it would mean
    r"(?<![\w.])id\(": "identity by Python id() of objects the program placed",
    r"\bshares_memory\(": "storage compared on host copies, not the framework's handle",
    r"_finish_deferred_init": "a deferred layer completed through a private API",
    r"isinstance\([^)]*Constant\b": "the parameter listing filtered by class",
    r"^\s*(from|import)\s+conformance\b(?!\.reference)": "an import of the kit",
}
# the framework's own handles of memory; TF has no address of a resource variable's buffer, and
# `Variable.ref()` is its documented hashable reference of the variable itself
HANDLES = ("data_ptr()", "unsafe_buffer_pointer()", "__array_interface__", "buffer_info", "_ptr", ".ref()")


def _modules():
    for folder in sorted(os.listdir(ADAPTERS_DIR)):
        path = os.path.join(ADAPTERS_DIR, folder)
        if os.path.isdir(path) and folder in ADAPTERS:
            for name in sorted(os.listdir(path)):
                if name.endswith(".py") and name != "notes_code.py":  # notes_code: program text, never imported
                    yield folder, os.path.join(path, name)
    for name in ("gluon.py", "gluon_observe.py"):  # the Gluon idiom MXNet and the reference share
        yield "gluon", os.path.join(ADAPTERS_DIR, name)


def _framework_uses(path: str) -> list[str]:
    """Framework imports anywhere, and framework names run inside functions (outside the
    adapter's describing methods), of one module of the kit."""
    tree = ast.parse(open(path, encoding="utf-8").read())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            in_describing = any(isinstance(f, ast.FunctionDef) and f.name in DESCRIBING and
                                f.lineno <= node.lineno <= f.end_lineno for f in ast.walk(tree))
            for name in names:
                if name.split(".")[0] in FRAMEWORK_MODULES and not (in_describing and path.endswith("adapter.py")):
                    found.append(f"line {node.lineno}: imports {name}")
        if isinstance(node, ast.FunctionDef) and not (path.endswith("adapter.py") and node.name in DESCRIBING):
            for sub in ast.walk(node):
                if isinstance(sub, ast.Name) and sub.id in FRAMEWORK_NAMES:
                    found.append(f"line {sub.lineno}: {node.name}() runs {sub.id}")
    return found


@pytest.mark.parametrize("framework, path", list(_modules()), ids=lambda x: os.path.relpath(x, ADAPTERS_DIR)
                         if os.path.sep in str(x) else x)
def test_the_kits_framework_code_only_writes_text(framework, path):
    assert not _framework_uses(path), f"{os.path.relpath(path, ROOT)}: {_framework_uses(path)}"


def test_the_module_check_finds_framework_code():
    """The check above is not blind: a module that runs torch is reported."""
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix="idiom.py", delete=False) as handle:
        handle.write("import torch\n\ndef observe_value(key, ctx):\n    return torch.tensor(1)\n")
    try:
        assert len(_framework_uses(handle.name)) == 2
    finally:
        os.unlink(handle.name)


def _programs(framework: str):
    adapter = get_adapter(framework)
    column = Column(framework, "0.0", {"keras": "3.0", "flax": "0.0"}, {"second": "x", "kind": "virtual"})
    idiom = adapter.idiom(column)
    for case in load_specs([os.path.join(ROOT, "specs")]):
        try:
            yield case.id, write_program(case, idiom)
        except Unsupported:
            continue


def _evidence_problems(framework: str, text: str) -> list[str]:
    found = [f"{meaning}: {m.group(0)!r}" for pattern, meaning in FORBIDDEN.items()
             for m in re.finditer(pattern, text, re.MULTILINE)
             if not (framework == "reference" and "conformance" in m.group(0))]
    tree = ast.parse(text)
    evidence = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
                and n.func.id in ("observe", "record")]
    for call in evidence:  # an observation that is `a is b` between two of the program's values
        for node in ast.walk(call):
            if isinstance(node, ast.Compare) and any(isinstance(op, (ast.Is, ast.IsNot)) for op in node.ops):
                if not any(isinstance(c, ast.Constant) and c.value is None for c in [node.left, *node.comparators]):
                    found.append(f"identity by `is`: {ast.unparse(node)}")
    if "same_storage:" in text:
        storage = next((n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "storage"), None)
        observed = [ast.unparse(c) for c in evidence if "same_storage:" in ast.unparse(c)]
        asked = ast.unparse(storage) if storage is not None else ""
        if not all(any(h in line or ("storage(" in line and h in asked) for h in HANDLES) for line in observed):
            found.append("same_storage observed without a storage() that asks the framework's handle")
    return found


@pytest.mark.parametrize("framework", sorted(ADAPTERS))
def test_no_program_builds_evidence_the_kits_way(framework):
    written, problems = 0, {}
    for case_id, text in _programs(framework):
        written += 1
        found = _evidence_problems(framework, text)
        if found:
            problems[case_id] = found
    assert written > 150, f"{framework}: only {written} programs written"
    assert not problems, f"{framework}: {dict(list(problems.items())[:5])}"


@pytest.mark.parametrize("snippet, meaning", [
    ("same = id(net[0]) == id(net[2])\n", "id()"),
    ("observe('same_storage:param:0.weight|2.weight', lambda: net[0].weight is net[2].weight)\n", "`is`"),
    ("import numpy as np\nsame = np.shares_memory(a, b)\n", "shares_memory"),
    ("params = [p for p in ps if not isinstance(p, gluon.Constant)]\n", "class"),
    ("net[0]._finish_deferred_init()\n", "private"),
    ("from conformance.adapters.mxnet import blocks\n", "import of the kit"),
    ("def storage(t):\n    return 0\nobserve('same_storage:param:a|b', lambda: storage(a) == storage(b))\n", "handle"),
])
def test_the_program_check_finds_each_forbidden_way(snippet, meaning):
    found = _evidence_problems("torch", snippet)
    assert found and any(meaning.split()[0].strip("`") in f for f in found), found
