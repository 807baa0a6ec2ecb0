"""The refresh job: every asset and check, in one process, tagged as a warehouse writer.

In-process execution lets the warehouse resource hold the work DB lock for the whole run, and
saves a Python start-up per step; parsing brings its own small process pool.
"""

from __future__ import annotations

import logging
import sys

from dagster import AssetSelection, define_asset_job, in_process_executor, logger

from orchestration.resources import WRITER_TAG

refresh_job = define_asset_job(
    name="refresh",
    selection=AssetSelection.all(),
    executor_def=in_process_executor,
    tags={WRITER_TAG: "true"},
    description="Fetch, parse, land, dbt build, quality gate and publish (incremental; `full: true` on source_documents re-does everything).",
)


@logger(description="Terse progress lines on stdout (used by `disclosure refresh`): stages and the assets' own messages.")
def progress_logger(init_context) -> logging.Logger:
    out = logging.getLogger(f"disclosure.progress.{init_context.run_id}")
    out.setLevel(logging.DEBUG)  # Dagster's step events arrive at DEBUG
    out.propagate = False
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(_ProgressFormatter())
    handler.addFilter(_drop_empty)
    out.handlers = [handler]
    return out


class _ProgressFormatter(logging.Formatter):
    """Step starts and failures from Dagster's events; everything the assets log themselves."""

    def format(self, record: logging.LogRecord) -> str:
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        if event is None:
            return f"  {meta.get('orig_message', record.getMessage())}" if record.levelno >= logging.INFO else ""
        kind = event.event_type_value
        if kind == "STEP_START":
            return f"▶ {event.step_key}"
        if kind in ("STEP_FAILURE", "RUN_FAILURE"):
            return f"✗ {event.step_key or 'run'}: {meta.get('orig_message', '')}"
        if kind == "ASSET_CHECK_EVALUATION":
            data = event.event_specific_data
            return f"  check {data.check_name}: {'passed' if data.passed else 'FAILED'}"
        return ""


def _drop_empty(record: logging.LogRecord) -> bool:
    return bool(_ProgressFormatter().format(record))
