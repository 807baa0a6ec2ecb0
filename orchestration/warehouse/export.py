"""Exports of the published warehouse for people and tools: Excel and CSV of the figures people ask for,
Parquet of every mart and quality relation.

Headers come from the warehouse itself: every mart column's comment (its dbt description, persisted)
begins with its Chinese label, ``中文标签 / English label. definition``, so a file read by someone who
never saw the yml still says what each column holds.
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from .db import connect, sql_string

EXCEL_MAX_ROWS = 1_048_576  # rows in one Excel sheet, the header included
LABEL_SEPARATOR = " / "  # between the Chinese and the English label in a column's description
TABLE_EXPORTS: dict[str, str] = {
    # the figures people ask for, each row named by agency and region
    "agency_year": "select * from marts.agency_year",
    # one metric per row, with the metric's Chinese label and unit and the agency's region
    "fct_metric": """
        select a.province, a.city, a.county, a.agency_name, f.year, f.metric_key, m.label_zh, m.unit,
               f.value, f.report_id, f.agency_id, f.raw_text, f.source_uri
        from marts.fct_metric f
        join marts.dim_agency a using (agency_id)
        join marts.dim_metric m using (metric_key)""",
}
ORDER_BY = {"agency_year": "province, city, county, agency_name, year",
            "fct_metric": "province, city, county, agency_name, year, metric_key"}


class ExportError(ValueError):
    """An export that cannot be written as asked (no warehouse, too many rows for a sheet)."""


@dataclass(frozen=True)
class ExportFilter:
    """Which rows: any of ``regions`` (a province, city or county name, or a division code prefix) and any of ``years``."""

    regions: tuple[str, ...] = ()
    years: tuple[int, ...] = ()

    def where(self) -> tuple[str, list]:
        clauses, params = [], []
        if self.regions:
            one = "(province = ? or city = ? or county = ?)"
            clauses.append("(" + " or ".join([one] * len(self.regions)) + ")")
            params += [r for region in self.regions for r in (region, region, region)]
        if self.years:
            clauses.append(f"year in ({', '.join('?' * len(self.years))})")
            params += list(self.years)
        return (" where " + " and ".join(clauses) if clauses else ""), params


@dataclass
class Table:
    name: str
    columns: list[str]
    headers: list[str]
    rows: list[tuple] = field(default_factory=list)


def chinese_label(description: str | None, column: str) -> str:
    """The Chinese label a column's description begins with; the column's name when it has none."""
    label = (description or "").split(LABEL_SEPARATOR, 1)[0].strip()
    return label if description and LABEL_SEPARATOR in description and label else column


def column_labels(conn) -> dict[str, str]:
    """column name -> Chinese label, from the marts' column comments (a name means one thing across the marts)."""
    rows = conn.execute("select column_name, comment from duckdb_columns() where schema_name = 'marts' "
                        "and comment is not null order by table_name").fetchall()
    labels: dict[str, str] = {}
    for column, comment in rows:
        labels.setdefault(column, chinese_label(comment, column))
    return labels


def read_tables(db: Path, selection: ExportFilter) -> list[Table]:
    """``agency_year`` and ``fct_metric`` from the published file, filtered, with Chinese headers."""
    if not Path(db).is_file():
        raise ExportError(f"no warehouse at {db}: run `disclosure refresh` first")
    where, params = selection.where()
    tables = []
    with connect(db, read_only=True) as conn:
        labels = column_labels(conn)
        for name, sql in TABLE_EXPORTS.items():
            result = conn.execute(f"select * from ({sql}){where} order by {ORDER_BY[name]}", params)
            columns = [d[0] for d in result.description]
            tables.append(Table(name, columns, [labels.get(c, c) for c in columns], result.fetchall()))
    return tables


def _cell(value):
    """A value as a spreadsheet cell: lists joined; a whole number as an integer (``fct_metric.value`` is a
    double for the amounts' sake: a count reads ``214``, not ``214.0``); decimals as numbers (Excel has none)."""
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    if isinstance(value, (Decimal, float)) and math.isfinite(value) and value == int(value):
        return int(value)
    return float(value) if isinstance(value, Decimal) else value


def write_xlsx(tables: Sequence[Table], target: Path) -> Path:
    """One sheet per table, Chinese headers, the header row frozen; written beside and moved into place."""
    from openpyxl import Workbook

    for table in tables:
        if len(table.rows) + 1 > EXCEL_MAX_ROWS:
            raise ExportError(f"{table.name}: {len(table.rows)} rows do not fit an Excel sheet "
                              f"({EXCEL_MAX_ROWS - 1} at most); narrow it with --region/--year or export CSV")
    book = Workbook(write_only=True)
    for table in tables:
        sheet = book.create_sheet(table.name)
        sheet.freeze_panes = "A2"
        sheet.append(table.headers)
        for row in table.rows:
            sheet.append([_cell(v) for v in row])
    return _replace(target, book.save)


