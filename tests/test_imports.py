"""Imports run one way: orchestration/ uses extract/ and expectations/, never the reverse.

Read from the modules' import statements (every ``import`` and ``from ... import``, also inside
functions), so a lazy import cannot hide a dependency.
"""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def imported_packages(folder: Path) -> dict[str, set[str]]:
    """Per module file of the package in ``folder``: the top-level packages it imports (a relative
    import stays inside the package)."""
    package = folder.name
    found = {}
    for path in sorted(folder.rglob("*.py")):
        names = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                names.add(package if node.level else node.module.split(".")[0])
        found[str(path.relative_to(folder.parent))] = names
    return found


@pytest.mark.parametrize("package, forbidden", [
    ("extract", {"orchestration", "dagster", "expectations"}),
    ("expectations", {"orchestration", "dagster"}),
])
def test_imports_run_one_way(package, forbidden):
    modules = imported_packages(REPO / package)
    assert modules, f"no modules found in {package}/"
    wrong = {module: sorted(names & forbidden) for module, names in modules.items() if names & forbidden}
    assert not wrong, f"{package}/ must not import {sorted(forbidden)}: {wrong}"


def test_import_scan_sees_lazy_imports(tmp_path):
    """The scan itself: function-level imports are found, relative ones stay in the package."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "m.py").write_text("from . import sibling\n\ndef f():\n    from orchestration.warehouse.db import connect\n    import dagster\n")
    assert imported_packages(package) == {"pkg/m.py": {"pkg", "orchestration", "dagster"}}
