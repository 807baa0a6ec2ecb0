"""Scale (issue #11): progress summaries instead of a line per document, landing in chunks so memory
does not grow with the batch, and the same warehouse either way."""

import io
import os
import re
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from orchestration.progress import Progress
from orchestration.warehouse.landing import Landing, land
from orchestration.warehouse.report_rows import report_rows
from tests.corpus import generate
from tests.test_refresh import refresh, runs_summaries
from tests.warehouse_support import report_from_truth, warehouse_paths


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_progress_logs_a_summary_every_few_seconds_not_a_line_per_item():
    clock, lines = Clock(), []
    progress = Progress("parse", 1000, lines.append, summary_seconds=10, clock=clock)
    for _ in range(1000):
        clock.now += 0.05  # 20 items a second: 50 s in all
        progress.advance(failed=0)
    progress.close()
    assert 4 <= len(lines) <= 6, lines  # one every 10 s, and the closing one
    assert lines[0].startswith("parse 200/1,000 20% 20/s ETA 0:40")
    assert lines[-1] == "parse 1,000/1,000 100% 20/s in 50.0s"


def test_progress_draws_a_bar_with_rate_and_eta_on_a_terminal():
    clock, lines, terminal = Clock(), [], io.StringIO()
    progress = Progress("fetch", 10, lines.append, bar=terminal, clock=clock)
    for i in range(10):
        clock.now += 1.0
        progress.advance(failed=i == 3)
    progress.close()
    drawn = terminal.getvalue().split("\r\x1b[K")
    assert "fetch 5/10 50% [############............] 1/s ETA 0:05, 1 failed" in drawn
    assert drawn[-2].startswith("fetch 10/10 100% [########################] 1/s, 1 failed")
    assert lines == ["fetch 10/10 100% 1/s, 1 failed in 10.0s"]  # the run's log: only the summary


def _reports(n: int):
    docs = generate(n, seed=3, inconsistent_share=0.2)
    return [report_from_truth(d.truth, source=f"doc-{i}.html", content=d.data) for i, d in enumerate(docs)]


