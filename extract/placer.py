"""Placing one row's cells on template keys, and the cells and issues of a document as they accumulate.

Used by stage 3 (``extract.placement``). A row's cells go on its keys by the grid columns of the
headers when each key has one, else by count (layout padding trimmed) in the header order of
text pages or the template order; a count that does not fit is an issue, never a guess, except
the TEMPLATE.md shortcut of an all-zero group (filled with zeros and a ``zero_group_filled`` warning).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple

from extract.model import ERROR, WARNING, Cell, Issue
from extract.runs import Run
from extract.template import metric_by_key, value_type
from extract.tokens import Token
from extract.values import read_number, to_value

ZERO_FILL_MIN_SHARE = 0.8  # a zero group is filled only when most of its cells are there


class Placer:
    """Accumulates cells and issues for one document."""

    def __init__(self, version: str) -> None:
        self.version = version
        self.cells: dict[str, Cell] = {}
        self.issues: list[Issue] = []
        self._dup_warned: set[str] = set()

    def issue(self, code: str, severity: str, message: str, table: str | None = None, key: str | None = None) -> None:
        self.issues.append(Issue(code, severity, message, table, key))

    def _put(self, cell: Cell, table: str) -> None:
        old = self.cells.get(cell.key)
        if old is None:
            self.cells[cell.key] = cell
        elif old.value != cell.value:
            self.issue("duplicate_table", ERROR, f"{cell.key} read twice with different values ({old.raw_text!r} vs {cell.raw_text!r})", table, cell.key)
        elif table not in self._dup_warned:
            self._dup_warned.add(table)
            self.issue("duplicate_table", WARNING, "the table appears more than once (the copies agree)", table)

    def place(self, keys: Sequence[str], run: Run, table: str, what: str | None = None) -> None:
        """Place a labelled row's numbers on ``keys`` when the count fits, else report it (as ``what``; the row
        by its label when None)."""
        fitted = fit(keys, run)
        if fitted is not None:
            self.read_row(keys, fitted, run, table)
            return
        what = what or f"row {run.label.text!r}"  # type: ignore[union-attr]
        values = trim(run.values, len(keys))
        if values and self.zero_fill(keys, values, run, table, what):
            return
        self.issue("cell_count_mismatch", ERROR, f"{what}: {len(values)} cells where the template has {len(keys)}", table)

    def read_row(self, keys: Sequence[str], cells: Sequence[Token], run: Run, table: str) -> None:
        """Read a row's cells as ``fit`` gave them, one per key (an ``unreadable_value`` error for a cell that is no number)."""
        for info, tok in zip(row_info(tuple(keys)).keys, cells):
            value, blank = cell_value(tok.text, info.value_type, info.column, run.in_10k)
            if value is None:
                self.issue("unreadable_value", ERROR, f"{info.key}: cannot read {tok.text!r} as a number", table, info.key)
            else:
                self._put(_cell(info, value, tok.text, blank, tok, run), table)

    def read(self, key: str, tok: Token, run: Run, table: str) -> None:
        """Read one cell onto ``key``."""
        self.read_row((key,), (tok,), run, table)

    def zero_fill(self, keys: Sequence[str], values: list[Token], run: Run, table: str, what: str) -> bool:
        """The TEMPLATE.md shortcut: a group whose cells are all the same zero value."""
        readings = [read_number(t.text) for t in values if t.text.strip()]
        if not readings or any(r is None or r.value != 0 for r in readings) or run.cut:
            return False
        if len(values) < ZERO_FILL_MIN_SHARE * len(keys):
            return False
        self.issue("cell_count_mismatch", WARNING, f"{what}: {len(values)} cells where the template has {len(keys)}", table)
        self.issue("zero_group_filled", WARNING, f"{what}: all {len(values)} cells are 0, so its {len(keys)} template cells are filled with 0", table)
        first = values[0]
        for info in row_info(tuple(keys)).keys:
            zero = 0.0 if info.value_type == "amount" else 0
            self._put(_cell(info, zero, first.text, False, first, run, filled=True), table)
        return True


class KeyInfo(NamedTuple):
    """What the template says of a canonical key, for reading a cell onto it."""

    key: str
    column: str
    value_type: str  # count | signed | amount
    row_label: str | None  # the template's labels: they stand in when the page gave none (table 四's
    col_label: str | None  # unlabelled row, a column without a header)


class RowInfo(NamedTuple):
    """A row of keys as the template describes it: each key's facts, and the columns in key order."""

    keys: tuple[KeyInfo, ...]
    columns: tuple[str, ...]


