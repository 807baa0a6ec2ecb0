"""From tokens to canonical cells: find the three template tables, place each number, or say why not.

Three stages, each a module and each a function from one structure to the next (the shape of
pdfplumber's ``TableFinder``): tokens → sections (``extract.sections``: which tokens belong to which
table, and the template version) → runs (``extract.runs``: a label and the numbers after it) →
cells and issues (``extract.placement``, one row at a time by ``extract.placer``).

Placement is by label first (row labels and groups from the metric dictionary) and by position
only inside a labelled row whose cell count is exactly the template's. A count that does not
fit is an issue, never a guess; the one allowed shortcut (TEMPLATE.md) is a group whose cells
are all the same zero value, filled with zeros and a ``zero_group_filled`` warning.

Measured and kept out (issue #13, cachegrind instructions per page on the parse_speed corpus, ~23.5 M):
one cache over a token's kind for all short text, numbers included (-0.5 %; numbers would fill it); the
header columns of a row's keys worked out once per header block (-0.5 %); bare counts read without the
value cache (no change). Each stage's cost is a Python call or two per token or cell, spread thin.

Issue codes raised here (severity):
- ``cell_count_mismatch`` (error; warning when the group was zero-filled) — a row/group/table
  has more or fewer cells than the template.
- ``zero_group_filled`` (warning) — an all-zero group with a wrong cell count filled with zeros.
- ``unlabelled_rows`` (warning) — a group lost its sub-row labels but holds exactly the
  template's cell count, so its cells were placed in template order.
- ``unplaceable_cell`` (error) — numbers with no row they can belong to.
- ``unreadable_value`` (error) — a number cell holding text or two numbers.
- ``unknown_row`` (warning) — a row the template does not have (kept as ``active.extra.*``
  when it sits in table 二 and its cells fit the columns).
- ``duplicate_table`` (warning when the copies agree, error when they differ).
- ``missing_table`` / ``missing_cell`` (error) — template cells the report should have but lacks.
- ``unknown_version`` (error) — template tables found but the version cannot be told.
"""

from __future__ import annotations

from extract.labels import REVIEW
from extract.model import ERROR, Cell, Issue
from extract.placement import PLACERS
from extract.placer import Placer
from extract.runs import Run, collect
from extract.sections import join_wrapped, split_sections
from extract.template import TABLES, keys_for
from extract.tokens import Token


def extract_tables(tokens: list[Token]) -> tuple[str | None, dict[str, Cell], list[Issue], set[str]]:
    """(template version, cells, issues, tables found) for a document's tokens."""
    sections, version = split_sections(join_wrapped(tokens))
    runs = runs_by_table(sections, version)
    found = {table for table, table_runs in runs.items() if _holds_cells(table, table_runs)}
    if not found:
        return None, {}, [], found
    if version is None:
        return None, {}, [Issue("unknown_version", ERROR, "template tables found but their headers do not tell the template version")], found
    p = place(runs, version)
    missing(p, found)
    return version, p.cells, p.issues, found


def runs_by_table(sections: list[tuple[str, list[Token]]], version: str | None) -> dict[str, list[Run]]:
    """Each table's runs, its sections read in order (a table may be split or repeated)."""
    out: dict[str, list[Run]] = {}
    for table, toks in sections:
        out.setdefault(table, []).extend(collect(toks, table, version))
    return out


def _holds_cells(table: str, runs: list[Run]) -> bool:
    """Whether a table is there: a labelled row with a cell (table 四: any cell, it may have no row labels)."""
    return any(r.has_cells and (r.kind in ("row", "group") or table == REVIEW) for r in runs)


def place(runs: dict[str, list[Run]], version: str) -> Placer:
    """The cells and issues of placing every table's runs, the tables in template order."""
    p = Placer(version)
    for table in TABLES:
        if table in runs:
            PLACERS[table](p, runs[table])
    return p


def missing(p: Placer, found: set[str]) -> None:
    """An error for each template table not found, and for each cell a found table lacks."""
    for table in TABLES:
        if table not in found:
            p.issue("missing_table", ERROR, f"table {table} not found", table)
            continue
        for key in keys_for(p.version, table):
            if key not in p.cells:
                p.issue("missing_cell", ERROR, f"{key} not found", table, key)
