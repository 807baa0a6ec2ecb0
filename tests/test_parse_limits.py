"""The parser's work is bounded by what the bytes expand into (tags, lines, tokens), not by bytes alone.

Issue #12 item 9: 59 MB of ``<td>1`` (200 KB of gzip) took 4.7 GB and 20 CPU-seconds to parse.
Past a limit of ``extract.limits`` a document gets one ``input_too_large`` error naming it, quickly.
"""

from __future__ import annotations

import json
import os
import random
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from extract import parse_document
from extract.html_tokens import SPAN_BUDGET
from extract.limits import MAX_LINES, MAX_TAGS, MAX_TOKENS
from extract.loading import MAX_DOCUMENT_BYTES
from tests.corpus import render
from tests.corpus.truth import random_truth

REPO = Path(__file__).resolve().parent.parent
CHILD_ADDRESS_SPACE = 3 << 30  # the CLI child may not take the machine down if the bound regresses
PEAK_RSS = 1 << 30


def _too_large(data: bytes, name: str = "x.html") -> list[str]:
    """The messages of the document's input_too_large issues (all errors), and it read nothing."""
    report = parse_document(data, name)
    found = [i for i in report.issues if i.code == "input_too_large"]
    assert all(i.severity == "error" for i in found)
    if found:
        assert not report.cells and report.document_kind == "not_annual_report"
    return [i.message for i in found]


def _limit_child() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CHILD_ADDRESS_SPACE, CHILD_ADDRESS_SPACE))


@pytest.mark.timeout(120)
def test_cli_refuses_millions_of_td_cells_quickly_and_within_bounded_memory(tmp_path: Path) -> None:
    # Just under the byte cap of a read (MAX_DOCUMENT_BYTES; the issue's 59 MB page is refused by size
    # alone now), so only the parser's own limits stand between these 6 million cells and the memory.
    page = tmp_path / "cells.html"
    page.write_bytes(b"<html><body><table><tr>" + b"<td>1" * ((MAX_DOCUMENT_BYTES - 100) // 5))
    out = tmp_path / "out.jsonl"
    with out.open("wb") as stdout:
        proc = subprocess.Popen([sys.executable, "-m", "orchestration.cli", "parse", str(page), "--jsonl"], cwd=REPO,
                                stdout=stdout, stderr=subprocess.DEVNULL, preexec_fn=_limit_child)
        _, status, usage = os.wait4(proc.pid, 0)  # the child's own peak RSS
    assert os.waitstatus_to_exitcode(status) == 0
    (line,) = out.read_text().splitlines()
    issues = json.loads(line)["issues"]
    assert [(i["code"], i["severity"]) for i in issues] == [("input_too_large", "error")]
    assert "extract.limits.MAX_TAGS" in issues[0]["message"] and str(MAX_TAGS) in issues[0]["message"]
    assert usage.ru_maxrss * 1024 < PEAK_RSS  # 4.7 GB before the limits; the bytes and their text now


@pytest.mark.timeout(60)
def test_a_row_of_more_cells_than_the_token_limit_is_refused() -> None:
    (message,) = _too_large(b"<table><tr>" + b"<td>1" * (MAX_TOKENS + 1))
    assert "extract.limits.MAX_TOKENS" in message


@pytest.mark.timeout(60)
def test_many_rows_of_cells_over_the_token_limit_are_refused() -> None:
    rows = b"<tr>" + b"<td>7" * 100
    (message,) = _too_large(b"<table>" + rows * (MAX_TOKENS // 100 + 1) + b"</table>")
    assert "MAX_TOKENS" in message


@pytest.mark.timeout(60)
def test_a_text_line_of_more_numbers_than_the_token_limit_is_refused() -> None:
    (message,) = _too_large(("合计 " + "12 " * (MAX_TOKENS + 1)).encode(), "x.txt")
    assert "MAX_TOKENS" in message


@pytest.mark.timeout(60)
@pytest.mark.parametrize("breaks", ["\n", "\r", "\u2028"])
def test_a_text_of_more_lines_than_the_line_limit_is_refused(breaks: str) -> None:
    (message,) = _too_large(("年度报告" + ("12" + breaks) * (MAX_LINES + 1)).encode(), "x.txt")
    assert "extract.limits.MAX_LINES" in message


@pytest.mark.timeout(60)
def test_html_text_of_more_lines_than_the_line_limit_is_refused() -> None:
    (message,) = _too_large(b"<html><body><pre>" + b"1\n" * (MAX_LINES + 1) + b"</pre></body></html>")
    assert "MAX_LINES" in message


@pytest.mark.timeout(60)
def test_a_report_with_heavy_chrome_is_read_in_full() -> None:
    """Limits far above real pages: a report beside 20,000 chrome cells and 5,000 text lines parses as before."""
    rng = random.Random(5)
    page = render(random_truth(rng, "2021"), "html_template", rng).data
    chrome = b"<table>" + (b"<tr>" + b"<td><a href='#'>link</a></td>" * 20 + b"</tr>") * 1000 + b"</table>"
    lines = b"<p>\xe6\xa0\x8f\xe7\x9b\xae 1 2 3</p>" * 5000
    report = parse_document(page.replace(b"</body>", chrome + lines + b"</body>"), "big.html")
    assert report.document_kind == "annual_report" and not report.has_errors
    assert report.values() == parse_document(page, "page.html").values()


@pytest.mark.timeout(60)
def test_spans_are_budgeted_per_page_not_per_table() -> None:
    """Thousands of tables each just under a per-table span budget were billions of grid slots of work."""
    table = b"<table><tr>" + b"<td rowspan=200 colspan=200>1</td>" * 4 + b"</tr></table>"
    report = parse_document(b"<html><body>" + table * 2000 + b"</body></html>", "spans.html")
    problems = [i for i in report.issues if i.code == "markup_too_large"]
    assert problems and problems[0].severity == "error" and str(SPAN_BUDGET) in problems[0].message
