"""The `conformance` command: run, report, gate, list, validate.

Rule: exit 0 for success, 1 when cases fail or the gate finds a change, 2 for unusable
input (bad spec, unknown framework, unreadable results) — always with a message naming
what to fix, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import sys

from conformance import __version__

SPECS_DEFAULT = "specs"
OUT_DEFAULT = "reports"
USAGE_ERROR = 2
PARTIAL = "partial"  # a partial run writes under OUT/partial/, never over OUT/results/
SPECS_HELP = "spec files or folders (default: the specs shipped with the kit)"


def _err(message: str) -> None:
    print(f"conformance: {message}", file=sys.stderr)


def default_specs() -> str:
    """The kit's own specs folder: shipped in the package (a link to ../specs in a checkout)."""
    from importlib import resources

    return os.path.realpath(str(resources.files("conformance").joinpath("specs")))


def _is_default(paths: list[str] | None) -> bool:
    """True when `paths` means the kit's own specs: not given, or naming the shipped folder."""
    if paths is None:
        return True
    if paths == [SPECS_DEFAULT] and not os.path.exists(SPECS_DEFAULT):
        return True  # the old default, outside a checkout
    return [os.path.realpath(p) for p in paths] == [default_specs()]


@contextlib.contextmanager
def _specs_folder(paths: list[str] | None):
    """Yield the spec paths to load. The kit's specs are loaded from beside them, so their files
    are named `specs/...` (and digest alike) wherever the kit is installed and run from."""
    if not _is_default(paths):
        yield paths
        return
    here = os.getcwd()
    os.chdir(os.path.dirname(default_specs()))
    try:
        yield [os.path.basename(default_specs())]
    finally:
        os.chdir(here)


def _load_cases(paths: list[str] | None, keep_going: bool, keep_going_flag: bool = False):
    """(cases, digest, had_problems), or (None, None, True) when the specs are unusable.

    `keep_going_flag`: the subcommand has --keep-going, so the hint may name it."""
    from conformance.loader import discover, load_specs_tolerant, spec_digest

    with _specs_folder(paths) as load_paths:
        cases, problems = load_specs_tolerant(load_paths)
        files = [f for f in discover(load_paths) if os.path.exists(f)]
        digest = spec_digest(files)
    for problem in problems:
        _err(str(problem))
    if problems and not keep_going:
        hint = "fix them or pass --keep-going to run the good files" if keep_going_flag else "fix them"
        _err(f"{len(problems)} problem(s) in the specs; {hint}")
        return None, None, True
    if not cases:
        if not problems:
            _err(f"no spec cases in {', '.join(paths or [default_specs()])}")
        return None, None, True
    return cases, digest, bool(problems)


def _select(cases, patterns: list[str] | None):
    """Cases whose id contains any of `patterns` (ids only: never the file path)."""
    if not patterns:
        return cases
    return [c for c in cases if any(p in c.id for p in patterns)]


