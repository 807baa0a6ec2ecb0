"""Every failure's reason is shown: `disclosure refresh` prints the error under Dagster's wrapper (type, message,
the file or setting at fault) in its summary, its run-failure alert and its last stderr line; bad settings
are refused at start-up, naming the variable, before a run starts.

One good refresh is shared; each failing refresh works on its own copy of that warehouse.
"""

import os
import re
import resource
import shutil
import signal
from pathlib import Path

import pytest

from orchestration.settings import check_settings, setting_names
from orchestration.warehouse.config import WarehousePaths
from tests.test_refresh import BUNDLED, REPO, receivers, refresh, runs_summaries  # noqa: F401 - receivers: a fixture

pytestmark = pytest.mark.slow
WRAPPER = "Error occurred while executing op"  # all the summary used to say


@pytest.fixture(scope="module")
def base(tmp_path_factory, receivers):
    """A published warehouse (and its Dagster home) from one good refresh of a copy of the bundled corpus."""
    root = tmp_path_factory.mktemp("failures")
    shutil.copytree(BUNDLED.parent, root / "sample")  # its manifest, documents and the attachment g11 links
    env = {**os.environ, "DAGSTER_HOME": str(root / "home"), "DISCLOSURE_SOURCES": str(root / "sample" / "sources.yml"), **receivers.env()}
    for var in [v for v in env if v.startswith("DISCLOSURE_") and v not in receivers.env() and v != "DISCLOSURE_SOURCES"]:
        env.pop(var)
    warehouse = root / "wh" / "disclosure.duckdb"
    proc = refresh(env, "--warehouse", str(warehouse))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {"env": env, "warehouse": warehouse, "home": root / "home"}


def copy_warehouse(base, tmp_path) -> WarehousePaths:
    """The base warehouse folder (published file, work DB, raw store) copied, so a test may break it."""
    shutil.copytree(base["warehouse"].parent, tmp_path / "wh")
    return WarehousePaths.beside(str(tmp_path / "wh" / base["warehouse"].name))


def failure_lines(proc) -> list[str]:
    return [line.split("failure", 1)[1].strip() for line in proc.stdout.splitlines() if line.startswith("  failure ")]


def exit_line(proc) -> str:
    return (proc.stderr.strip().splitlines() or [""])[-1]


def alerted(receivers, proc) -> list[str]:
    """The run-failure alerts the webhook received for this refresh's run."""
    run_id = proc.stdout.split("summary of run ", 1)[1].split(":", 1)[0]
    return [p["summary"] for p in receivers.posts if p.get("kind") == "run_failure" and run_id[:8] in p["subject"]]


def assert_reason_everywhere(proc, receivers, *needles: str) -> None:
    """Summary, alert and exit line each show an error type and every needle, not just Dagster's wrapper."""
    assert proc.returncode == 1, proc.stdout + proc.stderr
    shown = {"summary": " ".join(failure_lines(proc)), "alert": " ".join(alerted(receivers, proc)), "exit": exit_line(proc)}
    for where, text in shown.items():
        assert re.search(r"\b\w*(Error|Exception): ", text), f"no error type in the {where}: {text!r}"
        for needle in needles:
            assert needle in text, f"{needle!r} not in the {where}: {text!r}"
        assert WRAPPER not in text, f"the {where} still shows Dagster's wrapper: {text!r}"
    assert shown["exit"].startswith("disclosure refresh: failed: "), proc.stderr


