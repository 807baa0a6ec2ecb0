"""Placing cells: by header column, by count, by header order; never a guess."""

from __future__ import annotations

import random

from extract import parse_document
from extract.placer import fit
from extract.runs import Run, collect
from extract.tokens import Token, text_tokens
from tests.corpus import render
from tests.corpus.truth import random_truth

COLS = ("natural_person", "commercial", "research", "social_welfare", "legal_services", "other_org", "total")
KEYS = [f"applications.granted.{c}" for c in COLS]


def _row(values: list[str], first_col: int, header_cols: dict[str, int] | None = None) -> Run:
    label = Token("（一）予以公开", 0, 5, 0)
    toks = [Token(v, 0, 5, first_col + i) for i, v in enumerate(values)]
    return Run("row", "granted", label, toks, header_cols=header_cols or {})


def test_cells_under_headers_in_another_order_follow_the_headers() -> None:
    order = ["natural_person", "legal_services", "commercial", "research", "social_welfare", "other_org", "total"]
    run = _row(["1", "2", "3", "4", "5", "6", "21"], 3, {c: 3 + i for i, c in enumerate(order)})
    assert [t.text for t in fit(KEYS, run)] == ["1", "3", "4", "5", "2", "6", "21"]


def test_cells_shifted_from_their_headers_are_placed_by_count() -> None:
    run = _row(["1", "2", "3", "4", "5", "6", "21"], 4, {c: 3 + i for i, c in enumerate(COLS)})
    assert [t.text for t in fit(KEYS, run)] == ["1", "2", "3", "4", "5", "6", "21"]


def test_padding_is_trimmed_but_a_missing_cell_is_not_guessed() -> None:
    assert [t.text for t in fit(KEYS, _row(["1", "2", "3", "4", "5", "6", "21", "", ""], 3))] == ["1", "2", "3", "4", "5", "6", "21"]
    assert fit(KEYS, _row(["1", "2", "3", "4", "5", "21"], 3)) is None
    assert fit(KEYS, _row(["1", "2", "3", "4", "5", "6", "21", "9"], 3)) is None


def test_text_headers_give_the_column_order() -> None:
    text = "\n".join(["申请人情况", "自然人", "法人或其他组织", "总计", "商业企业", "法律服务机构", "科研机构", "社会公益组织", "其他",
                      "（一）予以公开", "1", "2", "3", "4", "5", "6", "21"])
    runs = [r for r in collect(text_tokens(text), "applications", "2021") if r.kind == "row"]
    assert [t.text for t in fit(KEYS, runs[0])] == ["1", "2", "4", "5", "3", "6", "21"]


def test_text_in_a_number_position_is_an_error_never_a_shifted_row() -> None:
    rng = random.Random(3)
    truth = random_truth(rng, "2021")
    page = render(truth, "text_rows", rng).data.decode("utf-8")
    line = next(ln for ln in page.splitlines() if ln.startswith("（一）予以公开") or ln.startswith("三、本年度办理结果"))
    cells = line.split(" | ")
    cells[-4] = "见附件"
    report = parse_document(page.replace(line, " | ".join(cells)).encode("utf-8"), "x.txt")
    assert not any(k.startswith("applications.granted.") for k in report.cells)
    assert any(i.severity == "error" and i.table == "applications" for i in report.issues)


REVIEW_TURNED = ["四、政府信息公开行政复议、行政诉讼情况", " | 行政复议 | 未经复议直接起诉 | 复议后起诉", "结果维持 | 1 | 0 | 2",
                 "结果纠正 | 0 | 3 | 0", "其他结果 |  |  | ", "尚未审结 | 0 | 0 | 1", "总计 | 1 | 3 | 3"]


def _review(lines: list[str]) -> dict:
    active = ["二、主动公开政府信息情况", "信息内容 | 本年制发件数 | 本年废止件数 | 现行有效件数", "规章 | 0 | 0 | 0"]  # (tells the version)
    report = parse_document("\n".join(active + lines + ["| |"] * 10).encode(), "x.txt")
    return {k.split(".", 1)[1]: c.value for k, c in report.cells.items() if k.startswith("review_litigation.")}, report


def test_table_four_turned_a_row_per_result_is_read_by_its_labels() -> None:
    cells, report = _review(REVIEW_TURNED)
    assert cells["review.upheld"] == 1 and cells["litigation_after_review.upheld"] == 2
    assert cells["litigation_direct.corrected"] == 3 and cells["litigation_after_review.pending"] == 1
    assert (cells["review.total"], cells["litigation_direct.total"], cells["litigation_after_review.total"]) == (1, 3, 3)
    assert cells["review.other"] == 0 and report.cells["review_litigation.review.other"].blank


def test_table_four_turned_in_another_kind_order_follows_its_header() -> None:
    lines = [REVIEW_TURNED[0], " | 复议后起诉 | 行政复议 | 未经复议直接起诉"] + REVIEW_TURNED[2:]
    cells, _ = _review(lines)
    assert (cells["litigation_after_review.upheld"], cells["review.upheld"], cells["litigation_direct.upheld"]) == (1, 0, 2)


def test_table_four_turned_without_its_kinds_is_an_error_not_the_template_order() -> None:
    cells, report = _review([REVIEW_TURNED[0], " | 复议 | 诉讼 | 诉讼2"] + REVIEW_TURNED[2:])
    assert any(i.severity == "error" and i.table == "review_litigation" for i in report.issues)
    assert cells.get("review.corrected") in (None, 0)
