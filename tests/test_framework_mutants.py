"""The framework-mutant catalogues (tests/framework_mutants/): each mutant really changes its
framework's behaviour, in isolation.

Rule: for the framework installed in this env, every mutant's `demo()` runs in a fresh process
without the patch (one process runs every demo twice: the demos must be deterministic) and in
another process with `apply()` called right after importing the framework; the two results must
differ, and a second `apply()` in that process must change nothing more (the demo gives the same
result again). The catalogues' metadata (names, a source named in `imitates`, at least 18 per
framework, no framework imported by the catalogue itself) is checked in every env. Mutants of a
framework this env lacks skip naming what is missing; a mutant whose `versions`/`keras` range
excludes the installed version skips saying so.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile

import pytest

TESTS = os.path.dirname(os.path.abspath(__file__))
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)

from framework_mutants import CATALOGUES, Mutant, load_catalogue

MIN_MUTANTS = 18
MARKER = "@@framework-mutant-result@@"
SOURCE = re.compile(r"https?://\S+|docs?\b|changelog|release notes|#\d+", re.IGNORECASE)
FRAMEWORK_IMPORTS = {
    "torch": "import torch",
    "tensorflow_keras3": "import tensorflow as tf\nimport keras",
    "tensorflow_keras2": "import tensorflow as tf",
    "mxnet": "import mxnet",
    "jax": "import jax\nimport flax.linen",
    "paddle": "import paddle",
}
TOP_MODULES = {"torch": ["torch"], "tensorflow_keras3": ["tensorflow", "keras"],
               "tensorflow_keras2": ["tensorflow", "tf_keras"], "mxnet": ["mxnet"],
               "jax": ["jax", "flax"], "paddle": ["paddle"]}


def _dist_version(*names: str) -> str | None:
    for name in names:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def _legacy_keras() -> bool:
    return os.environ.get("TF_USE_LEGACY_KERAS", "").strip().lower() in ("1", "true", "yes")


def _installed(module: str) -> tuple[str | None, str | None, str]:
    """(framework version, keras version, why not) for one catalogue in this env."""
    from packaging.version import Version

    if module == "torch":
        version = _dist_version("torch") if importlib.util.find_spec("torch") else None
        return version, None, "torch is not installed in this env"
    if module.startswith("tensorflow"):
        version = _dist_version("tensorflow", "tensorflow-cpu") if importlib.util.find_spec("tensorflow") else None
        if version is None:
            return None, None, "tensorflow is not installed in this env"
        keras3_column = not _legacy_keras() and Version(Version(version).base_version) >= Version("2.16")
        if _legacy_keras():
            keras = _dist_version("tf-keras", "tf_keras")
        else:
            keras = _dist_version("keras")
        if (module == "tensorflow_keras3") != keras3_column:
            column = "Keras 3" if keras3_column else "Keras 2"
            return None, None, f"this env's TensorFlow column runs {column} (tensorflow {version}, keras {keras})"
        return version, keras, ""
    if module == "mxnet":
        version = _dist_version("mxnet", "mxnet-mkl") if importlib.util.find_spec("mxnet") else None
        return version, None, "mxnet is not installed in this env"
    if module == "jax":
        if importlib.util.find_spec("jax") is None or importlib.util.find_spec("flax") is None:
            return None, None, "jax with flax is not installed in this env"
        return _dist_version("jax"), None, ""
    if module == "paddle":
        version = _dist_version("paddlepaddle", "paddlepaddle-gpu") if importlib.util.find_spec("paddle") else None
        return version, None, "paddle is not installed in this env"
    raise KeyError(module)


def _env() -> dict:
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS="1", TF_CPP_MIN_LOG_LEVEL="2", PYTHONHASHSEED="0",
               XLA_FLAGS="--xla_force_host_platform_device_count=2")
    env["PYTHONPATH"] = os.pathsep.join([TESTS, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


_SCRIPT = """
import json, sys
sys.path.insert(0, {tests!r})
{framework_import}
import importlib
catalogue = importlib.import_module("framework_mutants." + {module!r})
mutants = catalogue.MUTANTS
names = {names!r}
if {patched!r}:
    mutants[names[0]].apply()  # right after the import, as a worker applies it
if hasattr(catalogue, "prepare"):  # demo set-up (TensorFlow: two logical CPUs; raises if the
    catalogue.prepare()            # runtime already started, i.e. if apply() started it)

def run(demo):
    try:
        return json.loads(json.dumps(demo()))
    except Exception as exc:
        return {{"__demo_raised__": type(exc).__name__ + ": " + str(exc)[:300]}}

out = {{}}
if {patched!r}:
    (name,) = names
    once = run(mutants[name].demo)
    mutants[name].apply()
    out[name] = [once, run(mutants[name].demo)]
else:
    for name in names:
        out[name] = [run(mutants[name].demo), run(mutants[name].demo)]
