"""Scale (issue #11) at 100,000 documents: each chunk step of ``source_documents`` reads what its own sources
need, never the whole warehouse or the whole fetch log again (that made a run cost chunks × documents)."""

from __future__ import annotations

import os

import pytest

from orchestration.fetching import RawStore
from orchestration.warehouse.landing import current_load, land, listed_sources, parsed_reports
from tests.corpus import generate
from tests.warehouse_support import report_from_truth


@pytest.fixture
def work_db(tmp_path):
    """A work DB with three landed sources (a, b listed by a listing; c on its own)."""
    docs = generate(3, seed=5)
    reports = [report_from_truth(d.truth, source=s, content=d.data, parser_version="p1") for d, s in zip(docs, "abc")]
    db = tmp_path / "work" / "disclosure.duckdb"
    none = tmp_path / "none.csv"
    records = [{"source_uri": r.source, "content_hash": r.content_hash, "status": "fetched",
                "listing": "L" if r.source != "c" else None} for r in reports]
    land(db, reports, records, corrections=none, waivers=none, sources=current_load(db, records))
    return db, {r.source: r.content_hash for r in reports}


def test_a_chunk_reads_only_its_own_sources_parsed_reports_and_listed_rows(work_db):
    db, hashes = work_db
    assert parsed_reports(db, "p1", ["c"]) == {("c", hashes["c"])}
    assert parsed_reports(db, "p1", []) == set()
    assert parsed_reports(db, "p2", ["c"]) == set()
    assert len(parsed_reports(db, "p1")) == 3, "without sources: every report, as before"
    assert listed_sources(db, ["c"]) == {"c": (hashes["c"], None)}
    assert listed_sources(db, ["c"], ["L"]) == {"a": (hashes["a"], "L"), "b": (hashes["b"], "L"), "c": (hashes["c"], None)}


def test_a_chunks_current_load_still_keeps_what_a_failure_left_current(work_db):
    """A failed fetch keeps the source's content; a failed listing keeps its documents; sources of other
    chunks are neither read nor in this chunk's load."""
    db, hashes = work_db
    load = current_load(db, [{"source_uri": "c", "content_hash": None, "status": "failed", "error": "HTTP 503"}])
    assert [(s["source_uri"], s["content_hash"]) for s in load] == [("c", hashes["c"])]
    load = current_load(db, [{"source_uri": "L", "content_hash": None, "status": "failed", "listing": "L"}])
    assert {s["source_uri"]: s["content_hash"] for s in load} == {"L": None, "a": hashes["a"], "b": hashes["b"]}


def test_a_store_opened_again_reads_only_what_was_appended_to_the_fetch_log(tmp_path):
    """Every chunk step opens the raw store: the log is read once per process, then only its new lines
    (another writer's arrivals too); a log replaced under the same name is read again from its start."""
    first = RawStore(tmp_path)
    one = first.put("u", b"one")
    assert first.latest("u") == one
    size = first.log_path.stat().st_size
    with open(first.log_path, "r+b") as log:  # the line already read, garbled in place: never read again
        log.write(b"#" * (size - 1))
    two = RawStore(tmp_path).put("v", b"two")  # another writer (a parallel chunk step) appends
    reopened = RawStore(tmp_path)
    assert reopened.latest("v") == two and reopened.latest("u") == one

    first.log_path.unlink()  # a store begun anew: the new log is all there is
    fresh = RawStore(tmp_path).put("w", b"three")
    again = RawStore(tmp_path)
    assert again.latest("w") == fresh and again.latest("u") is None
    os.truncate(again.log_path, 0)
    assert RawStore(tmp_path).latest("w") is None


def test_a_fetch_that_found_what_the_last_one_found_lands_no_row_and_rewrites_no_source(work_db, tmp_path):
    """A refresh with nothing changed checks 100,000 sources: the time of a check alone is no news, so
    ``raw.fetches`` and ``raw.sources`` change only with what a fetch found (its status, content, error)."""
    import duckdb

    db, hashes = work_db
    none = tmp_path / "none.csv"

    def again(status: str, when: str, error: str | None = None) -> int:
        records = [{"source_uri": s, "content_hash": hashes[s], "status": status, "fetched_at": when, "error": error,
                    "listing": "L" if s != "c" else None} for s in "abc"]
        return land(db, [], records, corrections=none, waivers=none, sources=current_load(db, records)).fetches

    def rows() -> tuple[int, list]:
        with duckdb.connect(str(db), read_only=True) as con:
            return (con.execute("select count(*) from raw.fetches").fetchone()[0],
                    con.execute("select source_uri, fetch_status, recorded_at from raw.sources order by all").fetchall())

    assert again("unchanged", "2026-01-01T00:00:00+00:00") == 3, "fetched, then unchanged: news"
    before = rows()
    assert again("unchanged", "2026-01-02T00:00:00+00:00") == 0 and rows() == before, "the same again, a day later"
    assert again("failed", "2026-01-03T00:00:00+00:00", "HTTP 503") == 3
    assert again("unchanged", "2026-01-04T00:00:00+00:00") == 3, "unchanged after a failure is news again"
    assert rows()[0] == before[0] + 6
