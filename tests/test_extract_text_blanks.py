"""Scraped text in every layout: empty cells (each form of blank read as a blank where its place is certain, else
reported), headers wrapped over lines, table 四 one value per line."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extract import parse_document
from extract.placer import fit
from extract.runs import Run
from extract.sections import join_wrapped
from extract.tokens import Token, text_tokens
from tests.corpus import random_truth, render
from tests.corpus.compare import cell_mismatches, error_issues, field_mismatches

HEAD = ["某某县财政局2021年政府信息公开工作年度报告", "本报告中所列数据的统计期限自2021年1月1日起至2021年12月31日止。",
        "二、主动公开政府信息情况", "第二十条第（一）项"]
RULES = ("active.rules.issued", "active.rules.repealed", "active.rules.in_force")


def _active(lines: list[str], sep: str = "\n") -> dict:
    """The cells of table 二's first block written as ``lines`` (with filler so the page is read as piped text)."""
    return parse_document(sep.join(HEAD + lines + ["| |"] * 10).encode(), "x.txt").cells


@pytest.mark.parametrize("row", [
    "规章 |  | 28 | 31",  # nothing between two separators
    "规章 || 28 | 31",
    "| 规章 |  | 28 | 31 |",  # markdown
])
def test_nothing_between_separators_is_a_blank_cell(row: str) -> None:
    header = "信息内容 | 本年制发件数 | 本年废止件数 | 现行有效件数"
    if row.startswith("|"):
        header = f"| {header} |"
    cells = _active([header, row, row.replace("规章", "行政规范性文件").replace("28", "1")] * 3)
    assert [(cells[k].value, cells[k].blank) for k in RULES] == [(0, True), (28, False), (31, False)]


def test_an_empty_last_cell_of_a_row_line() -> None:
    cells = _active(["信息内容 | 本年制发件数 | 本年废止件数 | 现行有效件数", "规章 | 2 | 28 | ", "行政规范性文件 | 1 | 0 | 3"] * 3)
    assert [(cells[k].value, cells[k].blank) for k in RULES] == [(2, False), (28, False), (0, True)]


@pytest.mark.parametrize("blank", [" |", " | ", "|"])
def test_a_cell_line_holding_only_its_separator(blank: str) -> None:
    lines = ["信息内容 |", "本年制发件数 |", "本年废止件数 |", "现行有效件数 |", "||", "规章 |", blank, "4 |", "5 |", "||",
             "行政规范性文件 |", "1 |", "0 |", "3 |", "|||"]
    cells = _active(lines * 2)
    assert [(cells[k].value, cells[k].blank) for k in RULES] == [(0, True), (4, False), (5, False)]


def test_an_empty_line_in_a_cell_per_line_page() -> None:
    lines = ["信息内容", "本年制发件数", "本年废止件数", "现行有效件数", "规章", "4", "", "5", "行政规范性文件", "1", "0", "3"]
    page = "".join(f"  {t}\n\n" for t in HEAD + lines)
    cells = parse_document(page.encode(), "x.txt").cells
    assert [(cells[k].value, cells[k].blank) for k in RULES] == [(4, False), (0, True), (5, False)]


def test_soft_blanks_at_both_ends_with_some_to_drop_are_not_placed() -> None:
    keys = [f"review_litigation.review.{c}" for c in ("upheld", "corrected", "other", "pending", "total")]
    soft = Token("", None, 1, None, True)
    run = Run("loose", None, None, [soft, Token("1", None, 2), Token("2", None, 3), Token("3", None, 4), Token("6", None, 5), soft])
    assert fit(keys, run) is None  # [blank, 1, 2, 3, 6] or [1, 2, 3, 6, blank]: not known
    run = Run("loose", None, None, [soft, Token("1", None, 2), Token("2", None, 3), Token("3", None, 4), Token("0", None, 5), Token("6", None, 6), soft])
    assert [t.text for t in fit(keys, run)] == ["1", "2", "3", "0", "6"]


def test_a_bare_pipe_line_is_soft_and_a_spaced_one_a_cell() -> None:
    toks = text_tokens("\n".join(["规章 |", "|", " |", "2 |"] * 5))
    assert [(t.text, t.soft) for t in toks[:4]] == [("规章", False), ("", True), ("", False), ("2", False)]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), layout=st.sampled_from(("text_lines_empty", "text_pipes_empty", "text_rows_empty",
                                                                "text_split_headers", "text_review_columns")),
       version=st.sampled_from(("2019", "2021")))
def test_scraped_text_layouts_parse_back_exactly(seed: int, layout: str, version: str) -> None:
    rng = random.Random(seed)
    doc = render(random_truth(rng, version), layout, rng)
    got = parse_document(doc.data, doc.name, doc.headers).to_contract()
    assert not error_issues(got), got["issues"]
    assert not field_mismatches(doc.truth, got) + cell_mismatches(doc.truth, got)


def test_join_wrapped_copies_nothing_unless_a_header_was_wrapped() -> None:
    """A page without wrapped headers (most) gets its own token list back; around a join every other token keeps its place."""
    plain = [Token("一、总体情况", None, 0), Token("规章", 1, 2, 0), Token("3", 1, 2, 1), Token("商业企业", None, 5)]
    assert join_wrapped(plain) is plain
    toks = [Token("规章", 1, 2, 0), Token("3", 1, 2, 1), Token("商业", None, 7), Token("企业", None, 8), Token("0", None, 9)]
    joined = join_wrapped(toks)
    assert joined is not toks and [(t.text, t.table, t.row, t.col) for t in joined] == [
        ("规章", 1, 2, 0), ("3", 1, 2, 1), ("商业企业", None, 7, None), ("0", None, 9, None)]
    assert [t.text for t in toks] == ["规章", "3", "商业", "企业", "0"]  # (the caller's list is left as it was)


def test_wrapped_headers_are_joined_and_a_fragment_never_moves_the_reader() -> None:
    toks = [Token(t, None, i) for i, t in enumerate(["其他", "结果", "未经复议直", "接起诉", "本年新", "制作数量", "商业", "企业", "0"])]
    assert [t.text for t in join_wrapped(toks)] == ["其他结果", "未经复议直接起诉", "本年新", "制作数量", "商业企业", "0"]
    lines = ["四、政府信息公开行政复议、行政诉讼情况", "行政", "复议", "行政", "诉讼"] + ["结果", "维持", "结果", "纠正", "其他", "结果",
                                                                   "尚未", "审结", "总计"] * 3 + [str(i % 3) for i in range(15)]
    text = "\n".join(HEAD + ["信息内容 | 本年制发件数 | 本年废止件数 | 现行有效件数", "规章 | 0 | 0 | 0"] + lines + ["| |"] * 10)
    cells = parse_document(text.encode(), "x.txt").cells
    assert [cells[f"review_litigation.review.{c}"].value for c in ("upheld", "corrected", "other", "pending", "total")] == [0, 1, 2, 0, 1]
