"""From tokens to canonical cells: find the three template tables, place each number, or say why not.

Placement is by label first (row labels and groups from the metric dictionary) and by position
only inside a labelled row whose cell count is exactly the template's. A count that does not
fit is an issue, never a guess; the one allowed shortcut (TEMPLATE.md) is a group whose cells
are all the same zero value, filled with zeros and a ``zero_group_filled`` warning.

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

from collections.abc import Sequence
from functools import lru_cache

from extract.labels import ACTIVE, APPLICATIONS, REVIEW, group_of, group_rows
from extract.model import ERROR, WARNING, Cell, Issue
from extract.runs import Run, collect
from extract.sections import join_wrapped, split_sections
from extract.template import APPLICANT_COLUMNS, REVIEW_COLUMNS, REVIEW_ROWS, TABLES, columns_for, keys_for, metric_by_key, rows_for, value_type
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
        by its label when None, named only then: most rows fit)."""
        fitted = fit(keys, run)
        if fitted is not None:
            self.read_row(keys, fitted, run, table)
            return
        what = what or f"row {run.label.text!r}"  # type: ignore[union-attr]
        values = _trim(run.values, len(keys))
        if values and self.zero_fill(keys, values, run, table, what):
            return
        self.issue("cell_count_mismatch", ERROR, f"{what}: {len(values)} cells where the template has {len(keys)}", table)

    def read_row(self, keys: Sequence[str], cells: Sequence[Token], run: Run, table: str) -> None:
        """Read a row's cells as ``fit`` gave them, one per key (provenance as ``_cell`` gives it)."""
        placed = self.cells
        row_label = run.label.text if run.label is not None else None
        header_text = run.header_text
        for (key, column, vtype, template_row, template_col), tok in zip(_row_info(tuple(keys)), cells):
            text = tok.text
            if vtype == "amount":
                value, blank = _value_of(text, vtype, column, run.in_10k)
            else:  # (column and header unit matter to amounts only: one cache entry per text)
                value, blank = _whole_value(text)
            if value is None:
                self.issue("unreadable_value", ERROR, f"{key}: cannot read {text!r} as a number", table, key)
                continue
            cell = Cell(key, value, text, blank, tok.table, tok.row, tok.col, template_row if row_label is None else row_label,
                        header_text.get(column, template_col))
            if key in placed:  # (a second reading: _put compares the copies)
                self._put(cell, table)
            else:
                placed[key] = cell

    def read(self, key: str, tok: Token, run: Run, table: str) -> None:
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
        for key in keys:
            zero = 0.0 if value_type(key) == "amount" else 0
            self._put(_cell(key, _key_info(key), zero, first.text, False, first, run, filled=True), table)
        return True


@lru_cache(maxsize=65536)
def _value_of(text: str, vtype: str, column: str, in_10k: bool) -> tuple[int | float | None, bool]:
    """(canonical value or None when unreadable, blank flag) of a cell's text for a key of ``vtype``."""
    reading = read_number(text)
    if reading is None:
        return None, False
    return to_value(reading, vtype, column, in_10k), reading.blank


@lru_cache(maxsize=65536)
def _whole_value(text: str) -> tuple[int | None, bool]:
    """``_value_of`` for counts and signed changes (read alike), keyed by the text alone (a cheaper lookup)."""
    return _value_of(text, "count", "", False)  # type: ignore[return-value]


@lru_cache(maxsize=4096)
def _key_info(key: str) -> tuple[str, str, str | None, str | None]:
    """(column, value type, template row label, template column label) of a canonical key.

    The template's labels stand in when the page gave none: table 四's unlabelled row, a column
    without a header.
    """
    m = metric_by_key().get(key)
    return key.rsplit(".", 1)[1], value_type(key), m.row_label_zh if m else None, m.column_label_zh if m else None


@lru_cache(maxsize=4096)
def _row_info(keys: tuple[str, ...]) -> tuple[tuple[str, str, str, str | None, str | None], ...]:
    """(key, *``_key_info``) for each key of a row: one lookup per row instead of one per cell."""
    return tuple((key, *_key_info(key)) for key in keys)


def _cell(key: str, info: tuple[str, str, str | None, str | None], value: int | float, raw: str, blank: bool, tok: Token, run: Run,
          filled: bool = False) -> Cell:
    """A cell with its provenance: ``tok``'s place, the raw row label and the raw header of its column."""
    column, _, template_row, template_col = info
    row_label = run.label.text if run.label is not None else template_row
    return Cell(key, value, raw, blank, tok.table, tok.row, tok.col, row_label, run.header_text.get(column, template_col), filled)


@lru_cache(maxsize=4096)
def row_keys(table: str, row: str, columns: tuple[str, ...]) -> tuple[str, ...]:
    """The canonical keys of one row, in column order."""
    return tuple(f"{table}.{row}.{c}" for c in columns)


