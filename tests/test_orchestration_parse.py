"""Parsing inside the pipeline: from the raw store, in a small process pool when there are many documents."""

from pathlib import Path

from orchestration.assets import PARSE_POOL_THRESHOLD, parse_all
from orchestration.fetching.store import RawStore

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
    monkeypatch.setenv("DISCLOSURE_PARSE_WORKERS", "2")
    items = _stored(tmp_path, PARSE_POOL_THRESHOLD + 2)
    items.append(("gone.html", "0" * 64, {}))  # content missing from the store: an error, not a crash
    lines: list[str] = []
    outcomes = parse_all(items, str(tmp_path / "raw"), log=lines.append)
    assert [o.source for o in outcomes] == [source for source, _, _ in items]
    assert all(o.report is not None and o.report.content_hash == o.content_hash for o in outcomes[:-1])
    assert outcomes[-1].report is None and outcomes[-1].error
    assert len(lines) == len(items) and "FAILED gone.html" in lines[-1]


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
    from orchestration.resources import WarehouseResource

    items = _stored(tmp_path, 1)
    results = [FetchResult(source_uri=source, final_url=source, status="fetched", http_status=None,
                           content_hash=content_hash, changed=True) for source, content_hash, _ in items]
    results.append(FetchResult(source_uri="gone.html", final_url="gone.html", status="fetched", http_status=None,
                               content_hash="0" * 64, changed=True))  # its bytes are not in the store
    warehouse = WarehouseResource(warehouse=str(tmp_path / "wh" / "disclosure.duckdb"))
    batch = FetchBatch(results=results, full=False, store_root=str(tmp_path / "raw"))
    with build_asset_context() as context:
        list(raw_landing(context, source_documents=batch, warehouse=warehouse))
    with duckdb.connect(str(warehouse.paths().work_db), read_only=True) as con:
        assert con.execute("select count(*) from raw.documents").fetchone()[0] == 1
        failures = con.execute("select source_uri, content_hash, error from raw.parse_failures").fetchall()
    assert [(f[0], f[1]) for f in failures] == [("gone.html", "0" * 64)] and failures[0][2]


def test_the_manifest_agency_hint_reaches_the_parser(tmp_path):
    """A page that names its agency only in passing: the manifest's hint confirms it (no agency_uncertain)."""
    page = "\n".join(["2021年政府信息公开工作年度报告", "统计期限自2021年1月1日起至2021年12月31日止。", "联系地址：某某县财政局二楼",
                      "二、主动公开政府信息情况", "信息内容 | 本年制发件数 | 本年废止件数 | 现行有效件数", "规章 | 0 | 0 | 0"] + ["| |"] * 10)
    entry = RawStore(tmp_path / "raw").put("x.txt", page.encode())
    plain, hinted = parse_all([(entry.source_uri, entry.content_hash, {}), (entry.source_uri, entry.content_hash, {}, "某某县财政局")],
                              str(tmp_path / "raw"), log=lambda _: None)
    assert "agency_uncertain" in [i.code for i in plain.report.issues]
    assert "agency_uncertain" not in [i.code for i in hinted.report.issues] and hinted.report.agency == "某某县财政局"
