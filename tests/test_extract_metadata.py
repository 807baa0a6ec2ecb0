"""Report metadata right or flagged: year and agency cross-checked over every signal of the page, chrome ignored."""

from __future__ import annotations

import random

import pytest

from extract import parse_document
from extract.document import read_meta
from extract.metadata import check_meta, same_body
from tests.corpus import REPORT_LAYOUTS, hard_cases, random_truth, render
from tests.corpus.compare import error_issues, field_mismatches, flagged_as_expected
from tests.corpus.pages import TITLE_SHAPES

TABLES = "\n".join([
    "二、主动公开政府信息情况", "第二十条第（一）项", "信息内容 | 本年制发件数 | 本年废止件数 | 现行有效件数",
    "规章 | 0 | 0 | 0", "行政规范性文件 | 1 | 0 | 3",
] * 2 + ["| |"] * 10)


def _report(*head: str, hint: str | None = None):
    return parse_document(("\n".join(head) + "\n" + TABLES).encode(), "x.txt", agency_hint=hint)


def _errors(report) -> list[str]:
    return [i.code for i in report.issues if i.severity == "error" and i.table is None]


@pytest.mark.parametrize("shape", TITLE_SHAPES)
def test_every_title_shape_gives_its_agency_and_year(shape: str) -> None:
    title = shape.format(a="厦门市集美区灌口镇人民政府", y=2021)
    meta = read_meta([title, "本报告中所列数据的统计期限自2021年1月1日起至2021年12月31日止。"], None)
    named = "{a}" in shape
    assert (meta.title_agency, meta.year) == ("厦门市集美区灌口镇人民政府" if named else None, 2021)


def test_year_written_after_the_work_is_the_title_year() -> None:
    # the issue: "…政府信息公开工作2021年度报告" was filed under 2020
    r = _report("您好！今天是2020年12月31日", "某某县人民政府政府信息公开工作2021年度报告", "发布时间：2022-01-20")
    assert (r.agency, r.year) == ("某某县人民政府", 2021)
    assert _errors(r) == []


def test_the_greeting_never_names_the_agency() -> None:
    # the issue: "欢迎访问XX市人民政府" was taken for the agency though 发布机构 and the body name the township
    r = _report("您好，欢迎访问某某市人民政府门户网站", "当前位置：首页 > 政务公开 > 政府信息公开年报",
                "发布机构：某某市某某区青山镇人民政府", "2021年政府信息公开工作年度报告", "发布时间：2022-01-20",
                "本报告中所列数据的统计期限自2021年1月1日起至2021年12月31日止。", "一、总体情况",
                "2021年，某某市某某区青山镇人民政府认真贯彻落实《条例》，扎实推进政务公开。")
    assert (r.agency, r.year) == ("某某市某某区青山镇人民政府", 2021)
    assert _errors(r) == []


def test_a_department_on_its_government_portal_is_not_flagged() -> None:
    r = _report("欢迎访问某某市人民政府门户网站", "发布机构：某某市人民政府办公室", "某某市教育局2021年政府信息公开工作年度报告",
                "主办单位：某某市人民政府办公室 网站标识码：3502000001", hint="某某市人民政府")
    assert r.agency == "某某市教育局"
    assert _errors(r) == []


def test_title_and_body_naming_different_years_is_a_conflict() -> None:
    r = _report("某某县财政局2021年政府信息公开工作年度报告", "本报告中所列数据的统计期限自2020年1月1日起至2020年12月31日止。")
    assert _errors(r) == ["year_conflict"]
    assert "2021" in r.issues[0].message and "2020" in r.issues[0].message


def test_published_before_the_year_was_over_is_a_conflict() -> None:
    r = _report("某某县财政局2021年政府信息公开工作年度报告", "发布时间：2021-03-02")
    assert _errors(r) == ["year_conflict"]
    assert _errors(_report("某某县财政局2021年政府信息公开工作年度报告", "发布时间：2021-12-28")) == []


def test_no_stated_year_is_flagged_not_guessed() -> None:
    r = _report("某某县财政局政府信息公开工作年度报告", "按照2020年政务公开工作要点的要求编制。")
    assert _errors(r) == ["year_uncertain"]


def test_body_copied_from_another_body_is_an_agency_conflict() -> None:
    r = _report("某某县财政局2021年政府信息公开工作年度报告", "本报告中所列数据的统计期限自2021年1月1日起至2021年12月31日止。"
                "如有疑问，请与某某县审计局联系。", "一、总体情况", "2021年，某某县审计局认真贯彻落实《条例》。")
    assert _errors(r) == ["agency_conflict"]
    assert "某某县财政局" in r.issues[0].message and "某某县审计局" in r.issues[0].message


def test_only_the_portal_names_a_body_so_the_agency_is_uncertain() -> None:
    r = _report("欢迎访问某某市人民政府门户网站", "发布机构：某某市人民政府办公室", "2021年政府信息公开工作年度报告",
                "本报告中所列数据的统计期限自2021年1月1日起至2021年12月31日止。")
    assert _errors(r) == ["agency_uncertain"]


