"""The five real seed documents parse exactly to their expected truth (../shared/seeds/expected)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from extract import PARSER_VERSION, parse_document

SEED_IDS = ["000_b4db0ae74d3253e2", "001_7a4d3651a9fce74d", "002_d92904f95ce501ba", "003_542df12d30bf80b6", "004_8c293465a3188d00"]


def _parse(seeds_dir: Path, seed: str):
    data = (seeds_dir / f"{seed}.txt").read_bytes()
    expected = json.loads((seeds_dir / "expected" / f"{seed}.json").read_text(encoding="utf-8"))
    return parse_document(data, f"{seed}.txt"), expected


@pytest.mark.parametrize("seed", SEED_IDS)
def test_seed_matches_expected(seeds_dir: Path, seed: str) -> None:
    report, expected = _parse(seeds_dir, seed)
    got = report.to_contract()
    for field in ("source", "document_kind", "template_version", "agency", "year", "published"):
        assert got[field] == expected[field], field
    assert got["cells"] == expected["cells"]
    assert report.parser_version == PARSER_VERSION
    assert len(report.content_hash) == 64


def _codes(report, table=None, severity=None):
    return [i.code for i in report.issues if (table is None or i.table == table) and (severity is None or i.severity == severity)]


@pytest.mark.parametrize("seed", SEED_IDS[:4])
def test_template_seeds_have_no_error_issue(seeds_dir: Path, seed: str) -> None:
    report, _ = _parse(seeds_dir, seed)
    assert _codes(report, severity="error") == []


def test_seed_000_zero_groups_filled_with_warning(seeds_dir: Path) -> None:
    report, _ = _parse(seeds_dir, SEED_IDS[0])
    filled = [i for i in report.issues if i.code == "zero_group_filled"]
    assert [i.table for i in filled] == ["applications"] * 3
    assert all(i.severity == "warning" for i in filled)
    assert {"61", "24", "40"} <= {w for i in filled for w in i.message.replace(",", " ").split()}
    assert report.cells["applications.denied_state_secret.natural_person"].filled
    assert report.agency != "区科技和工信局(台商投资区)"
    assert report.index_no == "XM03148-2500-2020-02677"


def test_seed_001_reads_the_total_faithfully(seeds_dir: Path) -> None:
    report, _ = _parse(seeds_dir, SEED_IDS[1])
    assert report.cells["applications.total_processed.legal_services"].value == 2
    assert report.cells["active.procurement.amount_yuan"].value == 35270.94
    assert report.issues == []


def test_seed_002_extra_row_and_provenance(seeds_dir: Path) -> None:
    report, _ = _parse(seeds_dir, SEED_IDS[2])
    assert _codes(report) == ["unknown_row"]
    extra = {k for k in report.cells if k.startswith("active.extra.")}
    assert extra == {f"active.extra.其他主动公开文件.{c}" for c in ("new_made", "new_published", "total_published")}
    cell = report.cells["active.normative_docs.new_made"]
    assert (cell.value, cell.raw_text, cell.row_label) == (6, "6", "规范性文件")


def test_seed_003_review_table_filled_and_signs(seeds_dir: Path) -> None:
    report, _ = _parse(seeds_dir, SEED_IDS[3])
    assert sorted(_codes(report, table="review_litigation")) == ["cell_count_mismatch", "zero_group_filled"]
    assert report.cells["active.licensing.change"].raw_text == "+1"
    assert report.cells["active.licensing.change"].value == 1


def test_seed_004_is_not_a_template_report(seeds_dir: Path) -> None:
    report, _ = _parse(seeds_dir, SEED_IDS[4])
    assert report.document_kind == "not_annual_report"
    assert report.cells == {}
    assert _codes(report) == ["not_a_report"]


def test_every_cell_keeps_its_provenance(seeds_dir: Path) -> None:
    report, _ = _parse(seeds_dir, SEED_IDS[3])
    for cell in report.cells.values():
        assert cell.raw_text and cell.row_label and cell.col_label and cell.row_index is not None
    change = report.cells["active.licensing.change"]
    assert (change.row_label, change.col_label, change.raw_text) == ("行政许可", "本年增/减", "+1")
    assert report.cells["applications.granted.legal_services"].col_label == "法律服务机构"
