"""The warehouse steps in sequence, for tests, the benchmark and any non-Dagster caller.

land -> dbt build tag:pre_gate -> quality gate -> dbt build tag:post_gate -> batch gate -> publish.
The Dagster assets (orchestration/assets.py) compose the very same functions.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from extract.model import ParsedReport

from .config import WarehousePaths
from .dbt import run_dbt
from .landing import LandingStats, land
from .publish import BatchDecision, batch_gate, publish

PRE_GATE = ["build", "--select", "tag:pre_gate"]
POST_GATE = ["build", "--select", "tag:post_gate"]


@dataclass
class BuildResult:
    """What a build did: per-stage seconds, landing stats, the gate, the batch decision, the file."""

    landing: LandingStats
    gate: object  # expectations.gate.GateResult
    decision: BatchDecision
    published: Path | None
    seconds: dict[str, float] = field(default_factory=dict)


def build_warehouse(
    reports: Iterable[ParsedReport],
    paths: WarehousePaths,
    fetches: Iterable[Mapping] = (),
    publish_: bool = True,
    failures: Iterable[Mapping] = (),
    progress: Callable[[str], None] | None = None,
) -> BuildResult:
    """Land, build, gate and (when the batch gate allows and ``publish_``) publish."""
    from expectations.gate import run_gate

    say = progress or (lambda _message: None)
    seconds: dict[str, float] = {}

    def stage(name: str, fn: Callable[[], object]) -> object:
        say(f"{name} ...")
        start = time.perf_counter()
        out = fn()
        seconds[name] = time.perf_counter() - start
        say(f"{name} done in {seconds[name]:.1f}s")
        return out

    landing = stage("land", lambda: land(paths.work_db, reports, fetches, corrections=paths.corrections_csv,
                                         waivers=paths.waivers_csv, failures=failures))
    stage("dbt pre_gate", lambda: run_dbt(PRE_GATE, paths.work_db, paths.agency_overrides_csv))
    gate = stage("gate", lambda: run_gate(paths.work_db, paths.data_docs_dir))
    stage("dbt post_gate", lambda: run_dbt(POST_GATE, paths.work_db, paths.agency_overrides_csv))
    decision = batch_gate(paths.work_db)
    say(f"batch gate: {'publish' if decision.ok else 'keep the previous warehouse'} ({decision.reason})")
    published = None
    if decision.ok and publish_:
        published = stage("publish", lambda: publish(paths.work_db, paths.published, paths.parquet_dir, log=say))
    return BuildResult(landing=landing, gate=gate, decision=decision, published=published, seconds=seconds)
