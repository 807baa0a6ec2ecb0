"""Incremental `disclosure refresh` (issue #12): what is current is decided per source, sources that
left the manifest are retired, and a lost raw blob or work DB never leaves a permanent hole.

Each test runs the real refresh (through Dagster) on a small copy of the bundled corpus in its own
warehouse, changes the corpus or the warehouse's private state, and refreshes again.
"""

import hashlib
import os
import shutil
from pathlib import Path

import duckdb
import pytest

from orchestration.assets import raw_store_root
from orchestration.resources import WarehouseResource
from orchestration.warehouse.config import WarehousePaths
from tests.conftest import page_handler
from tests.test_refresh import BUNDLED, refresh, runs_summaries

pytestmark = pytest.mark.slow

SEED = "000_b4db0ae74d3253e2.txt"  # a real report that passes the gate
GENERATED = "g01_2021_html_template.html"  # a generated report that passes the gate
NEWS = "g10_news_article.html"  # not a template report


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Site:
    """A corpus folder, a warehouse and a Dagster home of one test, and refreshes over them."""

    def __init__(self, root: Path, names: tuple[str, ...], **env: str):
        self.corpus = root / "corpus"
        self.corpus.mkdir()
        for name in names:
            shutil.copyfile(BUNDLED / name, self.corpus / name)
        self.warehouse = root / "wh" / "disclosure.duckdb"
        self.home = root / "dagster_home"
        self.env = {**os.environ, "DAGSTER_HOME": str(self.home), "DISCLOSURE_LOCK_TIMEOUT": "600",
                    "DISCLOSURE_SOURCES": str(self.corpus), **env}
        for var in ("DISCLOSURE_WAREHOUSE", "DISCLOSURE_WORK_DB", "DISCLOSURE_DATA_DOCS", "DISCLOSURE_PARQUET_DIR",
                    "DISCLOSURE_MAX_FAILED_SHARE", "DISCLOSURE_MAX_QUARANTINE_SHARE", "DISCLOSURE_WEBHOOKS",
                    "DISCLOSURE_SMTP_HOST"):
            if var not in env:
                self.env.pop(var, None)
        self.paths = WarehousePaths.beside(str(self.warehouse))
        self.raw_store = raw_store_root(WarehouseResource(warehouse=str(self.warehouse)))

    def refresh(self, expect: int = 0, **env: str) -> str:
        proc = refresh({**self.env, **env}, "--warehouse", str(self.warehouse))
        assert proc.returncode == expect, proc.stdout + proc.stderr
        return proc.stdout

    def last_run(self) -> dict:
        return runs_summaries(self.home)[-1]

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            return con.execute(sql, params or []).fetchall()

    def reports(self) -> dict[str, tuple[str, str]]:
        """File name -> (gate_status, content_hash) of every row of the published dim_report."""
        rows = self.query("select source_uri, gate_status, content_hash from marts.dim_report")
        assert len(rows) == len({uri for uri, _, _ in rows}), "one row per source"
        return {Path(uri).name: (status, content) for uri, status, content in rows}

    def metric_rows(self, name: str) -> int:
        return self.query("select count(*) from marts.fct_metric f join marts.dim_report r using (report_id) "
                          "where r.source_uri = ?", [str(self.corpus / name)])[0][0]

    def blobs(self) -> list[Path]:
        return sorted(p for p in (self.raw_store / "blobs").rglob("*") if p.is_file())


def test_each_source_shows_its_latest_fetched_content(tmp_path):
    """Item 1: a new source with bytes parsed before gets its report; a reverted page shows the reverted content."""
    site = Site(tmp_path, (SEED, GENERATED, NEWS))
    site.refresh()
    page = site.corpus / GENERATED
    original = page.read_bytes()

    shutil.copyfile(site.corpus / SEED, site.corpus / "copy_of_000.txt")  # same bytes, another source
    page.write_bytes(original + b"\n<!-- edited -->\n")
    out = site.refresh()
    assert "published   " in out
    reports = site.reports()
    assert reports["copy_of_000.txt"] == ("passed", sha256(site.corpus / SEED)), reports
    assert site.metric_rows("copy_of_000.txt") == site.metric_rows(SEED) > 0
    assert reports[GENERATED] == ("passed", sha256(page))
    parse = site.last_run()["assets"]["raw_landing"]
    assert (parse["parsed"], parse["skipped_already_parsed"]) == (2, 2), "the copy and the edited page are parsed"

    page.write_bytes(original)  # reverted to content parsed two runs ago
    out = site.refresh()
    assert "nothing changed" not in out and "published   " in out, out
    assert site.reports()[GENERATED] == ("passed", sha256(page)), "the reverted content is current again"
    assert site.last_run()["assets"]["raw_landing"]["parsed"] == 0, "its parse result is reused"
    assert site.query("select count(*) from raw.documents where source_uri = ?", [str(page)]) == [(2,)]