def test_a_bad_setting_is_refused_at_start_up_naming_the_variable(base):
    runs_before = len(runs_summaries(base["home"]))
    env = {**base["env"], "DISCLOSURE_FETCH_MAX_BYTES": "abc", "DISCLOSURE_FETCH_MAXBYTES": "1"}
    proc = refresh(env, "--warehouse", str(base["warehouse"]))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "DISCLOSURE_FETCH_MAX_BYTES='abc' is not an integer" in proc.stderr
    assert "DISCLOSURE_FETCH_MAXBYTES is not a setting this project reads" in proc.stderr  # a typo is pointed out
    assert "summary of run" not in proc.stdout
    assert len(runs_summaries(base["home"])) == runs_before, "no run is started with a bad setting"


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("DISCLOSURE_FETCH_MAX_BYTES", "abc", "is not an integer"),
        ("DISCLOSURE_FETCH_RESPECT_ROBOTS", "perhaps", "is not true/false"),
        ("DISCLOSURE_PARSE_WORKERS", "four", "is not an integer"),
        ("DISCLOSURE_LOCK_TIMEOUT", "-5", "is less than 0"),
        ("DISCLOSURE_MAX_QUARANTINE_SHARE", "1.5", "is not a number between 0 and 1"),
        ("DISCLOSURE_MAX_FAILED_SHARE", "half", "is not a number between 0 and 1"),
        ("DISCLOSURE_REFRESH_CRON", "every monday", "is not a cron expression"),
        ("DISCLOSURE_DAGSTER_URL", "localhost:3000", "is not an http(s)://host URL"),
        ("DISCLOSURE_SMTP_PORT", "smtp", "is not a port number"),
        ("DISCLOSURE_SMTP_STARTTLS", "maybe", "is not true/false"),
        ("DISCLOSURE_CORRECTIONS", "/nowhere/corrections.csv", "is not an existing file"),
        ("DISCLOSURE_WAIVERS", "/nowhere/waivers.csv", "is not an existing file"),
        ("DISCLOSURE_AGENCY_OVERRIDES", "/nowhere/agency_identity.csv", "is not an existing file"),
        ("DISCLOSURE_SOURCES", "/nowhere/sources.yml", "does not exist"),
        ("DISCLOSURE_WAREHOUSE", "/", "is a folder, not a file"),
        ("DISCLOSURE_WORK_DB", "/", "is a folder, not a file"),
        ("DISCLOSURE_DATA_DOCS", str(REPO / "README.md"), "is a file, not a folder"),
        ("DISCLOSURE_PARQUET_DIR", str(REPO / "README.md"), "is a file, not a folder"),
    ],
)
def test_each_bad_setting_is_refused_with_its_name_and_value(monkeypatch, name, value, problem):
    for var in [v for v in os.environ if v.startswith("DISCLOSURE_")]:
        monkeypatch.delenv(var)
    assert check_settings() == []
    monkeypatch.setenv(name, value)
    assert check_settings() == [f"{name}={value!r} {problem}" if name != "DISCLOSURE_REFRESH_CRON"
                                else f"{name}={value!r} {problem} (e.g. '0 3 * * 1')"]


def test_every_setting_the_code_reads_is_in_the_one_list():
    """A DISCLOSURE_* name anywhere in the code (or a prefix such as DISCLOSURE_FETCH_) is a listed setting."""
    known = setting_names()
    files = [*REPO.glob("orchestration/**/*.py"), *REPO.glob("extract/**/*.py"), *REPO.glob("expectations/**/*.py"),
             *REPO.glob("dbt_project/**/*.yml"), *REPO.glob("dbt_project/**/*.sql")]
    used = {m for f in files for m in re.findall(r"DISCLOSURE_[A-Z_]*", f.read_text(encoding="utf-8"))}
    unlisted = sorted(n for n in used if n not in known and not (n.endswith("_") and any(k.startswith(n) for k in known)))
    assert "DISCLOSURE_FETCH_MAX_BYTES" in used or any(n == "DISCLOSURE_FETCH_" for n in used)
    assert unlisted == []


def test_a_corrupted_work_db_is_named_in_the_summary_the_alert_and_the_exit(base, receivers, tmp_path):
    paths = copy_warehouse(base, tmp_path)
    paths.work_db.write_bytes(os.urandom(64 * 1024))  # garbage between two refreshes
    proc = refresh(base["env"], "--warehouse", str(paths.published))
    assert_reason_everywhere(proc, receivers, str(paths.work_db))


def test_a_non_numeric_correction_is_named_with_its_file_and_column(base, receivers, tmp_path):
    paths = copy_warehouse(base, tmp_path)
    corrections = tmp_path / "corrections.csv"
    corrections.write_text("report_id,metric_key,corrected_value,reason,corrected_by\n"
                           "r1,applications.new_received.total,abc,typo in the table,maintainer\n", encoding="utf-8")
    proc = refresh({**base["env"], "DISCLOSURE_CORRECTIONS": str(corrections)}, "--warehouse", str(paths.published))
    assert_reason_everywhere(proc, receivers, str(corrections), "corrected_value", "'abc'")
    assert any(line.startswith("raw_landing: ") for line in failure_lines(proc)), proc.stdout


def _small_files_only(limit: int):
    def limit_file_size():  # in the child: writes past `limit` bytes fail with EFBIG ("File too large")
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return limit_file_size


def test_a_full_disk_is_named_in_the_summary_the_alert_and_the_exit(base, receivers, tmp_path):
    """A file-size limit of 3 MB: the Dagster storage and the documents fit, the warehouse (~7 MB) does not."""
    import subprocess
    import sys

    env = {**base["env"], "DAGSTER_HOME": str(tmp_path / "home")}
    warehouse = tmp_path / "wh" / "disclosure.duckdb"
    proc = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "refresh", "--warehouse", str(warehouse)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=900, preexec_fn=_small_files_only(3_000_000),
    )
    assert_reason_everywhere(proc, receivers, "File too large")
    assert any(str(warehouse.parent) in line for line in failure_lines(proc)), proc.stdout  # the file at fault
    assert not warehouse.exists()
