"""The gate's rows in SQL, so memory does not grow with the load: every rule's inputs in one table, which
reports need validating (all, or only those whose inputs changed since the last gate run), and
``quality.rule_results`` rebuilt from the kept rows and GX's new verdicts, with waivers re-applied.

A verdict depends only on its own row (``lhs``, ``rhs``, the rule), so a report whose rows are the
same as when it was last checked keeps its verdicts; a correction, a new neighbour year (W1, W4) or a
new template version shows up as a changed row. Any change of the rules or of the gate's code (the
fingerprint in ``gate.state``) validates everything again. The gate's own bookkeeping is in schema
``gate``, out of ``quality`` (which is published and exported to Parquet for people).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from .rules import RULES, RULES_BY_NAME, Rule

INPUTS = "gate_inputs"  # temp view: rule, report_id, instance, lhs, rhs, template_version, suite
DIGESTS = "gate_digests"  # temp table: report_id, row_count, digest (of its rows, for the next run)
TODO = "gate_todo"  # temp table: report_id (the reports this run validates, or drops: gone from the load)
TODO_ROWS = "gate_todo_rows"  # temp table: their rows
FAILED = "gate.failed_rows"  # rule, report_id, instance: GX's unexpected rows of this run (written by a cursor
# while the rows to validate stream from the caller's connection, so not a temp table, which is per connection)
ROW_KEY = "rule, report_id, instance, lhs, rhs, template_version"
WAIVED = "gate_waived"  # temp table: rule_results' failing rows (report_id, rule, instance) that a waiver names


@dataclass(frozen=True)
class Plan:
    """What this gate run validates."""

    mode: str  # "full" | "incremental"
    reason: str  # why that mode
    reports: int  # reports with rule inputs in the current load
    validated: int  # reports this run validates (all in a full run)
    dropped: int  # reports whose verdicts were dropped: gone from the load
    suites: tuple[str, ...]  # every suite of the load (rule__version)
    todo: dict[str, int]  # suite -> its rows to validate in this run


def rule_of(suite: str) -> Rule:
    """The rule a suite checks. One suite per (rule, template version), the ``expectation`` column of
    quality.rule_results: every report of a version carries every instance (R2's rows differ between
    versions), so a NULL side is a missing cell; R5 is one suite (``__all``): an absent cell has no row."""
    return RULES_BY_NAME[suite.split("__", 1)[0]]


def fingerprint() -> str:
    """The rules and the gate's code: when they change, every verdict is taken again."""
    digest = hashlib.sha256(f"great_expectations {version('great_expectations')}\n".encode())
    for rule in RULES:
        digest.update(repr(rule).encode())
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def stage_inputs(conn) -> None:
    """Every rule's rows for the current reports, with their template version and suite, as one temp view."""
    selects = []
    for rule in RULES:
        suite = f"'{rule.name}__all'" if rule.missing_is_absent else \
            f"'{rule.name}__' || coalesce(reports.template_version, 'unknown')"
        selects.append(
            f"select '{rule.name}' as rule, sides.report_id, sides.instance::varchar as instance, sides.lhs, sides.rhs, "
            f"reports.template_version, {suite} as suite "
            f"from ({rule.select_sql()}) as sides left join intermediate.int_reports_current as reports using (report_id)")
    conn.execute(f"create or replace temp view {INPUTS} as " + "\nunion all\n".join(selects))


def plan(conn, full: bool = False) -> Plan:
    """Choose the reports to validate (temp table ``gate_todo``) and stage their rows (``gate_todo_rows``).
    A report's rows are compared by a digest of them
    (``gate_digests``, kept in ``gate.report_digests`` with its verdicts), not row by row."""
    reason = "asked for a full run" if full else _full_reason(conn)
    conn.execute(f"""create or replace temp table {DIGESTS} as
        select report_id, count(*) as row_count, bit_xor(hash({ROW_KEY})) as digest from {INPUTS} group by report_id""")
    if reason:
        changed = f"select report_id from {DIGESTS}"
    else:  # new, changed, or gone from the load
        changed = f"""select report_id from {DIGESTS} as now full outer join gate.report_digests as before using (report_id)
            where (now.row_count, now.digest) is distinct from (before.row_count, before.digest)"""
    conn.execute(f"create or replace temp table {TODO} as {changed}")
    conn.execute(f"create or replace temp table {TODO_ROWS} as select * from {INPUTS} semi join {TODO} using (report_id)")
    conn.execute("create schema if not exists gate")
    conn.execute(f"create or replace table {FAILED} (rule varchar, report_id varchar, instance varchar)")
    (reports,) = conn.execute(f"select count(*) from {DIGESTS}").fetchall()[0]
    validated, suites = conn.execute(f"select count(distinct report_id), list(distinct suite order by suite) "
                                     f"from {TODO_ROWS}").fetchall()[0]
    (todo,) = conn.execute(f"select count(*) from {TODO}").fetchall()[0]
    chunks = dict(conn.execute(f"select suite, count(*) from {TODO_ROWS} group by suite order by suite").fetchall())
    if reason:
        return Plan("full", reason, reports, validated, 0, tuple(suites or ()), chunks)
    suites = conn.execute("select list(distinct expectation order by expectation) from ("
                          f"select expectation from quality.rule_results union all select suite from {TODO_ROWS})").fetchall()[0][0]
    return Plan("incremental", f"rule inputs changed for {validated:,} of {reports:,} reports since the last gate run",
                reports, validated, todo - validated, tuple(suites or ()), chunks)


