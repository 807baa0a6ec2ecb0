"""`disclosure refresh` stopped at every stage: killed with SIGKILL (fetch, parse, land, dbt, gate, publish
before and after the swap) or asked to stop with SIGTERM while a loopback server stalls. Each time the
published file stays whole and opens read-only, the warehouse lock is free, and the next refresh (never
`--full`) recovers and publishes the right contents.

The refresh is the real command in a subprocess. Faults come from tests/fault_injection/sitecustomize.py,
which Python imports at start-up when that folder is on PYTHONPATH: with env FAULT_AT=<stage> it wraps
the function doing that stage's work so that the process SIGKILLs itself there. The tests share one
small warehouse and run in order, each adding documents to the corpus.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from orchestration.resources import warehouse_lock
from orchestration.warehouse.config import WarehousePaths
from tests.conftest import page_handler
from tests.test_publish_faults import leave_a_wal  # a reader that opened the file read-write and died

REPO = Path(__file__).resolve().parent.parent
BUNDLED = REPO / "orchestration" / "sample_corpus" / "documents"
FAULTS = Path(__file__).resolve().parent / "fault_injection"
FIRST = ["001_7a4d3651a9fce74d.txt", "g01_2021_html_template.html", "g07_2021_text_pipes.txt"]
# each killed refresh comes with one new document, so every stage has new work to be killed in
STAGES = {"fetch": "g09_2019_text_lines.txt", "parse": "g02_2019_html_word.html", "land": "g03_2021_html_gbk_declared.html",
          "dbt": "g05_2021_html_merged.html", "gate": "g06_2019_html_units.html",
          "publish_before_swap": "g08_2021_html_th_inconsistent.html", "publish_after_swap": "000_b4db0ae74d3253e2.txt"}
LATE = "g10_news_article.html"  # served by the stalling server in the SIGTERM test


def start_refresh(site: dict, fault: str | None = None, sources: Path | None = None) -> subprocess.Popen:
    env = dict(site["env"])
    if fault:
        env |= {"FAULT_AT": fault, "PYTHONPATH": os.pathsep.join(filter(None, [str(FAULTS), env.get("PYTHONPATH")]))}
    cmd = [sys.executable, "-m", "orchestration.cli", "refresh", "--sources", str(sources or site["corpus"]),
           "--warehouse", str(site["paths"].published)]
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def refresh(site: dict, fault: str | None = None, sources: Path | None = None) -> tuple[int, str]:
    proc = start_refresh(site, fault, sources)
    out, _ = proc.communicate(timeout=900)
    return proc.returncode, out


def reports(db: Path) -> dict[str, str]:
    """source_uri -> gate_status of the published warehouse, opened read-only as a BI reader would."""
    with duckdb.connect(str(db), read_only=True) as con:
        return dict(con.execute("select source_uri, gate_status from marts.dim_report").fetchall())


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_lock_free(paths: WarehousePaths) -> None:
    with warehouse_lock(Path(paths.work_db), holder="the test", timeout_s=0):
        pass


def gone_within(pid: int, seconds: float) -> bool:
    """Whether process ``pid`` has ended (or is a zombie nobody reaped yet) within ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.1)
    return False


def add_document(site: dict, name: str) -> None:
    shutil.copyfile(BUNDLED / name, site["corpus"] / name)


def expected_sources(site: dict) -> set[str]:
    return {str(p) for p in site["corpus"].iterdir()}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    base = tmp_path_factory.mktemp("faults")
    corpus = base / "corpus"
    corpus.mkdir()
    env = {**os.environ, "DAGSTER_HOME": str(base / "dagster_home"), "DISCLOSURE_LOCK_TIMEOUT": "600",
           "DISCLOSURE_MAX_QUARANTINE_SHARE": "1", "DISCLOSURE_MAX_FAILED_SHARE": "1"}
    for var in ("DISCLOSURE_SOURCES", "DISCLOSURE_WAREHOUSE", "DISCLOSURE_WORK_DB", "DISCLOSURE_DATA_DOCS",
                "DISCLOSURE_PARQUET_DIR", "DISCLOSURE_WEBHOOKS", "DISCLOSURE_SMTP_HOST", "FAULT_AT"):
        env.pop(var, None)
    site = {"corpus": corpus, "env": env, "paths": WarehousePaths.beside(str(base / "wh" / "disclosure.duckdb"))}
    for name in FIRST:
        add_document(site, name)
    code, out = refresh(site)
    assert code == 0, out
    assert set(reports(site["paths"].published)) == expected_sources(site)
    return site