def test_sources_removed_from_the_manifest_are_retired(tmp_path):
    """Item 2: removed sources' reports leave the marts (kept as retired), the summary counts them, and
    their old failures no longer count against the batch gate."""
    site = Site(tmp_path, (SEED, GENERATED, NEWS))
    for name in ("empty1.html", "empty2.html"):  # two sources that fail to fetch (empty body): 2 of 5
        (site.corpus / name).write_bytes(b"")
    site.refresh()
    assert site.metric_rows(GENERATED) > 0
    retired_report = site.query("select report_id from marts.dim_report where source_uri = ?",
                                [str(site.corpus / GENERATED)])[0][0]

    for name in (GENERATED, "empty1.html", "empty2.html"):
        (site.corpus / name).unlink()
    # 2 failed of 4 would be refused at 0.3, but the failed sources are no longer listed
    out = site.refresh(DISCLOSURE_MAX_FAILED_SHARE="0.3")
    assert "retired 1 (left the manifest)" in out, out
    assert "published   " in out
    reports = site.reports()
    assert reports[GENERATED][0] == "retired"
    assert {name: status for name, (status, _) in reports.items() if name != GENERATED} == {
        SEED: "passed", NEWS: "not_applicable"}
    assert site.metric_rows(GENERATED) == 0, "a retired report's facts leave the marts"
    assert site.query("select count(*) from marts.fct_metric where report_id = ?", [retired_report]) == [(0,)]
    assert site.query("select count(*) from raw.cells where report_id = ?", [retired_report])[0][0] > 0, \
        "kept in raw history"
    assert site.query("select count(*) from quality.rule_results where report_id = ?", [retired_report]) == [(0,)]
    gate = site.last_run()["checks"]["batch_gate_allows_publish"]
    assert gate["passed"] and gate["counts"]["failed"] == 0 and gate["counts"]["documents"] == 2, gate

    shutil.copyfile(BUNDLED / GENERATED, site.corpus / GENERATED)  # listed again: current again
    site.refresh()
    assert site.reports()[GENERATED][0] == "passed" and site.metric_rows(GENERATED) > 0


def test_lost_blobs_and_a_lost_work_db_are_recovered_incrementally(tmp_path):
    """Item 3: blobs deleted while the fetch log remains are fetched again; then losing the work DB
    re-lands everything from the raw store on the next incremental refresh."""
    site = Site(tmp_path, (SEED, GENERATED, NEWS))
    site.refresh()
    before = site.reports()
    blobs = site.blobs()
    assert len(blobs) == 3
    shutil.rmtree(site.raw_store / "blobs")

    out = site.refresh()
    assert site.blobs() == blobs, "the missing blobs are stored again"
    assert "nothing changed" in out, "the blobs' content did not change: nothing to rebuild"

    for path in site.paths.work_db.parent.glob(site.paths.work_db.name + "*"):  # the DB and its WAL
        path.unlink()
    out = site.refresh()
    assert "published   " in out, out
    parse = site.last_run()["assets"]["raw_landing"]
    assert (parse["parsed"], parse["parse_errors"]) == (3, 0)
    assert site.reports() == before