def cmd_run(args) -> int:
    from conformance.adapters import ADAPTERS, installed_frameworks
    from conformance.runner import close_workers, prestart, results_path, run_framework, worker_count

    frameworks = args.framework or installed_frameworks()
    unknown = [f for f in frameworks if f not in ADAPTERS and ":" not in f]
    if unknown:
        _err(f"unknown framework(s) {unknown}; known: {sorted(ADAPTERS)}")
        return USAGE_ERROR
    if args.workers is not None and args.workers < 1:
        _err(f"--workers must be at least 1, not {args.workers}")
        return USAGE_ERROR
    # The first column's workers import its framework while the specs are parsed.
    prestarted = prestart(frameworks[0], args.workers) if frameworks and not args.in_process else []
    cases, digest, had_problems = _load_cases(args.specs, args.keep_going, keep_going_flag=True)
    if cases is not None:
        cases = _select(cases, args.case)
    if not cases:
        close_workers(prestarted)
        if cases is not None:
            _err(f"no cases to run: no case id contains {' or '.join(repr(p) for p in args.case)}")
        return USAGE_ERROR
    # Only a run of every case of the kit's specs may replace OUT/results/<column>.json.
    partial = bool(args.case) or had_problems or not _is_default(args.specs)
    out = os.path.join(args.out, PARTIAL) if partial else args.out
    results_dir = os.path.join(out, "results")
    if partial:
        print(f"partial run (--case, --specs or --keep-going): results go to {results_dir}/; "
              f"{os.path.join(args.out, 'results')}/ is left as it is", flush=True)
    written = []
    worst = 0
    for framework in frameworks:
        if args.in_process:
            where = "in this process"
        else:
            count = worker_count(len(cases), args.workers)
            where = f"{count} worker process{'es' if count > 1 else ''}"
        print(f"== {framework}: {len(cases)} case{'s' if len(cases) != 1 else ''}, {where}", flush=True)

        def echo(record):
            if record["status"] != "pass" or args.verbose:
                print(f"  {record['status']:<11} {record['file']}::{record['id']}  {record['message'][:160]}", flush=True)

        path, results = run_framework(framework, cases, results_dir, digest, timeout_s=args.timeout,
                                      isolate=not args.in_process, echo=echo, workers=args.workers,
                                      prestarted=prestarted if framework == frameworks[0] else None)
        written.append(path)
        if results.get("import_error"):
            # Said once, with the real error; the file holds no case records, only the error.
            print(f"   {results['import_error']}", flush=True)
            print(f"   -> {path} (marks the failure; report and gate show it once)", flush=True)
            worst = 1
            continue
        stale = results_path(results_dir, framework, "unavailable")
        if os.path.exists(stale) and os.path.abspath(stale) != os.path.abspath(path):
            os.unlink(stale)  # an earlier import failure of this framework, now imported
        counts: dict[str, int] = {}
        for record in results["cases"]:
            counts[record["status"]] = counts.get(record["status"], 0) + 1
        summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        print(f"   {results['framework']} {results['framework_version']}: {summary} -> {path}", flush=True)
        if any(s in counts for s in ("fail", "error", "crash", "timeout")):
            worst = 1
    if not args.no_report:
        all_results = sorted(glob.glob(os.path.join(results_dir, "*.json")))
        report_paths = _write_report(all_results, out)
        if report_paths:
            print(f"report: {report_paths.get('html', out)}")
    if had_problems:
        worst = max(worst, USAGE_ERROR)
    return worst


def _default_catalogue() -> str:
    """./specs/catalogue.yaml where there is one (a checkout), else the kit's own."""
    local = os.path.join(SPECS_DEFAULT, "catalogue.yaml")
    return local if os.path.exists(local) else os.path.join(default_specs(), "catalogue.yaml")


def _write_report(results: list[str], out: str) -> dict:
    from conformance.report import write_report

    catalogue = _default_catalogue()
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
    from conformance.report.runs import gc_paused

    with gc_paused():  # the report builds millions of small objects: see gc_paused
        return _report(args)


def _report(args) -> int:
    from conformance.report import load_view, write_view
    from conformance.report.compare import CompareError, resolve_column
    from conformance.report.markdown import render_compare

    comparing = args.compare is not None
    out = args.out if args.out is not None else OUT_DEFAULT
    args.results = _default_results(args.results, OUT_DEFAULT if comparing else out)
    if not args.results:
        where = OUT_DEFAULT if comparing else out
        _err(f"no results files given and none in {where}/results; run `conformance run` first")
        return USAGE_ERROR
    catalogue = _default_catalogue()
    view, merged, unreadable = load_view(args.results, catalogue if os.path.exists(catalogue) else None)
    if unreadable:
        for exc in unreadable:
            _err(f"{exc.path}: unusable results file: {exc.reason}")
        return USAGE_ERROR
    if comparing:
        try:
            a, b = (resolve_column(view, name) for name in args.compare)
        except CompareError as exc:
            _err(f"report --compare: {exc}")
            return USAGE_ERROR
        text = render_compare(view, a, b)
        if args.out is None:
            sys.stdout.write(text)
        else:
            with open(args.out, "w", encoding="utf-8") as handle:
                handle.write(text)
            print(f"compare: {args.out}")
        return 0
    paths = write_view(view, merged, unreadable, out)
    for kind, path in sorted(paths.items()):
        print(f"{kind}: {path}")
    return 0


def cmd_gate(args) -> int:
    from conformance.gate import gate

    cases, _, _ = _load_cases(args.specs, keep_going=False)  # None: the kit's own specs
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
    for finding in result.findings:
        if finding.kind == "unusable":
            _err(f"gate: {finding.column}: {finding.text}")
    return result.exit_code


