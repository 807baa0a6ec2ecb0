"""`disclosure refresh` end to end, through Dagster, on the bundled sample corpus in a temporary warehouse.

One fresh refresh is shared by the module (it is the expensive part); the later tests build on
its state: a refresh with nothing changed, two refreshes at once, a held lock, a bad manifest.
"""

import json
import os
import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import sys
import time
from pathlib import Path

import duckdb
import pytest

from orchestration.resources import warehouse_lock
from tests.test_alerts import Inbox, free_port  # the alert tests' SMTP inbox
from orchestration.warehouse.config import WarehousePaths

REPO = Path(__file__).resolve().parent.parent
BUNDLED = REPO / "orchestration" / "sample_corpus" / "documents"
pytestmark = pytest.mark.slow


def refresh(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "refresh", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=900,
    )


def runs_summaries(home: Path) -> list[dict]:
    """Every run in the instance, oldest first, summarised from its own events."""
    from dagster import DagsterInstance

    from orchestration.refresh import run_summary

    with DagsterInstance.from_config(str(home)) as instance:
        runs = list(reversed(instance.get_runs()))
        return [run_summary(instance, r.run_id) | {"status": r.status.value} for r in runs]


class Receivers:
    """A real SMTP server and a real webhook endpoint on 127.0.0.1, collecting what they are sent."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.inbox = Inbox()
        self.posts: list[dict] = []
        receivers = self

        class Hook(BaseHTTPRequestHandler):
            def do_POST(self):
                receivers.posts.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.smtp_port = free_port()
        self.smtp = Controller(self.inbox, hostname="127.0.0.1", port=self.smtp_port)
        self.smtp.start()
        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def env(self) -> dict[str, str]:
        return {
            "DISCLOSURE_SMTP_HOST": "127.0.0.1",
            "DISCLOSURE_SMTP_PORT": str(self.smtp_port),
            "DISCLOSURE_ALERT_TO": "ops@example.org",
            "DISCLOSURE_WEBHOOKS": f"generic=http://127.0.0.1:{self.http.server_address[1]}/hook",
        }

    def mail_texts(self) -> list[str]:
        return [f"{m['Subject']}\n{m.get_body(('plain',)).get_content()}" for _, _, m in self.inbox.messages]

    def stop(self):
        self.smtp.stop()
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture(scope="module")
def receivers():
    r = Receivers()
    yield r
    r.stop()


@pytest.fixture(scope="module")
def first(tmp_path_factory, receivers):
    base = tmp_path_factory.mktemp("refresh")
    home = base / "dagster_home"
    warehouse = base / "wh" / "disclosure.duckdb"
    shutil.copytree(BUNDLED.parent, base / "sample")  # a copy of the bundled corpus, so a test can change a document
    corpus = base / "sample" / "documents"  # (its manifest lists them; g11 links ../attachments/)
    for path in corpus.iterdir():
        path.chmod(0o644)
    env = {**os.environ, "DAGSTER_HOME": str(home), "DISCLOSURE_LOCK_TIMEOUT": "600", "DISCLOSURE_SOURCES": str(base / "sample" / "sources.yml"),
           **receivers.env()}
    for var in ("DISCLOSURE_WAREHOUSE", "DISCLOSURE_WORK_DB", "DISCLOSURE_DATA_DOCS"):
        env.pop(var, None)
    proc = refresh(env, "--warehouse", str(warehouse))
    return {"proc": proc, "env": env, "home": home, "warehouse": warehouse, "corpus": corpus}


def test_fresh_refresh_publishes(first):
    proc = first["proc"]
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    for stage in ("▶ source_documents", "▶ raw_landing", "▶ quality_gate", "▶ published_warehouse"):
        assert stage in out, f"no progress line {stage!r}:\n{out}"
    assert "summary of run" in out
    assert "quarantined" in out and "data docs" in out
    assert f"published   {first['warehouse']}" in out
    assert (first["home"] / "dagster.yaml").is_file(), "DAGSTER_HOME gets the instance settings"


def test_the_work_db_is_made_in_the_published_format_so_a_publish_from_empty_copies_its_file(first):
    import duckdb

    work = first["warehouse"].parent / "work" / "disclosure.duckdb"
    with duckdb.connect(str(work), read_only=True) as conn:
        assert conn.execute("select tags['storage_version'] from duckdb_databases() "
                            "where database_name = current_database()").fetchall()[0][0] == "v1.0.0+"
    assert "publish: copied the work DB's file whole (already in storage version v1.0.0)" in first["proc"].stdout


def test_summary_counts_verdicts_instead_of_listing_reports(first):
    """The summary a person reads: counts per gate status, per input format and per rule, the most frequent
    failures and where to look; no line per quarantined report (a national refresh would print thousands)."""
    out = first["proc"].stdout
    with duckdb.connect(str(first["warehouse"]), read_only=True) as con:
        statuses = dict(con.execute("select gate_status, count(*) from marts.dim_report group by 1").fetchall())
        formats = [f for (f,) in con.execute("select distinct input_format from marts.dim_report").fetchall()]
        r1 = con.execute("select count(distinct report_id) from quality.quarantine where rule = 'R1_balance'").fetchone()[0]
    assert (f"gate        passed {statuses['passed']}, quarantined {statuses['quarantined']}, "
            f"not applicable {statuses['not_applicable']}") in out, out
    assert all(f"format      {f}: " in out for f in formats), out
    assert f"rule        R1_balance: {r1} report(s)" in out and r1 >= 2, out
    assert "most frequent failures" in out and "report(s)  R1_balance:legal_services" in out, out
    assert "quality.quarantine in " in out and "the Dagster UI" in out
    assert "001_7a4d3651a9fce74d.txt" not in out.split("summary of run", 1)[1], "no line per report"


def test_quarantined_reports_are_named_as_a_person_knows_them(first):
    """Agency, year, source, then the failing rule:instance with both sides: in the hard-rules check's
    table and in the quality_gate asset's metadata."""
    run = runs_summaries(first["home"])[0]
    with duckdb.connect(str(first["warehouse"]), read_only=True) as con:
        agency, year, source = con.execute(
            "select agency_name, year, source_uri from marts.dim_report where source_uri like '%001_7a4d3651a9fce74d.txt'"
        ).fetchone()
    header = "| agency | year | source | rule:instance | lhs | rhs |"
    for table in (run["checks"]["hard_rules_hold"]["failures"], run["assets"]["quality_gate"]["quarantine"]):
        assert table.startswith(header), table
        row = next(line for line in table.splitlines() if source in line and "R2_row_total:total_processed" in line)
        assert row.startswith(f"| {agency} | {year} | {source} | R2_row_total:total_processed | 25 | 27 |"), row


