"""The report template as data: the metric dictionary read from its single source.

The metric dictionary lives in ``dbt_project/seeds/metric_dictionary.csv`` (a dbt seed, so the
warehouse's ``dim_metric`` is built from the very same file). The wheel carries that file as
``extract/metric_dictionary.csv`` (pyproject's hatch ``force-include``), so an installed package
works outside the repo. Extraction, the corpus generator and the quality gate read it through this
module; nothing else lists metric keys: the key lists below are derived from it, in its sort_order.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

PACKAGED_DICTIONARY = "metric_dictionary.csv"  # the seed's name inside an installed wheel
SOURCE_DICTIONARY = Path(__file__).resolve().parent.parent / "dbt_project" / "seeds" / "metric_dictionary.csv"


def dictionary_path() -> Traversable:
    """The packaged copy of the seed in an installed wheel, else the seed itself in the source tree."""
    packaged = resources.files(__package__) / PACKAGED_DICTIONARY
    return packaged if packaged.is_file() else SOURCE_DICTIONARY


@dataclass(frozen=True)
class Metric:
    """One canonical cell of the template: ``<table>.<row>.<column>``."""

    key: str
    table: str
    row: str
    column: str
    label_zh: str
    label_en: str
    row_label_zh: str
    column_label_zh: str
    unit: str
    value_type: str  # "count" | "signed" | "amount"
    versions: tuple[str, ...]  # template versions whose reports carry this cell
    derived_in: tuple[str, ...]  # versions where the warehouse derives it (never extracted)
    sort_order: int


def _split(value: str) -> tuple[str, ...]:
    return tuple(v for v in value.split(",") if v)


@cache
def metrics() -> tuple[Metric, ...]:
    """All metrics in the dictionary's sort_order."""
    rows = csv.DictReader(io.StringIO(dictionary_path().read_text(encoding="utf-8"), newline=""))
    return tuple(sorted(
        (
            Metric(
                key=r["metric_key"], table=r["table_key"], row=r["row_key"], column=r["column_key"],
                label_zh=r["label_zh"], label_en=r["label_en"], row_label_zh=r["row_label_zh"],
                column_label_zh=r["column_label_zh"], unit=r["unit"], value_type=r["value_type"],
                versions=_split(r["template_versions"]), derived_in=_split(r["derived_in_versions"]),
                sort_order=int(r["sort_order"]),
            )
            for r in rows
        ),
        key=lambda m: m.sort_order,
    ))


def _distinct(values) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


@cache
def table_rows(table: str) -> tuple[str, ...]:
    """Row keys of a table in any template version, in dictionary order."""
    return _distinct(m.row for m in metrics() if m.table == table)


@cache
def table_columns(table: str) -> tuple[str, ...]:
    """Column keys of a table in any template version, in dictionary order."""
    return _distinct(m.column for m in metrics() if m.table == table)


@cache
def metric_by_key() -> dict[str, Metric]:
    return {m.key: m for m in metrics()}


@cache
def keys_for(version: str, table: str | None = None) -> tuple[str, ...]:
    """The canonical keys a report of ``version`` carries (optionally one table), in order."""
    return tuple(m.key for m in metrics() if version in m.versions and (table is None or m.table == table))


@cache
def rows_for(version: str, table: str) -> tuple[str, ...]:
    """Row keys of a table in template order for a version."""
    return _distinct(m.row for m in metrics() if version in m.versions and m.table == table)


@cache
def columns_for(version: str, table: str, row: str) -> tuple[str, ...]:
    """Column keys of one row in template order for a version."""
    return tuple(m.column for m in metrics() if version in m.versions and m.table == table and m.row == row)


def value_type(key: str) -> str:
    """``count`` / ``signed`` / ``amount`` for a canonical key; extra rows read as counts."""
    m = metric_by_key().get(key)
    if m is not None:
        return m.value_type
    column = key.rsplit(".", 1)[-1]
    return {"change": "signed", "amount_yuan": "amount", "amount_10k_yuan": "amount"}.get(column, "count")


VERSIONS = tuple(sorted(_distinct(v for m in metrics() for v in m.versions)))
TABLES = _distinct(m.table for m in metrics())
APPLICANT_COLUMNS = table_columns("applications")  # table 三's columns; `total` last
REVIEW_ROWS = table_rows("review_litigation")
REVIEW_COLUMNS = table_columns("review_litigation")  # `total` last