@lru_cache(maxsize=4096)
def row_info(keys: tuple[str, ...]) -> RowInfo:
    """What the template says of each key of a row (cached: asked for every row of every page, of a few hundred rows)."""
    infos = []
    for key in keys:
        m = metric_by_key().get(key)
        infos.append(KeyInfo(key, key.rsplit(".", 1)[1], value_type(key), m.row_label_zh if m else None, m.column_label_zh if m else None))
    return RowInfo(tuple(infos), tuple(i.column for i in infos))


@lru_cache(maxsize=65536)
def cell_value(text: str, vtype: str, column: str, in_10k: bool) -> tuple[int | float | None, bool]:
    """(canonical value or None when unreadable, blank flag) of a cell's text for a key of ``vtype`` in ``column``.

    Cached: cell texts repeat across rows and pages, and a reading costs a few Decimal operations.
    """
    reading = read_number(text)
    if reading is None:
        return None, False
    return to_value(reading, vtype, column, in_10k), reading.blank


def _cell(info: KeyInfo, value: int | float, raw: str, blank: bool, tok: Token, run: Run, filled: bool = False) -> Cell:
    """A cell with its provenance: ``tok``'s place, the raw row label and the raw header of its column."""
    row_label = run.label.text if run.label is not None else info.row_label
    return Cell(info.key, value, raw, blank, tok.table, tok.row, tok.col, row_label, run.header_text.get(info.column, info.col_label), filled,
                page=tok.page, bbox=tok.bbox)


def fit(keys: Sequence[str], run: Run) -> list[Token] | None:
    """The row's cells for ``keys``, in the order of ``keys``; None when they cannot be placed.

    By the grid columns of the headers when every key has one and every number sits under one
    (columns in another order, tables pasted without merged cells); else by count (layout padding
    trimmed) in the header order of text pages or the template order.
    """
    columns = row_info(tuple(keys)).columns
    values = trim(run.values, len(keys))
    count_fits = len(values) == len(keys)
    pos = _header_positions(run.header_cols, columns) if run.header_cols else None
    if pos is not None and not (count_fits and [t.col for t in values] == pos):
        by_header = _under_headers(run.values, pos)
        if by_header is not None:
            return by_header
    if not count_fits:
        return None
    if run.col_order and run.col_order != columns and sorted(run.col_order) == sorted(columns):
        at = {c: i for i, c in enumerate(run.col_order)}
        return [values[at[c]] for c in columns]
    return values


def _header_positions(header_cols: dict[str, int], columns: tuple[str, ...]) -> list[int] | None:
    """The grid columns of the headers of ``columns``; None unless each has a header column of its own."""
    pos = [header_cols.get(c) for c in columns]
    return pos if None not in pos and len(set(pos)) == len(pos) else None  # type: ignore[return-value]


def _under_headers(values: list[Token], pos: list[int]) -> list[Token] | None:
    """The cells at the header columns ``pos``, when no other cell of the row holds a number."""
    if not values or values[0].col is None:
        return None
    by_col = {t.col: t for t in values}
    if len(by_col) != len(values) or any(c not in by_col for c in pos):
        return None
    chosen = {id(by_col[c]) for c in pos}
    if any(t.text.strip() for t in values if id(t) not in chosen):
        return None  # a number outside every header column: not placeable by header
    return [by_col[c] for c in pos]


def trim(values: list[Token], n: int) -> list[Token]:
    """Drop layout beyond the expected count (``values`` itself when none): trailing empty grid cells and soft
    text blanks (``extract.tokens``) at either end, when which ones are layout is certain — all at one end, or all.

    With droppable blanks at both ends and only some to drop, the cells' positions are not known: ``values`` is
    returned as it is, so the count does not fit and the row is reported (or zero-filled), never shifted.
    """
    if len(values) <= n or values[-1].text.strip() and not values[0].soft:
        return values
    trail = 0
    while trail < len(values) and _droppable(values[-1 - trail]):
        trail += 1
    lead = 0
    while lead < len(values) - trail and values[lead].soft:
        lead += 1
    excess = len(values) - n
    if lead == 0 and excess <= trail:
        return values[:-excess]
    if trail == 0 and excess <= lead:
        return values[excess:]
    if excess == lead + trail:
        return values[lead:-trail]
    return values


def _droppable(tok: Token) -> bool:
    """An empty grid cell or a soft text blank: what may be layout at the end of a row."""
    return not tok.text.strip() and (tok.soft or tok.table is not None)
