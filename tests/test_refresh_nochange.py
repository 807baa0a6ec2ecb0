"""A refresh with nothing changed at national scale (issue #11): local pages known unchanged by their stat (and
linking no attachment) get no fetch step at all, nothing is landed again, and the warehouse stays as it was;
a page edited behind the stat's back (same size, old mtime) and a page removed from the folder still show.

The real refresh job (``tests/warehouse_support.run_refresh_job``) on a copy of bundled sample pages."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from orchestration.fetching import unchanged
from tests.test_refresh import BUNDLED
from tests.warehouse_support import query, run_refresh_job, step_seconds, warehouse_paths

pytestmark = pytest.mark.slow

PAGES = ("000_b4db0ae74d3253e2.txt", "g01_2021_html_template.html", "g10_news_article.html")
ARTICLE = "g11_2021_article_with_attachment.html"  # links its report, a .docx in ../attachments/


@pytest.fixture
def settled_now(monkeypatch):
    """Files written by the test count as settled at once (else their stat is trusted only 3 s after a change)."""
    monkeypatch.setattr(unchanged, "SETTLED_NS", -10**12)


def refresh(paths, manifest: Path):
    result, instance = run_refresh_job(paths, sources=manifest)
    assert result.success
    steps = step_seconds(instance, result.run_id)
    chunk_steps = [k for k in steps if k.startswith("source_documents.fetch_and_parse")]
    messages = [e.user_message for e in instance.all_logs(result.run_id) if e.dagster_event is None]
    return result, chunk_steps, messages, steps


def test_a_refresh_with_nothing_changed_runs_no_fetch_step_for_unchanged_local_pages(tmp_path, settled_now):
    docs = tmp_path / "corpus" / "documents"
    docs.mkdir(parents=True)
    for name in (*PAGES, ARTICLE):
        shutil.copyfile(BUNDLED / name, docs / name)
    shutil.copytree(BUNDLED.parent / "attachments", tmp_path / "corpus" / "attachments")
    manifest = tmp_path / "corpus" / "sources.yml"
    manifest.write_text("sources:\n  - path: documents/\n", encoding="utf-8")
    paths = warehouse_paths(tmp_path / "wh")
    dim_report = "select source_uri, content_hash, gate_status from marts.dim_report order by source_uri"

    first, chunk_steps, _, _ = refresh(paths, manifest)
    assert len(chunk_steps) == 1
    before = query(paths.published, dim_report)
    assert len(before) == 4 and set(before.gate_status) == {"passed", "not_applicable"}

    again, chunk_steps, messages, steps = refresh(paths, manifest)
    assert chunk_steps == ["source_documents.fetch_and_parse[c00000]"], "only the article: its attachment is fetched"
    assert any("4 sources, 3 of them local files unchanged and parsed (not read again)" in m for m in messages), messages
    assert "source_documents.gather_fetches" in steps
    assert again.asset_materializations_for_node("raw_landing") == [], "nothing changed: dbt, gate and publish skipped"
    assert "dbt_pre_gate" not in " ".join(steps)
    assert query(paths.published, dim_report).equals(before)
    raw_before = {table: query(paths.work_db, f"select * from raw.{table} order by all") for table in ("fetches", "sources")}
    refresh(paths, manifest)  # once more: every fetch now finds what the last one found ("unchanged")
    for table, rows in raw_before.items():
        assert query(paths.work_db, f"select * from raw.{table} order by all").equals(rows), \
            f"raw.{table}: a fetch that found what the last one found adds or rewrites no row"

    page = docs / PAGES[1]
    status = os.stat(page)
    page.write_bytes(page.read_bytes().replace(b"</body>", b"</BODY>"))  # same size, new bytes
    os.utime(page, ns=(status.st_atime_ns, status.st_mtime_ns))  # and the old mtime put back
    (docs / PAGES[2]).unlink()
    _, chunk_steps, messages, _ = refresh(paths, manifest)
    assert len(chunk_steps) == 1 and any("3 sources, 1 of them local files unchanged" in m for m in messages), messages
    after = {Path(uri).name: (content, gate) for uri, content, gate in query(paths.published, dim_report).itertuples(index=False)}
    assert after[PAGES[1]][0] == hashlib.sha256(page.read_bytes()).hexdigest()
    assert after[PAGES[2]][1] == "retired"
    assert after[PAGES[0]] == next((c, g) for u, c, g in before.itertuples(index=False) if u.endswith(PAGES[0]))
    landed = query(paths.work_db, "select source_uri from raw.fetches")
    assert len(landed) == len(raw_before["fetches"]) + 1 and list(landed.source_uri).count(str(page)) == 3, \
        "one new fetch row: the edited page's (fetched, unchanged, fetched again)"


def test_with_every_page_known_unchanged_the_run_has_no_fetch_step_and_still_gathers(tmp_path, settled_now, monkeypatch):
    """Dagster's dynamic output with no chunk at all: the collecting step still runs (with no chunk) and the
    writer still sees every source (nothing retired, nothing changed). The pages known unchanged reach the
    writer in the plan's file, not in the steps' outputs (Dagster pickles those), and the writer asks the
    work DB again neither which of them are parsed nor their earlier rows (the plan knew)."""
    from orchestration.warehouse import landing

    docs = tmp_path / "corpus"
    docs.mkdir()
    for name in PAGES[:2]:
        shutil.copyfile(BUNDLED / name, docs / name)
    paths = warehouse_paths(tmp_path / "wh")
    refresh(paths, docs)
    asked: dict[str, list] = {"parsed_reports": [], "listed_sources": []}  # the sources each call names (None: all)
    for name, position in (("parsed_reports", 2), ("listed_sources", 1)):
        real, calls = getattr(landing, name), asked[name]
        monkeypatch.setattr(landing, name, lambda *args, real=real, calls=calls, at=position:
                            calls.append(list(args[at]) if len(args) > at else None) or real(*args))
    again, chunk_steps, messages, steps = refresh(paths, docs)
    assert chunk_steps == [] and "source_documents.gather_fetches" in steps and "raw_landing" in steps
    planned = again.output_for_node("source_documents.plan_chunks", "batch")
    assert planned.results == [] and planned.known == 2, "the known pages are not in the pickled output"
    assert again.output_for_node("source_documents.gather_fetches").results == []
    assert asked["listed_sources"] == [[]], "no failed fetch, no listing: no earlier row needed"
    assert asked["parsed_reports"] == [None, []], "the plan asks once; the writer for none of the pages it knew parsed"
    assert not (paths.work_db.parent / "chunks" / again.run_id).exists(), "the plan's file is removed once landed"
    assert any("2 sources, 2 of them local files unchanged and parsed" in m for m in messages), messages
    assert any("nothing changed since the last publish" in m for m in messages), messages
    assert again.asset_materializations_for_node("raw_landing") == []
    assert len(query(paths.published, "select * from marts.dim_report where gate_status = 'passed'")) == 2
