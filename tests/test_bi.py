"""The published warehouse as analysts and BI tools meet it: opened by DuckDB 1.x and through SQLAlchemy,
self-documenting (column comments, typed counts and rates), exported to Excel, CSV and Parquet.

One refresh of the bundled sample corpus is shared by the module, run the way cron or systemd runs it:
``.venv/bin/disclosure refresh`` by absolute path with a bare PATH (dbt must be found all the same).
"""

import csv
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parent.parent
BUNDLED = REPO / "orchestration" / "sample_corpus" / "documents"
DISCLOSURE = Path(sys.executable).parent / "disclosure"
pytestmark = pytest.mark.slow


def bare_env(root: Path, **extra: str) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "HOME": str(root), "DAGSTER_HOME": str(root / "dagster_home"), **extra}


@pytest.fixture(scope="module")
def refreshed(tmp_path_factory):
    root = tmp_path_factory.mktemp("bi")
    warehouse = root / "disclosure.duckdb"
    done = subprocess.run([str(DISCLOSURE), "refresh", "--sources", str(BUNDLED), "--warehouse", str(warehouse)],
                          cwd=root, env=bare_env(root), capture_output=True, text=True, timeout=900)
    return root, warehouse, done


@pytest.fixture(scope="module")
def published(refreshed):
    root, warehouse, done = refreshed
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return warehouse


def query(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def test_refresh_by_absolute_path_with_a_bare_path_finds_dbt(refreshed):
    root, warehouse, done = refreshed
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "dbt" not in (shutil.which("dbt", path="/usr/bin:/bin") or "")  # dbt really was not on PATH
    assert query(warehouse, "select count(*) from marts.dim_report where gate_status = 'passed'")[0][0] > 0


def readme_example() -> str:
    """The README's Python example of querying the warehouse, as written."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```python\n(import duckdb\n.*?)```", readme, re.S)
    assert block, "the README's query example is gone"
    return block.group(1)


def uv_executable() -> str:
    found = shutil.which("uv") or shutil.which("uv", path=str(Path.home() / ".local" / "bin"))
    if not found:
        pytest.fail("uv is needed to make a DuckDB 1.x environment (the Makefile installs it)")
    return found


def test_a_duckdb_1x_reader_opens_it_and_runs_the_readmes_queries(published, tmp_path):
    """DuckDB 1.x (the CLI, DBeaver's and Metabase's JDBC driver) in its own environment, not ours."""
    example = readme_example()
    assert '"warehouse/disclosure.duckdb"' in example
    script = tmp_path / "readme_queries.py"
    script.write_text("import duckdb\nprint('duckdb', duckdb.__version__)\n"
                      + example.replace('"warehouse/disclosure.duckdb"', repr(str(published))), encoding="utf-8")
    done = subprocess.run([uv_executable(), "run", "--no-project", "--with", "duckdb>=1.1,<2", "python", str(script)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert re.search(r"^duckdb 1\.\d+", done.stdout, re.M), done.stdout[:200]
    assert "requests_received" in done.stdout
    assert "R1_balance" in done.stdout  # the quarantine query found the sample corpus's quarantined reports


def test_the_published_file_is_in_the_configured_storage_version(published):
    """Only the storage version (v1.0.0 by default) lets 1.x read it; DuckDB 2.0's own format (69) it could not."""
    header = published.read_bytes()[:64]
    assert header[8:12] == b"DUCK"
    assert int.from_bytes(header[12:20], "little") == 64  # the storage number of v0.10 to v1.1: every 1.x reads it


def test_a_bad_storage_version_is_refused_naming_the_setting():
    from orchestration.settings import SettingsError, resources_from_env

    with pytest.raises(SettingsError, match=r"DISCLOSURE_STORAGE_VERSION='v9.9' is not a DuckDB storage version"):
        resources_from_env({"DISCLOSURE_STORAGE_VERSION": "v9.9"})
    assert resources_from_env({"DISCLOSURE_STORAGE_VERSION": "v1.4.0"})["warehouse"].storage_version == "v1.4.0"


def test_sqlalchemy_connects_read_only_and_lists_the_marts(published):
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(f"duckdb:///{published}", connect_args={"read_only": True})
    try:
        tables = set(inspect(engine).get_table_names(schema="marts"))
        assert {"dim_report", "fct_metric", "dim_agency", "dim_metric", "agency_year"} <= tables
        with engine.connect() as con:
            assert con.execute(text("select count(*) from marts.fct_metric")).scalar() > 0
            with pytest.raises(Exception, match="read-only"):
                con.execute(text("create table marts.scratch (x int)"))
    finally:
        engine.dispose()


def test_every_mart_column_is_described_in_chinese_and_english(published):
    columns = query(published, "select table_name, column_name, comment from duckdb_columns() where schema_name = 'marts'")
    assert len(columns) > 100
    undescribed = [f"{t}.{c}" for t, c, comment in columns
                   if not comment or not re.match(r"^[^/]*[\u4e00-\u9fff][^/]* / [A-Za-z]", comment)]
    assert undescribed == []
    tables = dict(query(published, "select table_name, comment from duckdb_tables() where schema_name = 'marts'"))
    assert all(tables.values()), tables
    rate = dict((c, comment) for t, c, comment in columns if t == "agency_year")["granted_or_partly_share"]
    assert "(granted + partially_granted) / requests_processed" in rate


def test_counts_are_integers_and_rates_decimals(published):
    types = dict(query(published, "select column_name, data_type from duckdb_columns() "
                                  "where schema_name = 'marts' and table_name = 'agency_year'"))
    counts = [c for c in types if c.startswith(("requests_", "granted", "partially_granted", "review_", "litigation_", "active_"))
              and not c.endswith(("_share", "_rate"))]
    assert len(counts) == 15 and {types[c] for c in counts} == {"BIGINT"}
    rates = [c for c in types if c.endswith(("_share", "_rate"))]
    assert len(rates) == 12 and {types[c] for c in rates} == {"DECIMAL(12,6)"}
    with duckdb.connect(str(published), read_only=True) as con:
        received = con.execute("select requests_received from marts.agency_year where requests_received > 0 limit 1").fetchone()[0]
    assert isinstance(received, int) and "." not in str(received)


def run_export(published: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(DISCLOSURE), "export", "--warehouse", str(published), *args],
                          env=bare_env(published.parent, **env), capture_output=True, text=True, timeout=300)


