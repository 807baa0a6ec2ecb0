"""Helpers for the warehouse tests: seed truth as ParsedReports, and a small build wrapper."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from extract.model import Cell, Issue, ParsedReport

REPO = Path(__file__).resolve().parent.parent

PARSER_VERSION = "truth-1"


def report_from_truth(truth: dict, source: str | None = None, content: bytes | None = None,
                      parser_version: str = PARSER_VERSION) -> ParsedReport:
    """A ParsedReport carrying exactly the truth's cells (as if parsed perfectly)."""
    source = source or truth["source"]
    content = content if content is not None else json.dumps(truth, sort_keys=True, ensure_ascii=False).encode()
    cells = {k: Cell(key=k, value=v, raw_text=str(v)) for k, v in truth.get("cells", {}).items()}
    issues = [Issue(code=i["code"], severity=i["severity"], message=i.get("message", ""), table=i.get("table"),
                    key=i.get("key")) for i in truth.get("issues", []) if isinstance(i, dict)]
    return ParsedReport(
        source=source, content_hash=hashlib.sha256(content).hexdigest(), parser_version=parser_version,
        document_kind=truth["document_kind"], template_version=truth.get("template_version"),
        agency=truth.get("agency"), year=truth.get("year"), published=truth.get("published"),
        cells=cells, issues=issues,
    )


def seed_truths(seeds_dir: Path) -> dict[str, dict]:
    """Seed name (e.g. 001) -> expected truth."""
    return {p.name[:3]: json.loads(p.read_text(encoding="utf-8")) for p in sorted((seeds_dir / "expected").glob("*.json"))}


def warehouse_paths(root: Path, corrections: str = "", waivers: str = "", agency_overrides: Path | None = None):
    """WarehousePaths under ``root`` with the test's own corrections / waivers CSVs (never the repo's), and
    ``agency_overrides`` when given (else the repo's agency_identity.csv)."""
    import dataclasses

    from orchestration.warehouse.config import WarehousePaths
    from orchestration.warehouse.landing import CORRECTION_COLUMNS, WAIVER_COLUMNS

    root.mkdir(parents=True, exist_ok=True)
    corrections_csv, waivers_csv = root / "corrections.csv", root / "waivers.csv"
    corrections_csv.write_text(",".join(CORRECTION_COLUMNS) + "\n" + corrections, encoding="utf-8")
    waivers_csv.write_text(",".join(WAIVER_COLUMNS) + "\n" + waivers, encoding="utf-8")
    return dataclasses.replace(
        WarehousePaths.beside(str(root / "disclosure.duckdb"), agency_overrides=agency_overrides),
        work_db=root / "work" / "disclosure.duckdb", data_docs_dir=root / "data_docs",
        parquet_dir=None, corrections_csv=corrections_csv, waivers_csv=waivers_csv,
    )


def query(db: Path, sql: str, params: list | None = None):
    """A DataFrame from ``db`` opened read-only (as a BI reader would)."""
    import duckdb

    conn = duckdb.connect(str(db), read_only=True)
    try:
        return conn.execute(sql, params or []).df()
    finally:
        conn.close()


def parse_seeds(seeds_dir: Path) -> list[ParsedReport]:
    """The five seed documents through the real parser, sourced by file name."""
    from extract import parse_document

    return [parse_document(p.read_bytes(), p.name) for p in sorted(seeds_dir.glob("*.txt"))]
