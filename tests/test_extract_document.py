"""Document understanding: title, agency, reporting year, publish date and index fields."""

from __future__ import annotations

import pytest

from extract import parse_document
from extract.document import find_title, read_meta


@pytest.mark.parametrize("lines,agency,year", [
    (["标 题: 厦门市集美区行政审批管理局2019年政府信息公开工作年度报告"], "厦门市集美区行政审批管理局", 2019),
    (["泉州台商投资区规划建设与交通运输局", "2020年政府信息公开年度报告"], "泉州台商投资区规划建设与交通运输局", 2020),
    (["2021年厦门市思明区民政局政府信息公开工作年度报告"], "厦门市思明区民政局", 2021),
    (["厦门市思明区民政局关于2021年度政府信息公开工作年度报告"], "厦门市思明区民政局", 2021),
    (["相关链接", "2019年政府信息公开工作年度报告"], None, 2019),
    (["会议要求，各科室要认真做好2020年政府信息公开工作年度报告编制工作。"], None, None),
    # the agency alone on the line before a labelled, full-width title; blank and label-only lines between them
    (["厦门市湖里区财政局", "", "标题：", "标题：２０２１年政府信息公开工作年度报告"], "厦门市湖里区财政局", 2021),
    # a title line over 120 characters is no title, but still the line before the next one
    (["厦门市湖里区财政局" * 14, "2021年政府信息公开工作年度报告"], None, 2021),
    (["首页", "（三）不予公开", "某某县财政局2022年政务公开工作年度报告"], "某某县财政局", 2022),
    # a clause before the report words is prose, not a title; a title may run on after them
    (["根据《条例》，某某县财政局2022年政府信息公开工作年度报告"], None, None),
    (["某某县财政局2022年政府信息公开工作年度报告。发布时间：2023-01-20"], "某某县财政局", 2022),
])
def test_find_title(lines: list[str], agency: str | None, year: int | None) -> None:
    _, got_agency, got_year = find_title(lines, None)
    assert (got_agency, got_year) == (agency, year)


def test_html_title_without_agency_does_not_hide_the_h1() -> None:
    _, agency, year = find_title(["首页", "某某县财政局2022年政府信息公开工作年度报告"], "2022年政府信息公开工作年度报告_某某县人民政府")
    assert (agency, year) == ("某某县财政局", 2022)


def test_only_lines_that_can_be_a_title_are_folded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Folding full-width text costs a callback per run of it: the page's prose and table text (every line of a
    page whose title names no agency is read) is not folded, only lines that say 政府信息公开 or 政务公开 with
    no clause break before it and name a report or 政务公开工作 (as every title shape does)."""
    import extract.document as document

    folded: list[str] = []
    fold = document._nfkc
    monkeypatch.setattr(document, "_nfkc", lambda s: folded.append(s) or fold(s))
    body = ["一、总体情况", "（一）主动公开", "规章", "（三）不予公开", "１２", "二、主动公开政府信息情况", "一、本年新收政府信息公开申请数量",
            "二、上年结转政府信息公开申请数量", "（二）政务公开平台建设",
            "2021年，全年未因政府信息公开工作被申请行政复议。", "严格落实“五公开”要求，依托政务服务中心设立政务公开专区。"]
    assert find_title(["2021年政府信息公开工作年度报告", *body * 50], None) == ("2021年政府信息公开工作年度报告", None, 2021)
    assert set(folded) == {"2021年政府信息公开工作年度报告"}
    assert find_title(["首页", "某某县财政局2021年度政务公开工作"], None) == ("某某县财政局2021年度政务公开工作", "某某县财政局", 2021)


def test_agency_from_the_opening_paragraph_when_there_is_no_title() -> None:
    meta = read_meta(["本报告中所列数据统计期限自2020年1月1日至2020年12月31日。如对本年度报告有任何疑问，"
                      "请与梁子湖区行政审批局联系（联系电话：027-60660158）。"], None)
    assert (meta.agency, meta.year) == ("梁子湖区行政审批局", 2020)


def test_publish_date_and_index_fields() -> None:
    meta = read_meta(["索 引 号 XM03148-2500-2020-02677 生成日期 2020-01-02", "发布机构 区科技和工信局 文 号 集审管〔2020〕1号",
                      "某局2019年政府信息公开工作年度报告"], None)
    assert (meta.published, meta.index_no, meta.doc_no) == ("2020-01-02", "XM03148-2500-2020-02677", "集审管〔2020〕1号")
    assert read_meta(["发布时间：2021年1月8日 来源：本站"], None).published == "2021-01-08"
    assert read_meta(["日期:2020/1/23 17:37:00"], None).published == "2020-01-23"
    assert read_meta(["二〇二〇年一月二日"], None).published is None


def test_the_year_is_never_taken_for_the_template_version() -> None:
    # a 2021 report still written on the 2019 template (some bodies kept it): the headers decide
    r = parse_document("\n".join([
        "某县交通运输局2021年政府信息公开工作年度报告", "二、主动公开政府信息情况", "第二十条第（一）项",
        "信息内容 | 本年新制作数量 | 本年新公开数量 | 对外公开总数量", "规章 | 0 | 0 | 0", "规范性文件 | 1 | 1 | 3",
    ] * 2 + ["| |"] * 10).encode(), "x.txt")
    assert (r.year, r.template_version) == (2021, "2019")