def _raw(db: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {t: con.execute(f"select * exclude ({'landed_at' if t in ('documents', 'parse_failures') else 'x'}) "
                               f"from (select *, 0 as x from raw.{t}) order by all").fetchall()
                for t in ("documents", "cells", "issues", "parse_failures")} | {
            "sources": con.execute("select source_uri, content_hash, listed from raw.sources order by all").fetchall()}


def test_landing_in_chunks_lands_what_one_landing_does(tmp_path):
    reports = _reports(23)
    failures = [{"source_uri": "bad.html", "content_hash": "0" * 64, "parser_version": "p", "error": "boom"}]
    sources = [{"source_uri": r.source, "content_hash": r.content_hash} for r in reports] + \
        [{"source_uri": "bad.html", "content_hash": "0" * 64}]
    one, chunked = warehouse_paths(tmp_path / "one"), warehouse_paths(tmp_path / "chunked")
    whole = land(one.work_db, reports, failures=failures, sources=sources,
                 corrections=one.corrections_csv, waivers=one.waivers_csv)
    with Landing(chunked.work_db, chunked.corrections_csv, chunked.waivers_csv) as landing:
        for start in range(0, 20, 5):
            landing.chunk(map(report_rows, reports[start:start + 5]), failures if start == 10 else [])
        stats = landing.finish(sources=sources, reports=map(report_rows, reports[20:]))
    assert _raw(one.work_db) == _raw(chunked.work_db)
    assert (stats.new, stats.cells, stats.parse_failures) == (whole.new, whole.cells, whole.parse_failures) == \
        (23, whole.cells, 1)
    assert (whole.transactions, stats.transactions) == (1, 5)


@pytest.mark.slow
def test_refresh_lands_in_chunks_and_logs_progress_summaries_not_a_line_per_document(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for doc in generate(60, seed=5, inconsistent_share=0.2):
        (corpus / doc.name).write_bytes(doc.data)
    home, warehouse = tmp_path / "dagster_home", tmp_path / "wh" / "disclosure.duckdb"
    env = {**os.environ, "DAGSTER_HOME": str(home), "DISCLOSURE_SOURCES": str(corpus), "DISCLOSURE_PARSE_WORKERS": "2",
           "DISCLOSURE_PARSE_CHUNK": "7", "DISCLOSURE_LOCK_TIMEOUT": "600"}
    for var in ("DISCLOSURE_WAREHOUSE", "DISCLOSURE_WORK_DB", "DISCLOSURE_DATA_DOCS", "DISCLOSURE_WEBHOOKS", "DISCLOSURE_SMTP_HOST"):
        env.pop(var, None)
    proc = refresh(env, "--warehouse", str(warehouse))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    # (the generated article pages link attachments outside the folder: refused, counted as failed fetches)
    assert re.search(r"fetch (\d+)/\1 100%", out) and "parse 60/60 100%" in out, out
    assert "parse 1/60" not in out and "[1/60]" not in out, "a line per document"
    chunk_lines = [line for line in out.splitlines() if "source_documents.fetch_and_parse" in line or "chunk 1/1:" in line]
    assert len(chunk_lines) == 1 and "fetch " in chunk_lines[0] and "parse 60/60" in chunk_lines[0], \
        f"one line per chunk step (its fetch and parse), no step-start line: {chunk_lines}"

    from dagster import DagsterInstance

    (run,) = runs_summaries(home)
    landing = run["assets"]["raw_landing"]
    assert landing["parsed"] + landing["parse_errors"] == 60
    assert landing["landing"]["transactions"] == 60 // 7 + 1  # 8 full chunks, then the rest with the fetches
    with DagsterInstance.from_config(str(home)) as instance:
        messages = [e for e in instance.all_logs(run["run_id"]) if e.dagster_event is None
                    and (e.step_key or "").startswith(("source_documents", "raw_landing"))]
    # a few summaries per step (the fan-out's plan, chunk and gather steps, the IO manager's lines, the writer),
    # never one per document: 60 documents in one step would put 60 lines in it
    per_step = Counter(m.step_key for m in messages)
    assert per_step and max(per_step.values()) <= 8, (per_step, [m.user_message for m in messages])
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select count(*) from marts.dim_report").fetchone()[0] == 60


def test_gate_data_docs_show_counts_and_only_the_first_failures(tmp_path, monkeypatch):
    """GX still decides every report (the verdicts are whole), but a Data Docs page lists only the first
    failures of each expectation, with their full count, and each (rule, version) has one page."""
    import expectations.gate as gate
    from tests.warehouse_support import build_warehouse

    monkeypatch.setattr(gate, "DOCS_FAILURES", 2)
    docs = generate(80, seed=11, inconsistent_share=1.0)
    reports = [report_from_truth(d.truth, source=f"doc-{i}.html", content=d.data) for i, d in enumerate(docs)]
    paths = warehouse_paths(tmp_path / "wh")
    built = build_warehouse(reports, paths, publish_=False)
    with duckdb.connect(str(paths.work_db), read_only=True) as con:
        failing = con.execute("select expectation, instance, list(distinct report_id) from quality.rule_results "
                              "where not passed group by all").fetchall()
        suites = {s for (s,) in con.execute("select distinct expectation from quality.rule_results").fetchall()}
    assert built.gate_counts["quarantined"] >= 40
    pages = {p.relative_to(paths.data_docs_dir / "validations").parts[0]: p
             for p in (paths.data_docs_dir / "validations").rglob("*.html")}
    assert sorted(pages) == sorted(suites)  # one page per (rule, version): the summary replaced the full result
    cap: dict[str, int] = {}  # per suite: how many failing reports its page may name
    ids: dict[str, set[str]] = {}
    for suite, _, rids in failing:
        cap[suite] = cap.get(suite, 0) + min(2, len(rids))
        ids.setdefault(suite, set()).update(rids)
    suite = max(ids, key=lambda s: len(ids[s]) - cap[s])  # the page where the cut shows most
    text = pages[suite].read_text(encoding="utf-8")
    shown = {rid for rid in ids[suite] if rid in text}
    assert 0 < len(shown) <= cap[suite] < len(ids[suite]), (suite, len(shown), cap[suite], len(ids[suite]))
    assert "unexpected" in text
