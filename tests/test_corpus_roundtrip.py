"""Round trip: known truth rendered into every layout must parse back exactly (the parser's spec).

Failures here name the layout and the cells; the generated page can be reproduced with
``render(random_truth(Random(seed), version), layout, Random(seed))``.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extract import parse_document
from extract.template import VERSIONS
from tests.corpus import (OTHER_LAYOUTS, REPORT_LAYOUTS, RULES, hard_cases, inject_inconsistency, other_truth, random_truth,
                          render)
from tests.corpus.compare import cell_mismatches, error_issues, field_mismatches, flagged_as_expected


def _parse(doc) -> dict:
    return parse_document(doc.data, doc.name, doc.headers).to_contract()


def _assert_exact(doc, got: dict) -> None:
    errors = error_issues(got)
    assert not errors, f"{doc.name}: error issues on a clean page: {errors}"
    wrong = field_mismatches(doc.truth, got) + cell_mismatches(doc.truth, got)
    assert not wrong, f"{doc.name}: {len(wrong)} wrong: " + "; ".join(map(str, wrong[:8]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), layout=st.sampled_from(sorted(REPORT_LAYOUTS)), version=st.sampled_from(VERSIONS),
       broken=st.sampled_from((None, None, None, *RULES)))
def test_any_truth_in_any_layout_parses_back_exactly(seed, layout, version, broken):
    """Every field and cell exact, no error issue; numbers that break a rule are read as written, not fixed."""
    rng = random.Random(seed)
    truth = random_truth(rng, version)
    if broken:
        truth, _ = inject_inconsistency(truth, broken, rng)
    doc = render(truth, layout, rng)
    _assert_exact(doc, _parse(doc))


@pytest.mark.parametrize("layout", sorted(REPORT_LAYOUTS))
@pytest.mark.parametrize("version", VERSIONS)
def test_each_layout_parses_back_exactly(layout, version):
    """One fixed example per layout and version, so a failing layout is named even when hypothesis shrinks elsewhere."""
    rng = random.Random(f"{layout}-{version}")
    doc = render(random_truth(rng, version), layout, rng)
    _assert_exact(doc, _parse(doc))


@pytest.mark.parametrize("layout", sorted(OTHER_LAYOUTS))
def test_pages_that_are_not_reports_are_classified_and_given_no_numbers(layout):
    for i in range(3):
        rng = random.Random(f"{layout}-{i}")
        doc = render(other_truth(rng), layout, rng)
        got = _parse(doc)
        assert got["document_kind"] == "not_annual_report", doc.name
        assert got["template_version"] is None and not got["cells"], doc.name


@pytest.mark.parametrize("doc", hard_cases(seed=0, per_case=4), ids=lambda d: d.name)
def test_hard_cases_are_flagged_never_silently_wrong(doc):
    got = _parse(doc)
    if doc.truth["expected_errors"]:
        assert flagged_as_expected(doc.truth, got), f"{doc.name}: expected {doc.truth['expected_errors']}, got issues {got['issues']}"
        wrong = [m for m in cell_mismatches(doc.truth, got) if m.got is not None]
        assert not wrong, f"{doc.name}: flagged, but also placed wrong numbers: {wrong[:5]}"
    else:
        _assert_exact(doc, got)
