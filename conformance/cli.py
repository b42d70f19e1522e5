"""The `conformance` command: run, report, gate, list, validate.

Rule: exit 0 for success, 1 when cases fail or the gate finds a change, 2 for unusable
input (bad spec, unknown framework, unreadable results) — always with a message naming
what to fix, never a traceback.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys

from conformance import __version__

SPECS_DEFAULT = "specs"
OUT_DEFAULT = "reports"
USAGE_ERROR = 2


def _err(message: str) -> None:
    print(f"conformance: {message}", file=sys.stderr)


def _load_cases(paths: list[str], keep_going: bool):
    from conformance.loader import discover, load_specs_tolerant, spec_digest

    cases, problems = load_specs_tolerant(paths)
    for problem in problems:
        _err(str(problem))
    if problems and not keep_going:
        _err(f"{len(problems)} problem(s) in the specs; fix them or pass --keep-going to run the good files")
        return None, None, True
    files = [f for f in discover(paths) if os.path.exists(f)]
    return cases, spec_digest(files), bool(problems)


def _select(cases, patterns: list[str] | None):
    if not patterns:
        return cases
    return [c for c in cases if any(p in c.id or p in c.nodeid for p in patterns)]


def cmd_run(args) -> int:
    from conformance.adapters import ADAPTERS, installed_frameworks
    from conformance.runner import run_framework

    frameworks = args.framework or installed_frameworks()
    unknown = [f for f in frameworks if f not in ADAPTERS and ":" not in f]
    if unknown:
        _err(f"unknown framework(s) {unknown}; known: {sorted(ADAPTERS)}")
        return USAGE_ERROR
    cases, digest, had_problems = _load_cases(args.specs, args.keep_going)
    if cases is None:
        return USAGE_ERROR
    cases = _select(cases, args.case)
    if not cases:
        _err("no cases to run")
        return USAGE_ERROR
    results_dir = os.path.join(args.out, "results")
    written = []
    worst = 0
    for framework in frameworks:
        print(f"== {framework}: {len(cases)} cases", flush=True)

        def echo(record):
            if record["status"] != "pass" or args.verbose:
                print(f"  {record['status']:<11} {record['file']}::{record['id']}  {record['message'][:160]}", flush=True)

        path, results = run_framework(framework, cases, results_dir, digest, timeout_s=args.timeout,
                                      isolate=not args.in_process, echo=echo)
        written.append(path)
        counts: dict[str, int] = {}
        for record in results["cases"]:
            counts[record["status"]] = counts.get(record["status"], 0) + 1
        summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        print(f"   {results['framework']} {results['framework_version']}: {summary} -> {path}", flush=True)
        if any(s in counts for s in ("fail", "error", "crash", "timeout")):
            worst = 1
    if not args.no_report:
        all_results = sorted(glob.glob(os.path.join(results_dir, "*.json")))
        report_paths = _write_report(all_results, args.out)
        if report_paths:
            print(f"report: {report_paths.get('html', args.out)}")
    if had_problems:
        worst = max(worst, USAGE_ERROR)
    return worst


def _write_report(results: list[str], out: str) -> dict:
    from conformance.report import write_report

    catalogue = os.path.join(SPECS_DEFAULT, "catalogue.yaml")
    return write_report(results, out, catalogue if os.path.exists(catalogue) else None)


def _read_results_or_fail(paths: list[str]) -> bool:
    ok = True
    for path in paths:
        try:
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
            if not isinstance(data, dict) or "cases" not in data or "framework" not in data:
                raise ValueError("not a conformance results object (needs 'framework' and 'cases')")
        except (OSError, ValueError) as exc:
            _err(f"{path}: unusable results file: {exc}")
            ok = False
    return ok


def _default_results(results: list[str], out: str) -> list[str]:
    """The results files named, or every one under OUT/results when none are."""
    return results or sorted(glob.glob(os.path.join(out, "results", "*.json")))


def cmd_report(args) -> int:
    args.results = _default_results(args.results, args.out)
    if not args.results:
        _err(f"no results files given and none in {args.out}/results; run `conformance run` first")
        return USAGE_ERROR
    if not _read_results_or_fail(args.results):
        return USAGE_ERROR
    paths = _write_report(args.results, args.out)
    for kind, path in sorted(paths.items()):
        print(f"{kind}: {path}")
    return 0


def cmd_gate(args) -> int:
    from conformance.gate import gate

    spec_cases = None
    if args.specs:
        cases, _, _ = _load_cases(args.specs, keep_going=False)
        if cases is None:
            return USAGE_ERROR
        spec_cases = [c.id for c in cases]
    args.results = _default_results(args.results, OUT_DEFAULT)
    if not args.results:
        _err(f"no results files given and none in {OUT_DEFAULT}/results: nothing ran, the gate cannot pass")
        return 1
    result = gate(args.results, spec_cases=spec_cases, baseline_paths=args.baseline or None)
    for line in result.lines:
        print(line)
    return result.exit_code


def cmd_list(args) -> int:
    import yaml

    cases, _, _ = _load_cases(args.specs, keep_going=True)
    if cases is None:
        return USAGE_ERROR
    catalogue_path = args.catalogue
    behaviours = []
    if os.path.exists(catalogue_path):
        with open(catalogue_path, encoding="utf-8") as handle:
            behaviours = (yaml.safe_load(handle) or {}).get("behaviours", [])
    covered: dict[str, list[str]] = {}
    for case in cases:
        for behaviour in case.behaviours:
            covered.setdefault(behaviour, []).append(case.nodeid)
    if args.json:
        listing = {
            "behaviours": [
                {"id": b["id"], "topic": b.get("topic"), "statement": b.get("statement"),
                 "cases": covered.get(b["id"], [])} for b in behaviours
            ],
            "uncatalogued": {k: v for k, v in covered.items() if k not in {b["id"] for b in behaviours}},
            "cases": [{"id": c.id, "file": c.file, "title": c.title, "behaviours": c.behaviours} for c in cases],
        }
        print(json.dumps(listing, indent=1, ensure_ascii=False))
        return 0
    for b in behaviours:
        ids = covered.get(b["id"], [])
        print(f"{b['id']:<5} {len(ids):>2} case(s)  {b.get('statement', '')}")
        for nodeid in ids:
            print(f"        {nodeid}")
    for case in cases:
        if not behaviours:
            print(f"{case.nodeid}  [{','.join(case.behaviours)}]  {case.title}")
    return 0


def cmd_validate(args) -> int:
    from conformance.loader import load_specs_tolerant

    cases, problems = load_specs_tolerant(args.paths)
    for problem in problems:
        _err(str(problem))
    if problems:
        return USAGE_ERROR
    print(f"ok: {len(cases)} cases")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="conformance", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"conformance {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the specs against frameworks and write results + report")
    run.add_argument("--framework", action="append", help="framework to run (repeatable); default: all installed")
    run.add_argument("--specs", nargs="+", default=[SPECS_DEFAULT], help="spec files or folders")
    run.add_argument("--case", action="append", help="run only cases whose id contains this (repeatable)")
    run.add_argument("--out", default=OUT_DEFAULT, help="output folder (results/ and the report)")
    run.add_argument("--timeout", type=float, default=120.0, help="per-case time limit in seconds")
    run.add_argument("--keep-going", action="store_true", help="run the good spec files when some are bad")
    run.add_argument("--in-process", action="store_true", help="no worker process (no crash/timeout isolation)")
    run.add_argument("--no-report", action="store_true", help="do not write the HTML report")
    run.add_argument("-v", "--verbose", action="store_true", help="print passing cases too")
    run.set_defaults(func=cmd_run)

    report = sub.add_parser("report", help="merge results files into reports/index.html, results.json, summary.md")
    report.add_argument("results", nargs="*")
    report.add_argument("-o", "--out", default=OUT_DEFAULT)
    report.set_defaults(func=cmd_report)

    gate_parser = sub.add_parser("gate", help="exit 1 when any case does not match its expectation")
    gate_parser.add_argument("results", nargs="*")
    gate_parser.add_argument("--baseline", nargs="+", help="earlier results to compare with")
    gate_parser.add_argument("--specs", nargs="+", default=[SPECS_DEFAULT],
                             help="spec files every run must cover (default: specs)")
    gate_parser.set_defaults(func=cmd_gate)

    listing = sub.add_parser("list", help="list behaviours and the cases covering them")
    listing.add_argument("--json", action="store_true")
    listing.add_argument("--specs", nargs="+", default=[SPECS_DEFAULT])
    listing.add_argument("--catalogue", default=os.path.join(SPECS_DEFAULT, "catalogue.yaml"))
    listing.set_defaults(func=cmd_list)

    validate = sub.add_parser("validate", help="check spec files; exit 2 naming file, case and key")
    validate.add_argument("paths", nargs="*", default=[SPECS_DEFAULT])
    validate.set_defaults(func=cmd_validate)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return USAGE_ERROR if exc.code not in (0, None) else 0
    try:
        return args.func(args)
    except KeyboardInterrupt:
        _err("interrupted; finished cases are kept in reports/results")
        return 130