def test_a_remote_source_whose_blob_was_lost_is_fetched_in_full(tmp_path, http_server):
    """Item 3 for HTTP sources: no conditional request for a copy the store no longer has (a 304 would
    confirm bytes nobody can read)."""
    from orchestration.fetching import RawStore, fetch_sources
    from tests.test_fetch import FAST, urls

    body = (BUNDLED / GENERATED).read_bytes()
    validators: list[str | None] = []  # If-None-Match of each request for the report
    Page = page_handler("/report.html", body, etag='"v1"', requests=validators)

    manifest = urls(f"{http_server(Page)}/report.html")
    root = tmp_path / "raw"
    (first,) = fetch_sources(manifest, RawStore(root), FAST)
    (second,) = fetch_sources(manifest, RawStore(root), FAST)
    assert (first.status, second.status, second.http_status) == ("fetched", "unchanged", 304)
    assert validators == [None, '"v1"'], "an intact copy is revalidated with a conditional request"

    RawStore(root).blob_path(first.content_hash).unlink()
    (third,) = fetch_sources(manifest, RawStore(root), FAST)
    assert validators[-1] is None, "no conditional request for a lost blob"
    assert (third.status, third.http_status, third.content_hash) == ("unchanged", 200, first.content_hash)
    assert RawStore(root).get(first.content_hash) == body


def test_a_work_db_from_before_raw_sources_keeps_its_current_reports(tmp_path):
    """Landing into an older work DB (raw.documents, no raw.sources): each source's highest version
    becomes its current content, so nothing disappears from the marts on the first new landing."""
    from orchestration.warehouse.landing import land, listed_sources

    work_db = tmp_path / "work" / "disclosure.duckdb"
    work_db.parent.mkdir()
    landed = [("a", "h1", 1), ("a", "h2", 2), ("b", "h3", 1)]
    with duckdb.connect(str(work_db)) as con:
        con.execute("create schema raw")
        con.execute("create table raw.documents (report_id varchar primary key, source_uri varchar not null, "
                    "content_hash varchar not null, source_version integer not null, parser_version varchar not null, "
                    "document_kind varchar not null, template_version varchar, agency varchar, year integer, "
                    "published varchar, index_no varchar, doc_no varchar, title varchar, encoding varchar, "
                    "input_format varchar, n_cells integer not null, n_issues integer not null, "
                    "n_errors integer not null, landed_at timestamp not null)")
        for source, content, version in landed:
            con.execute("insert into raw.documents values (?, ?, ?, ?, 'p', 'annual_report', null, null, null, null, "
                        "null, null, null, null, null, 0, 0, 0, now())", [f"{source}{version}", source, content, version])
    none = tmp_path / "none.csv"
    land(work_db, [], corrections=none, waivers=none)
    assert listed_sources(work_db) == {"a": ("h2", None), "b": ("h3", None)}


def test_a_failed_listing_retires_none_of_its_documents(tmp_path):
    """A listing page that fails this run hides its report links: its known documents keep their
    content (not retired); once the listing is read again, the ones it no longer links are retired."""
    from orchestration.warehouse.landing import current_load, land, listed_sources

    work_db = tmp_path / "work" / "disclosure.duckdb"
    none = tmp_path / "none.csv"
    listing = "http://127.0.0.1:9/list.html"

    def fetch(uri: str, content: str | None, status: str = "fetched") -> dict:
        return {"source_uri": uri, "content_hash": content, "status": status, "listing": listing,
                "error": "HTTP 503" if status == "failed" else None}

    def landing(*records: dict) -> int:
        return land(work_db, [], records, corrections=none, waivers=none,
                    sources=current_load(work_db, records)).retired

    landing(fetch("http://127.0.0.1:9/a.html", "ha"), fetch("http://127.0.0.1:9/b.html", "hb"))
    assert landing(fetch(listing, None, "failed")) == 0
    assert listed_sources(work_db) == {"http://127.0.0.1:9/a.html": ("ha", listing),
                                       "http://127.0.0.1:9/b.html": ("hb", listing), listing: (None, listing)}
    assert landing(fetch("http://127.0.0.1:9/a.html", "ha")) == 1  # the listing read again: b is gone
    assert listed_sources(work_db) == {"http://127.0.0.1:9/a.html": ("ha", listing)}
    assert landing(fetch("http://127.0.0.1:9/a.html", None, "failed")) == 0, "a document's own failure keeps its content"
    assert listed_sources(work_db) == {"http://127.0.0.1:9/a.html": ("ha", listing)}
