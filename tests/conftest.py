"""Shared pytest fixtures."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO.parent / "shared" / "seeds"


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    """The five real seed documents (../shared/seeds) and their expected truth."""
    if not SEEDS.is_dir():
        pytest.fail(f"seed documents not found at {SEEDS}: ../shared must sit beside the repo")
    return SEEDS
