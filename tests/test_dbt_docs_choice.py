"""Which dbt docs page the publish copies (a review finding of #11): the page the post_gate dbt process wrote
after its build, or one the publish generates. Chosen by what a page is made of (the dbt project's key and a
digest of the relations' catalog, noted beside it: ``dbt_metadata.docs_key``), never by file times."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.warehouse_support import build_warehouse, parse_seeds, warehouse_paths


@pytest.fixture(scope="module")
def built(tmp_path_factory, seeds_dir):
    paths = warehouse_paths(tmp_path_factory.mktemp("docs"))
    result = build_warehouse(parse_seeds(seeds_dir), paths)
    assert result.success and result.published
    return paths


def publish_docs(paths) -> Path:
    """What the publish does for the docs page: ``generate_docs`` with the real dbt."""
    from extract import PARSER_VERSION
    from orchestration.assets import DBT_PROJECT, dbt_docs_dir, dbt_target, dbt_vars
    from orchestration.dbt_builds import model_inputs_fingerprint
    from orchestration.dbt_metadata import generate_docs
    from orchestration.resources import dbt_resource

    return generate_docs(dbt_resource(DBT_PROJECT), dbt_vars(paths), dbt_target(paths), dbt_docs_dir(paths),
                         paths.work_db, model_inputs_fingerprint(paths, PARSER_VERSION))


def later_than(path: Path, other: Path) -> None:
    stamp = other.stat().st_mtime_ns + 10**9
    os.utime(path, ns=(stamp, stamp))


def test_a_page_of_other_relations_is_not_published_however_new_its_file(built):
    from orchestration.assets import dbt_docs_dir, dbt_target

    target, docs = dbt_target(built), dbt_docs_dir(built)
    assert (docs / "static_index.html").exists()
    (target / "static_index.html").write_text("<html>a page of other relations</html>")
    (target / ".docs_inputs").write_text("another project\nanother catalog")
    later_than(target / "static_index.html", target / "run_results.json")  # newer than the last build's results
    (docs / ".docs_inputs").unlink()  # the published page must be chosen again
    page = publish_docs(built)
    assert "other relations" not in page.read_text(encoding="utf-8") and "dim_report" in page.read_text(encoding="utf-8")


def test_the_page_made_of_these_relations_is_copied_however_old_its_file(built):
    from orchestration.assets import dbt_docs_dir, dbt_target

    target, docs = dbt_target(built), dbt_docs_dir(built)
    made = (target / "static_index.html").read_text(encoding="utf-8")
    (target / "static_index.html").write_text(made + "<!-- made for these relations -->", encoding="utf-8")
    later_than(target / "run_results.json", target / "static_index.html")  # e.g. a later dbt command there
    (docs / ".docs_inputs").unlink()
    page = publish_docs(built)
    assert page.read_text(encoding="utf-8").endswith("<!-- made for these relations -->"), "copied, not generated again"