def test_progress_is_terse_and_dbt_output_goes_to_the_tool_log(first):
    out = first["proc"].stdout
    assert " START sql " not in out and " PASS " not in out, "dbt's line-per-node stream belongs in the tool log"
    logs = sorted((first["warehouse"].parent / "logs").glob("refresh-*.log"))
    assert logs, "no tool log beside the warehouse"
    assert f"tool log    {logs[0]}" in out
    assert "START sql view model staging.stg_cells" in logs[0].read_text(encoding="utf-8")


def test_published_warehouse_holds_the_contract(first, seeds_dir):
    with duckdb.connect(str(first["warehouse"]), read_only=True) as con:
        for rel in ("marts.dim_report", "marts.fct_metric", "marts.dim_agency", "marts.dim_metric", "quality.rule_results"):
            con.execute(f"select * from {rel} limit 1")
        status = dict(con.execute("select page_uri, gate_status from marts.dim_report").fetchall())
        assert con.execute("select count(*) from marts.fct_metric").fetchone()[0] > 0
    by_name = {Path(uri).name: s for uri, s in status.items()}
    bundled = sorted(p.name for p in (BUNDLED).iterdir())
    assert set(bundled) <= set(by_name), "every bundled document is in dim_report"
    assert by_name["001_7a4d3651a9fce74d.txt"] == "quarantined"  # seed 001 does not add up
    assert by_name["004_8c293465a3188d00.txt"] == "not_applicable"  # not a template report
    assert by_name["000_b4db0ae74d3253e2.txt"] == "passed"
    assert by_name["g08_2021_html_th_inconsistent.html"] == "quarantined"  # generated to break R1_balance
    assert by_name["g10_news_article.html"] == "not_applicable"
    assert by_name["g11_2021_article_with_attachment.html"] == "passed"  # an article page: one report, from its attachment


