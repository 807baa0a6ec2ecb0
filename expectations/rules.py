"""THE list of consistency rules (TEMPLATE.md R0–R6, W1–W3): the gate's suites, the rule catalog
in ``quality.rules`` and any report read them from here.

Each rule instance compares two sides computed in SQL from one relation the pre_gate dbt build
made: ``lhs`` and ``rhs`` per report (and instance, e.g. the applicant column). The terms come
from the metric dictionary through ``extract.template``. SQL arithmetic keeps NULLs, so a missing
cell makes a side NULL and the expectation fails it (never a silent pass).
"""

from __future__ import annotations

from dataclasses import dataclass

from extract.template import APPLICANT_COLUMNS, REVIEW_COLUMNS, rows_for

HARD = "hard"
SOFT = "soft"

EQUAL = "equal"  # lhs = rhs
AT_MOST = "at_most"  # lhs <= rhs


@dataclass(frozen=True)
class Rule:
    """One rule: for each report and instance, ``lhs`` compared with ``rhs``."""

    name: str  # e.g. R1_balance
    severity: str  # hard (quarantines) | soft (warns)
    statement: str  # for people: what must hold
    relation: str  # schema.table the sides are computed from
    instance: str  # SQL: the instance (applicant column, row key, metric key, ...)
    lhs: str  # SQL expression
    rhs: str  # SQL expression
    comparison: str = EQUAL
    where: str = "true"  # SQL filter on the relation
    missing_is_absent: bool = False  # R5 only: an absent cell is R6's business, not a failure here

    def select_sql(self) -> str:
        return (f"select report_id, {self.instance} as instance, ({self.lhs})::double as lhs, "
                f"({self.rhs})::double as rhs from {self.relation} where {self.where}")


def _sum(terms: list[str] | tuple[str, ...]) -> str:
    return " + ".join(terms)


_APPLICATION_ROWS = rows_for("2019", "applications")  # the 2019 rows; `other` is harmonised for 2021
_BALANCE_ROWS = ("new_received", "carried_over", "total_processed", "carried_forward")
_OUTCOME_ROWS = tuple(r for r in _APPLICATION_ROWS if r not in _BALANCE_ROWS)
_APPLICANTS = tuple(c for c in APPLICANT_COLUMNS if c != "total")
_REVIEW_PARTS = tuple(c for c in REVIEW_COLUMNS if c != "total")

RULES: tuple[Rule, ...] = (
    Rule(
        "R0_extraction", HARD, "extraction raised no issue of severity error (instance: the issue code)",
        relation="intermediate.int_extraction_errors", instance="issue_code",
        lhs="error_issues", rhs="0",
    ),
    Rule(
        "R1_balance", HARD,
        "for each applicant column: new_received + carried_over = total_processed + carried_forward",
        relation="intermediate.int_applications_by_applicant", instance="applicant_column",
        lhs="new_received + carried_over", rhs="total_processed + carried_forward",
    ),
    Rule(
        "R2_row_total", HARD, "for each applications row: total = the sum of the six applicant columns",
        relation="intermediate.int_applications_by_row", instance="row_key",
        lhs="total", rhs=_sum(_APPLICANTS),
    ),
    Rule(
        "R3_outcome_total", HARD,
        "for each applicant column: total_processed = granted + partially_granted + Σ denied_* + Σ unable_* "
        "+ Σ not_processed_* + other (2021: the three other_* rows)",
        relation="intermediate.int_applications_by_applicant", instance="applicant_column",
        lhs="total_processed", rhs=_sum(_OUTCOME_ROWS),
    ),
    Rule(
        "R4_review_total", HARD, "for each review_litigation row: total = upheld + corrected + other + pending",
        relation="intermediate.int_review_litigation", instance="row_key",
        lhs="total", rhs=_sum(_REVIEW_PARTS),
    ),
    Rule(
        "R5_domain", HARD,
        "counts are non-negative integers, amounts non-negative, change any integer, each at most "
        "the metric dictionary's max_value in size (rhs: the nearest value in the domain)",
        relation="intermediate.int_metric_domain", instance="metric_key",
        lhs="value", rhs="nearest_valid_value", missing_is_absent=True,
    ),
    Rule(
        "R6_complete", HARD, "every cell of the detected template version is present (instance: the table)",
        relation="intermediate.int_report_completeness", instance="table_key",
        lhs="present_cells", rhs="expected_cells",
    ),
    Rule(
        "W1_continuity", SOFT, "carried_over.total of year N = carried_forward.total of year N-1, same agency",
        relation="intermediate.int_continuity", instance="'total'",
        lhs="carried_over_total", rhs="previous_carried_forward_total",
    ),
    Rule(
        "W2_published", SOFT, "2019 version: new_published <= total_published for rules and normative_docs",
        relation="intermediate.int_active_disclosure", instance="row_key",
        lhs="new_published", rhs="total_published", comparison=AT_MOST,
        where="template_version = '2019' and row_key in ('rules', 'normative_docs')",
    ),
    Rule(
        "W3_narrative", SOFT,
        "numbers the narrative states (e.g. 共受理政府信息公开申请30件) equal the table's (instance: the metric key)",
        relation="intermediate.int_narrative_claims", instance="metric_key",
        lhs="stated_value", rhs="table_value",
    ),
    Rule(
        "W4_in_force", SOFT,
        "2021 version, same agency, consecutive years: in_force of N = in_force of N-1 + issued of N - repealed of N, "
        "for rules and normative_docs (instance: the row)",
        relation="intermediate.int_in_force", instance="row_key",
        lhs="in_force", rhs="expected_in_force",
    ),
    Rule(
        "W5_timeliness", SOFT,
        "published by the 条例's deadline: 31 January of N+1 (departments), 31 March of N+1 (county-level-or-higher "
        "governments); no publish date fails (lhs: days after the deadline)",
        relation="intermediate.int_timeliness", instance="'published'",
        lhs="days_late", rhs="0", comparison=AT_MOST,
    ),
)

RULES_BY_NAME = {r.name: r for r in RULES}