def cmd_list(args) -> int:
    import yaml

    cases, _, had_problems = _load_cases(args.specs, keep_going=True)
    if cases is None:
        return USAGE_ERROR
    catalogue_path = args.catalogue or _catalogue_beside(args.specs)
    behaviours = []
    if catalogue_path:
        try:
            with open(catalogue_path, encoding="utf-8") as handle:
                behaviours = (yaml.safe_load(handle) or {}).get("behaviours", [])
        except (OSError, yaml.YAMLError, AttributeError) as exc:
            _err(f"{catalogue_path}: unusable catalogue: {exc}")
            return USAGE_ERROR
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
            "claims": _claim_coverage(catalogue_path, cases),
        }
        print(json.dumps(listing, indent=1, ensure_ascii=False))
        return USAGE_ERROR if had_problems else 0
    for b in behaviours:
        ids = covered.get(b["id"], [])
        print(f"{b['id']:<5} {len(ids):>2} case(s)  {b.get('statement', '')}")
        for nodeid in ids:
            print(f"        {nodeid}")
    for case in cases:
        if not behaviours:
            print(f"{case.nodeid}  [{','.join(case.behaviours)}]  {case.title}")
    claims = _claim_coverage(catalogue_path, cases)
    if claims:
        print("\nclaims of the notes (specs/claims.yaml): covered by cases / out of scope / uncovered")
        for row in claims["notes"] + [dict(claims["total"], note="total")]:
            print(f"  {row['note']:<26} {row['claims']:>4} claims  {row['covered']:>4} covered  "
                  f"{row['out_of_scope']:>3} out of scope  {len(row['uncovered']):>3} uncovered")
            if row["note"] != "total" and row["uncovered"]:
                print(f"      uncovered: {', '.join(row['uncovered'])}")
    return USAGE_ERROR if had_problems else 0


def _claim_coverage(catalogue_path: str | None, cases) -> dict | None:
    """Claim coverage per note from the ledger beside the catalogue (None when there is none);
    a claim counts as covered only when every case it names is among `cases`."""
    from conformance.claims import LedgerError, coverage_for_specs

    if not catalogue_path:
        return None
    try:
        return coverage_for_specs(os.path.dirname(catalogue_path) or ".", {c.id for c in cases})
    except LedgerError as exc:
        _err(f"unusable claims ledger: {exc}")
        return None


def _catalogue_beside(paths: list[str] | None) -> str | None:
    """The catalogue that goes with the specs: the kit's own, or catalogue.yaml in a named folder."""
    if _is_default(paths):
        kit = os.path.join(default_specs(), "catalogue.yaml")
        return kit if os.path.exists(kit) else None
    for path in paths:
        candidate = os.path.join(path, "catalogue.yaml")
        if os.path.isdir(path) and os.path.exists(candidate):
            return candidate
    return None


def cmd_validate(args) -> int:
    from conformance.loader import load_specs_tolerant

    with _specs_folder(args.paths or None) as paths:
        cases, problems = load_specs_tolerant(paths)
    for problem in problems:
        _err(str(problem))
    if problems:
        return USAGE_ERROR
    if not cases:
        _err(f"no spec cases in {', '.join(args.paths or [default_specs()])}")
        return USAGE_ERROR
    print(f"ok: {len(cases)} cases")
    return 0


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
                        help="list every case whose outcome or status differs between two columns, "
                             "as Markdown; a column is a framework name, name@version (a version "
                             "prefix: tensorflow@2.15), name@version,keras@3, or its full label")
    report.set_defaults(func=cmd_report)

    gate_parser = sub.add_parser("gate", help="exit 1 when any case does not match its expectation")
    gate_parser.add_argument("results", nargs="*",
                             help="results files or folders of them (default: reports/results/*.json)")
    gate_parser.add_argument("--baseline", nargs="+",
                             help="earlier results (files or folders); a case whose outcome, status or "
                                  "observations changed is named MOVED")
    gate_parser.add_argument("--specs", nargs="+", default=None,
                             help="spec files or folders every run must cover (default: the kit's specs)")
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
        _err("interrupted; the cases that finished are kept in the results file")
        return 130
    except BrokenPipeError:
        # The reader went away (`conformance list | head`): stop quietly, like other tools.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 141
