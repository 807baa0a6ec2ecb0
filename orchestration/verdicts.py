"""Reading the verdicts dbt derived (``marts.dim_report``, ``quality.quarantine``): for the checks, their
alerts and the refresh summary, which show them; none of them decides a verdict itself.

A report is named as a person knows it: agency, year, source; then the failing ``rule:instance`` and
both sides of the identity.
"""

from __future__ import annotations

from typing import Any, NamedTuple

TOP_FAILURES = 10  # the most frequent failures a summary lists

QUARANTINED = """
select report_id, source_uri, agency_name, year, rule, instance, lhs, rhs
from quality.quarantine
"""

WARNINGS = """
select r.report_id, d.source_uri, d.agency_name, d.year, r.rule, r.instance, r.lhs, r.rhs
from quality.rule_results r join marts.dim_report d using (report_id)
where r.severity = 'soft' and not r.passed and not r.waived and d.gate_status <> 'retired'
"""

# as a person reads them: by agency, year, source, then the failing rule instance
ORDER = "order by agency_name nulls last, year nulls last, source_uri, rule, instance"
QUARANTINED_SQL = f"{QUARANTINED} {ORDER}"
WARNINGS_SQL = f"{WARNINGS} {ORDER}"
WHAT = "rule || coalesce(':' || nullif(instance, ''), '')"  # Failure.what in SQL

# every failure that counts against a report: its quarantine reasons and its soft warnings
FAILURES_SQL = f"""
select report_id, rule, instance from ({QUARANTINED})
union all
select report_id, rule, instance from ({WARNINGS})
"""


class Failure(NamedTuple):
    """One failing rule instance of one report, as a person reads it (a tuple in the alerts' order:
    report_id, source, agency, year, rule, instance, lhs, rhs)."""

    report_id: str
    source: str
    agency: str | None
    year: int | None
    rule: str
    instance: str | None
    lhs: float | None
    rhs: float | None

    @property
    def what(self) -> str:
        """``rule:instance`` (just the rule when it has no instance, e.g. ``no_gate_result``)."""
        return f"{self.rule}:{self.instance}" if self.instance else self.rule


def failures(con, hard: bool, limit: int | None = None) -> list[Failure]:
    """Why each quarantined report is held back (``hard``), or the unwaived soft-rule warnings; the first
    ``limit`` of them when given."""
    sql = QUARANTINED_SQL if hard else WARNINGS_SQL
    return [Failure(*row) for row in con.execute(sql + (f" limit {int(limit)}" if limit is not None else "")).fetchall()]


class FailureCounts(NamedTuple):
    """What a check shows of one severity's failures, counted in SQL (never a row per failure in Python)."""

    instances: int  # failed rule instances
    reports: int  # reports failing at least one
    what: list[str]  # the distinct ``rule:instance``s, sorted


def failure_counts(con, hard: bool) -> FailureCounts:
    """The failures of one severity counted: instances, reports, the distinct ``rule:instance``s."""
    instances, reports, what = con.execute(
        f"select count(*), count(distinct report_id), coalesce(list(distinct what order by what), []) "
        f"from (select report_id, {WHAT} as what from ({QUARANTINED if hard else WARNINGS}))").fetchone()
    return FailureCounts(instances, reports, list(what))


def status_summary(con) -> dict[str, Any]:
    """What a person reads after a refresh: reports per gate status, per input format and status, failed
    reports and instances per rule, and the most frequent failures (never one line per report)."""
    by_status = dict(con.execute(
        "select gate_status, count(*) from marts.dim_report group by 1 order by 1").fetchall())
    by_format: dict[str, dict[str, int]] = {}
    for fmt, status, n in con.execute(
            "select coalesce(input_format, 'unknown'), gate_status, count(*) from marts.dim_report "
            "where gate_status <> 'retired' group by all order by 1, 2").fetchall():
        by_format.setdefault(fmt, {})[status] = n
    # one pass over the failures: per rule (reports, instances) and per rule:instance (reports)
    grouped = con.execute(
        f"select grouping(what) = 1 as per_rule, rule, what, count(distinct report_id), count(*) from "
        f"(select report_id, rule, {WHAT} as what from ({FAILURES_SQL})) "
        f"group by grouping sets ((rule), (what))").fetchall()
    by_rule = {rule: {"reports": reports, "instances": instances}
               for per_rule, rule, _, reports, instances in sorted(grouped, key=lambda g: str(g[1])) if per_rule}
    tops = sorted(((what, reports) for per_rule, _, what, reports, _ in grouped if not per_rule), key=lambda t: (-t[1], t[0]))
    top = [{"failure": what, "reports": n} for what, n in tops[:TOP_FAILURES]]
    return {"by_status": by_status, "by_format": by_format, "by_rule": by_rule, "top_failures": top}


def source_link(source: str) -> str:
    """A source as a Markdown link when it is a URL, else as its path."""
    return f"[{source}]({source})" if source.startswith(("http://", "https://")) else source


def failures_table(rows: list[Failure]) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of a failures table: agency, year, source, ``rule:instance``, lhs, rhs."""
    header = ["agency", "year", "source", "rule:instance", "lhs", "rhs"]
    return header, [[f.agency or "(unknown)", f.year if f.year is not None else "", source_link(f.source), f.what,
                     _side(f.lhs), _side(f.rhs)] for f in rows]


def _side(value: float | None) -> str:
    if value is None or value != value:  # NULL: the cell was missing
        return "NULL"
    return f"{value:g}"
