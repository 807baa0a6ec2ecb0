"""Bad input ends in a clear issue: no crash, no hang, and a batch never stops on one bad file."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extract import parse_document
from tests.corpus import render
from tests.corpus.truth import random_truth

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def good_page() -> bytes:
    rng = random.Random(11)
    return render(random_truth(rng, "2021"), "html_template", rng).data


def _codes(data: bytes, name: str = "x.html") -> tuple[str, set[tuple[str, str]], int]:
    r = parse_document(data, name)
    return r.document_kind, {(i.code, i.severity) for i in r.issues}, len(r.cells)


@pytest.mark.timeout(30)
def test_empty_file() -> None:
    assert _codes(b"") == ("not_annual_report", {("empty_document", "error")}, 0)
    assert _codes(b" \n\t ") == ("not_annual_report", {("empty_document", "error")}, 0)


@pytest.mark.timeout(30)
def test_random_bytes() -> None:
    data = random.Random(1).randbytes(20_000)
    kind, codes, cells = _codes(data)
    assert (kind, cells) == ("not_annual_report", 0)
    assert ("decode_failure", "error") in codes


@pytest.mark.timeout(30)
def test_pdf_named_html_is_unsupported(good_page: bytes) -> None:
    kind, codes, _ = _codes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >>", "report.html")
    assert (kind, codes) == ("not_annual_report", {("decode_failure", "error")})  # read as the PDF it is: a broken one
    kind, codes, _ = _codes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512), "report.html")
    assert codes == {("unsupported_format", "error")}


@pytest.mark.timeout(30)
def test_html_without_tables() -> None:
    html = "<html><head><title>通知</title></head><body><p>关于做好政务公开工作的通知</p></body></html>".encode()
    kind, codes, cells = _codes(html)
    assert (kind, cells) == ("not_annual_report", 0)
    assert codes == {("no_tables", "warning"), ("not_a_report", "warning")}


@pytest.mark.timeout(30)
def test_truncated_html_reports_what_is_missing(good_page: bytes) -> None:
    cut = good_page[: good_page.index("四、政府信息公开行政复议".encode()) + 40]
    r = parse_document(cut, "cut.html")
    assert r.document_kind == "annual_report"
    assert any(i.code == "missing_table" and i.table == "review_litigation" and i.severity == "error" for i in r.issues)
    assert "applications.total_processed.total" in r.cells  # what was there is kept


@pytest.mark.timeout(60)
def test_fifty_megabyte_page(good_page: bytes) -> None:
    filler = ("<p>" + "填充内容，" * 200 + "</p>").encode()
    data = good_page.replace(b"</body>", filler * (50 * 1024 * 1024 // len(filler)) + b"</body>")
    assert len(data) > 50 * 1024 * 1024
    r = parse_document(data, "big.html")
    assert r.document_kind == "annual_report"
    assert not r.has_errors
    assert len(r.cells) > 100


@pytest.mark.timeout(60)
def test_deeply_nested_markup(good_page: bytes) -> None:
    data = b"<html><body>" + b"<div>" * 100_000 + good_page + b"</div>" * 100_000 + b"</body></html>"
    r = parse_document(data, "deep.html")
    assert r.document_kind == "annual_report"
    assert {i.code for i in r.issues} == {"markup_too_deep"}
    assert not r.has_errors


@pytest.mark.timeout(60)
def test_deeply_nested_tables_do_not_crash() -> None:
    kind, codes, cells = _codes(b"<table><tr><td>" * 20_000 + b"1")
    assert (kind, cells) == ("not_annual_report", 0)
    assert codes  # a clear issue, whatever the parser could salvage


@pytest.mark.timeout(120)
def test_cli_over_a_folder_of_mixed_input(tmp_path: Path, good_page: bytes) -> None:
    files = {
        "a_empty.html": b"",
        "b_random.bin": random.Random(2).randbytes(4096),
        "c_pdf.html": b"%PDF-1.4\n1 0 obj",
        "d_good.html": good_page,
        "e_truncated.html": good_page[: len(good_page) // 3],
        "f_notables.html": "<html><body><p>你好</p></body></html>".encode(),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "g_unreadable.html").write_bytes(b"x")
    os.chmod(tmp_path / "g_unreadable.html", 0)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-m", "orchestration.cli", "parse", str(tmp_path), "--jsonl"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=110)
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [Path(o["source"]).name for o in lines] == sorted([*files, "g_unreadable.html"])
    by_name = {Path(o["source"]).name: o for o in lines}
    assert by_name["d_good.html"]["document_kind"] == "annual_report"
    assert len(by_name["d_good.html"]["cells"]) > 100
    assert [i["severity"] for i in by_name["d_good.html"]["issues"]] == []
    for name in ("a_empty.html", "b_random.bin", "c_pdf.html"):
        assert by_name[name]["issues"] and by_name[name]["issues"][0]["severity"] == "error", name
    if os.geteuid() != 0:  # root can read a mode-0 file
        assert by_name["g_unreadable.html"]["issues"][0]["code"] == "unreadable_file"


@pytest.mark.timeout(60)
def test_cli_usage_errors(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run = lambda *a: subprocess.run([sys.executable, "-m", "orchestration.cli", *a], cwd=REPO, env=env,  # noqa: E731
                                    capture_output=True, text=True, timeout=50)
    assert run("parse").returncode == 2
    assert run("parse", str(tmp_path)).returncode == 2  # an empty folder: nothing to parse
    (tmp_path / "one.txt").write_text("二、主动公开政府信息情况\n", encoding="utf-8")
    out = run("parse", str(tmp_path / "one.txt"))
    assert out.returncode == 0 and "one.txt: not_annual_report" in out.stdout


@pytest.mark.timeout(120)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(
    st.binary(max_size=3000),
    st.text(max_size=2000).map(lambda t: t.encode("utf-8")),
    st.lists(st.sampled_from(["<table>", "<tr>", "<td rowspan=3>", "<td colspan=x>", "</td>", "</tr>", "</table>", "<th>",
                              "规章", "0", "—", "（三）不予公开", "1.属于国家秘密", "行政复议", "总计", "<br>", "<p>", "|", "\n",
                              "二、主动公开政府信息情况", "三、收到和处理政府信息公开申请情况", "<div class='nav'>", "</div>", "+1", "3 5"]),
             max_size=300).map(lambda parts: "".join(parts).encode("utf-8")),
))
def test_arbitrary_input_never_breaks_the_parser(data: bytes) -> None:
    report = parse_document(data, "fuzz.html")
    assert "parser_error" not in {i.code for i in report.issues}
    assert report.document_kind in ("annual_report", "not_annual_report")
    assert all(isinstance(c.value, (int, float)) for c in report.cells.values())


@pytest.mark.timeout(30)
def test_absurd_spans_do_not_blow_up_the_grid() -> None:
    cells = "<td rowspan=200 colspan=200>1</td>" * 50
    data = ("<table>" + ("<tr>" + cells + "</tr>") * 100 + "</table>").encode()
    kind, codes, _ = _codes(data)
    assert ("markup_too_large", "error") in codes


@pytest.mark.timeout(30)
@pytest.mark.parametrize("control", [bytes([b]) for b in (*range(0x00, 0x09), *range(0x0E, 0x20))])
def test_control_bytes_tell_binary_content_from_a_page(good_page: bytes, control: bytes) -> None:
    """Each control byte counts: a page thick with one is binary content (read as nothing), a page with a few
    of it, or with it only past the part sampled, is still read whole."""
    thick = good_page[:3000] + (control + b"x") * 2000 + good_page[3000:]
    kind, codes, cells = _codes(thick)
    assert (kind, cells) == ("not_annual_report", 0) and ("decode_failure", "error") in codes
    for data in (good_page.replace(b"</body>", control * 3 + b"</body>"), good_page + b"<p>" + control * 30_000 + b"</p>"):
        kind, codes, cells = _codes(data)
        assert kind == "annual_report" and cells > 100 and not any(sev == "error" for _, sev in codes)
