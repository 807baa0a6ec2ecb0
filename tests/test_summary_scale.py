"""The end-of-run summary fits one screen whatever the size of the load (issue #11): a summary of a
100,000-report refresh with every rule failing somewhere and thousands of stale overrides is still a
screenful of counts, never a line per report or per override."""

from orchestration.refresh import print_summary
from orchestration.warehouse.config import WarehousePaths

SCREEN = 50  # lines


def test_the_summary_of_a_national_load_fits_one_screen(capsys, tmp_path):
    rules = [f"R{i}_rule" for i in range(7)] + [f"W{i}_rule" for i in range(1, 6)]
    summary = {
        "run_id": "r" * 36, "failures": [], "lock_wait": None,
        "assets": {
            "source_documents": {"sources": 100_000, "fetched": 100_000, "unchanged": 0, "failed": 120},
            "raw_landing": {"parsed": 99_880, "skipped_already_parsed": 0, "parse_errors": 12, "retired": 0,
                            "parser_version": "x"},
            "quality_gate": {"data_docs": str(tmp_path / "data_docs"),
                             "override_warnings": [f"corrections.csv:{n}: report not in the warehouse" for n in range(5_000)]},
        },
        "checks": {"hard_rules_hold": {"verdicts": {
            "by_status": {"passed": 70_000, "quarantined": 20_000, "not_applicable": 9_880},
            "by_format": {fmt: {"passed": 1, "quarantined": 1} for fmt in ("html", "pdf", "docx", "xlsx", "text")},
            "by_rule": {rule: {"reports": 2_000, "instances": 5_000} for rule in rules},
            "top_failures": [{"failure": f"R1_rule:column_{n}", "reports": 900 - n} for n in range(10)],
        }}},
    }
    print_summary(summary, WarehousePaths.beside(str(tmp_path / "disclosure.duckdb")), success=True)
    out = capsys.readouterr().out.splitlines()
    assert len(out) <= SCREEN, "\n".join(out)
    assert "  overrides   5000 take no effect (quality.override_warnings):" in out
    assert "  override    … and 4995 more (quality.override_warnings)" in out