def test_export_to_excel_one_sheet_per_table_chinese_headers_frozen(published, tmp_path):
    from openpyxl import load_workbook

    year = query(published, "select year from marts.agency_year group by year order by count(*) desc, year limit 1")[0][0]
    done = run_export(published, "--out", str(tmp_path), "--format", "xlsx", "--year", str(year))
    assert done.returncode == 0, done.stderr
    book = load_workbook(tmp_path / "disclosure.xlsx")
    assert book.sheetnames == ["agency_year", "fct_metric"]
    agency_year, fct_metric = book["agency_year"], book["fct_metric"]
    assert agency_year.freeze_panes == "A2" and fct_metric.freeze_panes == "A2"
    headers = [c.value for c in agency_year[1]]
    assert headers[:3] == ["机构编号", "年度", "机构名称"] and "本年新收申请数" in headers and "公开及部分公开比例" in headers
    rows = list(agency_year.iter_rows(min_row=2, values_only=True))
    assert len(rows) == query(published, "select count(*) from marts.agency_year where year = ?", [year])[0][0]
    assert {r[headers.index("年度")] for r in rows} == {year}
    received = [r[headers.index("本年新收申请数")] for r in rows if r[headers.index("本年新收申请数")] is not None]
    assert received and all(isinstance(v, int) for v in received)
    metric_headers = [c.value for c in fct_metric[1]]
    assert {"指标名称", "数值", "省级", "单位"} <= set(metric_headers)
    labels = {r[metric_headers.index("指标名称")] for r in fct_metric.iter_rows(min_row=2, values_only=True)}
    assert "一、本年新收政府信息公开申请数量：总计" in labels


def test_export_to_csv_with_a_bom_filtered_by_region(published, tmp_path):
    province, n = query(published, "select province, count(*) from marts.agency_year where province is not null "
                                   "group by province order by count(*) desc limit 1")[0]
    assert n < query(published, "select count(*) from marts.agency_year")[0][0]  # the filter has something to leave out
    done = run_export(published, "--out", str(tmp_path), "--format", "csv", "--region", province)
    assert done.returncode == 0, done.stderr
    raw = (tmp_path / "agency_year.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    assert rows[0][:3] == ["机构编号", "年度", "机构名称"]
    assert len(rows) - 1 == n and {r[rows[0].index("省级")] for r in rows[1:]} == {province}
    names = {r[2] for r in rows[1:]}
    assert names == {name for (name,) in query(published, "select agency_name from marts.agency_year where province = ?", [province])}
    assert all(re.search(r"[\u4e00-\u9fff]", name) for name in names)
    facts = (tmp_path / "fct_metric.csv").read_bytes()
    assert facts.startswith(b"\xef\xbb\xbf")
    metric_rows = list(csv.reader(facts.decode("utf-8-sig").splitlines()))
    header = metric_rows[0]
    assert {"指标名称", "数值"} <= set(header)
    received = [r[header.index("数值")] for r in metric_rows[1:] if r[header.index("指标键")] == "applications.new_received.total"]
    assert received and all(v.isdigit() for v in received), received  # a count reads 214, not 214.0


def test_parquet_export_on_request_when_nothing_changed_partitioned_by_year(published, tmp_path):
    import pyarrow.dataset as ds

    target = tmp_path / "parquet"
    target.mkdir()
    (target / "marts.fct_metric.parquet").write_bytes(b"an export in the old layout")
    done = run_export(published, "--format", "parquet", DISCLOSURE_PARQUET_DIR=str(target))
    assert done.returncode == 0, done.stderr
    years = {p.name for p in (target / "marts.fct_metric").iterdir()}
    expected = {f"year={y}" for (y,) in query(published, "select distinct year from marts.fct_metric")}
    assert years == expected and len(years) > 1
    facts = ds.dataset(target / "marts.fct_metric", format="parquet", partitioning="hive").to_table()
    assert facts.num_rows == query(published, "select count(*) from marts.fct_metric")[0][0]
    assert (target / "marts.dim_metric.parquet").is_file()  # no year: one file
    assert not (target / "marts.fct_metric.parquet").exists()  # the stale layout is gone, not read beside the new


def test_export_without_a_warehouse_says_so(tmp_path):
    done = run_export(tmp_path / "none.duckdb", "--out", str(tmp_path))
    assert done.returncode == 2
    assert "no warehouse at" in done.stderr and "disclosure refresh" in done.stderr
