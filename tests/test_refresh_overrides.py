"""`disclosure refresh` with maintainer overrides: one that takes no effect is a line of the summary
(and the quality_gate metadata); a malformed one fails the run, naming file, line and column, and
the previously published warehouse stays as it was."""

import hashlib
import os
import shutil

import pytest

from tests.test_refresh import BUNDLED, refresh, runs_summaries

pytestmark = pytest.mark.slow
SEEDS = ("000_b4db0ae74d3253e2.txt", "002_d92904f95ce501ba.txt", "003_542df12d30bf80b6.txt")
UNKNOWN = "0123456789abcdef0123"


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    base = tmp_path_factory.mktemp("refresh_overrides")
    corpus = base / "corpus"
    corpus.mkdir()
    for name in SEEDS:  # three seeds that pass the gate: a small, quick batch
        shutil.copyfile(BUNDLED / name, corpus / name)
    corrections, waivers = base / "corrections.csv", base / "waivers.csv"
    corrections.write_text("report_id,metric_key,corrected_value,reason,corrected_by\n", encoding="utf-8")
    waivers.write_text(f"report_id,rule,reason,waived_by\n{UNKNOWN},*,retired report,a maintainer\n", encoding="utf-8")
    env = {**os.environ, "DAGSTER_HOME": str(base / "dagster_home"), "DISCLOSURE_LOCK_TIMEOUT": "600",
           "DISCLOSURE_SOURCES": str(corpus), "DISCLOSURE_CORRECTIONS": str(corrections),
           "DISCLOSURE_WAIVERS": str(waivers)}
    for var in ("DISCLOSURE_WAREHOUSE", "DISCLOSURE_WORK_DB", "DISCLOSURE_DATA_DOCS", "DISCLOSURE_SMTP_HOST",
                "DISCLOSURE_WEBHOOKS"):
        env.pop(var, None)
    warehouse = base / "wh" / "disclosure.duckdb"
    return {"env": env, "warehouse": warehouse, "home": base / "dagster_home", "corrections": corrections,
            "waivers": waivers, "proc": refresh(env, "--warehouse", str(warehouse))}


def test_an_override_without_effect_is_a_summary_line(setup):
    proc = setup["proc"]
    assert proc.returncode == 0, proc.stdout + proc.stderr
    line = f"  override    {setup['waivers']}:2: waiver * for {UNKNOWN}: report not in the warehouse"
    assert "  overrides   1 take no effect (quality.override_warnings):" in proc.stdout
    assert line in proc.stdout, proc.stdout
    gate = runs_summaries(setup["home"])[-1]["assets"]["quality_gate"]
    assert len(gate["override_warnings"]) == 1


def test_a_malformed_override_fails_the_run_and_keeps_the_published_warehouse(setup):
    published = setup["warehouse"].read_bytes()
    setup["corrections"].write_text("report_id,metric_key,corrected_value,reason,corrected_by\n"
                                    f"{UNKNOWN},applications.granted.total,nan,unreadable,a maintainer\n",
                                    encoding="utf-8")
    proc = refresh(setup["env"], "--warehouse", str(setup["warehouse"]))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "NOT published: the run failed" in proc.stdout
    assert f"{setup['corrections']}:2: column corrected_value: 'nan' is not a finite decimal number" in proc.stdout
    assert hashlib.sha256(setup["warehouse"].read_bytes()).digest() == hashlib.sha256(published).digest()
