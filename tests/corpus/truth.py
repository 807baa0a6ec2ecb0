"""Known truth for generated reports: plausible numbers that obey (or break) the template's rules.

Metric keys come only from the metric dictionary (``extract.template``). The small rule
evaluator here exists only to label generated truth with the rule failures the quality gate
must find; the gate's own rules live in the warehouse.
"""

from __future__ import annotations

import copy
import random
from typing import Any

from extract.template import APPLICANT_COLUMNS, REVIEW_COLUMNS, REVIEW_ROWS, keys_for, rows_for, value_type

from .agencies import published_date, random_agency

BALANCE_ROWS = ("new_received", "carried_over", "total_processed", "carried_forward")
PARTS = APPLICANT_COLUMNS[:-1]  # the six applicant columns that add up to `total`
RULES = ("R1", "R2", "R3", "R4", "R5")


def outcome_rows(version: str) -> tuple[str, ...]:
    """Rows of table 三 that add up to (七)总计 in ``version``."""
    return tuple(r for r in rows_for(version, "applications") if r not in BALANCE_ROWS)


def _count(rng: random.Random, p_zero: float = 0.55, small: int = 20, large: int = 3000) -> int:
    x = rng.random()
    if x < p_zero:
        return 0
    if x < p_zero + (1 - p_zero) * 0.8:
        return rng.randint(1, small)
    return rng.randint(small + 1, large)


