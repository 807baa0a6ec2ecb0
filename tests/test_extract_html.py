"""HTML reading: dense grids with rowspan/colspan, chrome stripped, Word markup, charsets, whole reports."""

from __future__ import annotations

import random

import pytest

from extract import parse_document
from extract.html_tokens import html_tokens
from extract.loading import decode, load
from tests.corpus import render
from tests.corpus.compare import cell_mismatches
from tests.corpus.truth import random_truth


def _cells(html: str) -> list[tuple[str, int | None, int, int | None]]:
    return [(t.text, t.table, t.row, t.col) for t in html_tokens(html).tokens if t.table is not None]


def test_grid_expands_rowspan_and_colspan() -> None:
    html = """<table>
      <tr><td rowspan="2" colspan="2">A</td><td>B</td><td rowspan="3">C</td></tr>
      <tr><td>D</td></tr>
      <tr><td>E</td><td colspan="2">F</td></tr>
    </table>"""
    assert _cells(html) == [("A", 0, 0, 0), ("B", 0, 0, 2), ("C", 0, 0, 3), ("D", 0, 1, 2), ("E", 0, 2, 0), ("F", 0, 2, 1)]


def test_absurd_spans_are_capped() -> None:
    html = '<table><tr><td rowspan="999999999" colspan="99999">A</td><td>B</td></tr><tr><td>C</td></tr></table>'
    cells = _cells(html)
    assert cells[0] == ("A", 0, 0, 0)
    assert cells[1][0] == "B" and cells[1][3] == 200


def test_cell_text_joins_word_markup_and_breaks_lines() -> None:
    html = ("<table><tr><td><p class=MsoNormal><span lang=EN-US>本年新</span><br><span>制作数量<o:p></o:p></span></p></td>"
            "<td><p class=MsoNormal><span style='mso-spacerun:yes'>&nbsp;</span>12<o:p></o:p></p></td></tr></table>")
    assert [c[0] for c in _cells(html)] == ["本年新 制作数量", "12"]


def test_chrome_scripts_and_styles_are_dropped() -> None:
    html = """<html><head><title>T</title><style>p{color:red}</style></head><body>
      <div class="nav">首页 政务公开</div><div class="share">分享到 微信</div>
      <p>正文第一段</p><script>var x = "不要我";</script><div class="footer">版权所有</div></body></html>"""
    texts = [t.text for t in html_tokens(html).tokens]
    assert texts == ["正文第一段"]


def test_nested_layout_table_keeps_inner_grid() -> None:
    html = "<table><tr><td><p>标题</p><table><tr><td>规章</td><td>1</td></tr></table></td></tr></table>"
    res = html_tokens(html)
    assert [(t.text, t.table) for t in res.tokens] == [("标题", None), ("规章", 0), ("1", 0)]



def test_tables_nested_at_several_depths_read_their_innermost_grids_in_page_order() -> None:
    """Only tables without a nested table are grids, numbered in page order; the tables around them are
    read as blocks (their own cells' text as lines), however deep the nesting and whatever sits beside it."""
    html = """<table><tr><td>外层</td><td>
        <table><tr><td>中层</td><td><table><tr><td>甲</td><td>1</td></tr></table></td></tr></table>
        <table><tr><td>乙</td><td>2</td></tr></table>
      </td></tr></table>
      <p>正文</p><table><tr><td>丙</td><td>3</td></tr></table>"""
    res = html_tokens(html)
    assert [(t.text, t.table, t.col) for t in res.tokens] == [
        ("外层", None, None), ("中层", None, None), ("甲", 0, 0), ("1", 0, 1), ("乙", 1, 0), ("2", 1, 1),
        ("正文", None, None), ("丙", 2, 0), ("3", 2, 1)]
    assert res.tables == 3

def test_gbk_page_without_any_declaration_decodes() -> None:
    text = "<html><body><p>厦门市思明区人民政府办公室2019年政府信息公开工作年度报告</p></body></html>"
    loaded = load(text.encode("gbk"))
    assert loaded.encoding == "gb18030"
    assert "思明区人民政府办公室" in loaded.text


