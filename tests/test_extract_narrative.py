"""Numbers the narrative states (W3_narrative's input): read only where the metric is unambiguous."""

from pathlib import Path

import pytest

from extract import parse_document
from extract.narrative import read_claims
from extract.tokens import Token
from tests.corpus import generate

RECEIVED, PROCESSED = "applications.new_received.total", "applications.total_processed.total"


def _claims(text: str) -> list[tuple[str, int]]:
    return [(c.key, c.value) for c in read_claims([Token(text, None, 3)])]


@pytest.mark.parametrize(("text", "expected"), [
    ("全年共受理政府信息公开申请30件，均在法定期限内予以答复。", [(RECEIVED, 30)]),  # TEMPLATE.md's example
    ("本年度共收到各类政府信息公开申请３０件", [(RECEIVED, 30)]),  # full-width digits
    ("全年共答复依申请公开25件,全部按期办结", [(PROCESSED, 25)]),  # seed 001
    ("共办结政府信息公开申请 12 件，其中予以公开5件", [(PROCESSED, 12)]),
    ("受理申请3件；答复申请4件。", [(RECEIVED, 3), (PROCESSED, 4)]),
])
def test_claims_read_where_the_metric_is_clear(text, expected):
    assert sorted(_claims(text)) == sorted(expected)


@pytest.mark.parametrize("text", [
    "共受理政府信息公开申请30件（含上年结转2件）",  # mixes rows
    "共受理政府信息公开申请30件(包括上年结转2件)",
    "收到行政复议申请2件",  # table 四
    "受理上年结转政府信息公开申请2件",  # the carried-over row
    "共受理申请三十件",  # Chinese numerals
    "全年办理政府信息公开申请32件",  # 办理: processed or received, the page does not say
    "受理的30件申请均已答复",  # the count before 申请
])
def test_no_claim_where_the_sentence_is_ambiguous(text):
    assert _claims(text) == []


def test_table_cells_are_not_narrative():
    assert read_claims([Token("共受理政府信息公开申请30件", 0, 1, 1)]) == []


def test_claim_keeps_its_words_and_line():
    [claim] = read_claims([Token("一、总体情况", None, 1), Token("全年共受理政府信息公开申请30件，均按时答复。", None, 7)])
    assert (claim.text, claim.line) == ("受理政府信息公开申请30件", 7)


def test_seed_001_states_its_processed_total(seeds_dir: Path):
    report = parse_document((seeds_dir / "001_7a4d3651a9fce74d.txt").read_bytes(), "001")
    assert [(c.key, c.value) for c in report.claims] == [(PROCESSED, 25)]
    assert report.cells[PROCESSED].value == 25


def test_claims_are_not_in_the_parse_contract(seeds_dir: Path):
    report = parse_document((seeds_dir / "001_7a4d3651a9fce74d.txt").read_bytes(), "001")
    assert "claims" not in report.to_contract()


def test_generated_narrative_claims_agree_with_the_truth():
    """The generator states new_received.total in its narrative: every claim read must be that number."""
    docs = generate(60, seed=5)
    claimed = 0
    for doc in docs:
        report = parse_document(doc.data, doc.name, doc.headers)
        for claim in report.claims:
            assert claim.value == doc.truth["cells"][claim.key], (doc.name, claim)
            claimed += 1
    assert claimed >= 60  # most reports state it, several times
