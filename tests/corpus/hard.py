"""Hard cases with known expected issues: damaged tables the parser must flag, never guess.

Each case's truth lists ``expected_errors`` ({code, table[, key]}: the parser must raise an
error-severity issue for that table; the code is the one TEMPLATE.md's wording suggests) and
``uncertain_keys`` (cells the parser cannot be expected to return). A case without expected
errors must parse exactly, like any clean page.
"""

from __future__ import annotations

import random
from typing import Any

from extract.template import APPLICANT_COLUMNS, REVIEW_COLUMNS, REVIEW_ROWS, columns_for, rows_for

from .layouts import GeneratedDoc, _headers, html_template, text_lines
from .pages import html_page, text_page
from .truth import PARTS, check_rules, outcome_rows, random_truth


def _bump(truth: dict[str, Any], row: str, col: str, k: int) -> None:
    """Add ``k`` applications to one outcome cell, keeping every rule satisfied."""
    c = truth["cells"]
    for r in (row, "total_processed", "new_received"):
        for cc in (col, "total"):
            c[f"applications.{r}.{cc}"] += k


def _row_keys(row: str) -> list[str]:
    return [f"applications.{row}.{c}" for c in APPLICANT_COLUMNS]


def lost_row_label(rng: random.Random, version: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A sub-row of （三）不予公开 lost its label and carries non-zero values: an error, not a positional guess."""
    t = random_truth(rng, version)
    row = rng.choice([r for r in outcome_rows(version) if r.startswith("denied_")])
    _bump(t, row, rng.choice(PARTS), rng.randint(1, 9))
    t["expected_errors"] = [{"code": "unplaceable_cell", "table": "applications"}]
    t["uncertain_keys"] = [k for k in t["cells"] if k.startswith("applications.denied_")]
    return t, {"drop": {"label": row}}


def lost_row_label_zero_group(rng: random.Random, version: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Like seed 000: a lost sub-row label in an all-zero group — zeros are safe (a warning at most)."""
    t = random_truth(rng, version)
    rows = [r for r in outcome_rows(version) if r.startswith("denied_")]
    for r in rows:  # empty the group, keeping the sums right
        for col in PARTS:
            k = t["cells"][f"applications.{r}.{col}"]
            if k:
                _bump(t, r, col, -k)
    t["uncertain_keys"] = []
    return t, {"drop": {"label": rng.choice(rows)}}


def two_numbers(rng: random.Random, version: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A value cell with two numbers or text in it: unreadable_value for that key."""
    t = random_truth(rng, version)
    row = rng.choice(outcome_rows(version))
    col = rng.choice(PARTS)
    _bump(t, row, col, 3)
    key = f"applications.{row}.{col}"
    v = t["cells"][key]
    text = rng.choice((f"{v} {v + 2}", f"{v}（其中{max(v - 1, 1)}件为重复申请）", "见附件", f"{v}/{v + 1}"))
    t["expected_errors"] = [{"code": "unreadable_value", "table": "applications", "key": key}]
    t["uncertain_keys"] = [key]
    return t, {"override": {key: text}}


def missing_cell(rng: random.Random, version: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A row of table 三 one cell short while its group is not all zero: the row cannot be placed."""
    t = random_truth(rng, version)
    row = rng.choice([r for r in rows_for(version, "applications") if r not in ("carried_over", "carried_forward")])
    col = rng.choice(PARTS)
    if row in outcome_rows(version):
        _bump(t, row, col, rng.randint(1, 9))
    else:
        _bump(t, "granted", col, rng.randint(1, 9))
    t["expected_errors"] = [{"code": "cell_count_mismatch", "table": "applications"}]
    t["uncertain_keys"] = _row_keys(row)
    return t, {"drop": {"cell": f"applications.{row}.{rng.choice(APPLICANT_COLUMNS)}"}}


def missing_row(rng: random.Random, version: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Table 三 without one of its rows (an outdated form): its cells are missing, which must be said."""
    t = random_truth(rng, version)
    row = rng.choice([r for r in outcome_rows(version) if r.startswith(("denied_", "unable_", "not_processed_"))])
    t["expected_errors"] = [{"code": "missing_cell", "table": "applications"}]
    t["uncertain_keys"] = _row_keys(row)
    return t, {"drop": {"row": row}}


def review_cell_missing(rng: random.Random, version: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Table 四 with 14 of its 15 cells and not all zero: which one is missing cannot be known."""
    t = random_truth(rng, version)
    c = t["cells"]
    row = rng.choice(REVIEW_ROWS)
    c[f"review_litigation.{row}.upheld"] += rng.randint(1, 5)
    c[f"review_litigation.{row}.total"] = sum(c[f"review_litigation.{row}.{x}"] for x in REVIEW_COLUMNS[:-1])
    t["expected_errors"] = [{"code": "cell_count_mismatch", "table": "review_litigation"}]
    t["uncertain_keys"] = [k for k in c if k.startswith("review_litigation.")]
    return t, {"drop": {"cell": f"review_litigation.{rng.choice(REVIEW_ROWS)}.{rng.choice(REVIEW_COLUMNS)}"}}


def review_cell_missing_zero(rng: random.Random, version: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Like seed 003: table 四 with 14 of 15 cells, all zero — zeros are safe (a warning at most)."""
    t = random_truth(rng, version)
    for k in t["cells"]:
        if k.startswith("review_litigation."):
            t["cells"][k] = 0
    t["uncertain_keys"] = []
    return t, {"drop": {"cell": f"review_litigation.{rng.choice(REVIEW_ROWS)}.{rng.choice(REVIEW_COLUMNS)}"}}


def reordered_columns(rng: random.Random, version: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The five 法人或其他组织 columns in another order, headers and values alike: read by label, not position."""
    t = random_truth(rng, version)
    middle = list(APPLICANT_COLUMNS[1:-1])
    while middle == list(APPLICANT_COLUMNS[1:-1]):
        rng.shuffle(middle)
    for col in middle[:2]:  # make the order matter
        _bump(t, "granted", col, rng.randint(1, 9))
    t["uncertain_keys"] = []
    return t, {"drop": {"columns": [APPLICANT_COLUMNS[0], *middle, APPLICANT_COLUMNS[-1]]}}


def extra_row(rng: random.Random, version: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A row the body added to table 二 (like seed 002's 其他主动公开文件): kept under active.extra.*, no error."""
    t = random_truth(rng, version)
    label = rng.choice(("其他主动公开文件", "其他文件", "政策解读"))
    values = [rng.randint(0, 30) for _ in columns_for(version, "active", "rules")]
    for col, v in zip(columns_for(version, "active", "rules"), values):
        t["cells"][f"active.extra.{label}.{col}"] = v
    t["uncertain_keys"] = []
    return t, {"extra_rows": {label: values}}


# ---- report metadata: pages whose signals disagree must be flagged; chrome naming another body must not be
_NAMED_TITLES = ("{a}{y}年政府信息公开工作年度报告", "{y}年度{a}政府信息公开工作年度报告", "{a}政府信息公开工作{y}年度报告")


def _metadata_error(t: dict[str, Any], code: str) -> None:
    t["expected_errors"] = [{"code": code, "table": None}]
    t["uncertain_keys"] = []


def title_year_conflict(rng: random.Random, version: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The title names the next year while the 统计期限 and the opening name the reporting year: year_conflict."""
    t = random_truth(rng, version)
    t["title_year"], t["title_shape"], t["opening"] = t["year"] + 1, rng.choice(_NAMED_TITLES), True
    _metadata_error(t, "year_conflict")
    return t, {}


def published_before_year_end(rng: random.Random, version: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Published months before its reporting year ended (a report filed under the wrong year): year_conflict."""
    t = random_truth(rng, version)
    t["published"] = f"{t['year']}-{rng.randint(1, 9):02d}-{rng.randint(1, 28):02d}"
    _metadata_error(t, "year_conflict")
    return t, {}


def copied_body(rng: random.Random, version: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A report copied from another body with only the title changed: its contact line and opening name
    the other body: agency_conflict."""
    t = random_truth(rng, version)
    other = random_truth(rng, version)["agency"]
    while other.endswith(t["agency"][-4:]):
        other = random_truth(rng, version)["agency"]
    t["body_agency"] = t["contact"] = other
    t["title_shape"], t["opening"] = rng.choice(_NAMED_TITLES), True
    _metadata_error(t, "agency_conflict")
    return t, {}


def nameless_on_portal(rng: random.Random, version: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Neither the title nor the body names the agency; only the portal's chrome and its office as 发布机构 do:
    agency_uncertain (the portal's owner is not the agency)."""
    t = random_truth(rng, version)
    t["title_shape"], t["contact"], t["publisher"] = "{y}年政府信息公开工作年度报告", None, t["host"] + "办公室"
    t["body_agency"] = "我局"
    _metadata_error(t, "agency_uncertain")
    return t, {}


def department_on_portal(rng: random.Random, version: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The normal case: a department's report on its government's portal, greeting, footer and 发布机构 naming
    the government's office. The title names the department: read exactly, no issue."""
    t = random_truth(rng, version)
    t["title_shape"], t["publisher"] = rng.choice(_NAMED_TITLES), t["host"] + "办公室"
    t["uncertain_keys"] = []
    return t, {}


def title_without_agency(rng: random.Random, version: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The title names no agency, the greeting names the portal's owner; the contact line and 发布机构 name the
    agency (the issue's 欢迎访问XX市人民政府 page): read exactly from them, no issue."""
    t = random_truth(rng, version)
    t["title_shape"], t["contact"], t["opening"] = rng.choice(("{y}年政府信息公开工作年度报告", "{y}年度政府信息公开工作年度报告")), t["agency"], True
    t["uncertain_keys"] = []
    return t, {}


HARD_CASES = {f.__name__: f for f in (lost_row_label, lost_row_label_zero_group, two_numbers, missing_cell, missing_row,
                                       review_cell_missing, review_cell_missing_zero, reordered_columns, extra_row,
                                       title_year_conflict, published_before_year_end, copied_body, nameless_on_portal,
                                       department_on_portal, title_without_agency)}


def hard_cases(seed: int = 0, per_case: int = 4) -> list[GeneratedDoc]:
    """``per_case`` documents of each hard case, both versions, HTML and scraped text."""
    rng = random.Random(seed)
    docs = []
    for name, case in HARD_CASES.items():
        for i in range(per_case):
            truth, damage = case(rng, ("2019", "2021")[i % 2])
            truth["expected_rule_failures"] = check_rules(truth["cells"], truth["template_version"])
            style = (html_template if i % 4 < 2 else text_lines)(rng)
            data = text_page(truth, style, rng, damage) if style.text else html_page(truth, style, rng, damage=damage)
            ext = "txt" if style.text else "html"
            docs.append(GeneratedDoc(f"hard_{name}_{i:02d}.{ext}", data, _headers(style), truth, f"hard_{name}",
                                     {"encoding": style.encoding, "charset": style.charset}))
    return docs
