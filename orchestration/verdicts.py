"""Reading the verdicts dbt derived (``marts.dim_report``, ``quality.quarantine``): for the checks, their
alerts and the refresh summary, which show them; none of them decides a verdict itself.

A report is named as a person knows it: agency, year, source; then the failing ``rule:instance`` and
both sides of the identity.
"""

from __future__ import annotations

from typing import Any, NamedTuple

TOP_FAILURES = 10  # the most frequent failures a summary lists

QUARANTINED_SQL = """
select report_id, source_uri, agency_name, year, rule, instance, lhs, rhs
from quality.quarantine
order by agency_name nulls last, year nulls last, source_uri, rule, instance
"""

WARNINGS_SQL = """
select r.report_id, d.source_uri, d.agency_name, d.year, r.rule, r.instance, r.lhs, r.rhs
from quality.rule_results r join marts.dim_report d using (report_id)
where r.severity = 'soft' and not r.passed and not r.waived and d.gate_status <> 'retired'
order by d.agency_name nulls last, d.year nulls last, d.source_uri, r.rule, r.instance
"""

# every failure that counts against a report: its quarantine reasons and its soft warnings
FAILURES_SQL = f"""
select report_id, rule, instance from ({QUARANTINED_SQL})
union all
select report_id, rule, instance from ({WARNINGS_SQL})
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


def failures(con, hard: bool) -> list[Failure]:
    """Why each quarantined report is held back (``hard``), or the unwaived soft-rule warnings."""
    return [Failure(*row) for row in con.execute(QUARANTINED_SQL if hard else WARNINGS_SQL).fetchall()]


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
    by_rule = {rule: {"reports": reports, "instances": instances} for rule, reports, instances in con.execute(
        f"select rule, count(distinct report_id), count(*) from ({FAILURES_SQL}) group by 1 order by 1").fetchall()}
    top = [{"failure": what, "reports": n} for what, n in con.execute(
        f"select rule || coalesce(':' || instance, '') as what, count(distinct report_id) as n "
        f"from ({FAILURES_SQL}) group by 1 order by n desc, what limit {TOP_FAILURES}").fetchall()]
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
