"""A parsed report as the column values landing writes, built in the parse worker that parsed it.

Landing used to walk every cell of every report in the one writer process (a Python tuple per cell,
then Arrow arrays from the tuples), after the report had been pickled from its worker, again into its
chunk file and back out of it as an object graph. Built here, in the workers, side by side, the writer
only joins a chunk's columns and inserts each table with one Arrow insert. Plain lists of plain values:
cheap to pickle on the way from a worker through a chunk file to the writer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# raw.* columns without the three landing decides (report_id, source_version, landed_at)
DOCUMENT_COLUMNS = ("source_uri", "content_hash", "parser_version", "document_kind", "template_version", "agency", "year",
                    "published", "index_no", "doc_no", "title", "encoding", "input_format", "n_cells", "n_issues", "n_errors")
CELL_COLUMNS = ("metric_key", "value", "raw_text", "blank", "filled", "table_index", "row_index", "col_index",
                "row_label", "col_label", "page", "bbox")
ISSUE_COLUMNS = ("issue_seq", "code", "severity", "table_key", "metric_key", "message")
CLAIM_COLUMNS = ("claim_seq", "metric_key", "stated_value", "raw_text", "line")


@dataclass
class ReportRows:
    """One report's rows: its ``raw.documents`` values, and its cells, issues and claims column by column."""

    document: dict[str, Any]
    cells: dict[str, list]
    issues: dict[str, list]
    claims: dict[str, list]

    @property
    def source(self) -> str:
        return self.document["source_uri"]

    @property
    def content_hash(self) -> str:
        return self.document["content_hash"]

    @property
    def parser_version(self) -> str:
        return self.document["parser_version"]

    @property
    def document_kind(self) -> str:
        return self.document["document_kind"]

    @property
    def has_errors(self) -> bool:
        return self.document["n_errors"] > 0


def report_rows(report: Any) -> ReportRows:
    """``report`` (an ``extract.model.ParsedReport``) as the rows landing writes."""
    cells = report.cells.values()
    issues, claims = report.issues, report.claims
    r = report
    document = dict(zip(DOCUMENT_COLUMNS, (
        r.source, r.content_hash, r.parser_version, r.document_kind, r.template_version, r.agency, r.year, r.published,
        r.index_no, r.doc_no, r.title, r.encoding, r.input_format,
        len(r.cells), len(issues), sum(i.severity == "error" for i in issues))))
    return ReportRows(
        document,
        _columns(CELL_COLUMNS, [(c.key, float(c.value), c.raw_text, bool(c.blank), bool(c.filled), c.table_index,
                                 c.row_index, c.col_index, c.row_label, c.col_label, c.page,
                                 list(c.bbox) if c.bbox is not None else None) for c in cells]),
        _columns(ISSUE_COLUMNS, [(seq, i.code, i.severity, i.table, i.key, i.message) for seq, i in enumerate(issues)]),
        _columns(CLAIM_COLUMNS, [(seq, c.key, float(c.value), c.text, c.line) for seq, c in enumerate(claims)]),
    )


def _columns(names: tuple[str, ...], rows: list[tuple]) -> dict[str, list]:
    values = list(zip(*rows)) if rows else [() for _ in names]
    return {name: list(column) for name, column in zip(names, values)}
