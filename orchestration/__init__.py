"""disclosure-warehouse's orchestration: the Dagster code location, the fetcher and the warehouse helpers."""

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent  # the one repository root every default path is taken from