def test_summary_counts_come_from_the_run(first):
    run = runs_summaries(first["home"])[0]
    fetch, parse, gate = (run["assets"][k] for k in ("source_documents", "raw_landing", "quality_gate"))
    documents = len(list((BUNDLED).iterdir())) + len(list((BUNDLED.parent / "attachments").iterdir()))  # (g11 links one)
    assert fetch["sources"] == documents and fetch["fetched"] == documents and fetch["failed"] == 0
    assert parse["parsed"] == documents
    assert gate["quarantined"] >= 1
    assert not run["checks"]["hard_rules_hold"]["passed"], "seed 001 breaks a hard rule"
    assert run["checks"]["batch_gate_allows_publish"]["passed"]


def test_dbt_models_show_row_counts_and_columns_and_the_docs_site_is_linked(first):
    run = runs_summaries(first["home"])[0]
    dim_report = run["assets"]["marts/dim_report"]
    with duckdb.connect(str(first["warehouse"]), read_only=True) as con:
        assert dim_report["dagster/row_count"] == con.execute("select count(*) from marts.dim_report").fetchone()[0]
        types = dict(con.execute("select column_name, data_type from information_schema.columns "
                                 "where table_schema = 'marts' and table_name = 'dim_report'").fetchall())
    assert {c.name: c.type for c in dim_report["dagster/column_schema"].columns} == types
    view = run["assets"]["staging/stg_cells"]
    assert "dagster/column_schema" in view and "dagster/row_count" not in view, "a view is not re-run to count it"
    docs = Path(run["assets"]["published_warehouse"]["dbt_docs"])
    assert docs == first["warehouse"].parent / "dbt_docs" / "static_index.html" and docs.stat().st_size > 100_000
    assert "dim_report" in docs.read_text(encoding="utf-8"), "the static docs page holds the project"


def dbt_invocations(target: Path) -> list[dict]:
    """Each dbt command run in ``target`` (oldest first): its process, command, and events' names."""
    events = [json.loads(line) for log in target.glob("dbt.log*") for line in log.read_text(encoding="utf-8").splitlines()]
    invocations: dict[str, dict] = {}
    for event in sorted(events, key=lambda e: e["info"]["ts"]):
        info = invocations.setdefault(event["info"]["invocation_id"], {"pid": event["info"]["pid"], "events": []})
        info["events"].append(event["info"]["name"])
        if event["info"]["name"] == "MainReportArgs":
            info["command"] = event["data"]["args"]["invocation_command"]
    return list(invocations.values())


def test_a_new_warehouse_reuses_the_project_parse_and_its_docs_come_from_the_post_gate_dbt_process(first):
    """dbt parses the project once for every warehouse (orchestration/dbt_process.py): the first build of a new
    warehouse loads the project's parse instead of parsing again for its --vars and work DB path; and the docs page
    is written by the post_gate dbt process after its build, not by a third dbt process at publish (#11)."""
    pre_gate, post_gate, docs = dbt_invocations(first["warehouse"].parent / "work" / "dbt_target")[:3]
    assert "tag:pre_gate" in pre_gate["command"] and "tag:post_gate" in post_gate["command"]
    assert "UnableToPartialParse" not in pre_gate["events"] and "PartialParsingEnabled" in pre_gate["events"]
    assert "CatalogWritten" in docs["events"] and docs["pid"] == post_gate["pid"]
    assert "Unable to do partial parsing" not in sorted((first["warehouse"].parent / "logs").glob("refresh-*.log"))[0].read_text()


