"""The spec language's words, each declared once: step, model, initializer, compute and probe kinds.

Rule: every kind has exactly one declaration here, holding what the rest of the kit needs
to know about it (its phase, what it produces, the inputs it generates, the JSON Schema of
its arguments). The loader, the schema, the runner and each framework's program writer
dispatch on these tables; nothing else spells a kind out. Expectation kinds are declared
in `conformance.spec.expectations`, beside the code that judges them.
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.inputs import GENERATOR_KINDS

# -- JSON Schema building blocks shared by the declarations ------------------------------
NAME = {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_.]*\\Z"}  # a value or a marked layer
PATH = {"type": "string", "pattern": "^[A-Za-z0-9_]+(\\.[A-Za-z0-9_]+)*\\Z"}  # a canonical parameter/layer path
FILE = {"type": "string", "pattern": "^[A-Za-z0-9_][A-Za-z0-9_.-]*\\Z", "maxLength": 100}
DEVICE = {"enum": ["default", "second"]}
GEN = {"$ref": "#/$defs/gen"}
SHAPE = {"$ref": "#/$defs/shape"}
INIT = {"$ref": "#/$defs/init"}
MODEL = {"$ref": "#/$defs/model"}
BOOL = {"type": "boolean"}
NUMBER = {"type": "number"}


def obj(properties: dict, required=(), **extra) -> dict:
    """A closed JSON Schema object."""
    schema = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = list(required)
    schema.update(extra)
    return schema


# -- steps -------------------------------------------------------------------------------
@dataclass(frozen=True)
class StepKind:
    """One step kind: what an error raised in it is recorded as (`phase`), the argument that
    names the value it makes with that argument's default (`produces`), the arguments that
    hold input generators (`generated`; `nested` when one may be a list or a mapping of
    them), and the schema of its arguments."""

    name: str
    phase: str
    schema: dict
    doc: str
    produces: tuple[str, str | None] | None = None
    generated: tuple[str, ...] = ()
    nested: bool = False  # a generated argument may be a list or a mapping of generators

    def made_value(self, args: dict) -> str | None:
        """The name of the value this step makes, if it makes one."""
        if self.produces is None:
            return None
        key, default = self.produces
        return args.get(key, default)


_SAVE_VALUE = {"oneOf": [
    GEN,
    {"type": "array", "items": GEN, "minItems": 1, "maxItems": 64},
    {"type": "object", "additionalProperties": GEN, "minProperties": 1, "maxProperties": 64,
     "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]*\\Z"},
     "not": {"anyOf": [{"required": [kind]} for kind in GENERATOR_KINDS]}},
]}

_LEGACY = dict(BOOL, description="MXNet's pre-1.3 names Block.save_params / load_params (deprecated in 1.3, gone in "
                                  "2.0), which note 002 names; frameworks without them are unsupported")

STEPS: dict[str, StepKind] = {s.name: s for s in (
    StepKind("initialize", "initialize", obj({"init": INIT, "force_reinit": BOOL, "target": PATH,
                                              "seed": {"type": "integer", "minimum": 0}}),
             "initialize the model, one layer or one parameter (`target`), with INIT"),
    StepKind("forward", "forward", obj({"input": GEN, "as": NAME, "mode": {"enum": ["predict", "train"]},
                                        "record": BOOL, "device": DEVICE}, ["input"]),
             "call the model on a generated input (created on `device`), in `mode`, recording or not",
             produces=("as", "out"), generated=("input",)),
    StepKind("backward", "backward", obj({"of": NAME, "loss": {"enum": ["sum", "mean", "none"]}, "head": GEN,
                                          "retain_graph": BOOL}),
             "backward of a value (summed, averaged or as it is), with an optional head gradient",
             generated=("head",)),
    StepKind("zero_grad", "backward", obj({}), "clear the gradients the framework's way"),
    StepKind("write_param", "access", obj({"param": PATH, "add": NUMBER, "fill": NUMBER,
                                           "set": obj({"index": {"type": "array", "items": {"type": "integer"}},
                                                       "value": NUMBER}, ["index", "value"])},
                                          ["param"], minProperties=2, maxProperties=2),
             "write a parameter's data: add to all, set one element, or fill"),
    StepKind("read_param", "access", obj({"param": PATH}, ["param"]), "read a parameter's data"),
    StepKind("sgd_step", "update", obj({"lr": NUMBER, "wd": dict(NUMBER, minimum=0, description=(
        "weight decay through the framework's own optimizer (Gluon Trainer 'wd', torch SGD weight_decay, Keras "
        "weight_decay, Paddle weight_decay, optax add_decayed_weights), on every parameter it trains"))}, ["lr"]),
             "one SGD step over the model's parameters (with `wd`: the framework's optimizer with weight decay)"),
    StepKind("save_tensors", "save", obj({"file": FILE, "value": _SAVE_VALUE}, ["file", "value"]),
             "save a tensor, a list or a dict of tensors", generated=("value",), nested=True),
    StepKind("load_tensors", "load", obj({"file": FILE, "as": NAME}, ["file", "as"]),
             "load what save_tensors wrote", produces=("as", None)),
    StepKind("save_params", "save", obj({"file": FILE, "legacy": _LEGACY}, ["file"]), "save the model's parameters"),
    StepKind("load_params", "load", obj({"file": FILE, "model": MODEL, "initialize": BOOL, "device": DEVICE,
                                         "legacy": _LEGACY}, ["file"]),
             "build a fresh model (this one, or `model`) and load saved parameters into it"),
    StepKind("to_device", "device_move", obj({"device": DEVICE, "target": NAME}, ["device"]),
             "move the model (or a value) to a device"),
    StepKind("tensor", "compute", obj({"name": NAME, "value": GEN, "requires_grad": BOOL, "device": DEVICE},
                                      ["name", "value"]),
             "make a tensor from a generated value", produces=("name", None), generated=("value",)),
    StepKind("compute", "compute", obj({"fn": {"type": "string"},
                                        "args": {"type": "array", "items": NAME, "minItems": 1, "maxItems": 4},
                                        "out": NAME, "record": BOOL}, ["fn", "args", "out"]),
             "apply a compute function (COMPUTE_FUNCTIONS) inside recording (or not)", produces=("out", None)),
    StepKind("update", "update", obj({"value": NAME, "lr": NUMBER, "how": {"enum": ["rebind", "in_place"]}},
                                     ["value", "lr", "how"]),
             "w - lr * w.grad, rebinding the name or writing in place"),
    StepKind("copy_to", "device_move", obj({"value": NAME, "device": DEVICE, "as": NAME,
                                            "how": {"enum": ["copy", "move"]}}, ["value", "device", "as", "how"]),
             "copy (always new memory) or move (same device: the same array) a value to a device",
             produces=("as", None)),
    StepKind("to_numpy", "compute", obj({"value": NAME, "as": NAME}, ["value", "as"]),
             "convert a value to a NumPy array", produces=("as", None)),
    StepKind("probe", "probe", obj({"name": {"type": "string"}, "as": NAME,
                                    "args": {"type": "object", "maxProperties": 8,
                                             "propertyNames": {"pattern": "^[a-z_][a-z0-9_]*\\Z"},
                                             "additionalProperties": {"type": ["string", "number", "boolean",
                                                                                "null"]}}}, ["name"]),
             "run one of the notes' own snippets (PROBES) and record what it returns"),
    StepKind("snapshot", "access", obj({"as": NAME}, ["as"]), "record every parameter's values under a name"),
    StepKind("random", "compute", obj({"low": NUMBER, "high": NUMBER, "shape": SHAPE, "as": NAME}, ["as"]),
             "a uniform draw from the framework's own RNG; arguments left out are left out of the call",
             produces=("as", None)),
    StepKind("attach_grad", "compute", obj({"value": NAME}, ["value"]),
             "ask for a value's gradient now (attach_grad / requires_grad_)"),
)}

CONSTRUCTION = "construction"  # the phase of an error raised while the model is built (step -1)


def phase_of(kind: str, first_forward: bool) -> str:
    """The phase an error raised by a step of `kind` is recorded as."""
    if kind == "forward" and first_forward:
        return "first_forward"
    return STEPS[kind].phase


PHASES = (CONSTRUCTION, "first_forward", *dict.fromkeys(s.phase for s in STEPS.values()))


# -- models ------------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelKind:
    """One model kind: the schema of its arguments and how it holds children (`children`:
    "list" for a list of models, "named" for a mapping of name -> model, None)."""

    name: str
    schema: dict
    doc: str
    children: str | None = None


_UNITS = {"type": "integer", "minimum": 1}
_CHILD_LIST = {"type": "array", "items": MODEL}

MODEL_KINDS: dict[str, ModelKind] = {m.name: m for m in (
    ModelKind("dense", obj({"units": _UNITS, "in_units": _UNITS, "activation": {"enum": ["relu", None]},
                            "use_bias": BOOL, "init": obj({"weight": INIT, "bias": INIT}),
                            "params_from": dict(NAME, description="use the parameters of the layer marked `as: NAME` "
                                                                  "(Gluon params=shared.params) with this layer's "
                                                                  "own activation")}, ["units"]),
              "fully connected layer; without in_units its shapes are deferred"),
    ModelKind("relu", obj({}), "relu activation layer"),
    ModelKind("flatten", obj({}), "flatten layer"),
    ModelKind("dropout", obj({"rate": {"type": "number", "minimum": 0, "maximum": 1}}, ["rate"]), "dropout layer"),
    ModelKind("sequential", _CHILD_LIST, "the framework's Sequential", children="list"),
    ModelKind("my_sequential", _CHILD_LIST, "a hand-written Sequential using the framework's registry",
              children="list"),
    ModelKind("mlp", obj({"in_units": _UNITS}), "the notes' MLP: hidden Dense(256, relu), output Dense(10)"),
    ModelKind("mlp_no_super", obj({"in_units": _UNITS}), "the MLP whose constructor forgets the parent constructor"),
    ModelKind("list_mlp", obj({"in_units": _UNITS}), "the MLP keeping its layers in a plain Python list"),
    ModelKind("fancy_mlp", obj({"variant": {"enum": ["000", "001", "003", "004", "000-no-asscalar"],
                                            "description": "whose FancyMLP: 000 (default, Gluon), 001 (torch "
                                                           "FixedHiddenMLP), 003 (TF), 004 (10x10), "
                                                           "000-no-asscalar (000's exercise: the loop and the "
                                                           "branch compare x.norm() itself, no asscalar())"}}),
              "FancyMLP / FixedHiddenMLP: a constant weight, a layer used twice, control flow"),
    ModelKind("nest_mlp", obj({"variant": {"enum": ["000", "004"],
                                           "description": "000 (default): the notes' NestMLP; 004: note 004's "
                                                          "counter-example (marked 错误实例), as written: a constant "
                                                          "rand_weight (10, 10), `dense` Dense(20, relu), add(block) "
                                                          "into the child registry, and a forward that runs the "
                                                          "registry and returns nothing; the kit adds one Dense(10) "
                                                          "through its add()"}}),
              "NestMLP: a Sequential and a Dense inside a block (004: the note's counter-example)"),
    ModelKind("centered", obj({}), "CenteredLayer: x - x.mean()"),
    ModelKind("my_dense", obj({"units": _UNITS, "in_units": _UNITS, "read_via_data": BOOL}, ["units"]),
              "MyDense: weight (in_units, units), bias (units,), relu(x @ weight + bias)"),
    ModelKind("param_dict", obj({"params": {"type": "object", "minProperties": 1, "additionalProperties": SHAPE,
                                            "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]*\\Z"}}},
                                ["params"]),
              "standalone Parameters / ParameterDict.get(name, shape=shape)"),
    ModelKind("my_sequential_by_object", dict(_CHILD_LIST, description="note 001's MySequential as written: children "
                                                                       "stored in the registry keyed by the block "
                                                                       "object itself (self._modules[block] = block)"),
              "note 001's MySequential, keyed by the child object", children="list"),
    ModelKind("named_sequential", {"type": "object", "minProperties": 1, "maxProperties": 64,
                                   "propertyNames": {"minLength": 1, "maxLength": 50}, "additionalProperties": MODEL,
                                   "description": "a Sequential whose children are added under names (torch "
                                                  "add_module(name, m)); canonical paths still number them"},
              "a Sequential whose children are added under names", children="named"),
    ModelKind("reuse", NAME, "the layer marked `as: NAME` earlier, used again (shared parameters)"),
)}


def model_kind(node: dict) -> str:
    """The kind of a model mapping (its one key besides `as`)."""
    return next(k for k in node if k != "as")


def model_children(node: dict) -> list[tuple[str, dict]]:
    """(key, child model) pairs of a model node: its index for a list, its name for a mapping."""
    kind = model_kind(node)
    holds = MODEL_KINDS[kind].children
    if holds == "list":
        return [(str(i), child) for i, child in enumerate(node[kind])]
    if holds == "named":
        return list(node[kind].items())
    return []


# -- initializers --------------------------------------------------------------------------
INIT_KINDS: dict[str, dict] = {
    "normal": obj({"sigma": NUMBER, "mean": NUMBER}),
    "constant": obj({"value": NUMBER}, ["value"]),
    "uniform": obj({"low": NUMBER, "high": NUMBER}),
    "xavier": obj({}),
    "zeros": obj({}),
    "ones": obj({}),
    "custom": obj({"name": {"enum": ["zero_small"]}}, ["name"]),
    "orthogonal": obj({"scale": {"type": "number", "exclusiveMinimum": 0}}),
    "msra": obj({"slope": {"type": "number", "minimum": 0}}),
    "mixed": obj({"patterns": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 8},
                  "inits": {"type": "array", "items": INIT, "minItems": 1, "maxItems": 8}}, ["patterns", "inits"]),
    "load": obj({"file": FILE, "default": INIT}, ["file"]),
    "bilinear": obj({}),  # MXNet's init.Bilinear(): the upsampling kernel of a 4-d weight (000's table)
    "lstm_bias": obj({"forget_bias": NUMBER}),  # MXNet's init.LSTMBias(forget_bias=1.0) (000's table)
}


def init_kind(form) -> tuple[str, dict]:
    """(kind, arguments) of an INIT form; ("default", {}) for `default`."""
    if form in (None, "default"):
        return "default", {}
    kind, args = next(iter(form.items()))
    return kind, dict(args or {})


# -- compute functions ---------------------------------------------------------------------
@dataclass(frozen=True)
class ComputeFn:
    """One compute function: its arity, and its text with Python operators (`{0}`, `{1}`, `{2}`
    are the arguments), which frameworks whose tensors have those operators use as it is."""

    name: str
    arity: int
    python: str | None
    doc: str
    differentiable: bool = True


COMPUTE_FUNCTIONS: dict[str, ComputeFn] = {f.name: f for f in (
    ComputeFn("two_x_squared", 1, "2 * {0} * {0}", "2 * x * x (elementwise)"),
    ComputeFn("sum", 1, "{0}.sum()", "sum of all elements"),
    ComputeFn("add", 2, "{0} + {1}", "a + b"),
    ComputeFn("mul", 2, "{0} * {1}", "a * b"),
    ComputeFn("setitem_zero", 1, None, "inside recording, write 0 into element [0] of the argument in place",
              differentiable=False),
    ComputeFn("sum_two_x_squared", 1, "(2 * {0} * {0}).sum()", "(2 * x * x).sum()"),
    ComputeFn("norm", 1, "{0}.norm()", "the framework's L2 norm of all elements (x.norm(), tf.norm)"),
    ComputeFn("add_out", 3, None, "a + b written into c with the framework's out= (nd.elemwise_add(a, b, out=c))",
              differentiable=False),
)}


# -- probes: the notes' own snippets -----------------------------------------------------
PROBES: dict[str, str] = {
    "is_training": "{'inside_recording': bool, 'outside_recording': bool}",
    "try_gpu": "args i? (default 0): {'device': native str of what try_gpu(i) gives, 'canonical': 'gpu'|'default'}",
    "structure": "{'text': printed model structure}",
    "param_type": "{'class': native class name of a parameter of the model}",
    "default_device": "{'device': canonical device of a tensor created with no device}",
    "try_all_gpus": "{'devices': [native str], 'canonical': [...]}: the note's try_all_gpus()",
    "param_dict": "args target?, select?: Gluon's net[0].params / collect_params(select) as "
                  "{'container', 'names', 'shapes', 'dtypes', 'attributes': {native name: canonical path}, 'text'}",
    "state_dict": "args target?: torch's module.state_dict() as {'container', 'names', 'shapes', 'dtypes', 'attributes'}",
    "keras_weights": "args target?: Keras' layer.weights as {'short_names', 'shapes' (native layout), 'dtypes', 'count'}",
    "param_repr": "args param: {'text': the printed parameter, 'class', 'data_class'}",
    "saved_params": "args file: what the framework's plain loader reads from a save_params file: "
                    "{'container', 'names', 'shapes'}",
    "sequential_class": "{'is_model': Sequential subclasses the framework's model class, 'base', 'class'}",
    "prefix_names": "args prefix: 004's MyDense(units=3, in_units=5, prefix=...): {'prefix', 'names': its "
                    "parameters' native names}",
    "np_save": "args values ('x,y'), kind one|list|dict: the TF note's np.save of the framework's tensors, "
               "then np.load without pickle: {'saved', 'error', 'needs_pickle', 'loaded_shape', 'loaded_dtype'}",
    "init_desc": "what the notes' MyInit received as `name` in _init_weight(name, data), over its calls so far: "
                 "{'classes': [class names], 'is_str': all str, 'params': [canonical paths of the parameters "
                 "named], 'attrs': [keys of name.attrs], 'init': [classes of name.attrs['__init__']], "
                 "'global_init': [classes of name.global_init]}",
}


# -- error kinds: what a raised exception is classified as ---------------------------------
ERROR_KINDS: dict[str, str] = {
    "missing_super_init": "a sublayer assigned before the parent constructor ran",
    "not_initialized": "parameter data read before shapes/values exist",
    "shape_mismatch": "input shape, or a loaded parameter's shape (names match), does not fit",
    "device_mismatch": "operands / model and input on different devices",
    "graph_freed": "second backward without retain_graph / persistent tape",
    "non_scalar_backward": "backward on a non-scalar without a head gradient",
    "inplace_in_recording": "in-place write to a recorded array (or immutable tensor)",
    "load_mismatch": "loaded names/structure differ (missing or unexpected parameters)",
    "bad_filename": "a save/load path the format refuses",
    "not_built": "the model has no variables yet (e.g. Keras before build)",
    "no_gradient": "backward reaches no parameter / gradient not attached",
    "other": "anything else",
}

PIN_COMPONENTS = ("keras",)  # parts of a framework with their own version, rangeable in a pin



def uses_second_device(case) -> bool:
    """Whether a case puts anything on the second device (the notes' GPU)."""
    return any(isinstance(args, dict) and args.get("device") == "second" for _, args in case.steps)


# -- statuses of a case on a framework (specs/README.md "Judging") -------------------------
STATUSES: dict[str, str] = {
    "pass": "the pinned outcome (the normative one where nothing is pinned) held, and no other",
    "fail": "the framework left its pinned outcome: another one held, none held, or two held",
    "unsupported": "the framework has no such concept; the message names its idiom",
    "skip": "this machine cannot exercise it (e.g. the second device is virtual); the message says why",
    "error": "the kit broke (a program that does not run, a writer bug)",
    "crash": "the worker process died",
    "timeout": "the case ran past its time limit",
}
PROBLEM_STATUSES = ("fail", "error", "crash", "timeout")  # statuses that fail a run and the gate
NEEDS_REASON = ("unsupported", "skip")  # statuses that must say why
