"""Tables for the metadata panel of the Dagster UI: bounded, so a 100,000-document run stays readable."""

from typing import Any

METADATA_ROWS = 50  # rows of a metadata table in the UI (the rest are counted; every row is in the warehouse)


def md_table(header: list[str], rows: list[list[Any]], limit: int | None = None) -> str:
    """Rows as a Markdown table for the UI's metadata panel (the first ``limit`` of them, the rest counted)."""
    if not rows:
        return "(none)"
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    shown = rows if limit is None else rows[:limit]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in row) + " |" for row in shown]
    if len(shown) < len(rows):
        lines.append(f"\n… and {len(rows) - len(shown):,} more")
    return "\n".join(lines)
