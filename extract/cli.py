"""``disclosure parse PATH... [--jsonl]``: parse documents, one result per document, streamed.

Folders are expanded (sorted, recursively, hidden files skipped). One unreadable file never
aborts the batch: it gets its own object with an issue.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from extract import PARSER_VERSION, parse_document
from extract.loading import UnreadableDocument, read_document
from extract.model import ERROR, Issue, ParsedReport

PROGRESS_EVERY = 100


def expand(paths: list[str]) -> list[str]:
    """Files as given, folders replaced by their files (sorted); missing paths kept to report them."""
    out: list[str] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            out.extend(str(f) for f in sorted(path.rglob("*")) if f.is_file() and not any(part.startswith(".") for part in f.relative_to(path).parts))
        else:
            out.append(p)
    return out


def parse_path(path: str) -> ParsedReport:
    """Parse one file; a file that cannot be read (or is no plain file, or too large) gives a report holding the reason."""
    try:
        data = read_document(path)
    except UnreadableDocument as exc:
        report = ParsedReport(source=path, content_hash="", parser_version=PARSER_VERSION, document_kind="not_annual_report")
        report.issues.append(Issue("unreadable_file", ERROR, str(exc)))
        return report
    return parse_document(data, path)


def _summary(report: ParsedReport) -> str:
    errors = sum(1 for i in report.issues if i.severity == ERROR)
    warnings = len(report.issues) - errors
    head = f"{report.source}: {report.document_kind}"
    if report.template_version:
        head += f" {report.template_version}"
    head += f" | {report.agency or '?'} | {report.year or '?'} | {len(report.cells)} cells | {errors} errors, {warnings} warnings"
    lines = [head] + [f"    {i.severity}: {i.code}{' [' + i.table + ']' if i.table else ''} {i.message}" for i in report.issues]
    return "\n".join(lines)


def run_parse(paths: list[str], jsonl: bool) -> int:
    """Parse every document under ``paths``; 0 when the batch ran, 2 on usage errors.

    A path that does not exist is a usage error (exit 2, named on stderr), not a document: the
    others are still parsed, so one typo does not cost the batch.
    """
    missing = [p for p in paths if not os.path.lexists(p)]
    for path in missing:
        print(f"disclosure parse: {path}: no such file or folder", file=sys.stderr)
    files = expand([p for p in paths if p not in missing])
    if not files:
        if not missing:
            print("disclosure parse: no documents found under the given paths", file=sys.stderr)
        return 2
    total = len(files)
    out = sys.stdout
    for n, path in enumerate(files, 1):
        report = parse_path(path)
        if jsonl:
            out.write(json.dumps(report.to_contract(), ensure_ascii=False) + "\n")
        else:
            out.write(_summary(report) + "\n")
        out.flush()
        if total >= PROGRESS_EVERY and (n % PROGRESS_EVERY == 0 or n == total):
            print(f"parsed {n}/{total}", file=sys.stderr, flush=True)
    if missing:
        print(f"disclosure parse: {len(missing)} of the given paths do not exist (see above)", file=sys.stderr)
        return 2
    return 0
