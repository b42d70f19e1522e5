"""Reading results files: each path is either a usable `Run` or a `ResultsError` saying why not.

Rule: nothing is guessed, and nothing unchecked reaches a reader. A file that is missing or
is not JSON (or holds a number Python will not read) is unusable input; what parses goes
through `results_format.check_results` before any reader sees it. Two files of one column
label are refused (`load_runs`). A well-formed run with no cases or with an import error is
still a run (the gate fails it, the report shows it). A run written before outcomes existed
(status `known`) is still read: `Run.legacy` counts such cases. Folders are read for their
`*.json` files, skipping hidden ones: the temporary files of atomic writes (`.tmp-*.json`)
and run journals (`.*.partial.jsonl`).
"""

from __future__ import annotations

import contextlib
import functools
import gc
import json
import operator
import os
from collections import Counter
from dataclasses import dataclass, field

from conformance.report.results_format import LEGACY_STATUSES, ResultsError, check_results

_STATUS = operator.itemgetter("status")


@dataclass(frozen=True)
class Run:
    """One results file: one framework@version on one machine."""

    path: str
    data: dict
    text: str = field(default="", repr=False, compare=False)  # the file as read, for merging

    @property
    def framework(self) -> str:
        return self.data["framework"]

    @property
    def version(self) -> str:
        return self.data["framework_version"]

    @property
    def components(self) -> dict:
        """Parts with their own versions, e.g. {"keras": "3.15.1"} (empty when none)."""
        value = self.data.get("components")
        return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}

    @property
    def label(self) -> str:
        """The column's label: the run's own `column`, else "framework version · part v"."""
        column = self.data.get("column")
        if isinstance(column, str) and column.strip():
            return column.strip()
        parts = [f"{self.framework} {self.version}"]
        parts += [f"{k} {v}" for k, v in sorted(self.components.items())]
        return " · ".join(parts)

    @functools.cached_property
    def legacy(self) -> int:
        """How many cases carry a status this kit no longer writes (`known`); counted once."""
        statuses = Counter(map(_STATUS, self.cases))
        return sum(statuses[status] for status in LEGACY_STATUSES)

    @property
    def cases(self) -> list[dict]:
        return self.data["cases"]

    @property
    def import_error(self) -> str | None:
        return self.data.get("import_error")

    def environment(self) -> dict:
        """Everything about the run except its cases."""
        return {k: v for k, v in self.data.items() if k != "cases"}


def expand_paths(paths: list[str]) -> list[str]:
    """Directories become their `*.json` files (sorted), hidden files left out: another
    writer's temporary files (`.tmp-*.json`) and journals are not results; files named
    are kept as given."""
    out: list[str] = []
    for path in paths:
        if os.path.isdir(path):
            names = sorted(
                n for n in os.listdir(path) if n.endswith(".json") and not n.startswith(".")
            )
            out.extend(os.path.join(path, n) for n in names)
        else:
            out.append(path)
    return out


def load_runs(paths: list[str]) -> tuple[list[Run], list[ResultsError]]:
    """(runs, errors) for the files or folders named: each file read once (a file named twice,
    or through its folder, counts once), and a run whose column label another file already
    has is an error naming both files (two columns would read as one). Two runs of one version
    on two platforms are two columns (the report names their platforms)."""
    runs: list[Run] = []
    errors: list[ResultsError] = []
    seen_files: set[str] = set()
    labels: dict[str, str] = {}
    for path in expand_paths(list(paths)):
        real = os.path.realpath(path)
        if real in seen_files:
            continue
        seen_files.add(real)
        try:
            run = load_run(path)
        except ResultsError as exc:
            errors.append(exc)
            continue
        other = labels.setdefault(f"{run.label}\x00{run.environment().get('platform')}", path)
        if other != path:
            errors.append(
                ResultsError(
                    path,
                    f"its column label {run.label!r} is also the label of {other}; "
                    "two results files of one column cannot be told apart",
                )
            )
            continue
        runs.append(run)
    return runs, errors


@contextlib.contextmanager
def gc_paused():
    """Pause the cyclic garbage collector while many small objects are built.

    Decoding tens of MB of JSON creates millions of containers; each allocation burst
    triggers full collections that find nothing (the objects are all alive). Pausing it
    makes loading 3-4x faster; it is switched back on (as it was) afterwards.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def cell_label(case: dict | None) -> str:
    """What a cell shows: the label of the outcome that held, else the status."""
    if case is None:
        return "not run"
    return case.get("outcome") or case["status"]


def load_run(path: str) -> Run:
    """Read and check one results file; raise `ResultsError` when it is unusable."""
    try:
        with open(path, "rb") as handle:  # bytes, then one decode: no newline translation
            text = handle.read().decode("utf-8")
    except FileNotFoundError:
        raise ResultsError(path, "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ResultsError(path, f"cannot read: {exc}") from None
    if not text.strip():
        raise ResultsError(path, "file is empty (0 bytes of JSON)")
    with gc_paused():
        try:
            # NaN/Infinity (not JSON, but Python writes them) stay visible as strings.
            data = json.loads(text, parse_constant=str)
        except json.JSONDecodeError as exc:
            raise ResultsError(path, f"not JSON: {exc}") from None
        except RecursionError:
            raise ResultsError(path, "not usable JSON: nested deeper than Python reads") from None
        except (ValueError, MemoryError) as exc:  # e.g. an integer of more than 4,300 digits
            raise ResultsError(path, f"not usable JSON: {str(exc)[:200]}") from None
        return Run(path=path, data=check_results(path, data), text=text)
