"""The program writer: one case + one framework's idiom -> one standalone program.

Rule: the writer walks the case (model, steps, then the observations its outcomes need) and
asks the framework's `Idiom` for the text of each part; it adds only the frame every
program shares: a header naming the case, the imports, the recording lines, the notes'
classes the case uses, one `try` around the steps (a step that raises is recorded with its
type, message and step, and ends the steps), and the observations. The text it returns is
exactly what the worker runs and what the cell shows.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

from conformance.program.idiom import Context, Idiom, Unsupported, comment
from conformance.program.recording import RECORDING, RECORDING_IMPORTS
from conformance.spec import evidence as ev
from conformance.spec.expectations import expectation
from conformance.spec.vocabulary import STEPS, init_kind

# Names every program defines itself (RECORDING and the frame).
FRAME_NAMES = frozenset({
    "QUIET", "STEP", "WARNINGS", "base64", "json", "warnings", "np", "host", "encode", "message_of", "record",
    "observe", "record_error", "on_warning", "error", "net", "INIT_CALLS", "os",
})


@dataclass(frozen=True)
class Column:
    """Where the program will run: the framework's version, its components (Keras), its devices."""

    framework: str
    version: str
    components: dict = field(default_factory=dict)
    devices: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        parts = [f"{self.framework} {self.version}"] + [f"{k} {v}" for k, v in sorted(self.components.items())]
        return " · ".join(parts)

    @property
    def second_is_virtual(self) -> bool:
        """Whether this column's second device is a stand-in (torch meta, logical CPUs, cpu(1))."""
        return str(self.devices.get("kind", "")).startswith("virtual")


def needed_keys(case) -> list[ev.Key]:
    """Every evidence key some outcome of the case needs, in a stable order; the parameter
    listing always, when there is a model."""
    keys: list[ev.Key] = [ev.ParamPaths(), ev.NativeNames()] if _has_model(case) else []
    if _uses_custom_init(case):
        keys.append(ev.InitCalls())
    for outcome in case.outcomes:
        for item in outcome.expect:
            for key in expectation(item).needs(case):
                # snapshots and probes are recorded by their steps
                if key not in keys and not isinstance(key, (ev.Snapshot, ev.Probe)):
                    keys.append(key)
    return keys


def _has_model(case) -> bool:
    return case.model is not None or any(k == "load_params" and "model" in a for k, a in case.steps)


def _uses_custom_init(case) -> bool:
    def custom(form) -> bool:
        kind, args = init_kind(form)
        if kind == "custom":
            return True
        return kind == "mixed" and any(custom(i) for i in args.get("inits", []))

    def in_model(node) -> bool:
        if not isinstance(node, dict):
            return False
        for key, value in node.items():
            if key == "init" and isinstance(value, dict) and any(custom(v) for v in value.values()):
                return True
            if isinstance(value, dict) and in_model(value):
                return True
            if isinstance(value, list) and any(in_model(v) for v in value):
                return True
        return False

    steps = any(kind == "initialize" and custom(args.get("init", "default")) for kind, args in case.steps)
    return steps or in_model(case.model) or any(in_model(a.get("model")) for k, a in case.steps if k == "load_params")


def _indent(lines: list[str], by: str = "    ") -> list[str]:
    return [by + line if line else line for line in lines]


def write_program(case, idiom: Idiom) -> str:
    """The program of `case` in `idiom`'s framework; Unsupported when the framework lacks a
    concept the case needs (the message names the framework's idiom)."""
    ctx = Context(case, idiom, FRAME_NAMES | idiom.reserved)
    body: list[str] = []
    if case.model is not None:
        ctx.step = -1
        ctx.model = idiom.build(case.model, ctx)
        body += ["STEP = -1  # build the model", *ctx.model.lines]
    for index, (kind, args) in enumerate(case.steps):
        ctx.step = index
        body.append(f"STEP = {index}  # {kind}")
        body += _step(kind, args, ctx)
        if kind == "forward":
            ctx.first_forward = False
    observations = [f"observe({str(key)!r}, lambda: {idiom.observation(key, ctx)})" for key in needed_keys(case)]
    preamble = idiom.preamble(ctx)
    return "\n".join(_assemble(case, idiom, ctx, preamble, body, observations)) + "\n"


def _step(kind: str, args: dict, ctx: Context) -> list[str]:
    idiom = ctx.idiom
    if kind == "snapshot":
        return [f"record({('snapshot:' + args['as'])!r}, {idiom.observation(ev.AllParams(), ctx)})"]
    if kind == "probe":
        method = getattr(idiom, f"probe_{args['name']}", None)
        if method is None:
            idiom.missing(f"probe {args['name']}")
        setup, expr = method(args.get("args") or {}, ctx)
        name = f"probe:{args.get('as', args['name'])}"
        return [*setup, f"record({name!r}, {expr})"]
    method = getattr(idiom, kind, None)
    if method is None or kind not in STEPS:
        idiom.missing(f"step {kind}")
    return method(args, ctx)


def _assemble(case, idiom: Idiom, ctx: Context, preamble, body, observations) -> list[str]:
    column = idiom.column
    claim = case.source
    head = [
        f'"""{case.id} on {comment(column.label)}: a standalone program written by the conformance kit.',
        "",
        "Run it with `python cell.py`: each line it prints is one observation (JSON), and the",
        "kit's record of this cell is exactly what it prints.",
        '"""',
        f"# {comment(case.title)}",
        f"# note {comment(claim.get('note', ''))}, {comment(claim.get('section', ''))}: {comment(claim.get('claim', ''))}",
    ]
    imports = list(RECORDING_IMPORTS) + [line for line in (*idiom.imports, *ctx.imports) if line]
    classes = [idiom.class_source(name).rstrip() for name in ctx.classes]
    helpers = [source.rstrip() for source in ctx.helpers.values()]
    environment = idiom.environment()
    ordered = _imports(["import os", *imports] if environment else imports)
    split = ordered.index("") if "" in ordered else 0
    if environment:
        ordered[split:split] = ["", *environment]
    lines = head + ordered + ["", "", idiom.host.rstrip(), "", ""] + RECORDING.rstrip().split("\n")
    for block in (*helpers, *classes):
        lines += ["", ""] + block.split("\n")
    lines += ["", ""]
    if preamble:
        lines += preamble + [""]
    lines += ["try:", *_indent(body or ["pass"]), "except Exception as error:", "    record_error(error)",
              "STEP = None", "", "# -- observations --", 'record("warnings", WARNINGS)', *observations]
    return lines


def _imports(lines: list[str]) -> list[str]:
    """Standard-library imports first, then the rest, each group in the order given."""
    stdlib = [line for line in lines if line.startswith("import ") and line.split()[1] in sys.stdlib_module_names]
    rest = [line for line in lines if line not in stdlib and line]
    out, seen = [], set()
    for line in stdlib + [""] + rest:
        if line and line in seen:
            continue
        seen.add(line)
        out.append(line)
    return out


__all__ = ["Column", "Unsupported", "needed_keys", "write_program"]
