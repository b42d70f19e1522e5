"""The adapter interface: what the kit needs to know about a framework besides its programs.

One `Adapter` subclass per framework (einops-style): it names itself with
`framework_name`, imports its framework inside `load()` (the zygote does that once per
column), reports its version, devices and components, and gives the program writer its
`Idiom`. It never runs a case: the worker runs the program the idiom wrote, and the
checker judges what that program recorded.

A new framework is one folder `conformance/adapters/<name>/` (an adapter, an idiom, the
notes' code in that framework), one line in `conformance/adapters/__init__.py` and one tox env.
"""

from __future__ import annotations


class Adapter:
    """One framework. `load()` imports it; failures there make every case `error`."""

    framework_name = "base"
    # (regex on "Type: message" of an observer error, why this machine cannot observe it):
    # a needed observation failing that way makes the case `skip` rather than `fail`.
    unobservable: tuple = ()

    def load(self) -> None:
        """Import the framework (only here, never at module import)."""

    def version(self) -> str:
        raise NotImplementedError

    def start_runtime(self) -> None:
        """What must follow `load` before the first case but may start the framework's runtime
        (threads, devices). Workers are forked after `load`, so `load` only imports and
        configures; this runs in each worker, before `version` and `devices`. A second call
        does nothing."""

    def devices(self) -> dict:
        """{"default": native str, "second": native str or None, "kind": "gpu" | "virtual-..."}.
        A second device whose kind starts with "virtual" is a stand-in (torch meta, logical
        CPUs, MXNet cpu(1), JAX host devices), never a GPU."""
        return {"default": "cpu", "second": None}

    def components(self) -> dict:
        """Parts of the framework with versions of their own, e.g. {"keras": "3.15.1"};
        they name the column and spec pins may range them (`keras: "<3"`)."""
        return {}

    def idiom(self, column):
        """The program writer's table for this framework (`conformance.program.idiom.Idiom`)."""
        raise NotImplementedError

    def program_env(self, environ: dict) -> dict:
        """Environment variables (given the current `environ`) the column's programs run
        under: compiler settings that the last bits of their float results depend on, for
        example. `load()` applies them to the worker before the framework is imported;
        `check-programs` gives them to the programs it runs on their own, so both print the same."""
        return {}

    def fresh_state(self) -> None:
        """Before each program in a warm worker: put back what a fresh process would have
        where the framework keeps process-wide state that a program's output depends on
        (e.g. layer-name counters). Every column env checks that each program prints the
        same in a fresh process (`python -I cell.py`), so a leak here cannot go unseen."""
