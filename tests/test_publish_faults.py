"""The publish and the Data Docs against faults around them: a stale WAL left beside the published
file by a reader that opened it read-write, a Data Docs build that fails half-way, Data Docs gone
missing after a publish, and a Data Docs setting that names a user's own folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from orchestration.warehouse.publish import publish, wal_path


def work_db(path: Path, reports: int) -> Path:
    """A work DB holding ``reports`` rows in marts.dim_report (all the publish needs)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as conn:
        conn.execute("create schema if not exists marts")
        conn.execute(f"create or replace table marts.dim_report as select range as report_id from range({reports})")
    return path


def reports_in(db: Path) -> int:
    with duckdb.connect(str(db), read_only=True) as conn:
        return conn.execute("select count(*) from marts.dim_report").fetchall()[0][0]


def leave_a_wal(db: Path) -> None:
    """What a BI reader does that opens the file read-write (DuckDB's default), writes, and dies."""
    code = ("import duckdb, os, sys; c = duckdb.connect(sys.argv[1]); "
            "c.execute('create table scratch as select 1 as x'); os._exit(9)")
    subprocess.run([sys.executable, "-c", code, str(db)], check=False, timeout=60)
    assert wal_path(db).exists()


def test_a_stale_wal_beside_the_published_file_is_moved_aside_and_said(tmp_path):
    published = tmp_path / "wh" / "disclosure.duckdb"
    publish(work_db(tmp_path / "work" / "a.duckdb", 3), published)
    leave_a_wal(published)
    stale_wal = wal_path(published).read_bytes()
    said: list[str] = []
    assert publish(work_db(tmp_path / "work" / "b.duckdb", 5), published, log=said.append) == published.resolve()
    assert reports_in(published) == 5  # readers open the new file (before: "WAL does not match database file")
    assert not wal_path(published).exists()
    aside = list(published.parent.glob("disclosure.duckdb.wal.stale-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == stale_wal  # nothing lost
    assert any("stale WAL" in m and str(aside[0]) in m for m in said)
    assert any(m.startswith(f"verified {published.resolve()}: opens read-only, 5 reports") for m in said)
    # the next publish finds nothing to move and still verifies
    said.clear()
    publish(work_db(tmp_path / "work" / "c.duckdb", 7), published, log=said.append)
    assert reports_in(published) == 7 and not any("stale WAL" in m for m in said)


# --- Data Docs --------------------------------------------------------------------------------

FULL_DISK_DOCS_BUILD = """
import resource, signal, sys
from pathlib import Path
from expectations.gate import _build_docs, _context
site = Path(sys.argv[1])
context = _context(site)
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG, as on a full disk
resource.setrlimit(resource.RLIMIT_FSIZE, (2048, resource.RLIM_INFINITY))
_build_docs(context, site)
"""


def build_docs(site: Path) -> Path | None:
    from expectations.gate import _build_docs, _context

    return _build_docs(_context(site), site)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_data_docs_build_that_fails_half_way_keeps_the_previous_site(tmp_path):
    from expectations.gate import DOCS_MARKER

    site = tmp_path / "wh" / "data_docs"
    assert build_docs(site) == site / "index.html"
    assert (site / DOCS_MARKER).exists()
    before = snapshot(site)
    failed = subprocess.run([sys.executable, "-c", FULL_DISK_DOCS_BUILD, str(site)], capture_output=True, text=True,
                            timeout=300, cwd=Path(__file__).resolve().parent.parent)
    assert failed.returncode != 0 and "File too large" in failed.stderr, failed.stderr[-2000:]
    assert snapshot(site) == before  # before: the site was deleted first, and index.html lost
    assert build_docs(site) == site / "index.html"
    assert sorted(p.name for p in site.parent.iterdir()) == ["data_docs"]  # the half-built folder was cleared


def test_the_data_docs_step_never_deletes_a_folder_it_did_not_create(tmp_path):
    from expectations.gate import DataDocsFolderRefused

    users = tmp_path / "my_reports"
    users.mkdir()
    (users / "notes.txt").write_text("mine")
    website = tmp_path / "my_site"  # looks like a site, but not GX's
    (website / "static").mkdir(parents=True)
    (website / "index.html").write_text("<html>mine</html>")
    for folder, content in ((users, {"notes.txt": b"mine"}), (website, {"index.html": b"<html>mine</html>"})):
        with pytest.raises(DataDocsFolderRefused, match=r"not created by this project .* DISCLOSURE_DATA_DOCS"):
            build_docs(folder)
        assert snapshot(folder) == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["my_reports", "my_site"]


def test_a_site_built_before_the_marker_existed_is_replaced(tmp_path):
    from expectations.gate import DOCS_MARKER

    site = tmp_path / "data_docs"
    (site / "static" / "styles").mkdir(parents=True)
    (site / "static" / "styles" / "data_docs_default_styles.css").write_text("/* GX's */")
    (site / "index.html").write_text("<html>an older gate run</html>")
    assert build_docs(site) == site / "index.html"
    assert (site / DOCS_MARKER).exists() and "an older gate run" not in (site / "index.html").read_text()
