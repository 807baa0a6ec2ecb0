"""Comparing a parse result (the contract JSON shape) with generated truth: one place for what 'exact' means."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from extract.template import value_type

FIELDS = ("document_kind", "template_version", "agency", "year")


@dataclass(frozen=True)
class Mismatch:
    key: str  # a canonical key, or a document field name
    expected: Any
    got: Any

    def __str__(self) -> str:
        return f"{self.key}: expected {self.expected!r}, got {self.got!r}"


def same_value(key: str, expected: Any, got: Any) -> bool:
    if got is None or isinstance(got, bool) or not isinstance(got, (int, float)):
        return False
    if value_type(key) == "amount":
        return abs(float(got) - float(expected)) <= 0.005
    return got == expected and float(got).is_integer()


def field_mismatches(truth: dict[str, Any], got: dict[str, Any]) -> list[Mismatch]:
    """Document-level fields; agency and year only matter for template reports."""
    fields = FIELDS if truth["document_kind"] == "annual_report" else FIELDS[:2]
    return [Mismatch(f, truth[f], got.get(f)) for f in fields if got.get(f) != truth[f]]


def cell_mismatches(truth: dict[str, Any], got: dict[str, Any]) -> list[Mismatch]:
    """Every truth cell missing or different, and every cell read that the truth does not have.

    Keys in ``truth["uncertain_keys"]`` (hard cases: cells that cannot be placed) are not judged.
    """
    skip = set(truth.get("uncertain_keys", ()))
    expected, cells = truth["cells"], got.get("cells") or {}
    out = [Mismatch(k, v, cells.get(k)) for k, v in expected.items() if k not in skip and not same_value(k, v, cells.get(k))]
    out += [Mismatch(k, None, v) for k, v in cells.items() if k not in expected and k not in skip]
    return out


def error_issues(got: dict[str, Any]) -> list[dict[str, Any]]:
    return [i for i in got.get("issues", ()) if i.get("severity") == "error"]


def flagged_as_expected(truth: dict[str, Any], got: dict[str, Any]) -> bool:
    """Every expected error has an error-severity issue on its table (the code may differ); a report-level
    error (no table: year_conflict, agency_conflict, …) must have its code."""
    errors = error_issues(got)
    return all(any(i.get("code") == e["code"] if e["table"] is None else i.get("table") in (None, e["table"]) for i in errors)
               for e in truth.get("expected_errors", ()))


def metadata_silent(truth: dict[str, Any], got: dict[str, Any]) -> bool:
    """A document field (kind, version, agency, year) wrong with no error issue to say so."""
    return bool(field_mismatches(truth, got)) and not error_issues(got)