def write_csv(table: Table, target: Path) -> Path:
    """UTF-8 with a byte order mark (so Excel reads the Chinese text), Chinese headers."""

    def save(path: str) -> None:
        with open(path, "w", encoding="utf-8-sig", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(table.headers)
            writer.writerows([_cell(v) for v in row] for row in table.rows)

    return _replace(target, save)


def _replace(target: Path, save) -> Path:
    """``save(path)`` to a temporary file beside ``target``, then replace it whole."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        save(str(temp))
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
    return target


def export_tables(db: Path, out_dir: Path, formats: Iterable[str], selection: ExportFilter = ExportFilter()) -> list[Path]:
    """``agency_year`` and ``fct_metric`` as ``disclosure.xlsx`` and/or ``<table>.csv`` in ``out_dir``."""
    formats = set(formats)
    tables = read_tables(db, selection)
    written = []
    if "xlsx" in formats:
        written.append(write_xlsx(tables, out_dir / "disclosure.xlsx"))
    if "csv" in formats:
        written += [write_csv(table, out_dir / f"{table.name}.csv") for table in tables]
    return written


def export_parquet(db: Path, parquet_dir: Path, memory_limit: str | None = None) -> list[Path]:
    """Every table and view of schemas marts and quality: ``<schema>.<name>.parquet``, or, for a relation
    with a ``year`` column, a folder ``<schema>.<name>/`` partitioned hive-style (``year=2021/…``), where
    only the years whose rows changed since the last export are written again (``_export_years``).
    Each is written beside and swapped in whole, so a reader never sees half an export."""
    parquet_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with connect(db, read_only=True, memory_limit=memory_limit) as conn:
        names = conn.execute(
            "select table_schema, table_name, bool_or(column_name = 'year') from information_schema.columns "
            "where table_schema in ('marts', 'quality') group by 1, 2 order by 1, 2").fetchall()
        for schema, name, has_year in names:
            target = parquet_dir / (f"{schema}.{name}" if has_year else f"{schema}.{name}.parquet")
            temp = target.with_name(f".{target.name}.tmp")
            _remove(temp)
            digests = parquet_dir / f".{schema}.{name}{YEAR_DIGESTS}"  # beside the folder: readers see only years
            if has_year:
                years = _export_years(conn, f"{schema}.{name}", target, temp, digests)
            else:
                conn.execute(f"copy (select * from {schema}.{name}) to {sql_string(temp)} (format parquet)")
            digests.unlink(missing_ok=True)  # a crash before the new digests are written means a whole export next
            _swap(temp, target)
            if has_year:
                _replace(digests, lambda path: Path(path).write_text(json.dumps(years, sort_keys=True)))
            # the relation's other layout, left by an export from before it gained (or lost) its year, is stale
            _remove(parquet_dir / (f"{schema}.{name}.parquet" if has_year else f"{schema}.{name}"))
            written.append(target)
    return written


YEAR_DIGESTS = ".year_digests.json"  # of a partitioned export: each year folder's digest of the rows it holds
NULL_YEAR = "__HIVE_DEFAULT_PARTITION__"  # DuckDB's folder name for the rows without a year


def _export_years(conn, relation: str, target: Path, temp: Path, recorded: Path) -> dict[str, str]:
    """``relation`` partitioned by year into the new folder ``temp``: the years whose rows (count and sum of
    row hashes) differ from those ``recorded`` for the export at ``target`` are written, the others
    hard-linked from it (the same files a whole export would write, in a fraction of the time); returns
    the digests to record."""
    digests = {NULL_YEAR if year is None else str(year): f"{n}:{h}" for year, n, h in conn.execute(
        f"select year, count(*), sum(hash(t)::hugeint) from {relation} t group by year").fetchall()}
    try:
        previous = json.loads(recorded.read_text()) if target.is_dir() else {}
    except (OSError, ValueError):
        previous = {}
    kept = [y for y, d in digests.items() if previous.get(y) == d and (target / f"year={y}").is_dir()]
    conn.execute(f"copy (select * from {relation} where coalesce(year::varchar, '{NULL_YEAR}') not in "
                 f"(select unnest(?::varchar[]))) to {sql_string(temp)} (format parquet, partition_by (year))", [kept])
    temp.mkdir(exist_ok=True)
    for year in kept:
        shutil.copytree(target / f"year={year}", temp / f"year={year}", copy_function=_link_or_copy)
    return digests


def _link_or_copy(source: str, destination: str) -> None:
    try:
        os.link(source, destination)
    except OSError:
        shutil.copy2(source, destination)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _swap(new: Path, target: Path) -> None:
    """Put ``new`` (a file or a folder) at ``target``; a folder is replaced by renaming the old one aside."""
    if not new.is_dir():
        os.replace(new, target)
        return
    old = target.with_name(f".{target.name}.old")
    _remove(old)
    if target.exists():
        os.replace(target, old)
    os.replace(new, target)
    _remove(old)