def _has_previous(conn) -> bool:
    found = conn.execute("select list(schema_name || '.' || table_name) from duckdb_tables()").fetchall()[0][0] or []
    return {"quality.rule_results", "gate.state", "gate.report_digests"} <= set(found)


def _full_reason(conn) -> str | None:
    """Why every report must be validated, or None when the last run's verdicts can be kept."""
    if not _has_previous(conn):
        return "no earlier gate run in this warehouse"
    (previous,) = conn.execute("select any_value(fingerprint) from gate.state").fetchall()[0]
    if previous != fingerprint():
        return "the rules or the gate's code changed since the last gate run"
    return None


def chunks(conn, suite: str, chunk_rows: int):
    """A suite's rows to validate, streamed in chunks of at most ``chunk_rows`` (DataFrames: report_id,
    instance, lhs, rhs): one scan per suite, only a chunk in memory. Any chunk will do: a row's verdict
    depends on that row alone."""
    # a relation streams (``execute`` would materialise the whole result first: 2 GB for R5 at 100k reports)
    reader = conn.sql(f"select report_id, instance, lhs, rhs from {TODO_ROWS} where suite = $1",
                      params=[suite]).to_arrow_reader(chunk_rows)
    for batch in reader:
        yield batch.to_pandas()


def record_failures(cursor, failed) -> None:
    """GX's unexpected rows of one validation (an Arrow table: rule, report_id, instance), through a cursor
    of the caller's connection (which is streaming the rows to validate)."""
    cursor.register("gate_failed_chunk", failed)
    try:
        cursor.execute(f"insert into {FAILED} select * from gate_failed_chunk")
    finally:
        cursor.unregister("gate_failed_chunk")


def write_rule_results(conn, plan: Plan, checked_at) -> None:
    """``quality.rule_results``: this run's verdicts in place of the validated (and dropped) reports' rows
    (all rows in a full run); then every failure waived by a waiver for its report naming ``*``, its rule or
    its ``rule:instance``, each run, for every row; the digests, the rule catalog ``quality.rules`` and the
    fingerprint. In the caller's transaction."""
    severity = " ".join(f"when '{r.name}' then '{r.severity}'" for r in RULES)
    verdicts = f"""
        select i.report_id, i.rule, i.instance, i.lhs, i.rhs, f.report_id is null as passed,
               case i.rule {severity} end as severity, false as waived, i.template_version, i.suite as expectation,
               ?::timestamp as checked_at
        from {TODO_ROWS} as i left join (select distinct * from {FAILED}) as f using (rule, report_id, instance)"""
    conn.execute("create schema if not exists quality")
    if plan.mode == "incremental":
        conn.execute(f"delete from quality.rule_results where report_id in (select report_id from {TODO})")
        conn.execute(f"insert into quality.rule_results by name {verdicts}", [checked_at])
    else:
        conn.execute(f"create or replace table quality.rule_results as {verdicts}", [checked_at])
    # the failing rows a waiver names, first: asked of every row, the waiver lookup took 44 s at 100k reports
    conn.execute(f"""create or replace temp table {WAIVED} as
        select distinct r.report_id, r.rule, r.instance from quality.rule_results as r join staging.stg_waivers as w
            on w.report_id = r.report_id and w.waived_rule in ('*', r.rule, r.rule || ':' || r.instance)
        where not r.passed""")
    waived = f"""exists (select 1 from {WAIVED} as k where k.report_id = rule_results.report_id and k.rule = rule_results.rule
                 and k.instance is not distinct from rule_results.instance)"""
    conn.execute(f"update quality.rule_results set waived = {waived} where waived is distinct from {waived}")
    conn.execute("create schema if not exists gate")
    conn.execute(f"create or replace table gate.report_digests as select * from {DIGESTS}")
    conn.execute("create or replace table quality.rules (rule varchar, severity varchar, statement varchar, "
                 "relation varchar, lhs varchar, rhs varchar, comparison varchar)")
    conn.execute("insert into quality.rules select * from (values " + ", ".join(["(?, ?, ?, ?, ?, ?, ?)"] * len(RULES)) + ")",
                 [v for r in RULES for v in (r.name, r.severity, r.statement, r.relation, r.lhs, r.rhs, r.comparison)])
    conn.execute("create or replace table gate.state as select ?::varchar as fingerprint, ?::timestamp as checked_at",
                 [fingerprint(), checked_at])


def drop_staging(conn) -> None:
    conn.execute(f"drop view if exists {INPUTS}")
    for table in (DIGESTS, TODO, TODO_ROWS, FAILED, WAIVED):  # FAILED is in schema gate, the others temp
        conn.execute(f"drop table if exists {table}")
