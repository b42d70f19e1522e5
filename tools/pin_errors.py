"""Pin what a column raised and printed into the specs' `raised:` and `printed:` tables.

    python tools/pin_errors.py reports/results/torch-2.13.0+cpu.json [--dry-run] [--versions ">=2"]

Rule: for every case of the results file whose expected outcome failed only because the spec
gives no native error (or no printed text) for this framework, and the error was raised at
the expected phase and step: the observed type and a pattern of its message go under that
error expectation's `raised:` table, as one line `<framework>: {type: ..., message: ...}`; the
probe's printed text (its `text` entry, else every entry) goes under that probe expectation's
`printed:` table, as one line `<framework>: {text: ...}`. Nothing else is touched; a line can
be edited by hand afterwards (a shorter pattern, a version range).
"""

from __future__ import annotations

import argparse
import json
import re
import sys

import yaml

NO_NATIVE = "no native error given for "
NO_PRINTED = "no printed text given for "


def message_pattern(message: str) -> str:
    """A regular expression for the start of a message: up to about 60 characters, cut at a
    word boundary, escaped, with the workdir and memory addresses left out."""
    text = message.split("$WORKDIR")[0].split("0x…")[0]
    if len(text) > 60:
        cut = text[:60].rsplit(" ", 1)[0]
        text = cut if len(cut) > 20 else text[:60]
    return "".join("\\" + c if c in ".^$*+?{}[]\\|()" else c for c in text.strip()) or "."


def _flow(framework: str, type_name: str, message: str, versions: str | None) -> str:
    entry = {"type": type_name, "message": message}
    if versions:
        entry["versions"] = versions
    body = ", ".join(f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in entry.items())
    return f"{framework}: {{{body}}}"


def _locate(lines: list[str], case_id: str, label: str, single: bool, index: int, kind: str = "error",
            table: str = "raised") -> int | None:
    """The line number of the `raised:` (or `printed:`) key of the index-th error (or probe)
    expectation of one outcome."""
    start = next((i for i, line in enumerate(lines) if re.match(rf"^\s*- id: {re.escape(case_id)}\s*$", line)), None)
    if start is None:
        return None
    end = next((i for i in range(start + 1, len(lines)) if re.match(r"^\s*- id: ", lines[i])), len(lines))
    block = range(start, end)
    if single:
        head = next((i for i in block if re.match(r"^\s{4}expect:\s*$", lines[i])), None)
    else:
        head = next((i for i in block if re.match(rf"^\s+{re.escape(label)}:\s*$", lines[i])), None)
    if head is None:
        return None
    head_indent = len(lines[head]) - len(lines[head].lstrip())
    stop = next((i for i in range(head + 1, end) if lines[i].strip() and
                 len(lines[i]) - len(lines[i].lstrip()) <= head_indent), end)
    items = [i for i in range(head, stop) if re.match(rf"^\s*- {kind}:", lines[i])]
    if index >= len(items):
        return None
    following = next((i for i in range(items[index] + 1, stop) if re.match(r"^\s*- ", lines[i])), stop)
    return next((i for i in range(items[index], following) if re.match(rf"^\s*{table}:", lines[i])), None)


def pin(results_path: str, dry_run: bool = False, versions: str | None = None) -> int:
    data = json.load(open(results_path, encoding="utf-8"))
    framework = data["framework"]
    added = 0
    for record in data["cases"]:
        expected = record["expected_outcome"]
        checks = [c for c in record["checks"] if c.get("outcome") == expected]
        missing = [c for c in checks if not c["ok"] and NO_NATIVE + framework in c["check"]]
        unprinted = [c for c in checks if not c["ok"] and NO_PRINTED + framework in c["check"]]
        if any(not c["ok"] and NO_NATIVE not in c["check"] and NO_PRINTED not in c["check"] for c in checks):
            continue
        if unprinted:
            added += _pin_printed(record, expected, framework, dry_run, versions)
        if not missing:
            continue
        err = record["observations"].get("error") or {}
        case_text = open(record["file"], encoding="utf-8").read()
        document = yaml.safe_load(case_text)
        raw = next(c for c in document["cases"] if c["id"] == record["id"])
        single = "expect" in raw
        items = raw["expect"] if single else raw["outcomes"][expected]["expect"]
        errors = [item["error"] for item in items if "error" in item]
        for index, want in enumerate(errors):
            if want.get("phase") != err.get("phase") or want.get("step") != err.get("step"):
                print(f"{record['id']}: raised at {err.get('phase')} step {err.get('step')}, the spec expects "
                      f"{want.get('phase')} step {want.get('step')}: not pinned", file=sys.stderr)
                continue
            if framework in (want.get("raised") or {}):
                continue
            lines = case_text.split("\n")
            at = _locate(lines, record["id"], expected, single, index)
            if at is None:
                print(f"{record['id']}: could not find the `raised:` line", file=sys.stderr)
                continue
            indent = " " * (len(lines[at]) - len(lines[at].lstrip()) + 2)
            type_name = err["type"].rsplit(".", 1)[-1]
            line = indent + _flow(framework, type_name, message_pattern(err["message"]), versions)
            print(f"{record['file']}: {record['id']} [{expected}]: {line.strip()}")
            if not dry_run:
                lines.insert(at + 1, line)
                if lines[at].rstrip().endswith("raised: {}"):
                    lines[at] = lines[at].replace("raised: {}", "raised:")
                case_text = "\n".join(lines)
                open(record["file"], "w", encoding="utf-8").write(case_text)
            added += 1
    return added


def _pin_printed(record: dict, expected: str, framework: str, dry_run: bool, versions: str | None) -> int:
    """One `printed:` line per probe expectation of the expected outcome that has no entry for
    this framework: the probe's `text` as recorded (else all its entries)."""
    text = open(record["file"], encoding="utf-8").read()
    raw = next(c for c in yaml.safe_load(text)["cases"] if c["id"] == record["id"])
    single = "expect" in raw
    items = raw["expect"] if single else raw["outcomes"][expected]["expect"]
    probes = [item["probe"] for item in items if "probe" in item]
    added = 0
    for index, want in enumerate(probes):
        if "printed" not in want or framework in (want.get("printed") or {}):
            continue
        result = record["observations"].get(f"probe:{want['name']}")
        if not isinstance(result, dict):
            continue
        entry = {"text": result["text"]} if "text" in result else dict(result)
        if versions:
            entry["versions"] = versions
        lines = text.split("\n")
        at = _locate(lines, record["id"], expected, single, index, kind="probe", table="printed")
        if at is None:
            print(f"{record['id']}: could not find the `printed:` line", file=sys.stderr)
            continue
        indent = " " * (len(lines[at]) - len(lines[at].lstrip()) + 2)
        body = ", ".join(f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in entry.items())
        line = f"{indent}{framework}: {{{body}}}"
        print(f"{record['file']}: {record['id']} [{expected}]: {line.strip()[:160]}")
        if not dry_run:
            lines.insert(at + 1, line)
            if lines[at].rstrip().endswith("printed: {}"):
                lines[at] = lines[at].replace("printed: {}", "printed:")
            text = "\n".join(lines)
            open(record["file"], "w", encoding="utf-8").write(text)
        added += 1
    return added


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results")
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--versions", help="a PEP 440 range to pin the lines to")
    args = parser.parse_args(argv)
    print(f"{pin(args.results, args.dry_run, args.versions)} native error(s) pinned")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
