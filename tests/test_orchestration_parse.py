"""Parsing inside the pipeline: from the raw store, in a small process pool when there are many documents; a pool worker that dies costs only the documents it held."""

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from orchestration.fetching.store import RawStore
from orchestration.parsing import PARSE_POOL_THRESHOLD, parse_all
from orchestration.resources import ParseResource

DOCUMENTS = Path(__file__).resolve().parent.parent / "orchestration" / "sample_corpus" / "documents"


def _stored(tmp_path: Path, count: int) -> list[tuple[str, str, dict]]:
    store = RawStore(tmp_path / "raw")
    files = sorted(DOCUMENTS.iterdir())
    items = []
    for i in range(count):
        path = files[i % len(files)]
        entry = store.put(f"{path}#{i}", path.read_bytes())
        items.append((entry.source_uri, entry.content_hash, {}))
    return items


def test_pool_parses_every_document_in_order_and_records_failures(tmp_path, monkeypatch):
    items = _stored(tmp_path, PARSE_POOL_THRESHOLD + 2)
    items.append(("gone.html", "0" * 64, {}))  # content missing from the store: an error, not a crash
    lines: list[str] = []
    outcomes = parse_all(items, str(tmp_path / "raw"), log=lines.append, workers=2)
    assert [o.source for o in outcomes] == [source for source, _, _ in items]
    assert all(o.report is not None and o.report.content_hash == o.content_hash for o in outcomes[:-1])
    assert outcomes[-1].report is None and outcomes[-1].error
    assert len(lines) == len(items)  # one progress line per document, in the order they finish
    assert [line for line in lines if "FAILED" in line] == [line for line in lines if "FAILED gone.html" in line] != []


def test_few_documents_are_parsed_in_process(tmp_path):
    items = _stored(tmp_path, 3)
    outcomes = parse_all(items, str(tmp_path / "raw"), log=lambda _: None)
    kinds = {Path(o.source.split("#")[0]).name: o.report.document_kind for o in outcomes}
    assert kinds["000_b4db0ae74d3253e2.txt"] == "annual_report"
    assert all(o.error is None for o in outcomes)


def test_a_document_that_cannot_be_parsed_is_landed_with_its_reason(tmp_path):
    """raw_landing keeps parse failures in raw.parse_failures (the batch gate counts them), never drops them."""
    import duckdb
    from dagster import build_asset_context

    from orchestration.assets import FetchBatch, raw_landing
    from orchestration.fetching.fetcher import FetchResult
    from orchestration.resources import ParseResource, WarehouseResource

    items = _stored(tmp_path, 1)
    results = [FetchResult(source_uri=source, final_url=source, status="fetched", http_status=None,
                           content_hash=content_hash, changed=True) for source, content_hash, _ in items]
    results.append(FetchResult(source_uri="gone.html", final_url="gone.html", status="fetched", http_status=None,
                               content_hash="0" * 64, changed=True))  # its bytes are not in the store
    warehouse = WarehouseResource(warehouse=str(tmp_path / "wh" / "disclosure.duckdb"))
    batch = FetchBatch(results=results, full=False, store_root=str(tmp_path / "raw"))
    with build_asset_context() as context:
        list(raw_landing(context, source_documents=batch, warehouse=warehouse, parse=ParseResource()))
    with duckdb.connect(str(warehouse.paths().work_db), read_only=True) as con:
        assert con.execute("select count(*) from raw.documents").fetchone()[0] == 1
        failures = con.execute("select source_uri, content_hash, error from raw.parse_failures").fetchall()
    assert [(f[0], f[1]) for f in failures] == [("gone.html", "0" * 64)] and failures[0][2]


# --- a dead parse worker costs only its documents (issue #12 item 10) ---------------------------


def _pool_workers() -> list[int]:
    """Pids of this process's multiprocessing workers, read from /proc (as an outside killer sees them)."""
    pids = []
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for pid in map(int, children):
            try:
                if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    pids.append(pid)
            except OSError:
                continue
    return pids


def _rss_mb(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    return int(status.split("VmRSS:")[1].split()[0]) / 1024 if "VmRSS:" in status else 0.0


class OomKiller(threading.Thread):
    """What the kernel's OOM killer does, for this test process's pool workers: SIGKILL to any whose
    resident memory passes ``ceiling_mb``."""

    def __init__(self, ceiling_mb: float) -> None:
        super().__init__(daemon=True)
        self.ceiling_mb = ceiling_mb
        self.killed: list[int] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.002):
            for pid in _pool_workers():
                if pid not in self.killed and _rss_mb(pid) > self.ceiling_mb:  # (a killed process takes a
                    os.kill(pid, signal.SIGKILL)  # moment to go, its memory still counted: killed once)
                    self.killed.append(pid)

    def __enter__(self) -> "OomKiller":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.done.set()
        self.join()


def _memory_hog() -> bytes:
    """A page whose parse takes ~250 MB (a 36 MB table the tree is built for, then refused by MAX_TOKENS)."""
    return b"<html><body><table><tr>" + (b"<td>" + b"x" * 80) * 400_000