@lru_cache(maxsize=4096)
def _columns(keys: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(k.rsplit(".", 1)[1] for k in keys)


def fit(keys: Sequence[str], run: Run) -> list[Token] | None:
    """The row's cells for ``keys``, in the order of ``keys``; None when they cannot be placed.

    By the grid columns of the headers when every key has one and every number sits under one
    (columns in another order, tables pasted without merged cells); else by count (layout padding
    trimmed) in the header order of text pages or the template order.
    """
    columns = _columns(tuple(keys))
    values = _trim(run.values, len(keys))
    count_fits = len(values) == len(keys)
    if run.header_cols:
        pos = _header_positions(run.header_cols, columns)
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


def _under_headers(values: list[Token], pos: list[int | None]) -> list[Token] | None:
    """The cells at the header columns ``pos``, when no other cell of the row holds a number."""
    if not values or values[0].col is None:
        return None
    by_col = {t.col: t for t in values}
    if len(by_col) != len(values) or any(c not in by_col for c in pos):
        return None
    chosen = {id(by_col[c]) for c in pos}
    if any(t.text.strip() for t in values if id(t) not in chosen):
        return None  # a number outside every header column: not placeable by header
    return [by_col[c] for c in pos]  # type: ignore[index]


def _trim(values: list[Token], n: int) -> list[Token]:
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


def _loose(p: Placer, runs: list[Run], table: str) -> None:
    for run in runs:
        if run.kind in ("loose", "unknown") and any(t.text.strip() for t in run.values):
            if run.kind == "unknown":
                p.issue("unknown_row", WARNING, f"row {run.label.text!r} is not in the template; its {len(run.values)} cells are not placed", table)
            else:
                p.issue("unplaceable_cell", ERROR, f"{len(run.values)} number cells with no row label", table)


def place_active(p: Placer, runs: list[Run]) -> None:
    table = ACTIVE
    expected = {row: columns_for(p.version, table, row) for row in rows_for(p.version, table)}
    prev_cols: tuple[str, ...] | None = None
    for run in runs:
        if run.kind == "row":
            cols = expected.get(run.key)  # type: ignore[arg-type]
            if not cols:
                if run.has_cells:
                    p.issue("unknown_row", WARNING, f"row {run.label.text!r} is not in the {p.version} template", table)
                continue
            prev_cols = cols
            if run.values:  # a row of only empty cells is a row of blanks
                p.place(row_keys(table, run.key, cols), run, table)
        elif run.kind == "extra" and run.has_cells:
            values = _trim(run.values, len(prev_cols or ()))
            if prev_cols and len(values) == len(prev_cols):
                p.issue("unknown_row", WARNING, f"row {run.label.text!r} is not in the template; kept as active.extra.{run.key}", table)
                for c, tok in zip(prev_cols, values):
                    p.read(f"{table}.extra.{run.key}.{c}", tok, run, table)
            else:
                p.issue("unknown_row", WARNING, f"row {run.label.text!r} is not in the template and its {len(values)} cells fit no columns; not kept", table)
    _loose(p, runs, table)


def place_applications(p: Placer, runs: list[Run]) -> None:
    """Rows by label; within a group (（三）不予公开 …) what labels cannot place is settled group-wide."""
    table = APPLICATIONS
    valid = set(rows_for(p.version, table))
    leaf_group = group_of(p.version)
    blocks: list[tuple[str, list[Run]]] = []  # (group name, its runs: the group label's and its leaves')
    for run in runs:
        if run.kind == "group":
            blocks.append((run.key or "", [run]))
        elif run.kind == "row" and run.key in leaf_group:
            g = leaf_group[run.key]
            if not blocks or blocks[-1][0] != g:
                blocks.append((g, []))
            blocks[-1][1].append(run)
        elif run.kind == "row":
            if run.key not in valid:
                if run.has_cells:
                    p.issue("unknown_row", WARNING, f"row {run.label.text!r} is not in the {p.version} template", table)
                continue
            if run.values:
                p.place(row_keys(table, run.key, APPLICANT_COLUMNS), run, table)
    width = len(APPLICANT_COLUMNS)
    for group, group_runs in blocks:
        leaves = group_rows(p.version, group)
        leftover: list[Run] = []
        for run in group_runs:
            if run.kind == "row" and run.values:
                keys = row_keys(table, run.key, APPLICANT_COLUMNS)
                fitted = fit(keys, run)
                if fitted is not None:
                    p.read_row(keys, fitted, run, table)
                else:
                    leftover.append(run)
            elif run.kind == "group" and run.has_cells:
                leftover.append(run)
        if not leftover:
            continue
        unplaced = [r for r in leaves if f"{table}.{r}.natural_person" not in p.cells]
        keys = [f"{table}.{r}.{c}" for r in unplaced for c in APPLICANT_COLUMNS]
        # (soft text blanks are left out group-wide: a gap where a sub-row label was lost is no cell)
        values = [t for run in leftover for t in _trim(run.values, width) if not t.soft]
        head = leftover[0]
        what = f"group {group_runs[0].label.text!r}" if group_runs[0].kind == "group" else f"row {head.label.text!r}"
        if not keys:
            p.issue("unplaceable_cell", ERROR, f"{what}: {len(values)} cells beyond its labelled rows", table)
        elif len(leftover) == 1 and head.kind == "group" and len(values) == len(keys) and len(unplaced) == len(leaves):
            p.issue("unlabelled_rows", WARNING, f"{what}: sub-row labels lost; {len(keys)} cells placed in template order", table)
            for key, tok in zip(keys, values):
                p.read(key, tok, head, table)
        elif not p.zero_fill(keys, values, head, table, what):
            p.issue("cell_count_mismatch", ERROR, f"{what}: {len(values)} cells that labels cannot place on its {len(unplaced)} unplaced rows", table)
    _loose(p, [r for r in runs if r.kind in ("unknown", "loose")], table)


_REVIEW_KEYS = tuple(f"{REVIEW}.{r}.{c}" for r in REVIEW_ROWS for c in REVIEW_COLUMNS)  # table 四 read without row labels, in order


def place_review(p: Placer, runs: list[Run]) -> None:
    table = REVIEW
    flat: list[Token] = []
    flat_run: Run | None = None
    labelled = False
    if _place_turned(p, runs):
        return
    for run in runs:
        if run.kind == "row" and run.has_cells:
            labelled = True
            p.place(row_keys(table, run.key, REVIEW_COLUMNS), run, table)
        elif run.kind == "group" and run.has_cells:
            labelled = True
            rows = [r for r in REVIEW_ROWS[1:] if f"{table}.{r}.upheld" not in p.cells]
            p.place([f"{table}.{r}.{c}" for r in rows for c in REVIEW_COLUMNS], run, table, f"group {run.label.text!r}")
        elif run.kind in ("loose", "unknown", "column") and run.has_cells:  # (the template's row of 15 follows its last header)
            flat.extend(run.values)
            flat_run = flat_run or run
    if flat_run is not None and any(t.text.strip() for t in flat):
        if labelled:
            p.issue("unplaceable_cell", ERROR, f"{len(flat)} number cells with no row label", table)
        else:
            p.place(_REVIEW_KEYS, Run("loose", None, None, flat), table, "table 四")


def _place_turned(p: Placer, runs: list[Run]) -> bool:
    """Table 四 turned: a row per result (结果维持 … 总计) holding its three kinds of case in the order the
    header names them (行政复议, 未经复议直接起诉, 复议后起诉). False when the table is not written so."""
    columns = [r for r in runs if r.kind == "column" and r.values]
    if len(columns) < 2:  # (the template's one row of 15 follows a single header: 总计)
        return False
    first = next(i for i, r in enumerate(runs) if r.kind == "column")
    order = tuple(r.key for r in runs[:first] if r.kind == "row" and not r.has_cells)
    if len(order) != len(REVIEW_ROWS) or sorted(order) != sorted(REVIEW_ROWS):
        if sum(r.has_cells for r in columns) < 2:
            return False
        p.issue("unplaceable_cell", ERROR, "table 四 is written a row per result, but its header does not name the three kinds of case", REVIEW)
        return True
    for run in runs[first:]:
        if run.kind == "column" and run.values:  # (a row of empty cells is a row of blanks)
            p.place([f"{REVIEW}.{r}.{run.key}" for r in order], run, REVIEW)
        elif run.kind != "column" and run.has_cells:
            p.issue("unplaceable_cell", ERROR, f"{len(run.values)} number cells with no result label", REVIEW)
    return True


_PLACERS = {ACTIVE: place_active, APPLICATIONS: place_applications, REVIEW: place_review}


def extract_tables(tokens: list[Token]) -> tuple[str | None, dict[str, Cell], list[Issue], set[str]]:
    """(template version, cells, issues, tables found) for a document's tokens."""
    sections, version = split_sections(join_wrapped(tokens))
    found: set[str] = set()
    runs_by_table: dict[str, list[Run]] = {}
    for table, toks in sections:
        runs = collect(toks, table, version)
        if any(r.has_cells and r.kind in ("row", "group") for r in runs) or (table == REVIEW and any(r.has_cells for r in runs)):
            found.add(table)
        runs_by_table.setdefault(table, []).extend(runs)
    if not found:
        return None, {}, [], found
    if version is None:
        return None, {}, [Issue("unknown_version", ERROR, "template tables found but their headers do not tell the template version")], found
    p = Placer(version)
    for table in TABLES:
        if table in runs_by_table:
            _PLACERS[table](p, runs_by_table[table])
    for table in TABLES:
        keys = keys_for(version, table)
        if table not in found:
            p.issue("missing_table", ERROR, f"table {table} not found", table)
            continue
        cells = p.cells
        for key in [k for k in keys if k not in cells]:  # (most keys are there: filtered in a comprehension)
            p.issue("missing_cell", ERROR, f"{key} not found", table, key)
    return version, p.cells, p.issues, found
