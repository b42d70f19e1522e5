"""The table a framework gives the program writer: how its users write each step, model and observation.

Rule: an `Idiom` only returns program text (lines, expressions) in its framework's idiom;
it never runs anything and never decides an outcome. One method per step kind (named as
the kind), `build` for models, one `observe_<key kind>` per evidence key kind. A method
left alone raises `Unsupported` naming what is missing; an idiom says the framework's own
idiom instead wherever its framework has no such concept. Spec text reaches a program
only through `literal` (a Python literal) or `Context.name` (a checked identifier).
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass, field

from conformance.inputs import GENERATOR_KINDS
from conformance.spec.vocabulary import COMPUTE_FUNCTIONS


class Unsupported(Exception):
    """The framework has no such concept; the message says what it has instead."""


def literal(value) -> str:
    """A spec value as a Python literal (never as code)."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return repr(value)
    if isinstance(value, (list, tuple)):
        inner = ", ".join(literal(v) for v in value)
        return f"({inner},)" if isinstance(value, tuple) and len(value) == 1 else (
            f"({inner})" if isinstance(value, tuple) else f"[{inner}]")
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no literal for {type(value).__name__}")


def comment(text: str) -> str:
    """Spec text made safe for one comment line: escapes instead of line breaks."""
    return repr(str(text))[1:-1]


def shape_literal(shape) -> str:
    return literal(tuple(int(d) for d in shape))


def numpy_expr(spec: dict) -> str:
    """The NumPy expression that makes the kit's input for a generator (conformance.inputs)."""
    dtype = literal(spec.get("dtype", "float32"))
    rng = f"np.random.default_rng({literal(int(spec.get('seed', 0)))})"
    if "uniform" in spec:
        body = (f"{rng}.uniform({literal(spec.get('low', 0.0))}, {literal(spec.get('high', 1.0))}, "
                f"size={shape_literal(spec['uniform'])})")
    elif "normal" in spec:
        body = (f"{rng}.normal({literal(spec.get('mean', 0.0))}, {literal(spec.get('std', 1.0))}, "
                f"size={shape_literal(spec['normal'])})")
    elif "ones" in spec:
        body = f"np.ones({shape_literal(spec['ones'])})"
    elif "zeros" in spec:
        body = f"np.zeros({shape_literal(spec['zeros'])})"
    elif "arange" in spec:
        body = f"np.arange({literal(int(spec['arange']))})"
    elif "values" in spec:
        body = f"np.array({literal(spec['values'])})"
    else:
        raise ValueError(f"no generator kind in {sorted(spec)}")
    return f"{body}.astype({dtype})"


def is_generator(spec) -> bool:
    return isinstance(spec, dict) and any(kind in spec for kind in GENERATOR_KINDS)


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


@dataclass
class Model:
    """A built model as program text: the lines that build it (assigning `var`), and how the
    framework's own indexing reaches each canonical parameter and layer from `var`."""

    var: str
    lines: list[str]
    params: dict[str, str] = field(default_factory=dict)  # canonical path -> expression of the parameter
    layers: dict[str, str] = field(default_factory=dict)  # canonical layer path -> expression of the layer
    spec: dict | None = None


