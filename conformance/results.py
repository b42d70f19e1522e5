"""Results files: evidence summarised into JSON, written so that nothing is lost or half-written.

Rule: a results file is one JSON object (format "conformance-results/1", see README); it is
written to a temporary file of its own (`.tmp-<unique>`, hidden: concurrent writers never
collide, and readers of the folder skip it) and renamed into place; every finished case is
appended to a journal (`.<name>.partial.jsonl`, flushed per line, so a killed runner leaves
what it finished there; fsync'd once when the run closes it) first, so an interrupted run
keeps what it did.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import tempfile

import numpy as np

# A memory address in printed text (`<function relu at 0x7f90b8b43350>`): it differs per run and
# says nothing about the framework, so records carry "0x…" and the gate compares that way too.
ADDRESS = re.compile(r"\b0x[0-9a-fA-F]{6,}\b")
FORMAT = "conformance-results/1"
SMALL = 16  # arrays up to this many elements are recorded in full
RESULTS_MODE = 0o644  # rw-r--r--, like any file a user writes


def summarise(value):
    """Evidence -> JSON-able: arrays become shape/dtype/statistics (+ values when small)."""
    from conformance.spec.checks import EvidenceFailure

    if isinstance(value, EvidenceFailure):
        return value.to_json()
    if isinstance(value, np.ndarray) or type(value).__module__ == "numpy":
        array = np.asarray(value)
        if array.dtype.kind in "fiub" and array.dtype != object:
            out = {"shape": list(array.shape), "dtype": str(array.dtype)}
            if array.size:
                af = array.astype(np.float64)
                out.update(mean=_num(af.mean()), std=_num(af.std()), min=_num(af.min()), max=_num(af.max()),
                           frac_zero=_num(np.mean(af == 0)))
            if array.size <= SMALL:
                out["values"] = _clean(array.tolist())
            return out
        return {"shape": list(array.shape), "dtype": str(array.dtype)}
    if isinstance(value, dict):
        return {str(k): summarise(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [summarise(v) for v in value]
    if isinstance(value, float):
        return _num(value)
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return repr(value)[:300]


def _num(x) -> float | str:
    """JSON has no NaN or infinities: they are kept as the strings "NaN", "Infinity" and
    "-Infinity", which the report shows as such (null would read as 'not observed')."""
    x = float(x)
    if math.isfinite(x):
        return x
    return "NaN" if math.isnan(x) else ("Infinity" if x > 0 else "-Infinity")


def _clean(obj):
    if isinstance(obj, list):
        return [_clean(v) for v in obj]
    if isinstance(obj, float):
        return _num(obj)
    return obj


def atomic_write_json(path: str, data) -> None:
    """Write JSON to `path` atomically (a temporary file of its own in the same folder, fsync,
    rename)."""
    with atomic_file(path, ".json") as handle:
        json.dump(data, handle, indent=1, ensure_ascii=False, allow_nan=False)


def atomic_write_text(path: str, parts) -> None:
    """Write the text `parts` (an iterable of strings) to `path` atomically, as
    `atomic_write_json` does: another writer of the same file at the same time never shares
    its temporary file, and readers never see half of it."""
    suffix = os.path.splitext(path)[1] or ".txt"
    with atomic_file(path, suffix) as handle:
        handle.writelines(parts)


@contextlib.contextmanager
def atomic_file(path: str, suffix: str):
    """A text handle on a new temporary file beside `path` (`.tmp-<unique><suffix>`: hidden, so
    readers of the folder skip it), renamed onto `path` when the block ends, removed if it fails."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=suffix, dir=folder)
    try:
        os.fchmod(fd, RESULTS_MODE)  # mkstemp makes 0600; results are for everyone to read
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class Journal:
    """Append-only JSON-lines file of finished cases: each line reaches the operating system
    as it is written (a crash of the runner loses none), the disk once at close."""

    def __init__(self, path: str):
        self.path = path
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self._handle = open(path, "a", encoding="utf-8")  # noqa: SIM115 - lives as long as the run

    def append(self, record: dict) -> None:
        self._handle.write(json.dumps(record, ensure_ascii=False, allow_nan=False) + "\n")
        self._handle.flush()

    def close(self, remove: bool) -> None:
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
        if remove and os.path.exists(self.path):
            os.unlink(self.path)


def read_journal(path: str) -> list[dict]:
    """Records of a journal; a torn last line (killed mid-write) is ignored."""
    records = []
    if not os.path.exists(path):
        return records
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                break
    return records


def safe_name(text: str) -> str:
    return "".join(c if c.isalnum() or c in "._+-" else "_" for c in text)