def test_gb2312_declared_page_with_gb18030_only_characters() -> None:
    text = '<html><head><meta charset="gb2312"></head><body><p>王䶮同志 𠀀 2019年</p></body></html>'
    data = text.encode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        data.decode("gb2312")
    decoded, encoding, problem = decode(data)
    assert (encoding, problem) == ("gb18030", None)
    assert "王䶮同志 𠀀" in decoded


def test_charset_from_http_header_wins_over_detection() -> None:
    data = "<p>政府信息公开</p>".encode("gbk")
    assert decode(data, {"Content-Type": "text/html; charset=GBK"})[1] == "gb18030"
    assert decode("<p>政府信息公开</p>".encode("utf-8-sig"))[1] == "utf-8-sig"


@pytest.mark.parametrize("layout", ["html_template", "html_word", "html_merged", "html_th", "html_review_vertical",
                                    "html_unmerged", "html_gbk_undeclared", "html_blank_markers", "html_units", "text_pipes"])
@pytest.mark.parametrize("version", ["2019", "2021"])
def test_generated_report_parses_exactly(layout: str, version: str) -> None:
    rng = random.Random(f"{layout}{version}")
    doc = render(random_truth(rng, version), layout, rng)
    got = parse_document(doc.data, doc.name, doc.headers).to_contract()
    assert (got["document_kind"], got["template_version"], got["agency"], got["year"]) == (
        "annual_report", version, doc.truth["agency"], doc.truth["year"])
    assert cell_mismatches(doc.truth, got) == []
    assert [i for i in got["issues"] if i["severity"] == "error"] == []


def test_a_number_that_cannot_be_read_is_an_error_not_a_guess() -> None:
    rng = random.Random(5)
    truth = random_truth(rng, "2021")
    html = render(truth, "html_template", rng).data.decode("utf-8")
    row_start = html.index("属于国家秘密")
    cell = html.index("<td>", row_start)
    broken = html[:cell] + "<td>3 5</td>" + html[html.index("</td>", cell) + 5:]
    report = parse_document(broken.encode("utf-8"), "x.html")
    assert "applications.denied_state_secret.natural_person" not in report.cells
    assert any(i.code == "unreadable_value" and i.severity == "error" for i in report.issues)


def test_utf8_page_declaring_gb2312_is_read_as_utf8() -> None:
    text = '<html><head><meta charset="gb2312"></head><body><p>厦门市思明区人民政府办公室</p></body></html>'
    decoded, encoding, _ = decode(text.encode("utf-8"))
    assert encoding == "utf-8" and "思明区" in decoded
    xml = '<?xml version="1.0" encoding="gb2312"?><html><body><p>政府信息公开</p></body></html>'
    assert decode(xml.encode("gbk"))[:2] == (xml, "gb18030")


def test_truncated_utf8_keeps_utf8_with_a_warning() -> None:
    data = "<p>政府信息公开工作年度报告</p>".encode("utf-8")[:-8]
    text, encoding, problem = decode(data)
    assert encoding == "utf-8" and text.startswith("<p>政府信息公开工作年度") and problem[0] == "decode_failure"


def test_private_use_character_at_line_start_is_plain_text() -> None:
    """Regression (parser 1.1.1): page text that looks like the flattener's private-use marker lines once broke the parser."""
    rng = random.Random(11)
    truth = random_truth(rng, "2019")
    html = render(truth, "html_template", rng).data.decode("utf-8")
    assert "一、总体情况" in html
    html = html.replace("一、总体情况", "一、总体情况</p><p>\ue000C 3 \ue000R 私用区字符开头的一行</p><p>", 1)
    report = parse_document(html.encode("utf-8"), "pua.html")
    assert not [i for i in report.issues if i.code == "parser_error"]
    assert cell_mismatches(truth, report.to_contract()) == []