class Context:
    """What a program being written knows so far: identifiers of values, the current model,
    the helpers and classes it needs, and the step being written."""

    def __init__(self, case, idiom: Idiom, reserved: set[str]):
        self.case = case
        self.idiom = idiom
        self.reserved = set(reserved)
        self.names: dict[str, str] = {}
        self.model: Model | None = None
        self.helpers: dict[str, str] = {}  # name -> source, in the order first needed
        self.classes: list[str] = []
        self.imports: list[str] = []
        self.step = -1
        self.first_forward = True
        self.state: dict = {}  # whatever an idiom wants to remember while writing one program

    def name(self, spec_name: str) -> str:
        """The program's identifier for a spec value name (a checked identifier, never raw text)."""
        if spec_name in self.names:
            return self.names[spec_name]
        text = str(spec_name)
        base = text if _IDENTIFIER.match(text) and not keyword.iskeyword(text) else \
            "v_" + re.sub(r"[^A-Za-z0-9_]", "_", text)
        if base in self.reserved or keyword.iskeyword(base):
            base = f"v_{base}"
        ident, n = base, 1
        while ident in self.reserved or ident in self.names.values():
            n += 1
            ident = f"{base}_{n}"
        if not _IDENTIFIER.match(ident):
            raise ValueError(f"cannot make an identifier of {spec_name!r}")
        self.names[spec_name] = ident
        return ident

    def helper(self, name: str, source: str) -> str:
        """Ask for a helper function (or table) in the program; returns its name."""
        self.helpers.setdefault(name, source)
        self.reserved.add(name)
        return name

    def need_class(self, name: str) -> str:
        """Ask for one of the notes' classes (written out from the idiom's notes code)."""
        if name not in self.classes:
            self.classes.append(name)
        self.reserved.add(name)
        return name

    def need_import(self, line: str) -> None:
        if line not in self.imports:
            self.imports.append(line)

    def param(self, path: str) -> str:
        """The expression of a canonical parameter of the current model."""
        if self.model is None:
            raise Unsupported("the case has no model")
        if path not in self.model.params:
            raise Unsupported(f"no parameter {path!r} in this model; it has {sorted(self.model.params)}")
        return self.model.params[path]

    def layer(self, path: str) -> str:
        if self.model is None:
            raise Unsupported("the case has no model")
        if path in ("", None):
            return self.model.var
        if path not in self.model.layers:
            raise Unsupported(f"no layer {path!r} in this model; it has {sorted(self.model.layers)}")
        return self.model.layers[path]


class Idiom:
    """One framework's way of writing programs. Subclasses set `framework`, `imports`,
    `host` (the source of `def host(value)`), `notes_code` (the notes' classes, as source)
    and the methods for what their framework does."""

    framework = "base"
    imports: tuple[str, ...] = ()
    host = "def host(value):\n    return value\n"
    reserved: frozenset = frozenset()  # names the framework's programs use at module level

    def __init__(self, column):
        self.column = column  # conformance.program.writer.Column: version, components, devices

    # -- the program's frame -----------------------------------------------------------
    def environment(self) -> list[str]:
        """Lines between the standard-library imports and the framework's: settings the
        framework reads when it is imported (so the program alone runs as its column did). The
        thread count of the column (float sums in another order differ in their last bits)."""
        threads = self.column.devices.get("omp_num_threads")
        if not threads:
            return []
        return ["# the column ran with this many threads: float sums in another order differ in their last bits",
                f"os.environ[\"OMP_NUM_THREADS\"] = {literal(str(threads))}"]

    def preamble(self, ctx: Context) -> list[str]:
        """Lines after the notes' classes, before the steps (seeding, device names)."""
        return []

    def class_source(self, name: str) -> str:
        """The source of one of the notes' classes (or helper functions) in this framework."""
        raise Unsupported(f"{self.framework}: no notes code for {name}")

    def missing(self, what: str):
        raise Unsupported(f"{self.framework} programs have no {what}")

    # -- models and steps ----------------------------------------------------------------
    def build(self, spec: dict, ctx: Context, var: str = "net") -> Model:
        self.missing("model construction")

    def compute(self, args: dict, ctx: Context) -> list[str]:
        fn = COMPUTE_FUNCTIONS[args["fn"]]
        names = [ctx.name(a) for a in args["args"]]
        expr = self.compute_expr(fn.name, names, ctx)
        return [f"{ctx.name(args['out'])} = {expr}"]

    def compute_expr(self, fn: str, names: list[str], ctx: Context) -> str:
        text = COMPUTE_FUNCTIONS[fn].python
        if text is None:
            self.missing(f"compute function {fn}")
        return text.format(*names, *names, *names)

    def observation(self, key, ctx: Context) -> str:
        """The expression that observes evidence key `key` (dispatch on its kind)."""
        method = getattr(self, f"observe_{key.prefix}", None)
        if method is None:
            self.missing(f"observation {key.prefix}")
        return method(key, ctx)


def notes_sources(path: str) -> dict[str, str]:
    """name -> source of each top-level class and function of a notes-code file (program
    text kept as a Python file so that it is linted and parsed, never imported)."""
    import ast

    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    tree = ast.parse(text)
    return {node.name: ast.get_source_segment(text, node, padded=False)
            for node in tree.body if isinstance(node, (ast.ClassDef, ast.FunctionDef))}
