"""`conformance gate` as its own command line: parse, accept the columns named, gate, print.

Rule: the exit code is the gate's (0 pass, 1 findings, 2 unusable input); `--accept`
rewrites the one `--baseline` folder before the gate runs, and stops it when it cannot.
"""

from __future__ import annotations

import argparse
import sys

from conformance.gate.baseline import accept
from conformance.gate.findings import UNUSABLE
from conformance.gate.verdict import gate


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="conformance gate",
        description="Exit 0 when every case is pass/unsupported/skip-with-reason; "
        "1 listing what needs attention; 2 when the input is unusable.",
    )
    parser.add_argument("results", nargs="+", help="results files or folders of them")
    parser.add_argument(
        "--baseline",
        action="append",
        default=[],
        metavar="PATH",
        help="earlier results (file or folder); changed cases fail the gate",
    )
    parser.add_argument(
        "--specs",
        action="append",
        default=[],
        metavar="PATH",
        help="spec files or folders; every case they define must be in every run",
    )
    parser.add_argument(
        "--accept",
        action="append",
        default=[],
        metavar="COLUMN",
        help="copy this column's results into the --baseline folder first (repeatable)",
    )
    args = parser.parse_args(argv)
    spec_cases = None
    if args.specs:
        from conformance.spec.loader import SpecError, load_specs

        try:
            spec_cases = [case.id for case in load_specs(args.specs)]
        except SpecError as exc:
            print(f"gate: the specs are unusable:\n{exc}", file=sys.stderr)
            return UNUSABLE
    return run_gate(args.results, spec_cases, args.baseline, args.accept)


def run_gate(results, spec_cases, baseline, accepted) -> int:
    """The command: accept the columns named (when any), then gate and print; the exit code."""
    if accepted:
        if len(baseline) != 1:
            print("gate --accept: name one --baseline folder to rewrite", file=sys.stderr)
            return UNUSABLE
        code, lines = accept(results, baseline[0], accepted, spec_cases)
        for line in lines:
            print(line, file=sys.stderr if code else sys.stdout)
        if code:
            return code
    result = gate(results, spec_cases, baseline or None)
    result.write()
    return result.exit_code