def test_nothing_changed_means_no_fetch_or_parse_work(first):
    proc = refresh(first["env"], "--warehouse", str(first["warehouse"]))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run = runs_summaries(first["home"])[-1]
    fetch, parse = run["assets"]["source_documents"], run["assets"]["raw_landing"]
    assert fetch["fetched"] == 0 and fetch["unchanged"] == fetch["sources"]
    assert parse["parsed"] == 0 and parse["skipped_already_parsed"] == fetch["sources"]
    assert parse["unchanged"], "nothing changed: raw_landing is observed, not materialized"
    assert "quality_gate" not in run["assets"] and "published_warehouse" not in run["assets"]
    assert "nothing changed since the last publish" in proc.stdout


def test_nothing_changed_keeps_the_verdicts_on_the_checks(first):
    """The no-change run above skipped the gate's check steps; the instance's latest result of each
    check is still the quarantine (from that run, read from the warehouse), not "Skipped"."""
    from dagster import AssetCheckKey, AssetKey, DagsterInstance
    from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus as Status

    last_run = runs_summaries(first["home"])[-1]
    assert last_run["assets"]["raw_landing"]["unchanged"]
    keys = {name: AssetCheckKey(AssetKey(asset), name) for asset, name in (
        ("quality_gate", "hard_rules_hold"), ("quality_gate", "soft_rules_hold"),
        (["marts", "dim_report"], "batch_gate_allows_publish"))}
    with DagsterInstance.from_config(str(first["home"])) as instance:
        latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(list(keys.values()))
    records = {name: latest[key] for name, key in keys.items()}
    assert all(r.run_id == last_run["run_id"] for r in records.values()), "each check has a result from the no-change run"
    assert records["hard_rules_hold"].status == Status.FAILED, "the quarantine stays on the check"
    assert records["batch_gate_allows_publish"].status == Status.SUCCEEDED
    hard = last_run["checks"]["hard_rules_hold"]
    assert hard["reports"] == 2 and "001_7a4d3651a9fce74d.txt" in hard["failures"], hard
    assert "nothing changed" in hard["unchanged"]


def test_a_changed_document_alone_is_fetched_parsed_and_published(first):
    changed = first["corpus"] / "g10_news_article.html"
    changed.write_bytes(changed.read_bytes() + b"\n<!-- corrected -->\n")
    proc = refresh(first["env"], "--warehouse", str(first["warehouse"]))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run = runs_summaries(first["home"])[-1]
    fetch, parse = run["assets"]["source_documents"], run["assets"]["raw_landing"]
    assert (fetch["fetched"], fetch["unchanged"]) == (1, fetch["sources"] - 1)
    assert (parse["parsed"], parse["skipped_already_parsed"]) == (1, fetch["sources"] - 1)
    assert "published_warehouse" in run["assets"]
    with duckdb.connect(str(first["warehouse"]), read_only=True) as con:
        rows = con.execute("select count(*) from marts.dim_report where source_uri = ?", [str(changed)]).fetchone()[0]
    assert rows == 1, "the changed page replaces its previous version in the marts"


def test_full_refresh_refetches_and_reparses_everything(first):
    proc = refresh(first["env"], "--warehouse", str(first["warehouse"]), "--full")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "refresh (full)" in proc.stdout
    run = runs_summaries(first["home"])[-1]
    fetch, parse = run["assets"]["source_documents"], run["assets"]["raw_landing"]
    assert fetch["fetched"] == fetch["sources"] and parse["parsed"] == fetch["sources"]
    assert fetch["full_refresh"] and "published_warehouse" in run["assets"]
    gate = run["assets"]["quality_gate"]  # the same reports, the same rule inputs: GX validates them all again
    assert gate["gate_mode"] == "full" and gate["validated_reports"] > 0 and gate["dropped_reports"] == 0, gate


