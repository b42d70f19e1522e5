"""The `conformance` command: run, report, gate, list, validate.

Rule: exit 0 for success, 1 when cases fail or the gate finds a change, 2 for unusable
input (bad spec, unknown framework, unreadable results) — always with a message naming
what to fix, never a traceback.

This module is the parser and `main`; the commands live beside it: `run`, `results`
(report, gate, check-programs) and `specs` (list, validate, and the loading of specs
that every command shares), all printing through `output`.
"""

from __future__ import annotations

import argparse
import sys

from conformance import __version__
from conformance.cli.output import OUT_DEFAULT, USAGE_ERROR, err, silence_stdout
from conformance.cli.results import cmd_check_programs, cmd_gate, cmd_report
from conformance.cli.run import cmd_run
from conformance.cli.specs import cmd_list, cmd_validate

SPECS_HELP = "spec files or folders (default: the specs shipped with the kit)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="conformance", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"conformance {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the specs against frameworks and write results + report")
    run.add_argument("--framework", action="append", help="framework to run (repeatable); default: all installed")
    run.add_argument("--specs", nargs="+", metavar="PATH",
                     help=SPECS_HELP + "; other specs make a partial run, written under OUT/partial/")
    run.add_argument("--case", action="append", metavar="TEXT",
                     help="run only cases whose id contains TEXT (case ids only, not file names; repeatable); "
                          "a partial run, written under OUT/partial/")
    run.add_argument("--out", default=OUT_DEFAULT, metavar="OUT",
                     help="output folder: results in OUT/results/, the report in OUT/ (default: reports)")
    run.add_argument("--timeout", type=float, default=120.0, help="per-case time limit in seconds")
    run.add_argument("--keep-going", action="store_true", help="run the good spec files when some are bad")
    run.add_argument("--in-process", action="store_true", help="no worker process (no crash/timeout isolation)")
    run.add_argument("--workers", type=int, metavar="N",
                     help="worker processes per framework, each importing it and running a fixed share of the "
                          "cases (default: $CONFORMANCE_WORKERS, else one per CPU up to 2)")
    run.add_argument("--no-report", action="store_true", help="do not write the HTML report")
    run.add_argument("-v", "--verbose", action="store_true", help="print passing cases too")
    run.set_defaults(func=cmd_run)

    report = sub.add_parser("report", help="merge results files into reports/index.html, results.json, summary.md")
    report.add_argument("results", nargs="*",
                        help="results files or folders of them (default: reports/results/*.json)")
    report.add_argument("-o", "--out", default=None,
                        help="output folder for the report (default: reports); with --compare, "
                             "a Markdown file (default: stdout)")
    report.add_argument("--compare", nargs=2, metavar=("A", "B"),
                        help="print the porting guide from column A to column B as Markdown (a "
                             "checklist of the behaviours that differ, each difference with both "
                             "programs, then what cannot be compared); a column is a framework name "
                             "(its newest column), name@version (a version prefix: tensorflow@2.15), "
                             "name@version,keras@3, or its full label")
    report.set_defaults(func=cmd_report)

    gate_parser = sub.add_parser("gate", help="exit 1 when any case does not match its expectation")
    gate_parser.add_argument("results", nargs="*",
                             help="results files or folders of them (default: reports/results/*.json)")
    gate_parser.add_argument("--baseline", nargs="+",
                             help="earlier results (files or folders); a case whose outcome, status or "
                                  "observations changed is named MOVED")
    gate_parser.add_argument("--specs", nargs="+", default=None,
                             help="spec files or folders every run must cover (default: the kit's specs)")
    gate_parser.add_argument("--accept", action="append", metavar="COLUMN",
                             help="accept the moved behaviour of this column (a label, framework, "
                                  "framework@version or framework@version,keras@3; repeatable): "
                                  "copy its results file into the one --baseline folder, replacing "
                                  "that column's baseline file and no other, then gate")
    gate_parser.set_defaults(func=cmd_gate)

    listing = sub.add_parser("list", help="list behaviours and the cases covering them")
    listing.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    listing.add_argument("--specs", nargs="+", metavar="PATH", help=SPECS_HELP)
    listing.add_argument("--catalogue", metavar="FILE",
                         help="behaviour catalogue (default: catalogue.yaml beside the specs)")
    listing.set_defaults(func=cmd_list)

    validate = sub.add_parser("validate", help="check spec files; exit 2 naming file, case and key")
    validate.add_argument("paths", nargs="*", metavar="PATH", help=SPECS_HELP)
    validate.set_defaults(func=cmd_validate)

    programs = sub.add_parser("check-programs",
                              help="run every program of a results file on its own (python -I, the kit not "
                                   "importable) and compare what it prints with its record; exit 1 on a mismatch")
    programs.add_argument("results", nargs="*", help="results files (default: this env's column of each --framework)")
    programs.add_argument("--framework", action="append", help="the column of this framework as installed here")
    programs.add_argument("--out", default=OUT_DEFAULT, metavar="OUT", help="where run wrote OUT/results/")
    programs.add_argument("--jobs", type=int, default=2, help="programs run side by side (default 2)")
    programs.set_defaults(func=cmd_check_programs)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return USAGE_ERROR if exc.code not in (0, None) else 0
    try:
        code = args.func(args)
        sys.stdout.flush()  # a closed pipe shows here, inside the handler below
        return code
    except KeyboardInterrupt:
        err("interrupted")
        return 130
    except BrokenPipeError:
        # The reader went away (`conformance list | head`): stop quietly, like other tools.
        silence_stdout()
        return 141
