"""Which specs a command reads, and the commands about the specs themselves: list, validate.

Rule: no spec paths (or the kit's own folder) mean the kit's specs, loaded from beside them
so that their files are named `specs/...` wherever the kit is installed; every problem in
the specs is named, and stops the command unless it keeps going.
"""

from __future__ import annotations

import contextlib
import json
import os

from conformance.cli.output import USAGE_ERROR, err

SPECS_DEFAULT = "specs"


def default_specs() -> str:
    """The kit's own specs folder: shipped in the package (a link to ../specs in a checkout)."""
    from importlib import resources

    return os.path.realpath(str(resources.files("conformance").joinpath("specs")))


def is_default(paths: list[str] | None) -> bool:
    """True when `paths` means the kit's own specs: not given, or naming the shipped folder."""
    if paths is None:
        return True
    if paths == [SPECS_DEFAULT] and not os.path.exists(SPECS_DEFAULT):
        return True  # the old default, outside a checkout
    return [os.path.realpath(p) for p in paths] == [default_specs()]


@contextlib.contextmanager
def specs_folder(paths: list[str] | None):
    """Yield the spec paths to load. The kit's specs are loaded from beside them, so their files
    are named `specs/...` (and digest alike) wherever the kit is installed and run from."""
    if not is_default(paths):
        yield paths
        return
    here = os.getcwd()
    os.chdir(os.path.dirname(default_specs()))
    try:
        yield [os.path.basename(default_specs())]
    finally:
        os.chdir(here)


def load_cases(paths: list[str] | None, keep_going: bool, keep_going_flag: bool = False):
    """(cases, digest, had_problems), or (None, None, True) when the specs are unusable.

    `keep_going_flag`: the subcommand has --keep-going, so the hint may name it."""
    from conformance.spec.loader import discover, load_specs_tolerant, spec_digest

    with specs_folder(paths) as load_paths:
        cases, problems = load_specs_tolerant(load_paths)
        files = [f for f in discover(load_paths) if os.path.exists(f)]
        digest = spec_digest(files)
    for problem in problems:
        err(str(problem))
    if problems and not keep_going:
        # --keep-going only helps where some files are good: name it only then
        hint = "fix them or pass --keep-going to run the good files" if keep_going_flag and cases else "fix them"
        err(f"{len(problems)} problem(s) in the specs; {hint}")
        return None, None, True
    if not cases:
        if not problems:
            err(f"no spec cases in {', '.join(paths or [default_specs()])}")
        return None, None, True
    return cases, digest, bool(problems)


def select_cases(cases, patterns: list[str] | None):
    """Cases whose id contains any of `patterns` (ids only: never the file path)."""
    if not patterns:
        return cases
    return [c for c in cases if any(p in c.id for p in patterns)]


def default_catalogue() -> str:
    """./specs/catalogue.yaml where there is one (a checkout), else the kit's own."""
    local = os.path.join(SPECS_DEFAULT, "catalogue.yaml")
    return local if os.path.exists(local) else os.path.join(default_specs(), "catalogue.yaml")


def cmd_list(args) -> int:
    import yaml

    cases, _, had_problems = load_cases(args.specs, keep_going=True)
    if cases is None:
        return USAGE_ERROR
    catalogue_path = args.catalogue or _catalogue_beside(args.specs)
    behaviours = []
    if catalogue_path:
        try:
            with open(catalogue_path, encoding="utf-8") as handle:
                behaviours = (yaml.safe_load(handle) or {}).get("behaviours", [])
        except (OSError, yaml.YAMLError, AttributeError) as exc:
            err(f"{catalogue_path}: unusable catalogue: {exc}")
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
        err(f"unusable claims ledger: {exc}")
        return None


def _catalogue_beside(paths: list[str] | None) -> str | None:
    """The catalogue that goes with the specs: the kit's own, or catalogue.yaml in a named folder."""
    if is_default(paths):
        kit = os.path.join(default_specs(), "catalogue.yaml")
        return kit if os.path.exists(kit) else None
    for path in paths:
        candidate = os.path.join(path, "catalogue.yaml")
        if os.path.isdir(path) and os.path.exists(candidate):
            return candidate
    return None


def cmd_validate(args) -> int:
    from conformance.spec.loader import load_specs_tolerant

    with specs_folder(args.paths or None) as paths:
        cases, problems = load_specs_tolerant(paths)
    for problem in problems:
        err(str(problem))
    if problems:
        return USAGE_ERROR
    if not cases:
        err(f"no spec cases in {', '.join(args.paths or [default_specs()])}")
        return USAGE_ERROR
    print(f"ok: {len(cases)} cases")
    return 0
