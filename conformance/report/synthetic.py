"""Synthetic results files for the report's tests, demo screenshot and benchmark.

Rule: deterministic (seeded) and plainly fake — the cases look like the kit's output so
the page can be judged and timed, but nothing here is a measurement of any framework.
Records carry the outcome fields (`outcome`, `expected_outcome`, `normative_outcome`,
`outcomes`, `pin`, per-outcome `checks`): some cases have two or three outcomes, each
framework pinned to one of them (a few pins change with the version).
"""

from __future__ import annotations

import random

from conformance.results import FORMAT

DEMO_BEHAVIOURS = [
    (
        "MC1",
        "blocks",
        "A block subclass declares layers in its constructor; calling it runs forward.",
    ),
    ("MC2", "blocks", "Forgetting the parent constructor call fails when a sublayer is assigned."),
    ("MC4", "blocks", "Layers kept in a plain Python list are not registered."),
    ("PA2", "parameters", "All parameters are collected recursively with names and shapes."),
    ("PA5", "parameters", "The gradient before any backward pass is zeros, None, or absent."),
    (
        "IN1",
        "initialization",
        "Default initialization of a dense layer, as each framework documents it.",
    ),
    (
        "IN4",
        "initialization",
        "A second initialize() without force_reinit warns and keeps the values.",
    ),
    (
        "DI1",
        "deferred init",
        "Without an input size, weight shapes are unknown until the first forward.",
    ),
    (
        "DI5",
        "deferred init",
        "After shapes are fixed, a different feature size fails with a shape error.",
    ),
    ("SH1", "sharing", "Two uses of one layer hold one storage."),
    ("SH2", "sharing", "The shared parameter's gradient is the sum of the gradients of its uses."),
    (
        "IO3",
        "reading and writing",
        "Loading into a model of another architecture is a clear error.",
    ),
    ("AG3", "autograd", "A second backward without retain_graph fails; with it, it works."),
    ("AG6", "autograd", "A second backward pass overwrites the gradient."),
    ("DV4", "devices", "An operation on tensors on two different devices fails."),
]
DEMO_COLUMNS = [
    ("reference", "0.1.0"),
    ("torch", "2.12.0"),
    ("torch", "2.13.0"),
    ("tensorflow", "2.17.0"),
    ("mxnet", "1.9.1"),
]
STATUS_WEIGHTS = {
    "pass": 80,
    "unsupported": 6,
    "skip": 3,
    "fail": 6,
    "error": 3,
    "crash": 1,
    "timeout": 1,
}
ERRORS = ["ValueError", "RuntimeError", "TypeError", "AttributeError", "MXNetError"]
AS_NOTED = ("as-noted", "as the note states")
# Alternative behaviours (label, says); the first of each set is the note's (normative) one.
OUTCOME_SETS = [
    [("overwrite", "the second pass replaces the gradient: x.grad == 3"),
     ("accumulate", "gradients add up: x.grad == 4x + 3")],
    [("normal-0.01", "weights drawn from N(0, 0.01²), biases zero"),
     ("kaiming-uniform", "weights and biases uniform in ±1/√fan_in"),
     ("glorot-uniform", "weights Glorot-uniform, biases zero")],
    [("clear-error", "a clear error names the mismatch"),
     ("silent", "it runs and returns values of another shape")],
]  # fmt: skip
# Demo behaviours whose cases have several outcomes, and which set they use.
DEMO_OUTCOMES = {"AG6": 0, "IN1": 1, "IO3": 2, "DI5": 2}
DEMO_CLAIM = "第二隐藏层和第三隐藏层的梯度都会被累加在shared.params.grad()里"


def synthetic_catalogue(n_behaviours: int | None = None) -> dict:
    """{behaviours: [...]}: the demo behaviours, or `n_behaviours` generated ones."""
    if n_behaviours is None:
        items = DEMO_BEHAVIOURS
    else:
        items = [
            (f"B{i:04d}", f"topic-{i % 12:02d}", f"Synthetic behaviour number {i}.")
            for i in range(n_behaviours)
        ]
    return {
        "behaviours": [
            {
                "id": bid,
                "topic": topic,
                "statement": statement,
                "sources": [{"note": "000_a174af33e3c9ad3d.txt", "section": "4.2"}],
            }
            for bid, topic, statement in items
        ]
    }


def synthetic_results(
    n_cases: int | None = None, columns=None, seed: int = 0, n_behaviours: int | None = None
) -> list[dict]:
    """One results object per (framework, version) column; same case ids in every column."""
    rng = random.Random(seed)
    catalogue = synthetic_catalogue(n_behaviours)["behaviours"]
    columns = columns or DEMO_COLUMNS
    n_cases = n_cases or len(catalogue) * 2
    cases = []
    for i in range(n_cases):
        behaviour = catalogue[i % len(catalogue)] if i < len(catalogue) else rng.choice(catalogue)
        if n_behaviours is None:
            set_index = DEMO_OUTCOMES.get(behaviour["id"])
        else:
            set_index = rng.randrange(len(OUTCOME_SETS)) if rng.random() < 0.3 else None
        cases.append(
            {
                "id": f"{behaviour['topic'].replace(' ', '-')}-{behaviour['id'].lower()}-{i:05d}",
                "behaviour": behaviour,
                "fate": rng.random(),  # cases with a high fate disagree between frameworks
                "outcomes": OUTCOME_SETS[set_index] if set_index is not None else [AS_NOTED],
                "by_version": rng.random() < 0.25,  # its pin may change between versions
            }
        )
    agree = 0.6 if n_behaviours else 0.35  # share of cases every framework passes
    return [
        _run(framework, version, cases, random.Random(f"{seed}/{framework}/{version}"), agree)
        for framework, version in columns
    ]


