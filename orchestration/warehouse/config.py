"""Where the warehouse lives: one dataclass with repo-relative defaults (the settings come from WarehouseResource)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from orchestration import REPO

DBT_PROJECT_DIR = REPO / "dbt_project"
OVERRIDES_DIR = DBT_PROJECT_DIR / "overrides"


def _path(value: str | Path | None, default: Path | None) -> Path | None:
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
    agency_overrides_csv: Path | None = None  # read by dbt itself (int_agency_overrides): passed as env DISCLOSURE_AGENCY_OVERRIDES

    @property
    def override_files(self) -> tuple[Path, ...]:
        """The maintainers' corrections, waivers and agency merges/splits (any file may not exist)."""
        return tuple(p for p in (self.corrections_csv, self.waivers_csv, self.agency_overrides_csv) if p)

    @classmethod
    def beside(
        cls,
        published: str | Path | None = None,
        work_db: str | Path | None = None,
        data_docs: str | Path | None = None,
        parquet_dir: str | Path | None = None,
        corrections: str | Path | None = None,
        waivers: str | Path | None = None,
        agency_overrides: str | Path | None = None,
    ) -> "WarehousePaths":
        """Paths from the given ones, the rest by default (empty or None: the default).

        Defaults: ``<repo>/warehouse/disclosure.duckdb``, the work DB in ``work/`` and ``data_docs/``
        beside the published file; corrections, waivers and agency overrides from ``dbt_project/overrides/``.
        """
        published = _path(published, REPO / "warehouse" / "disclosure.duckdb")
        # The work DB and Data Docs sit beside the published file unless told otherwise, so a
        # warehouse in a temporary folder never shares state with the repo's default one.
        return cls(
            published=published,
            work_db=_path(work_db, published.parent / "work" / published.name),
            data_docs_dir=_path(data_docs, published.parent / "data_docs"),
            parquet_dir=_path(parquet_dir, None),
            dbt_project_dir=DBT_PROJECT_DIR,
            corrections_csv=_path(corrections, OVERRIDES_DIR / "corrections.csv"),
            waivers_csv=_path(waivers, OVERRIDES_DIR / "waivers.csv"),
            agency_overrides_csv=_path(agency_overrides, OVERRIDES_DIR / "agency_identity.csv"),
        )
