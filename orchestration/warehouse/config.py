"""Where the warehouse lives: one dataclass read from the environment with repo-relative defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = REPO / "dbt_project"
OVERRIDES_DIR = DBT_PROJECT_DIR / "overrides"


def _path(env: str, default: Path | None) -> Path | None:
    value = os.environ.get(env)
    return Path(value).expanduser().resolve() if value else default


@dataclass(frozen=True)
class WarehousePaths:
    """Files and folders of one warehouse.

    ``work_db`` is the persistent working DuckDB (raw state across refreshes, dbt builds into it);
    ``published`` is the file readers open, replaced atomically by ``publish``.
    """

    published: Path
    work_db: Path
    data_docs_dir: Path
    parquet_dir: Path | None
    dbt_project_dir: Path
    corrections_csv: Path
    waivers_csv: Path
    agency_overrides_csv: Path | None = None  # read by dbt itself (int_agency_overrides), from the same env

    @property
    def override_files(self) -> tuple[Path, ...]:
        """The maintainers' corrections, waivers and agency merges/splits (any file may not exist)."""
        return tuple(p for p in (self.corrections_csv, self.waivers_csv, self.agency_overrides_csv) if p)

    @classmethod
    def from_env(cls, warehouse: str | None = None) -> "WarehousePaths":
        """Paths from ``warehouse`` (the published file) or env ``DISCLOSURE_*`` variables, else defaults.

        Defaults: ``<repo>/warehouse/disclosure.duckdb``, ``<repo>/warehouse/work/disclosure.duckdb``,
        ``<repo>/warehouse/data_docs``; corrections and waivers from ``dbt_project/overrides/``.
        """
        published = Path(warehouse).expanduser().resolve() if warehouse else _path(
            "DISCLOSURE_WAREHOUSE", REPO / "warehouse" / "disclosure.duckdb")
        # The work DB and Data Docs sit beside the published file unless told otherwise, so a
        # warehouse in a temporary folder never shares state with the repo's default one.
        return cls(
            published=published,
            work_db=_path("DISCLOSURE_WORK_DB", published.parent / "work" / published.name),
            data_docs_dir=_path("DISCLOSURE_DATA_DOCS", published.parent / "data_docs"),
            parquet_dir=_path("DISCLOSURE_PARQUET_DIR", None),
            dbt_project_dir=DBT_PROJECT_DIR,
            corrections_csv=_path("DISCLOSURE_CORRECTIONS", OVERRIDES_DIR / "corrections.csv"),
            waivers_csv=_path("DISCLOSURE_WAIVERS", OVERRIDES_DIR / "waivers.csv"),
            agency_overrides_csv=_path("DISCLOSURE_AGENCY_OVERRIDES", OVERRIDES_DIR / "agency_identity.csv"),
        )
