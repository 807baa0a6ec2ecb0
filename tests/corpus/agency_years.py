"""One region over three years (厦门市集美区, 2021–2023, 2021 template): the same bodies printed
under different names from year to year, with known truth for agency identity and the cross-year
rules (W1_continuity, W4_in_force, W5_timeliness) and coverage.

Each body's figures carry over from year to year (carried_over of N = carried_forward of N−1;
in_force of N = in_force of N−1 + issued − repealed) except where ``BREAKS`` says otherwise; every
report obeys the hard rules.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from .truth import PARTS, check_rules, random_truth

YEARS = (2021, 2022, 2023)


@dataclass(frozen=True)
class Body:
    """One real body: the name its report prints each year (None: no report that year)."""

    key: str
    names: dict[int, str]
    published: dict[int, str | None] = field(default_factory=dict)  # default: 20 January of N+1


BODIES = (
    Body("office", {2021: "厦门市集美区人民政府办公室", 2022: "集美区人民政府办公室", 2023: "集美区府办"}),
    Body("development", {2021: "集美区发展和改革局", 2022: "厦门市集美区发改局", 2023: "集美区发展改革局"}),
    Body("approval", {2021: "厦门市集美区行政审批管理局", 2022: "集美区行政审批管理局", 2023: "厦门市集美区行政审批管理局"}),
    # a government's deadline is 31 March: published in March, still on time
    Body("government", {2021: "厦门市集美区人民政府", 2022: "集美区人民政府", 2023: "集美区政府"},
         published={2021: "2022-03-20", 2022: "2023-03-28", 2023: "2024-03-15"}),
    # the 2023 name names no region: the rule cannot place it, so it stays apart (listed for review)
    Body("street", {2021: "集美区杏林街道办事处", 2022: "厦门市集美区杏林街道办事处", 2023: "杏林街道办事处"}),
    # renamed by an institutional reform: the rule keeps the names apart, a maintainer's merge joins them
    Body("urban", {2021: "集美区城市管理局", 2022: "集美区城市管理局", 2023: "集美区城市管理和综合执法局"},
         published={2021: None}),
    # the region inside the name, not in front of it
    Body("tax", {2021: "国家税务总局厦门市集美区税务局", 2022: "国家税务总局集美区税务局", 2023: "国家税务总局厦门市集美区税务局"}),
    # the same body name one level up: another agency
    Body("city_development", {2021: "厦门市发展和改革委员会", 2022: "厦门市发改委", 2023: "厦门市发展和改革委员会"}),
    # published 2021 and 2022, nothing for 2023: a coverage gap; its 2022 report is late (department)
    Body("statistics", {2021: "集美区统计局", 2022: "集美区统计局"}, published={2022: "2023-02-10"}),
)

# Agencies the matching rule must find (street and urban split in two), and after the maintainers' merge.
AGENCIES_BY_RULE = 11
AGENCIES_AFTER_MERGE = 10
MERGE = ("集美区城市管理和综合执法局", "集美区城市管理局")  # agency_name, same_as

# (body, year) -> the soft rule instances that must fail for that report
BREAKS = {
    ("development", 2022): ["W1_continuity:total"],  # across 集美区发展和改革局 -> 厦门市集美区发改局
    ("approval", 2023): ["W4_in_force:rules"],
    ("office", 2022): ["W4_in_force:normative_docs"],
}
LATE = {("urban", 2021): None, ("statistics", 2022): 10}  # W5 fails: days after the deadline (None: no date)


def _carry_over(cells: dict[str, Any], previous: dict[str, Any]) -> None:
    """carried_over of this year = carried_forward of last year, per applicant column; rebalanced (R1)."""
    for col in PARTS:
        co, cf = f"applications.carried_over.{col}", f"applications.carried_forward.{col}"
        new, processed = f"applications.new_received.{col}", f"applications.total_processed.{col}"
        cells[co] = previous[cf]
        cells[new] = cells[processed] + cells[cf] - cells[co]
        if cells[new] < 0:
            cells[cf] -= cells[new]
            cells[new] = 0
    _retotal(cells)


def _retotal(cells: dict[str, Any]) -> None:
    for row in ("new_received", "carried_over", "carried_forward"):
        cells[f"applications.{row}.total"] = sum(cells[f"applications.{row}.{col}"] for col in PARTS)


def _keep_in_force(cells: dict[str, Any], previous: dict[str, Any]) -> None:
    for row in ("rules", "normative_docs"):
        issued, repealed, in_force = (f"active.{row}.{c}" for c in ("issued", "repealed", "in_force"))
        cells[repealed] = min(cells[repealed], previous[in_force] + cells[issued])
        cells[in_force] = previous[in_force] + cells[issued] - cells[repealed]


def _break(cells: dict[str, Any], instance: str) -> None:
    if instance == "W1_continuity:total":  # carried over 3 more than last year carried forward; R1 still holds
        cells["applications.carried_over.natural_person"] += 3
        cells["applications.carried_forward.natural_person"] += 3
        _retotal(cells)
    else:  # W4_in_force:<row>: 5 more in force than last year's plus issued minus repealed
        cells[f"active.{instance.split(':')[1]}.in_force"] += 5


def agency_year_truths(seed: int = 2026) -> list[tuple[str, dict[str, Any], str, list[str]]]:
    """(source, truth, body key, soft failures expected) for every report of the corpus."""
    rng = random.Random(seed)
    out = []
    for body in BODIES:
        previous = None
        for year in YEARS:
            if year not in body.names:
                previous = None
                continue
            truth = random_truth(rng, "2021", year=year)
            cells = truth["cells"]
            if previous is not None:
                _carry_over(cells, previous)
                _keep_in_force(cells, previous)
            expected = list(BREAKS.get((body.key, year), []))
            for instance in expected:
                _break(cells, instance)
            if (body.key, year) in LATE:
                expected.append("W5_timeliness:published")
            assert check_rules(cells, "2021") == [], (body.key, year)
            truth |= {"agency": body.names[year], "expected_rule_failures": [],
                      "published": body.published.get(year, f"{year + 1}-01-20")}
            out.append((f"jimei/{body.key}_{year}.html", truth, body.key, expected))
            previous = cells
    return out
