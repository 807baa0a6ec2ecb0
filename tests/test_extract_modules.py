"""Issue #13: the parser stays readable — no module in extract/ grows past ~350 lines."""

from __future__ import annotations

from pathlib import Path

import extract

MAX_LINES = 350


def test_no_extract_module_is_over_350_lines() -> None:
    folder = Path(extract.__file__).parent
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in folder.glob("*.py")}
    assert sizes, folder
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}
