"""Stage 3 of reading the tables, runs → cells: each table's rows placed on its template keys.

Placement is by label first (row labels and groups from the metric dictionary) and by position
only inside a labelled row whose cell count is exactly the template's (``extract.placer``). Each
template table has its own rules: table 二 keeps unknown rows that fit the columns above them as
``active.extra.*``; table 三 settles what labels cannot place group-wide; table 四 may be read
without row labels (its one row of 15) or turned (a row per result).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from extract.labels import ACTIVE, APPLICATIONS, REVIEW, group_of, group_rows
from extract.model import ERROR, WARNING
from extract.placer import Placer, fit, trim
from extract.runs import Run
from extract.template import APPLICANT_COLUMNS, REVIEW_COLUMNS, REVIEW_ROWS, columns_for, rows_for
from extract.tokens import Token


@lru_cache(maxsize=4096)
def row_keys(table: str, row: str, columns: tuple[str, ...]) -> tuple[str, ...]:
    """The canonical keys of one row, in column order (cached: asked for every row of every page)."""
    return tuple(f"{table}.{row}.{c}" for c in columns)


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
                p.place(row_keys(table, run.key, cols), run, table)  # type: ignore[arg-type]
        elif run.kind == "extra" and run.has_cells:
            values = trim(run.values, len(prev_cols or ()))
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
                p.place(row_keys(table, run.key, APPLICANT_COLUMNS), run, table)  # type: ignore[arg-type]
    for group, group_runs in blocks:
        _place_group(p, group, group_runs)
    _loose(p, [r for r in runs if r.kind in ("unknown", "loose")], table)


def _place_group(p: Placer, group: str, group_runs: list[Run]) -> None:
    """One group of table 三: its labelled rows, then what they leave settled on the rows still unplaced."""
    table = APPLICATIONS
    leaves = group_rows(p.version, group)
    leftover: list[Run] = []
    for run in group_runs:
        if run.kind == "row" and run.values:
            keys = row_keys(table, run.key, APPLICANT_COLUMNS)  # type: ignore[arg-type]
            fitted = fit(keys, run)
            if fitted is not None:
                p.read_row(keys, fitted, run, table)
            else:
                leftover.append(run)
        elif run.kind == "group" and run.has_cells:
            leftover.append(run)
    if not leftover:
        return
    unplaced = [r for r in leaves if f"{table}.{r}.natural_person" not in p.cells]
    keys = [k for r in unplaced for k in row_keys(table, r, APPLICANT_COLUMNS)]
    # (soft text blanks are left out group-wide: a gap where a sub-row label was lost is no cell)
    values = [t for run in leftover for t in trim(run.values, len(APPLICANT_COLUMNS)) if not t.soft]
    head = leftover[0]
    what = f"group {group_runs[0].label.text!r}" if group_runs[0].kind == "group" else f"row {head.label.text!r}"  # type: ignore[union-attr]
    if not keys:
        p.issue("unplaceable_cell", ERROR, f"{what}: {len(values)} cells beyond its labelled rows", table)
    elif len(leftover) == 1 and head.kind == "group" and len(values) == len(keys) and len(unplaced) == len(leaves):
        p.issue("unlabelled_rows", WARNING, f"{what}: sub-row labels lost; {len(keys)} cells placed in template order", table)
        p.read_row(keys, values, head, table)
    elif not p.zero_fill(keys, values, head, table, what):
        p.issue("cell_count_mismatch", ERROR, f"{what}: {len(values)} cells that labels cannot place on its {len(unplaced)} unplaced rows", table)


_REVIEW_KEYS = tuple(k for r in REVIEW_ROWS for k in row_keys(REVIEW, r, REVIEW_COLUMNS))  # table 四 read without row labels, in order


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
            p.place(row_keys(table, run.key, REVIEW_COLUMNS), run, table)  # type: ignore[arg-type]
        elif run.kind == "group" and run.has_cells:
            labelled = True
            rows = [r for r in REVIEW_ROWS[1:] if f"{table}.{r}.upheld" not in p.cells]
            p.place([k for r in rows for k in row_keys(table, r, REVIEW_COLUMNS)], run, table, f"group {run.label.text!r}")  # type: ignore[union-attr]
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
    if len(order) != len(REVIEW_ROWS) or sorted(order) != sorted(REVIEW_ROWS):  # type: ignore[type-var]
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


PLACERS: dict[str, Callable[[Placer, list[Run]], None]] = {ACTIVE: place_active, APPLICATIONS: place_applications, REVIEW: place_review}