def _run(framework: str, version: str, cases: list[dict], rng: random.Random, agree: float) -> dict:
    statuses = list(STATUS_WEIGHTS)
    weights = list(STATUS_WEIGHTS.values())
    out = []
    for case in cases:
        if framework == "reference" or case["fate"] < agree:
            status = "pass"
        else:
            status = rng.choices(statuses, weights)[0]
        out.append(_case(framework, version, case, status, rng))
    return {
        "format": FORMAT,
        "kit_version": "0.1.0",
        "framework": framework,
        "framework_version": version,
        "components": {},
        "column": f"{framework} {version}",
        "python": "3.11.7",
        "platform": "Linux-x86_64",
        "devices": {"default": "cpu", "second": None},
        "spec_digest": "0" * 63 + "1",
        "started": "2025-01-01T00:00:00Z",
        "finished": "2025-01-01T00:01:00Z",
        "import_error": None,
        "cases": out,
    }


def _pinned(framework: str, version: str, case: dict) -> int:
    """Which outcome a framework is pinned to (0 = the note's); fixed per case and framework,
    or per version for the cases whose behaviour changes between releases."""
    if framework == "reference" or len(case["outcomes"]) == 1:
        return 0
    key = f"{case['id']}/{framework}" + (f"/{version}" if case["by_version"] else "")
    return random.Random(key).randrange(len(case["outcomes"]))


def _case(framework: str, version: str, case: dict, status: str, rng: random.Random) -> dict:
    behaviour, case_id = case["behaviour"], case["id"]
    observations = {
        "shapes": {"0.weight": [256, 20], "0.bias": [256], "1.weight": [10, 256]},
        "native_names": {
            "0.weight": f"{framework}_dense0_weight",
            "0.bias": f"{framework}_dense0_bias",
        },
        "values": {
            "0.weight": {
                "mean": round(rng.uniform(-0.01, 0.01), 6),
                "std": round(rng.uniform(0.03, 0.05), 6),
            }
        },
        "warnings": [],
    }
    message = ""
    if status in ("fail", "error", "crash"):
        kind = rng.choice(ERRORS)
        observations["error"] = {
            "phase": "first_forward",
            "step": 1,
            "type": kind,
            "message": "shape mismatch: (2, 30) vs (256, 20)",
            "kind": "shape_mismatch",
        }
        message = {
            "fail": f"expected error kind 'shape_mismatch', observed {kind} (kind 'other')",
            "error": f"adapter raised {kind} in step 2 (forward)",
            "crash": "the worker process died (signal 11)",
        }[status]
    elif status == "timeout":
        message = "no answer within 60 s"
    elif status == "unsupported":
        message = f"{framework} has no deferred shape for this layer; it builds on first call"
    elif status == "skip":
        message = "needs a second device; this machine has one"

    labels = case["outcomes"]
    pinned = _pinned(framework, version, case)
    held: int | None = None
    if status == "pass":
        held = pinned
    elif status == "fail" and len(labels) > 1 and rng.random() < 0.5:
        held = (pinned + 1) % len(labels)  # moved to another outcome
        message = f"moved: {labels[pinned][0]} -> {labels[held][0]}"
    outcomes, checks = [], []
    for n, (label, says) in enumerate(labels):
        ok = None if status not in ("pass", "fail") else (n == held)
        check = f"values of x.grad match '{label}'"
        failed = [] if ok in (True, None) else [check + f": observed {rng.random():.3f}"]
        outcomes.append(
            {"label": label, "says": says, "normative": n == 0, "held": ok, "failed": failed}
        )
        if ok is not None:
            checks.append({"ok": ok, "check": check, "outcome": label})
    pin = None
    if pinned or (len(labels) > 1 and framework != "reference"):
        pin = {
            "outcome": labels[pinned][0],
            "versions": ">=1.0",
            "evidence": {"doc": f"{framework} documentation: {labels[pinned][1]}"}
            if pinned == 0
            else {"observed": labels[pinned][1], "note_says": labels[0][1]},
        }
    return {
        "id": case_id,
        "file": f"specs/{behaviour['topic'].replace(' ', '_')}.yaml",
        "topic": behaviour["topic"],
        "title": behaviour["statement"],
        "behaviours": [behaviour["id"]],
        "status": status,
        "message": message,
        "outcome": labels[held][0] if held is not None else None,
        "expected_outcome": labels[pinned][0],
        "normative_outcome": labels[0][0],
        "outcomes": outcomes,
        "pin": pin,
        "observations": observations,
        "duration_s": round(rng.uniform(0.001, 0.2), 4),
        "source": {"note": "000_a174af33e3c9ad3d.txt", "section": "4.2.4", "claim": DEMO_CLAIM},
        "checks": checks,
        "snippet": f"# {framework}: {case_id}\nnet = build_model()\nnet.initialize()\nout = net(x)\n",
    }
