"""report_id does not depend on where the checkout is: local sources are keyed relative to the manifest's
folder (remote ones by their URL), and a work DB keyed by absolute paths is migrated in place."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from orchestration.warehouse.report_ids import report_id, source_key
from tests.test_refresh import BUNDLED
from tests.warehouse_support import run_refresh_job, warehouse_paths

DOCS = ("000_b4db0ae74d3253e2.txt", "g01_2021_html_template.html")


def ids(work_db: Path) -> list[tuple[str, str, int]]:
    with duckdb.connect(str(work_db), read_only=True) as con:
        return con.execute("select report_id, content_hash, source_version from raw.documents order by 1").fetchall()


def test_source_keys():
    root = Path("/srv/checkout/corpus")
    assert source_key("/srv/checkout/corpus/2021/a.html", root) == "2021/a.html"
    assert source_key("https://example.org/a.html", root) == "https://example.org/a.html"
    assert source_key("/elsewhere/a.html", root) == "/elsewhere/a.html"  # an allowed root outside the manifest's
    assert report_id("/srv/checkout/corpus/a.html", "h", root) == report_id("/other/place/a.html", "h", Path("/other/place"))


@pytest.mark.slow
def test_the_same_corpus_in_two_checkouts_gets_the_same_report_ids(tmp_path):
    """The real source_documents and raw_landing assets, on one corpus copied to two places."""
    from dagster import AssetKey

    landed = []
    for checkout in ("one", "two/deeper"):
        corpus = tmp_path / checkout / "corpus"
        corpus.mkdir(parents=True)
        for name in DOCS:
            shutil.copyfile(BUNDLED / name, corpus / name)
        paths = warehouse_paths(tmp_path / checkout / "wh")
        result, _ = run_refresh_job(paths, [AssetKey("source_documents"), AssetKey("raw_landing")], sources=corpus)
        assert result.success
        landed.append(ids(paths.work_db))
    assert landed[0] == landed[1] and len(landed[0]) == len(DOCS)
    with duckdb.connect(str(paths.work_db), read_only=True) as con:
        for rid, source, content in con.execute("select report_id, source_uri, content_hash from raw.documents").fetchall():
            assert rid == report_id(Path(source).name, content), "keyed by the path inside the corpus folder"


def test_an_old_work_db_is_rekeyed_and_its_overrides_still_apply(tmp_path):
    """A work DB whose local reports are keyed by absolute path (what landing did before): the next landing
    with the manifest's folder re-keys them in place (no new version, nothing lost), and a waiver or a
    correction naming an old id applies to the re-keyed report."""
    from extract import parse_document
    from orchestration.warehouse.landing import land

    corpus = tmp_path / "checkout" / "corpus"
    corpus.mkdir(parents=True)
    reports = []
    for name in DOCS:
        shutil.copyfile(BUNDLED / name, corpus / name)
        reports.append(parse_document((corpus / name).read_bytes(), str(corpus / name)))
    old = [report_id(r.source, r.content_hash) for r in reports]  # absolute paths: the ids before
    new = [report_id(name, r.content_hash) for name, r in zip(DOCS, reports)]
    paths = warehouse_paths(tmp_path / "wh", waivers=f"{old[0]},*,checked on paper,a maintainer\n",
                            corrections=f"{old[1]},applications.granted.total,1,typo,a maintainer\n")
    land(paths.work_db, reports, corrections=paths.corrections_csv, waivers=paths.waivers_csv)  # no root: as before
    assert sorted(rid for rid, _, _ in ids(paths.work_db)) == sorted(old)

    stats = land(paths.work_db, reports, corrections=paths.corrections_csv, waivers=paths.waivers_csv, root=corpus)
    assert stats.rekeyed == len(DOCS) and stats.new == 0 and stats.unchanged == len(DOCS)
    after = ids(paths.work_db)
    assert sorted(rid for rid, _, _ in after) == sorted(new) and {v for _, _, v in after} == {1}, after
    with duckdb.connect(str(paths.work_db), read_only=True) as con:
        for table in ("raw.cells", "raw.issues"):
            assert set(r for (r,) in con.execute(f"select distinct report_id from {table}").fetchall()) <= set(new)
        assert con.execute("select count(*) from raw.cells").fetchone()[0] > 0
        assert con.execute("select report_id from raw.waivers").fetchall() == [(new[0],)]
        assert con.execute("select report_id from raw.corrections").fetchall() == [(new[1],)]
        assert dict(con.execute("select old_report_id, report_id from raw.report_id_aliases").fetchall()) == dict(zip(old, new))

    again = land(paths.work_db, reports, corrections=paths.corrections_csv, waivers=paths.waivers_csv, root=corpus)
    assert (again.rekeyed, again.new, again.unchanged) == (0, 0, len(DOCS))
