"""Self-tests of the corpus generator: its truth is what it claims, its pages are what they claim."""

from __future__ import annotations

import json
import random
import re

import pytest

from extract.template import VERSIONS, keys_for
from tests.corpus import (BLANK_MARKERS, LAYOUTS, OTHER_LAYOUTS, REPORT_LAYOUTS, RULES, check_rules, generate, hard_cases,
                          inject_inconsistency, random_truth, render, write_corpus)
from tests.corpus.compare import cell_mismatches, field_mismatches

SEEDS = range(25)


@pytest.mark.parametrize("version", VERSIONS)
def test_random_truth_has_every_cell_of_its_version_and_keeps_the_rules(version):
    for seed in SEEDS:
        truth = random_truth(random.Random(seed), version)
        assert list(truth["cells"]) == list(keys_for(version))
        assert check_rules(truth["cells"], version) == []
        assert truth["expected_rule_failures"] == []
        assert int(truth["published"][:4]) == truth["year"] + 1


def test_truth_is_plausible_mostly_zeros_and_small_counts_some_large():
    values = [v for seed in SEEDS for v in random_truth(random.Random(seed), "2021")["cells"].values()]
    zeros = sum(v == 0 for v in values) / len(values)
    assert 0.4 < zeros < 0.95
    assert any(v >= 1000 for v in values)


def test_inconsistent_truth_is_not_silently_consistent():
    truth = random_truth(random.Random(3), "2019", consistent=False)
    assert truth["expected_rule_failures"] == check_rules(truth["cells"], "2019") != []


def test_rule_evaluator_names_instances_as_the_template_does():
    truth = random_truth(random.Random(1), "2019")
    cells = dict(truth["cells"])
    cells["applications.total_processed.legal_services"] += 2  # seed 001's defect
    assert check_rules(cells, "2019") == [
        "R1_balance:legal_services", "R2_row_total:total_processed", "R3_outcome_total:legal_services"]
    del cells["review_litigation.review.total"]
    assert "R6_complete:review_litigation" in check_rules(cells, "2019")


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("version", VERSIONS)
def test_injected_inconsistency_fails_exactly_the_stated_instances(rule, version):
    for seed in SEEDS:
        rng = random.Random(seed)
        truth = random_truth(rng, version)
        broken, expected = inject_inconsistency(truth, rule, rng)
        assert truth["expected_rule_failures"] == []  # the original is left alone
        assert expected and expected == check_rules(broken["cells"], version) == broken["expected_rule_failures"]
        assert any(f.startswith(rule + "_") for f in expected)
        changed = [k for k in truth["cells"] if truth["cells"][k] != broken["cells"][k]]
        assert 1 <= len(changed) <= 2
        if rule in ("R4", "R5"):  # these change one cell that only one rule instance covers
            assert len(expected) == 1


def test_inject_rejects_unknown_rules():
    with pytest.raises(ValueError, match="unknown rule"):
        inject_inconsistency(random_truth(random.Random(0), "2021"), "R9", random.Random(0))


def test_generate_is_deterministic_per_seed_and_mixes_layouts():
    a, b, c = generate(60, seed=7), generate(60, seed=7), generate(60, seed=8)
    assert [(d.name, d.data, d.truth) for d in a] == [(d.name, d.data, d.truth) for d in b]
    assert [d.data for d in a] != [d.data for d in c]
    assert len({d.layout for d in a}) >= 10
    assert {d.truth["template_version"] for d in a} >= {"2019", "2021"}


def test_layouts_option_and_unknown_layout():
    docs = generate(4, seed=1, layouts=["text_pipes", "image_only"])
    assert [d.layout for d in docs] == ["text_pipes", "image_only", "text_pipes", "image_only"]
    with pytest.raises(ValueError, match="unknown layout"):
        render(random_truth(random.Random(0), "2021"), "pdf_scan", random.Random(0))


def _charset_free(doc) -> bool:
    return b"charset" not in doc.data.lower() and "charset" not in " ".join(doc.headers.values()).lower()


@pytest.mark.parametrize("layout", ["html_gbk_declared", "html_gbk_undeclared", "html_gbk_header_only"])
def test_gbk_pages_really_are_gbk_bytes(layout):
    for doc in generate(6, seed=2, layouts=[layout]):
        text = doc.data.decode("gbk")
        assert doc.truth["agency"] in text
        with pytest.raises(UnicodeDecodeError):
            doc.data.decode("utf-8")
        if layout == "html_gbk_undeclared":
            assert _charset_free(doc)
        elif layout == "html_gbk_header_only":
            assert b"charset" not in doc.data.lower() and "charset=gbk" in doc.headers["Content-Type"]
        else:
            assert re.search(rb"charset=\"?(gbk|gb2312)", doc.data, re.I)


def test_utf8_pages_with_a_bom_or_a_lying_declaration():
    for doc in generate(3, seed=2, layouts=["html_utf8_bom"]):
        assert doc.data.startswith(b"\xef\xbb\xbf") and _charset_free(doc)
        assert doc.truth["agency"] in doc.data.decode("utf-8-sig")
    for doc in generate(3, seed=2, layouts=["html_charset_lies"]):
        assert b"charset=gb2312" in doc.data and doc.truth["agency"] in doc.data.decode("utf-8")


