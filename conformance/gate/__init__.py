"""The regression gate: results files (and optionally a baseline) in, an exit code and a list out.

Rule: never a pass by default. Exit 0 only when every case of every run is pass, or
unsupported/skip with a reason, no run is empty, broken at import, short of the spec's
cases or in the old results format (status `known`, which could hide failures), and —
with a baseline — no case's outcome, status or observations moved. A changed outcome is
named `MOVED <case>: <column>: a -> b`. Exit 1 lists each finding grouped by column.
Exit 2 means the input could not be judged: a results file that is missing, is not a
results file, or shares its column label with another.

Observations compare exactly (outcomes, statuses, shapes, dtypes, names, error types and
messages, integers), except floats, which compare within what rounding can move them
(`float_tolerance`; docs/gate.md states the rule), so another CPU or BLAS kernel never
moves the gate and a 1% change does. Every line the gate prints is one line of printable
text: whatever a results file holds is escaped. The findings go to stdout; the lines naming
unusable input go to stderr, once.

`verdict.gate` judges and prints; `findings` says what one run, or one run against its
baseline, gets wrong; `observations` compares observations (the float tolerance);
`baseline` picks and rewrites baselines (`--accept`); `command` is `conformance gate`.
"""

from conformance.gate.verdict import GateResult, gate

__all__ = ["GateResult", "gate"]