def _amount(rng: random.Random, column: str) -> float:
    if rng.random() < 0.4:
        return 0.0
    if column == "amount_yuan":  # yuan, often whole hundreds (reports in 万元 keep 2 decimals)
        cents = rng.randint(1_000_00, 50_000_000_00)
        return float(cents // 10000 * 100) if rng.random() < 0.6 else cents / 100
    return round(rng.randint(1, 5_000_000) / 100, 2)  # 万元, up to 2 decimals


def _active(rng: random.Random, version: str) -> dict[str, Any]:
    cells: dict[str, Any] = {}
    for key in keys_for(version, "active"):
        column = key.rsplit(".", 1)[1]
        kind = value_type(key)
        if kind == "amount":
            cells[key] = _amount(rng, column)
        elif kind == "signed":
            cells[key] = 0 if rng.random() < 0.5 else rng.randint(-20, 30)
        elif key.startswith(("active.rules.", "active.normative_docs.")):
            cells[key] = _count(rng, 0.5, 8, 60)
        else:
            cells[key] = _count(rng, 0.45, 30, 9000)
    for row in ("rules", "normative_docs"):  # keep W2 / in-force plausible: totals cover the new ones
        for new, total in (("new_published", "total_published"), ("issued", "in_force")):
            a, b = f"active.{row}.{new}", f"active.{row}.{total}"
            if a in cells and b in cells and cells[b] < cells[a]:
                cells[b] = cells[a] + rng.randint(0, 40)
    return cells


def _applications(rng: random.Random, version: str) -> dict[str, int]:
    rows = rows_for(version, "applications")
    outcomes = outcome_rows(version)
    cols: dict[str, dict[str, int]] = {}
    for col, p_active in zip(PARTS, (0.85, 0.45, 0.1, 0.1, 0.15, 0.2)):
        v = dict.fromkeys(rows, 0)
        if rng.random() < p_active:
            v["granted"] = _count(rng, 0.2, 40, 1500)
            for r in outcomes[1:]:
                v[r] = rng.randint(1, 12) if rng.random() < 0.18 else 0
            v["carried_over"] = rng.randint(1, 6) if rng.random() < 0.3 else 0
            v["carried_forward"] = rng.randint(1, 6) if rng.random() < 0.3 else 0
        v["total_processed"] = sum(v[r] for r in outcomes)
        new = v["total_processed"] + v["carried_forward"] - v["carried_over"]
        if new < 0:
            v["carried_forward"] -= new
            new = 0
        v["new_received"] = new
        cols[col] = v
    cells: dict[str, int] = {}
    for r in rows:
        for col in PARTS:
            cells[f"applications.{r}.{col}"] = cols[col][r]
        cells[f"applications.{r}.total"] = sum(cols[col][r] for col in PARTS)
    return {k: cells[k] for k in keys_for(version, "applications")}


def _review(rng: random.Random) -> dict[str, int]:
    cells: dict[str, int] = {}
    for row in REVIEW_ROWS:
        parts = [rng.randint(0, 4) if rng.random() < 0.3 else 0 for _ in REVIEW_COLUMNS[:-1]]
        for col, v in zip(REVIEW_COLUMNS, [*parts, sum(parts)]):
            cells[f"review_litigation.{row}.{col}"] = v
    return cells


def _noise(rng: random.Random, version: str) -> dict[str, Any]:
    """Numbers with no regard for the rules (``consistent=False``)."""
    return {k: (_amount(rng, k.rsplit(".", 1)[1]) if value_type(k) == "amount" else _count(rng, 0.5, 15, 200))
            for k in keys_for(version) if not k.startswith("active.")}


def random_truth(rng: random.Random, version: str, consistent: bool = True, year: int | None = None) -> dict[str, Any]:
    """A template report's truth in the ``disclosure parse`` contract shape (plus page facts for rendering)."""
    if year is None:
        year = rng.choice((2019, 2020, 2020, 2021)) if version == "2019" else rng.randint(2021, 2024)
    agency = random_agency(rng)
    cells = _active(rng, version)
    if consistent:
        cells |= _applications(rng, version) | _review(rng)
    else:
        cells |= _noise(rng, version)
    cells = {k: cells[k] for k in keys_for(version)}
    return {
        "document_kind": "annual_report",
        "template_version": version,
        "agency": agency.name,
        "year": year,
        "published": published_date(rng, year).isoformat(),
        "cells": cells,
        "expected_rule_failures": check_rules(cells, version),
        "expected_errors": [],  # {"code", "table"} the parser must raise (hard cases)
        "publisher": agency.short,  # 发布机构 as a page header may give it
        "site": agency.site,
        "host": agency.host,  # the government whose portal's chrome (greeting, logo, footer) the page carries
    }


def check_rules(cells: dict[str, Any], version: str) -> list[str]:
    """The hard rules R1–R6 of TEMPLATE.md evaluated on truth cells, as ``rule:instance`` strings."""
    fails: list[str] = []
    get = cells.get
    apps = lambda r, c: get(f"applications.{r}.{c}", 0)  # noqa: E731
    for c in APPLICANT_COLUMNS:
        if apps("new_received", c) + apps("carried_over", c) != apps("total_processed", c) + apps("carried_forward", c):
            fails.append(f"R1_balance:{c}")
    for r in rows_for(version, "applications"):
        if apps(r, "total") != sum(apps(r, c) for c in PARTS):
            fails.append(f"R2_row_total:{r}")
    for c in APPLICANT_COLUMNS:
        if apps("total_processed", c) != sum(apps(r, c) for r in outcome_rows(version)):
            fails.append(f"R3_outcome_total:{c}")
    for r in REVIEW_ROWS:
        v = lambda c: get(f"review_litigation.{r}.{c}", 0)  # noqa: E731
        if v("total") != sum(v(c) for c in REVIEW_COLUMNS[:-1]):
            fails.append(f"R4_review_total:{r}")
    for k in keys_for(version):
        if k in cells and value_type(k) != "signed" and cells[k] < 0:
            fails.append(f"R5_domain:{k}")
    for table in ("active", "applications", "review_litigation"):
        if any(k not in cells for k in keys_for(version, table)):
            fails.append(f"R6_complete:{table}")
    return fails


def inject_inconsistency(truth: dict[str, Any], rule: str, rng: random.Random) -> tuple[dict[str, Any], list[str]]:
    """Break one instance of ``rule`` (R1–R5) in a copy of ``truth``; return it and every failure that now holds.

    A change to one cell can break several rule instances (a ``total_processed`` cell sits in
    R1, R2 and R3), so the expected failures are evaluated, not assumed.
    """
    t = copy.deepcopy(truth)
    cells, version = t["cells"], t["template_version"]
    k = rng.randint(1, 9)
    rule = rule.split("_")[0]
    if rule == "R1":  # the balance of one column; the row total moves with it so R2 still holds
        col = rng.choice(PARTS)
        for c in (col, "total"):
            cells[f"applications.carried_forward.{c}"] += k
    elif rule == "R2":
        row = rng.choice(rows_for(version, "applications"))
        cells[f"applications.{row}.total"] += k
    elif rule == "R3":  # one outcome cell and its row total: R2 holds, R3 fails for the column and total
        row, col = rng.choice(outcome_rows(version)), rng.choice(PARTS)
        for c in (col, "total"):
            cells[f"applications.{row}.{c}"] += k
    elif rule == "R4":
        cells[f"review_litigation.{rng.choice(REVIEW_ROWS)}.total"] += k
    elif rule == "R5":  # a negative count in table 二, which no sum rule covers
        key = rng.choice([k for k in keys_for(version, "active") if value_type(k) == "count"])
        cells[key] = -(cells[key] or k)
    else:
        raise ValueError(f"unknown rule {rule!r}: expected one of {RULES}")
    t["expected_rule_failures"] = check_rules(cells, version)
    return t, t["expected_rule_failures"]