def test_two_refreshes_at_once_take_turns(first, tmp_path):
    """Both refreshes start while the warehouse is held, so both must wait; then they go one at a time."""
    paths = WarehousePaths.beside(str(first["warehouse"]))
    cmd = [sys.executable, "-m", "orchestration.cli", "refresh", "--warehouse", str(first["warehouse"])]
    logs = [tmp_path / f"refresh{i}.log" for i in range(2)]
    with warehouse_lock(Path(paths.work_db), holder="the test", timeout_s=1):
        procs = [subprocess.Popen(cmd, cwd=REPO, env=first["env"], stdout=log.open("w"), stderr=subprocess.STDOUT) for log in logs]
        for _ in range(600):  # until both runs report that they wait (bounded; not a timing assertion)
            if all("waiting for the warehouse" in log.read_text() for log in logs) or any(p.poll() is not None for p in procs):
                break
            time.sleep(0.5)
        for log in logs:
            assert "in use by the test" in log.read_text(), log.read_text()
    for proc, log in zip(procs, logs):
        assert proc.wait(timeout=900) == 0, log.read_text()
    assert all("waited      for the warehouse, held by " in log.read_text() for log in logs)
    lock_events = []
    for run in runs_summaries(first["home"])[-2:]:
        assert run["status"] == "SUCCESS"
        # structured, not log text: whom each run waited for (the lock file's record), which run held the lock
        assert run["lock_wait"]["holder"] == "the test" and run["lock_wait"]["pid"] == str(os.getpid()), run["lock_wait"]
        assert {holder for _, _, holder in run["lock_events"]} == {run["run_id"]}
        lock_events += [(ts, run["run_id"], what) for ts, what, _ in run["lock_events"]]
    order = [(run_id, what) for _, run_id, what in sorted(lock_events)]
    assert [what for _, what in order] == ["acquired", "released", "acquired", "released"], order
    assert order[0][0] == order[1][0] and order[2][0] == order[3][0], "each run holds the warehouse start to end"
    with duckdb.connect(str(first["warehouse"]), read_only=True) as con:
        assert con.execute("select count(*) from marts.dim_report").fetchone()[0] >= 5


def test_quality_failures_are_alerted_once_by_mail_and_webhook(first, receivers):
    """The fresh refresh quarantined seed 001 and g08: its hard-rule check alerted them on every channel, with
    both sides of each failing rule. The refreshes after it (a changed document re-gated, a full refresh, two
    refreshes at once: run before this test) found nothing newly failing, so they sent no quality alert."""
    quality_mails = [t for t in receivers.mail_texts() if "硬性规则" in t]
    assert len(quality_mails) == 1, f"expected the first run's alert only, got {len(quality_mails)}"
    assert "001_7a4d3651a9fce74d.txt" in quality_mails[0] and "R1_balance:legal_services (左 " in quality_mails[0]
    posts = [p for p in receivers.posts if p.get("kind") == "quality" and "硬性规则" in p.get("subject", "")]
    assert len(posts) == 1, f"expected one hard-rule webhook post, got {[p['subject'] for p in posts]}"
    sources = {Path(str(r.get("source"))).name for r in posts[0]["failed_reports"]}
    assert {"001_7a4d3651a9fce74d.txt", "g08_2021_html_th_inconsistent.html"} <= sources
    failure = posts[0]["failed_reports"][0]["failures"][0]
    assert {"rule", "instance", "lhs", "rhs"} <= set(failure)


@pytest.fixture(scope="module")
def lock_refused(first):
    """A refresh that cannot get the warehouse (held by the test) within its 1 s patience: a failed run."""
    paths = WarehousePaths.beside(str(first["warehouse"]))
    env = {**first["env"], "DISCLOSURE_LOCK_TIMEOUT": "1"}
    with warehouse_lock(Path(paths.work_db), holder="the test", timeout_s=1):
        return refresh(env, "--warehouse", str(first["warehouse"]))


def test_second_writer_refuses_clearly_when_the_lock_is_held(lock_refused):
    proc = lock_refused
    assert proc.returncode == 1
    assert "locked by the test" in proc.stdout + proc.stderr
    assert "NOT published" in proc.stdout