@pytest.mark.timeout(300)
def test_a_killed_pool_worker_costs_nothing_but_a_retry(tmp_path, monkeypatch):
    """SIGKILL of one pool worker (what the OOM killer does) once broke the whole batch: 0 of 26 landed."""
    items = _stored(tmp_path, 200)
    killed: list[int] = []

    def kill_the_first_worker() -> None:
        while not killed:
            pids = _pool_workers()
            if pids:
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])
            time.sleep(0.001)

    killer = threading.Thread(target=kill_the_first_worker, daemon=True)
    killer.start()
    lines: list[str] = []
    outcomes = parse_all(items, str(tmp_path / "raw"), log=lines.append, workers=2)
    killer.join(timeout=60)
    assert killed
    assert [o.source for o in outcomes] == [source for source, _, _ in items]
    assert all(o.report is not None and o.error is None for o in outcomes)
    assert any("parse worker died (signal 9) holding" in line and "retried once" in line for line in lines)
    expected = {o.source: o.report.values() for o in parse_all(items[:5], str(tmp_path / "raw"), log=lambda _: None)}
    assert {o.source: o.report.values() for o in outcomes[:5]} == expected


@pytest.mark.timeout(300)
def test_a_document_that_kills_its_worker_every_time_is_landed_as_a_failure(tmp_path, monkeypatch):
    """Retried once alone in a fresh process, then in raw.parse_failures with the reason; the rest land."""
    import duckdb
    from dagster import build_asset_context

    from orchestration.assets import FetchBatch, raw_landing
    from orchestration.fetching.fetcher import FetchResult
    from orchestration.resources import ParseResource, WarehouseResource

    items = _stored(tmp_path, PARSE_POOL_THRESHOLD + 1)
    hog = RawStore(tmp_path / "raw").put("hog.html", _memory_hog())
    items.insert(10, (hog.source_uri, hog.content_hash, {}))
    results = [FetchResult(source_uri=source, final_url=source, status="fetched", http_status=None,
                           content_hash=content_hash, changed=True) for source, content_hash, _ in items]
    warehouse = WarehouseResource(warehouse=str(tmp_path / "wh" / "disclosure.duckdb"))
    batch = FetchBatch(results=results, full=False, store_root=str(tmp_path / "raw"))
    with OomKiller(ceiling_mb=150) as oom, build_asset_context() as context:
        list(raw_landing(context, source_documents=batch, warehouse=warehouse, parse=ParseResource(workers=2)))
    assert len(oom.killed) == 2  # the first attempt, and the retry in its own process
    with duckdb.connect(str(warehouse.paths().work_db), read_only=True) as con:
        landed = {row[0] for row in con.execute("select source_uri from raw.documents").fetchall()}
        failures = con.execute("select source_uri, content_hash, error from raw.parse_failures").fetchall()
    assert landed == {source for source, _, _ in items} - {"hog.html"}
    assert failures == [("hog.html", hog.content_hash, "parse worker died (signal 9) twice")]


@pytest.mark.timeout(300)
def test_a_worker_memory_ceiling_turns_a_memory_hog_into_an_issue_on_it(tmp_path, monkeypatch):
    """Under DISCLOSURE_PARSE_WORKER_MEMORY_MB the hog's parse runs out of memory in its own worker
    (an error on that document) before the machine does; the rest parse as without a ceiling."""
    ceiling = ParseResource(workers=2, worker_memory_mb=200)
    items = _stored(tmp_path, PARSE_POOL_THRESHOLD + 1)
    store = RawStore(tmp_path / "raw")
    filler = ("<p>" + "填充内容，" * 200 + "</p>").encode()
    page = (DOCUMENTS / "g01_2021_html_template.html").read_bytes()
    hog = store.put("hog.html", page.replace(b"</body>", filler * (40 * 1024 * 1024 // len(filler)) + b"</body>"))
    items.insert(3, (hog.source_uri, hog.content_hash, {}))
    outcomes = parse_all(items, str(tmp_path / "raw"), log=lambda _: None, workers=2, memory_bytes=ceiling.worker_memory_bytes())
    by_source = {o.source: o for o in outcomes}
    hogged = by_source.pop("hog.html")
    assert hogged.error or hogged.report.has_errors, "the hog parsed within 200 MB"
    free = parse_all([i for i in items if i[0] != "hog.html"], str(tmp_path / "raw"), log=lambda _: None, workers=2)
    assert {o.source: o.report.to_contract() for o in free} == {s: o.report.to_contract() for s, o in by_source.items()}


def test_a_bad_worker_memory_setting_is_refused_by_name(monkeypatch):
    from orchestration.settings import SettingsError, resources_from_env

    monkeypatch.setenv("DISCLOSURE_PARSE_WORKER_MEMORY_MB", "2GB")
    with pytest.raises(SettingsError, match="DISCLOSURE_PARSE_WORKER_MEMORY_MB='2GB' is not an integer"):
        resources_from_env()


def test_the_manifest_agency_hint_reaches_the_parser(tmp_path):
    """A page that names its agency only in passing: the manifest's hint confirms it (no agency_uncertain)."""
    page = "\n".join(["2021年政府信息公开工作年度报告", "统计期限自2021年1月1日起至2021年12月31日止。", "联系地址：某某县财政局二楼",
                      "二、主动公开政府信息情况", "信息内容 | 本年制发件数 | 本年废止件数 | 现行有效件数", "规章 | 0 | 0 | 0"] + ["| |"] * 10)
    entry = RawStore(tmp_path / "raw").put("x.txt", page.encode())
    plain, hinted = parse_all([(entry.source_uri, entry.content_hash, {}), (entry.source_uri, entry.content_hash, {}, "某某县财政局")],
                              str(tmp_path / "raw"), log=lambda _: None)
    assert "agency_uncertain" in [i.code for i in plain.report.issues]
    assert "agency_uncertain" not in [i.code for i in hinted.report.issues] and hinted.report.agency == "某某县财政局"
