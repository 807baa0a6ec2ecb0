"""The parse pool a refresh keeps from one chunk step to the next (issue #11), and the rows its workers
build for landing: a kept worker is the same process on the next call, one that died idle costs nothing,
and a report landed from its worker-built rows lands exactly as the report itself."""

import os
import signal
import time
from pathlib import Path

import duckdb
import pytest

from orchestration.parsing import PARSE_POOL_THRESHOLD, end_kept_workers, parse_all, parse_stream, survive_map, unpack
from orchestration.warehouse.landing import Landing
from orchestration.warehouse.report_rows import ReportRows, report_rows
from tests.test_orchestration_parse import _stored


def worker_pid(job: int) -> tuple[int, int]:
    """A job that says which process ran it (sent to the workers by name)."""
    return job, os.getpid()


def _pids(keep: bool, log=print) -> set[int]:
    results = dict(survive_map(worker_pid, list(range(40)), 2, None, lambda job, reason: (job, None), log, keep))
    assert sorted(job for job, _ in results.values()) == list(range(40))
    return {pid for _, pid in results.values()}


def _gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return True
        if fields[0] == "Z" and fields[17] == "1":  # a zombie whose last thread has ended (its files closed)
            return True
        time.sleep(0.02)
    return False


@pytest.mark.timeout(120)
def test_kept_workers_serve_the_next_call_until_ended():
    """A fresh pool per chunk step cost every step its workers' start; kept, the next call gets the same processes."""
    try:
        first = _pids(keep=True)
        assert len(first) == 2
        assert _pids(keep=True) == first
    finally:
        end_kept_workers()
    assert all(_gone(pid) for pid in first)
    fresh = _pids(keep=False)
    assert not fresh & first
    assert all(_gone(pid) for pid in fresh)  # not kept: they end with the call


@pytest.mark.timeout(120)
def test_a_kept_worker_that_died_idle_costs_nothing():
    lines: list[str] = []
    try:
        first = _pids(keep=True)
        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        assert _gone(victim)
        second = _pids(keep=True, log=lines.append)
        assert lines == []  # it held nothing: no document was retried
        assert victim not in second and len(second) == 2
    finally:
        end_kept_workers()


@pytest.mark.timeout(300)
def test_a_report_lands_from_its_worker_rows_as_from_the_report(tmp_path):
    """Workers hand landing each report's rows column by column (``as_rows``): the raw tables hold exactly
    what landing the parsed report itself writes, provenance included."""
    items = _stored(tmp_path, PARSE_POOL_THRESHOLD + 2)  # through the pool
    as_rows = [unpack(p) for _, p in parse_stream(items, str(tmp_path / "raw"), log=print, workers=2)]
    as_reports = parse_all(items, str(tmp_path / "raw"), log=lambda _: None, workers=1)
    assert all(isinstance(o.report, ReportRows) for o in as_rows)
    tables = []
    for name, outcomes in (("rows", as_rows), ("reports", as_reports)):
        work_db = tmp_path / name / "disclosure.duckdb"
        work_db.parent.mkdir()
        with Landing(work_db) as landing:
            landing.chunk([o.report if name == "rows" else report_rows(o.report) for o in outcomes])
        with duckdb.connect(str(work_db), read_only=True) as con:
            tables.append({table: con.execute(f"select * exclude (landed_at) from raw.{table} order by all").fetchall()
                           if table == "documents" else con.execute(f"select * from raw.{table} order by all").fetchall()
                           for table in ("documents", "cells", "issues", "claims")})
    assert tables[0] == tables[1]
    assert len(tables[0]["documents"]) == len(items) and len(tables[0]["cells"]) > 1000


@pytest.mark.timeout(300)
def test_a_chunk_file_holds_what_the_workers_pickled_as_the_writer_reads_it(tmp_path):
    """``parse_stream``: the worker pickles each outcome (its report as rows) and the chunk step writes the bytes as
    they are (no unpickling and pickling again in between); the writer reads them back as ``unpack`` gives them."""
    from orchestration.ingest import FetchBatch, prepared_outcomes

    items = _stored(tmp_path, PARSE_POOL_THRESHOLD + 2)
    items.append(("gone.html", "0" * 64, {}))  # not in the store: a failure, packed like the rest
    chunk_file = tmp_path / "00000.pickle"
    with chunk_file.open("wb") as out:
        packed = [p for _, p in parse_stream(items, str(tmp_path / "raw"), log=print, workers=2)]
        for p in packed:
            out.write(p.data)
    assert [p.failed for p in packed].count(True) == 1
    todo = [{"source_uri": s, "content_hash": h} for s, h, _ in items]
    batch = FetchBatch(results=[], full=False, store_root=str(tmp_path / "raw"),
                       chunk_files=[(str(chunk_file), [(p.source, p.content_hash) for p in packed])])
    outcomes, rest = prepared_outcomes(batch, todo)
    read = {o.source: o for o in outcomes}
    assert rest == [] and set(read) == {s for s, _, _ in items}
    assert read["gone.html"].report is None and read["gone.html"].error
    rows = {o.source: o for o in map(unpack, (p for _, p in parse_stream(items, str(tmp_path / "raw"), log=print, workers=1)))}
    assert read == rows
