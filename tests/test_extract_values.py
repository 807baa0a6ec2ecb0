"""Reading number cells and normalising labels: the TEMPLATE.md value-reading rules."""

from __future__ import annotations

import pytest

from extract.labels import ACTIVE, APPLICATIONS, GROUP, HEADER, REVIEW, ROW, classify, normalize, section_of
from extract.values import read_number, to_value


@pytest.mark.parametrize("text,value,blank", [
    ("12", 12, False), (" 7 ", 7, False), ("１２３", 123, False), ("1,234", 1234, False), ("１，２３４", 1234, False),
    ("5件", 5, False), ("8条", 8, False), ("+1", 1, False), ("-3", -3, False), ("＋２", 2, False),
    ("", 0, True), ("-", 0, True), ("—", 0, True), ("——", 0, True), ("/", 0, True), ("无", 0, True), ("　", 0, True),
])
def test_read_number(text: str, value: int, blank: bool) -> None:
    r = read_number(text)
    assert r is not None
    assert (r.value, r.blank) == (value, blank)


@pytest.mark.parametrize("text", ["3 5", "12（其中4件为重复申请）", "见附件", "3/4", "1.2.3", "12%", "约10", "2020年"])
def test_unreadable_text_is_never_a_number(text: str) -> None:
    assert read_number(text) is None


def test_amounts_are_normalised_per_key() -> None:
    assert to_value(read_number("3.5万元"), "amount", "amount_yuan") == 35000.0
    assert to_value(read_number("35270.94"), "amount", "amount_yuan") == 35270.94
    assert to_value(read_number("3.5"), "amount", "amount_yuan", header_in_10k=True) == 35000.0
    assert to_value(read_number("12,000元"), "amount", "amount_yuan", header_in_10k=True) == 12000.0
    assert to_value(read_number("1.25"), "amount", "amount_10k_yuan") == 1.25
    assert to_value(read_number("1.25万元"), "amount", "amount_10k_yuan") == 1.25


def test_counts_must_be_whole() -> None:
    assert to_value(read_number("2.5"), "count", "decisions") is None
    assert to_value(read_number("4.0"), "count", "decisions") == 4
    assert to_value(read_number("+10"), "signed", "change") == 10
    assert to_value(read_number("-2"), "signed", "change") == -2


@pytest.mark.parametrize("raw,norm", [
    ("法 律 服 务 机 构", "法律服务机构"), ("（三）不予公开", "(三)不予公开"), ("3.危及“三安全一稳定”", "3.危及三安全一稳定"),
    ('3.危及"三安全一稳定"', "3.危及三安全一稳定"), ("总　计", "总计"), ("规章：", "规章"),
])
def test_normalize(raw: str, norm: str) -> None:
    assert normalize(raw) == norm


def _first(text: str, table: str):
    labels = classify(text, table)
    return (labels[0].kind, labels[0].key) if labels else None


@pytest.mark.parametrize("text,table,expected", [
    ("规范性文件", ACTIVE, (ROW, "normative_docs")),
    ("行政规范性文件", ACTIVE, (ROW, "normative_docs")),
    ("本年增/", ACTIVE, (HEADER, None)),
    ("本年新", ACTIVE, (HEADER, None)),
    ("本年新 制作数量", ACTIVE, (HEADER, "new_made")),
    ("采购总金额（万元）", ACTIVE, (HEADER, "amount_yuan")),
    ("其他主动公开文件", ACTIVE, None),
    ("（三）不予公开", APPLICATIONS, (GROUP, "不予公开")),
    ("1.属于国家秘密", APPLICATIONS, (ROW, "denied_state_secret")),
    ("(三)不予公开 1.属于国家秘密", APPLICATIONS, (ROW, "denied_state_secret")),
    ("（二）部分公开（区分处理的，只计这一情形，不计其他情形）", APPLICATIONS, (ROW, "partially_granted")),
    ("（七）总计", APPLICATIONS, (ROW, "total_processed")),
    ("总 计", APPLICATIONS, (HEADER, "total")),
    ("3.其他", APPLICATIONS, (ROW, "other_misc")),
    ("其 他", APPLICATIONS, (HEADER, "other_org")),
    ("法 律 服 务 机 构", APPLICATIONS, (HEADER, "legal_services")),
    ("未经复议直接起诉", REVIEW, (ROW, "litigation_direct")),
    ("结果维持", REVIEW, (HEADER, "upheld")),
    ("第二十条第（一）项", ACTIVE, ("noise", None)),
])
def test_classify(text: str, table: str, expected) -> None:
    assert _first(text, table) == expected


def test_other_processing_depends_on_version() -> None:
    kinds = {(lb.kind, lb.versions) for lb in classify("（六）其他处理", APPLICATIONS)}
    assert kinds == {(ROW, ("2019",)), (GROUP, ("2021",))}


@pytest.mark.parametrize("text,section", [
    ("二、主动公开政府信息情况", ACTIVE), ("三、收到和处理政府信息公开申请情况", APPLICATIONS),
    ("三、政府信息依申请公开办理情况", APPLICATIONS), ("四、政府信息公开行政复议、行政诉讼情况", REVIEW),
    ("五、存在的主要问题及改进情况", "end"), ("三、本年度办理结果", None), ("四、结转下年度继续办理", None),
])
def test_section_titles(text: str, section: str | None) -> None:
    assert section_of(text) == section
