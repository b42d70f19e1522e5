"""Running cases: one case in a process (`case`), a column's worker processes (`pool`), and
the run of a column into its results file (`column`)."""

from conformance.run.case import case_record, column_of, run_case, run_inprocess
from conformance.run.column import Interrupted, column_label, results_path, run_framework, shard
from conformance.run.pool import close_workers, forking, prestart, worker_count

__all__ = [
    "Interrupted",
    "case_record",
    "close_workers",
    "column_label",
    "column_of",
    "forking",
    "prestart",
    "results_path",
    "run_case",
    "run_framework",
    "run_inprocess",
    "shard",
    "worker_count",
]
