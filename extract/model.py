"""What extraction produces: a parsed report, its cells with provenance, and its issues.

These types are the interface between extraction and everything downstream (the CLI's JSON
lines, the DuckDB landing, the quality gate). ``ParsedReport.to_contract()`` is exactly the
``disclosure parse`` JSON shape of ../shared/TEMPLATE.md.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

ERROR = "error"
WARNING = "warning"


@dataclass(slots=True)
class Cell:
    """One extracted value and where it came from."""

    key: str  # canonical key, e.g. applications.granted.natural_person
    value: int | float  # counts and `change` are int; amounts are float (yuan / 10k yuan)
    raw_text: str  # the cell text exactly as found
    blank: bool = False  # read as 0 from an empty cell or a blank marker (-, —, /, 无)
    table_index: int | None = None  # which table/grid of the document
    row_index: int | None = None  # row in the dense grid
    col_index: int | None = None  # column in the dense grid
    row_label: str | None = None  # raw row label text
    col_label: str | None = None  # raw column label text
    filled: bool = False  # filled by the all-zero-group rule, not read from one cell
    page: int | None = None  # PDF: the 1-based page of the cell
    bbox: tuple[float, float, float, float] | None = None  # PDF: the cell's box (x0, top, x1, bottom) in points


@dataclass(slots=True)
class Claim:
    """A number the narrative states for a template cell (W3_narrative compares it with the table)."""

    key: str  # canonical key, e.g. applications.new_received.total
    value: int
    text: str  # the words that state it, as found
    line: int  # the text line it was read from


@dataclass
class Issue:
    """A problem met while reading a document. ``error``: the value or structure cannot be trusted."""

    code: str  # e.g. cell_count_mismatch, unplaceable_cell, unreadable_value, missing_table
    severity: str  # "error" | "warning"
    message: str
    table: str | None = None  # active | applications | review_litigation, when it concerns one
    key: str | None = None  # the canonical key concerned, when one

    def to_contract(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "severity": self.severity}
        if self.table is not None:
            out["table"] = self.table
        if self.key is not None:
            out["key"] = self.key
        out["message"] = self.message
        return out


@dataclass
class ParsedReport:
    """One source document, understood."""

    source: str  # path or URI as given
    content_hash: str  # sha256 hex of the raw bytes
    parser_version: str
    document_kind: str  # "annual_report" | "not_annual_report"
    template_version: str | None = None  # "2019" | "2021" | None
    agency: str | None = None
    year: int | None = None
    published: str | None = None  # ISO date
    index_no: str | None = None  # 索引号
    doc_no: str | None = None  # 文号
    title: str | None = None
    encoding: str | None = None  # the charset the text was decoded with
    input_format: str | None = None  # html | text | pdf | docx | xlsx | doc | xls | wps | zip | ole2 | corrupt | unknown (extract.loading)
    cells: dict[str, Cell] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)  # numbers the narrative states (not in the parse contract's JSON)

    @property
    def has_errors(self) -> bool:
        return any(i.severity == ERROR for i in self.issues)

    def values(self) -> dict[str, int | float]:
        return {k: c.value for k, c in self.cells.items()}

    def to_contract(self) -> dict[str, Any]:
        """The ``disclosure parse --jsonl`` object for this document."""
        return {
            "source": self.source,
            "document_kind": self.document_kind,
            "template_version": self.template_version,
            "agency": self.agency,
            "year": self.year,
            "published": self.published,
            "cells": self.values(),
            "issues": [i.to_contract() for i in self.issues],
        }

    def to_record(self) -> dict[str, Any]:
        """Everything, provenance included (for landing and debugging)."""
        out = asdict(self)
        out["cells"] = [asdict(c) for c in self.cells.values()]
        return out