@pytest.mark.parametrize("layout", [name for name in REPORT_LAYOUTS if name.startswith("html_")])
def test_html_report_pages_are_50_to_60_kb_with_chrome(layout):
    for doc in generate(4, seed=3, layouts=[layout]):
        assert 50_000 <= len(doc.data) <= 60_000, (doc.name, len(doc.data))
        text = doc.data.decode(doc.meta["encoding"])
        for marker in ("索引号", "ICP备", "<script", "分享到", "一、总体情况", "五、存在的主要问题及改进情况"):
            assert marker in text, (doc.name, marker)


def test_layout_variations_are_really_in_the_pages():
    def page(layout: str) -> str:
        return "".join(d.data.decode(d.meta["encoding"]) for d in generate(8, seed=4, layouts=[layout]))

    assert "<o:p>" in page("html_word") and "MsoNormal" in page("html_word")
    assert re.search(r">\d</span><span lang=EN-US style='font-family:仿宋_GB2312'>\d", page("html_word"))  # split runs
    assert '<td class="main"><h1' in page("html_cms") and "&nbsp;</FONT><TD" in page("html_cms")  # no </TD>
    assert "<th" in page("html_th")
    assert re.search("[０-９]", page("html_fullwidth"))
    assert re.search(r"\d,\d{3}", page("html_thousands"))
    assert "万元" in page("html_units") and "件<" in page("html_units")
    assert sum(f">{m}<" in page("html_blank_markers") for m in BLANK_MARKERS) >= 4
    for doc in generate(3, seed=4, layouts=["html_merged"]):  # the page header block and the one merged report table
        assert doc.data.count(b"<table") == 2
    assert "colspan=\"5\">法人或其他组织" in page("html_template") and 'rowspan="8">（三）不予公开' in page("html_template")
    assert re.search(r"^规章 \| [-—/无\d,]+ \| ", page("text_rows"), re.M)
    assert re.search(r"^\S.* \|$", page("text_pipes"), re.M) and "  自然人\n\n" in page("text_lines").replace("(", "（")


def test_other_pages_are_classified_not_reports_and_have_no_tables():
    for doc in generate(len(OTHER_LAYOUTS) * 3, seed=5, layouts=list(OTHER_LAYOUTS)):
        assert doc.truth["document_kind"] == "not_annual_report" and doc.truth["cells"] == {}
        assert "申请人情况" not in doc.data.decode(doc.meta["encoding"])


def test_every_layout_renders_both_versions():
    for layout in LAYOUTS:
        for version in VERSIONS:
            doc = render(random_truth(random.Random(11), version), layout, random.Random(12))
            assert doc.data and doc.layout == layout


def test_hard_cases_record_what_the_parser_must_say():
    docs = hard_cases(seed=0, per_case=2)
    by_case = {d.layout: d.truth for d in docs}
    assert by_case["hard_two_numbers"]["expected_errors"][0]["code"] == "unreadable_value"
    assert by_case["hard_lost_row_label"]["expected_errors"][0]["table"] == "applications"
    assert by_case["hard_missing_cell"]["expected_errors"][0]["code"] == "cell_count_mismatch"
    assert by_case["hard_missing_row"]["expected_errors"][0]["code"] == "missing_cell"
    assert by_case["hard_review_cell_missing"]["expected_errors"][0]["table"] == "review_litigation"
    assert by_case["hard_review_cell_missing_zero"]["expected_errors"] == []
    assert by_case["hard_extra_row"]["expected_errors"] == []
    assert any(k.startswith("active.extra.") for k in by_case["hard_extra_row"]["cells"])
    for truth in by_case.values():
        assert check_rules(truth["cells"], truth["template_version"]) == []
    texts = [d for d in hard_cases(seed=0, per_case=4) if d.layout == "hard_review_cell_missing" and d.name.endswith(".txt")]
    assert texts
    for doc in texts:  # the damage is really in the page: table 四 has 14 values after its last header
        table = doc.data.decode().split("五、存在的主要问题")[0].rsplit("总计", 1)[-1]
        assert len(re.findall(r"^  \S+$", table, re.M)) == 14, doc.name


def test_compare_counts_missing_wrong_and_unexpected_cells():
    truth = random_truth(random.Random(0), "2019")
    got = {**truth, "cells": dict(truth["cells"])}
    assert cell_mismatches(truth, got) == [] and field_mismatches(truth, got) == []
    key = "active.procurement.amount_yuan"
    got["cells"][key] = truth["cells"][key] + 0.001  # amounts: within half a fen is exact
    assert cell_mismatches(truth, got) == []
    got["cells"]["applications.granted.total"] += 1
    del got["cells"]["active.rules.new_made"]
    got["cells"]["active.extra.x.new_made"] = 1
    got["year"] = 1999
    assert {m.key for m in cell_mismatches(truth, got)} == {
        "applications.granted.total", "active.rules.new_made", "active.extra.x.new_made"}
    assert [m.key for m in field_mismatches(truth, got)] == ["year"]


def test_write_corpus_writes_documents_and_truth_lines(tmp_path):
    docs = generate(5, seed=6)
    folder = write_corpus(docs, tmp_path / "corpus")
    lines = [json.loads(line) for line in (folder / "truth.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [line["name"] for line in lines] == [d.name for d in docs]
    assert all((folder / "documents" / d.name).read_bytes() == d.data for d in docs)
    assert sorted(p.name for p in (folder / "documents").iterdir()) == sorted(d.name for d in docs)
    assert lines[0]["truth"] == docs[0].truth and lines[0]["layout"] == docs[0].layout