@pytest.mark.slow
@pytest.mark.parametrize("stage", list(STAGES))
def test_a_refresh_killed_at_each_stage_leaves_the_published_warehouse_whole(site, stage):
    """Each killed refresh is also the next refresh after the previous one's kill: it must get through
    every stage before its own (the last one, not killed, is checked by the test after this)."""
    published = site["paths"].published
    before, published_before = sha(published), reports(published)
    add_document(site, STAGES[stage])
    code, out = refresh(site, fault=stage)
    assert code == -signal.SIGKILL and f"FAULT_AT={stage}: SIGKILL" in out, out[-4000:]
    if stage == "dbt":  # before: the orphaned dbt built on, holding DuckDB's lock on the work DB
        dbt = int(re.search(r"dbt pid (\d+)", out).group(1))
        assert gone_within(dbt, seconds=5), f"dbt (pid {dbt}) outlived the killed refresh"
    assert_lock_free(site["paths"])
    if stage == "publish_after_swap":  # the new build is in place, whole
        assert sha(published) != before
        assert set(reports(published)) == expected_sources(site)
    else:
        assert sha(published) == before
        assert reports(published) == published_before


@pytest.mark.slow
def test_the_refresh_after_the_kills_recovers_without_full(site):
    leave_a_wal(site["paths"].published)  # and a BI reader opened the published file read-write meanwhile
    code, out = refresh(site)
    assert code == 0, out  # before: "NOT published" (the new file did not open), then "is current" for ever
    assert "published" in out and "is current" not in out and "moved a stale WAL aside" in out
    assert len(list(site["paths"].published.parent.glob("disclosure.duckdb.wal.stale-*"))) == 1
    published = reports(site["paths"].published)
    assert set(published) == expected_sources(site) and len(published) == len(FIRST) + len(STAGES)
    assert set(published.values()) <= {"passed", "quarantined", "not_applicable"}
    assert not list(site["paths"].published.parent.glob(".*.tmp")), "a killed publish's temp file is cleared"
    docs = site["paths"].data_docs_dir
    assert (docs / "index.html").exists() and not list(docs.parent.glob(f".{docs.name}.*")), "a killed gate's docs are cleared"


@pytest.mark.slow
def test_an_unchanged_refresh_rebuilds_missing_data_docs(site):
    docs = site["paths"].data_docs_dir
    shutil.rmtree(docs)
    code, out = refresh(site)
    assert code == 0, out
    assert "Data Docs" in out and "missing: rebuilding" in out  # before: "nothing changed", and no docs ever again
    assert (docs / "index.html").exists()
    assert set(reports(site["paths"].published)) == expected_sources(site)
    code, out = refresh(site)  # now nothing at all is missing: skipped
    assert code == 0 and "is current" in out, out


STALL = threading.Event()  # while set, the test server holds every request open without answering


@pytest.mark.slow
def test_sigterm_stops_a_refresh_stalled_on_a_server_promptly(site, http_server, tmp_path):
    STALL.set()
    arrived: list = []  # the requests the stalling server has received
    base = http_server(page_handler(f"/{LATE}", (BUNDLED / LATE).read_bytes(), stall=STALL, requests=arrived))
    manifest = site["corpus"].parent / "sources.yml"  # local paths resolve inside the manifest's folder
    manifest.write_text(f"sources:\n  - path: {site['corpus'].name}\n  - url: {base}/{LATE}\n", encoding="utf-8")
    site["env"] |= {"DISCLOSURE_FETCH_TIMEOUT_SECONDS": "600", "DISCLOSURE_FETCH_TOTAL_TIMEOUT_SECONDS": "600",
                    "DISCLOSURE_FETCH_ALLOWED_HOSTS": "127.0.0.1"}  # the stalling site is on loopback
    published, before = site["paths"].published, sha(site["paths"].published)
    proc = start_refresh(site, sources=manifest)
    try:
        deadline = time.monotonic() + 300
        while not arrived and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)  # until the request to the stalling server is in flight (the server has it)
        assert arrived, "the refresh never reached the stalling server"
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=120)  # generous: it stops within seconds (before: it kept waiting)
    finally:
        STALL.clear()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, out
    assert "interrupted by SIGTERM" in out
    assert_lock_free(site["paths"])
    assert sha(published) == before
    code, out = refresh(site, sources=manifest)  # the next refresh works, without --full
    assert code == 0, out
    assert set(reports(published)) == expected_sources(site) | {f"{base}/{LATE}"}


STUCK_MAIN_THREAD = """
import threading
from orchestration.interrupts import StopOnSignals
never = threading.Event()
with StopOnSignals(nudge_every=0.5, give_up_after=5):
    threading.Thread(target=never.wait).start()  # not a daemon: exit waits for it, like a fetch on a stalled server
    print("waiting", flush=True)
    try:
        never.wait()
    except KeyboardInterrupt:
        never.wait()  # cleanup that waits again (like a thread pool's shutdown): interrupted again
"""


def test_sigterm_ends_a_process_whose_threads_never_finish():
    proc = subprocess.Popen([sys.executable, "-c", STUCK_MAIN_THREAD], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "waiting\n"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)  # generous: the last resort ends it after give_up_after
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "SIGTERM received: stopping" in err and "not stopped after 5s" in err