def test_run_failure_alerts_come_once_from_whoever_launched_the_run(first, lock_refused, receivers, monkeypatch):
    """`disclosure refresh` alerted its failed run itself (below); the run-failure sensor, evaluated on that real
    failed run, sends nothing more, and alerts the same failure once when the run was launched elsewhere (the UI)."""
    from dagster import DagsterEventType, DagsterInstance, build_run_status_sensor_context

    from orchestration.resources import ALERTED_BY_TAG
    from orchestration.sensors import run_failure_alert
    from orchestration.settings import resources_from_env

    for name, value in receivers.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DISCLOSURE_DAGSTER_URL", "http://127.0.0.1:3000/")
    with DagsterInstance.from_config(str(first["home"])) as instance:
        run = instance.get_runs(limit=1)[0]
        assert run.status.value == "FAILURE" and run.tags[ALERTED_BY_TAG] == "disclosure refresh"
        failure = instance.all_logs(run.run_id, of_type=DagsterEventType.RUN_FAILURE)[0].dagster_event

        def evaluate(dagster_run) -> list[dict]:
            seen = len(receivers.posts)
            context = build_run_status_sensor_context(
                sensor_name="run_failure_alert", dagster_event=failure, dagster_instance=instance, dagster_run=dagster_run,
                resources={"alerts": resources_from_env()["alerts"]},
            )
            run_failure_alert(context.for_run_failure())
            return [p for p in receivers.posts[seen:] if p.get("kind") == "run_failure"]

        assert len([p for p in receivers.posts if p.get("kind") == "run_failure" and run.run_id[:8] in p["subject"]]) == 1
        assert evaluate(run) == [], "the CLI alerted this run already"
        ui_run = run.with_tags({k: v for k, v in run.tags.items() if k != ALERTED_BY_TAG})
        seen_mails = len(receivers.mail_texts())
        posts = evaluate(ui_run)
    assert len(posts) == 1 and posts[0]["links"]["Dagster 运行"] == f"http://127.0.0.1:3000/runs/{run.run_id}"
    mails = [t for t in receivers.mail_texts()[seen_mails:] if run.run_id[:8] in t]
    assert len(mails) == 1 and "失败" in mails[0]


def test_a_failed_refresh_alerts_by_itself(lock_refused, receivers):
    """`disclosure refresh` sends the run-failure alert itself, whether or not a daemon runs."""
    out = lock_refused.stdout
    run_id = out.split("summary of run ", 1)[1].split(":", 1)[0]
    assert "alert sent via smtp" in out and "alert sent via generic" in out, out
    posts = [p for p in receivers.posts if p.get("kind") == "run_failure" and run_id[:8] in p["subject"]]
    assert posts and "locked by the test" in posts[0]["summary"]
    assert any(run_id[:8] in t for t in receivers.mail_texts())


def test_batch_gate_refusal_exits_nonzero_and_publishes_nothing(first, tmp_path):
    """A batch of only seed 001 (which does not add up) is 100% quarantined: over the share, refused."""
    folder = tmp_path / "only_001"
    folder.mkdir()
    shutil.copyfile(BUNDLED / "001_7a4d3651a9fce74d.txt", folder / "001_7a4d3651a9fce74d.txt")
    warehouse = tmp_path / "wh" / "disclosure.duckdb"
    proc = refresh(first["env"], "--sources", str(folder), "--warehouse", str(warehouse))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "NOT published: the batch gate refused: 1 of 1 documents quarantined" in proc.stdout
    assert not warehouse.exists()


def test_malformed_manifest_is_refused_up_front(first, tmp_path):
    bad = tmp_path / "sources.yml"
    bad.write_text("sources:\n  - url: [not, a, url]\n", encoding="utf-8")
    before = len(runs_summaries(first["home"]))
    proc = refresh(first["env"], "--sources", str(bad), "--warehouse", str(tmp_path / "wh.duckdb"))
    assert proc.returncode == 2
    assert "sources refused" in proc.stderr and str(bad) in proc.stderr
    assert len(runs_summaries(first["home"])) == before, "no run is started for refused sources"
    assert not (tmp_path / "wh.duckdb").exists()