def test_the_manifest_hint_confirms_a_mention_but_never_names_the_agency_alone() -> None:
    head = ("2021年政府信息公开工作年度报告", "统计期限自2021年1月1日起至2021年12月31日止。", "联系地址：某某县财政局二楼")
    assert _errors(_report(*head)) == ["agency_uncertain"]
    r = _report(*head, hint="某某省某某县财政局")
    assert (r.agency, _errors(r)) == ("某某县财政局", [])
    # a listing's hint names the portal's owner: with only the 发布机构 field to agree, still not the agency
    r = _report("发布机构：某某县人民政府", "2021年政府信息公开工作年度报告", "统计期限自2021年1月1日起至2021年12月31日止。", hint="某某县人民政府")
    assert _errors(r) == ["agency_uncertain"]


@pytest.mark.parametrize("a,b,same", [
    ("集美区行政审批管理局", "厦门市集美区行政审批管理局", True),
    ("区科技和工信局(台商投资区)", "集美区科技和工信局", True),
    ("思明区政府办", "厦门市思明区人民政府办公室", True),
    ("思明区人民政府", "思明区人民政府办公室", False),
    ("厦门市人民政府", "厦门市教育局", False),
])
def test_names_agree_in_form_only(a: str, b: str, same: bool) -> None:
    assert same_body(a, b) is same


def test_a_page_that_is_no_report_gets_no_metadata_issue() -> None:
    r = parse_document("某某县财政局政务公开工作要点\n按照要求做好公开工作。".encode(), "x.txt")
    assert r.document_kind == "not_annual_report" and _errors(r) == []


@pytest.mark.parametrize("doc", [d for d in hard_cases(seed=3, per_case=4)
                                 if d.truth["expected_errors"] and d.truth["expected_errors"][0]["table"] is None
                                 or d.layout in ("hard_department_on_portal", "hard_title_without_agency")], ids=lambda d: d.name)
def test_generated_metadata_cases_are_right_or_flagged_with_their_code(doc) -> None:
    got = parse_document(doc.data, doc.name, doc.headers).to_contract()
    if doc.truth["expected_errors"]:
        assert flagged_as_expected(doc.truth, got), got["issues"]
    else:
        assert not error_issues(got) and not field_mismatches(doc.truth, got), (got["agency"], got["year"], got["issues"])


@pytest.mark.parametrize("layout", sorted(REPORT_LAYOUTS))
def test_metadata_is_never_silently_wrong_in_any_layout(layout: str) -> None:
    for i in range(6):
        rng = random.Random(f"meta-{layout}-{i}")
        doc = render(random_truth(rng, ("2019", "2021")[i % 2]), layout, rng)
        got = parse_document(doc.data, doc.name, doc.headers).to_contract()
        assert not field_mismatches(doc.truth, got) or error_issues(got), (doc.name, got["agency"], got["year"])


def test_check_meta_reads_no_page_twice() -> None:
    meta = read_meta(["某某县财政局2021年政府信息公开工作年度报告", "统计期限自2021年1月1日起至2021年12月31日止。"], None)
    assert check_meta(meta) == [] and check_meta(meta, "某某县财政局") == []


def test_fields_are_read_only_as_fields() -> None:
    meta = read_meta(["发布机构 区科技和工信局(台商投资区) 文 号 集审管〔2020〕1号", "来源：某某市人民政府门户网站", "资金来源于某某市财政局。"], None)
    assert meta.field_agencies == ("区科技和工信局(台商投资区)",)


def test_an_index_number_filed_before_the_year_ended_is_a_conflict() -> None:
    title = "某某县财政局2021年政府信息公开工作年度报告"
    assert _errors(_report("索引号：XM03148-2500-2020-02677", title)) == ["year_conflict"]
    assert _errors(_report("索引号：XM03148-2500-2022-02677", title)) == []
    assert _errors(_report("索引号：XM03148-1999-2022-02677", title)) == []  # (a classification code is no year)


@pytest.mark.parametrize("html_title", ["某某市人民政府门户网站-某某市教育局2021年政府信息公开工作年度报告",
                                        "某某市教育局2021年政府信息公开工作年度报告_某某市人民政府", "某某市人民政府 | 某某市教育局2021年政府信息公开工作年度报告"])
def test_the_site_name_in_the_html_title_never_joins_the_agency(html_title: str) -> None:
    meta = read_meta(["首页", "政务公开"], html_title)
    assert (meta.title_agency, meta.title_year) == ("某某市教育局", 2021)


def test_the_site_name_beside_a_title_without_agency_is_no_agency() -> None:
    meta = read_meta(["首页"], "某某市人民政府-2021年政府信息公开工作年度报告")
    assert (meta.title_agency, meta.title_year) == (None, 2021)
