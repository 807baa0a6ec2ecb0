"""What was alerted, so each run alerts only what changed: reports newly failing, and reports that recovered.

``quality.alert_log`` in the work DB holds, per report and severity, the failing ``rule:instance``s last
alerted. A report is newly failing when it fails an instance not alerted before (a new report, or a new
break in a known one); it has recovered when it was alerted and fails nothing of that severity now (fixed,
waived or retired). The log is written only after the alert reached at least one channel, so an alert that
could not be delivered is tried again by the next run; with no channel configured nothing is remembered.
"""

from __future__ import annotations

from typing import Any

import duckdb

LOG_DDL = """
create schema if not exists quality;
create table if not exists quality.alert_log (
    report_id varchar not null, severity varchar not null, failures varchar[] not null,
    agency varchar, year integer, source varchar, alerted_at timestamp not null,
    primary key (report_id, severity)
)
"""


def failing_reports(rows: list[tuple]) -> dict[str, dict[str, Any]]:
    """Failed rule instances (report_id, source, agency, year, rule, instance, lhs, rhs) as one entry per report."""
    reports: dict[str, dict[str, Any]] = {}
    for rid, source, agency, year, rule, inst, lhs, rhs in rows:
        entry = reports.setdefault(rid, {"report_id": rid, "agency": agency, "year": year, "source": source, "rules": [], "failures": []})
        entry["rules"].append(f"{rule}:{inst}" if inst else rule)  # (no_gate_result has no instance)
        entry["failures"].append({"rule": rule, "instance": inst, "lhs": lhs, "rhs": rhs})
    return reports


def changes(con: duckdb.DuckDBPyConnection, severity: str, now_failing: dict[str, dict[str, Any]]) -> tuple[list[dict], list[dict]]:
    """(reports newly failing, reports recovered) against what was last alerted for ``severity``."""
    con.execute(LOG_DDL)
    alerted = {rid: (set(failures), agency, year, source) for rid, failures, agency, year, source in con.execute(
        "select report_id, failures, agency, year, source from quality.alert_log where severity = ?", [severity]).fetchall()}
    new = [r for rid, r in now_failing.items() if not set(r["rules"]) <= alerted.get(rid, (set(),))[0]]
    recovered = [{"report_id": rid, "agency": agency, "year": year, "source": source}
                 for rid, (_, agency, year, source) in sorted(alerted.items()) if rid not in now_failing]
    return new, recovered


def remember(con: duckdb.DuckDBPyConnection, severity: str, now_failing: dict[str, dict[str, Any]]) -> None:
    """Record ``now_failing`` as what was alerted for ``severity`` (recovered reports leave the log)."""
    con.execute(LOG_DDL)
    con.execute("begin")
    con.execute("delete from quality.alert_log where severity = ?", [severity])
    con.executemany(
        "insert into quality.alert_log values (?, ?, ?, ?, ?, ?, current_timestamp)",
        [(rid, severity, sorted(r["rules"]), r["agency"], r["year"], r["source"]) for rid, r in now_failing.items()],
    )
    con.execute("commit")
