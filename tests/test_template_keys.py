"""The template's keys have one source, the metric dictionary seed (dbt_project/seeds/metric_dictionary.csv).

extract/template.py derives its key lists from it, dbt's macros read them from the loaded seed and
the intermediate models' tests check against it: no hand-written list of keys is left there.
(That dbt pivots exactly these keys is checked on a real build in tests/test_warehouse_seeds.py.)
"""

import ast
import csv
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from extract import template

REPO = Path(__file__).resolve().parent.parent
DICTIONARY = REPO / "dbt_project" / "seeds" / "metric_dictionary.csv"
KEY_LISTS_FORBIDDEN_IN = [
    REPO / "extract" / "template.py",
    *sorted((REPO / "dbt_project" / "macros").glob("*.sql")),
    *sorted((REPO / "dbt_project" / "models" / "intermediate").glob("*.sql")),
    *sorted((REPO / "dbt_project" / "models" / "intermediate").glob("*.yml")),
]


def _dictionary_rows() -> list[dict]:
    with DICTIONARY.open(encoding="utf-8", newline="") as fh:
        return sorted(csv.DictReader(fh), key=lambda r: int(r["sort_order"]))


def _template_keys() -> set[str]:
    return {r[c] for r in _dictionary_rows() for c in ("table_key", "row_key", "column_key")}


def _yaml_lists(node) -> Iterator[list[str]]:
    if isinstance(node, dict):
        for value in node.values():
            yield from _yaml_lists(value)
    elif isinstance(node, list):
        yield [v for v in node if isinstance(v, str)]
        for value in node:
            yield from _yaml_lists(value)


def key_lists(path: Path, keys: set[str]) -> list[list[str]]:
    """Literal lists (Python tuples/lists/sets, Jinja/YAML lists) naming two or more template keys."""
    if path.suffix == ".py":
        literals = [[e.value for e in node.elts if isinstance(e, ast.Constant)]
                    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                    if isinstance(node, (ast.Tuple, ast.List, ast.Set))]
    elif path.suffix == ".yml":
        literals = list(_yaml_lists(yaml.safe_load(path.read_text(encoding="utf-8"))))
    else:
        literals = [re.findall(r"""["']([^"']*)["']""", body)
                    for body in re.findall(r"\[([^\[\]]*)\]", path.read_text(encoding="utf-8"))]
    return [found for found in ([v for v in lit if v in keys] for lit in literals) if len(found) >= 2]


@pytest.mark.parametrize("path", KEY_LISTS_FORBIDDEN_IN, ids=lambda p: str(p.relative_to(REPO)))
def test_no_hand_written_key_list(path):
    assert key_lists(path, _template_keys()) == [], f"{path.relative_to(REPO)} lists template keys: derive them from the dictionary"


def test_key_scan_finds_hand_written_lists(tmp_path):
    """The scan itself finds a Python tuple, a Jinja list and a YAML list of keys."""
    keys = {"natural_person", "total", "review", "litigation_direct"}
    (tmp_path / "a.py").write_text('COLUMNS = ("natural_person", "total")\nNAME = "total"\n')
    (tmp_path / "a.sql").write_text("{{ return(['review', \"litigation_direct\"]) }} where x = 'total'")
    (tmp_path / "a.yml").write_text("tests:\n  - accepted_values:\n      values: [review, litigation_direct]\n")
    assert [key_lists(tmp_path / n, keys) for n in ("a.py", "a.sql", "a.yml")] == [
        [["natural_person", "total"]], [["review", "litigation_direct"]], [["review", "litigation_direct"]]]


def test_python_key_lists_follow_the_dictionary():
    rows = _dictionary_rows()

    def distinct(column, table):
        return tuple(dict.fromkeys(r[column] for r in rows if r["table_key"] == table))

    assert template.TABLES == tuple(dict.fromkeys(r["table_key"] for r in rows))
    assert template.APPLICANT_COLUMNS == distinct("column_key", "applications")
    assert template.REVIEW_ROWS == distinct("row_key", "review_litigation")
    assert template.REVIEW_COLUMNS == distinct("column_key", "review_litigation")
    assert template.VERSIONS == tuple(sorted({v for r in rows for v in r["template_versions"].split(",")}))
    assert [m.key for m in template.metrics()] == [r["metric_key"] for r in rows]