print({marker!r} + json.dumps(out))
"""


def _run(module: str, names: list[str], patched: bool) -> dict:
    script = _SCRIPT.format(tests=TESTS, framework_import=FRAMEWORK_IMPORTS[module], module=module,
                            names=names, patched=patched, marker=MARKER)
    # The demos' files (and TensorFlow's autograph sources) go to a folder removed afterwards.
    with tempfile.TemporaryDirectory(prefix="conformance-demo-") as scratch:
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                              env=dict(_env(), TMPDIR=scratch), timeout=600, cwd=TESTS)
    for line in proc.stdout.splitlines()[::-1]:
        if line.startswith(MARKER):
            return json.loads(line[len(MARKER):])
    raise AssertionError(f"the demo process ({'patched' if patched else 'unpatched'}) of {module} "
                         f"{names if patched else ''} exited {proc.returncode} without a result:\n"
                         f"{proc.stderr[-3000:]}\n{proc.stdout[-1000:]}")


def _catalogue_params():
    params = []
    for module in CATALOGUES:
        for name in load_catalogue(module):
            params.append(pytest.param(module, name, id=f"{module}::{name}"))
    return params


# -- metadata (every env) --------------------------------------------------------------------
@pytest.mark.parametrize("module", list(CATALOGUES))
def test_catalogue_is_complete_and_says_what_it_imitates(module):
    before = set(sys.modules)
    mutants = load_catalogue(module)
    imported = {name.split(".")[0] for name in set(sys.modules) - before}
    assert not imported & set(TOP_MODULES[module]), \
        f"importing the {module} catalogue imported {sorted(imported & set(TOP_MODULES[module]))}"
    assert len(mutants) >= MIN_MUTANTS, f"{module}: {len(mutants)} mutants, want at least {MIN_MUTANTS}"
    for name, item in mutants.items():
        assert isinstance(item, Mutant) and item.name == name, f"{module}: key {name!r} names {item.name!r}"
        assert re.fullmatch(r"[a-z0-9][a-z0-9-]*", name), f"{module}: bad mutant name {name!r}"
        assert item.imitates.strip(), f"{module}::{name}: `imitates` is empty"
        assert SOURCE.search(item.imitates), f"{module}::{name}: `imitates` names no source: {item.imitates!r}"
        assert callable(item.apply) and callable(item.demo), f"{module}::{name}: apply/demo not callable"
        if item.versions or item.keras:
            from packaging.specifiers import SpecifierSet

            for spec in (item.versions, item.keras):
                if spec:
                    SpecifierSet(spec)  # a bad range raises


def test_catalogues_load_by_file_path_outside_the_package():
    """A worker may load a catalogue by file path (spec_from_file_location): it still finds `Mutant`
    and its helpers, and imports no framework."""
    script = (
        "import importlib.util, json, sys\n"
        "out = {}\n"
        f"for module in {list(CATALOGUES)!r}:\n"
        f"    path = {os.path.join(TESTS, 'framework_mutants')!r} + '/' + module + '.py'\n"
        "    spec = importlib.util.spec_from_file_location('by_path_' + module, path)\n"
        "    mod = importlib.util.module_from_spec(spec)\n"
        "    spec.loader.exec_module(mod)\n"
        "    out[module] = sorted(mod.MUTANTS)\n"
        f"heavy = sorted(m for m in {sorted({m for ms in TOP_MODULES.values() for m in ms})!r} if m in sys.modules)\n"
        "print(json.dumps({'names': out, 'imported': heavy}))\n"
    )
    env = {k: v for k, v in _env().items() if k != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                          timeout=300, cwd=os.path.dirname(TESTS))
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["imported"] == [], f"loading the catalogues imported {result['imported']}"
    for module in CATALOGUES:
        assert result["names"][module] == sorted(load_catalogue(module)), module


# -- behaviour (the framework of this env) ------------------------------------------------------
_BASELINES: dict[str, dict] = {}


def _baseline(module: str) -> dict:
    if module not in _BASELINES:
        _BASELINES[module] = _run(module, list(load_catalogue(module)), patched=False)
    return _BASELINES[module]


@pytest.mark.parametrize("module, name", _catalogue_params())
def test_mutant_changes_its_demo_and_applies_idempotently(module, name):
    version, keras, why = _installed(module)
    if version is None:
        pytest.skip(why)
    item = load_catalogue(module)[name]
    if not item.applies_to(version, keras):
        pytest.skip(f"{module}::{name} applies to versions {item.versions or 'any'}"
                    f"{f', keras {item.keras}' if item.keras else ''}; this env has {version}"
                    f"{f', keras {keras}' if keras else ''}")
    first, second = _baseline(module)[name]
    assert "__demo_raised__" not in json.dumps(first), f"{name}: the unpatched demo raised: {first}"
    assert first == second, f"{name}: the unpatched demo is not deterministic: {first} then {second}"
    once, twice = _run(module, [name], patched=True)[name]
    assert once != first, f"{name}: apply() did not change the demo's result: {first}"
    assert once == twice, f"{name}: a second apply() changed the result again: {once} then {twice}"
