"""Native names, Gluon 1.x style: each block gets a prefix "<class><n>_" from a counter per
class name ("dense0_", "dense1_"), and its parameters are prefix + name ("dense0_weight").

`reset()` restarts the counters, as a fresh process would.
"""

from __future__ import annotations

from collections import Counter
from contextlib import contextmanager

_counters: Counter = Counter()


def next_prefix(hint: str) -> str:
    prefix = f"{hint}{_counters[hint]}_"
    _counters[hint] += 1
    return prefix


def reset() -> None:
    _counters.clear()


@contextmanager
def use(counters: Counter):
    """Count names in `counters` for the duration (one namespace per adapter session)."""
    global _counters
    saved, _counters = _counters, counters
    try:
        yield counters
    finally:
        _counters = saved
