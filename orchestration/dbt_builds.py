"""Whether a dbt build may be incremental (issue #11).

The incremental models (``dbt_project/macros/incremental.sql``) add and delete whole reports: a
report's landed rows never change under its ``report_id``. What changes the rows of reports already
built is everything else they are made from: the dbt project (models, macros, seeds), the parser
version, and the maintainers' corrections, waivers and agency overrides. When any of these differs
from the last complete build (both phases), or the run is ``--full``, both phases run with
``--full-refresh``. A build that did not complete (a failing data test, a gate that failed between the
phases) makes the next one full: an incremental build tests only the reports it adds
(``get_where_subquery`` in dbt_project/macros/incremental.sql), so a failure in reports an incomplete build
already added would otherwise pass unseen. Landing forgets the record when it replaces a report's rows under
the same id (re-parsed by another parser version, re-keyed), so that build is full too."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

from orchestration.resources import dbt_source_files
from orchestration.warehouse.landing import dbt_build_record


def digest_files(digest, files: Iterable[Path]) -> None:
    """Each file's path and bytes into ``digest``."""
    for path in files:
        digest.update(f"{path}\0".encode())
        digest.update(path.read_bytes())


def model_inputs_fingerprint(paths, parser_version: str) -> str:
    """A digest of what built rows are made from besides the reports: dbt project, parser, overrides."""
    digest = hashlib.sha256(parser_version.encode())
    overrides = [Path(p) for p in paths.override_files if p and Path(p).exists()]
    digest_files(digest, [*dbt_source_files(Path(paths.dbt_project_dir)), *overrides])
    return digest.hexdigest()


def _state(paths, which: str) -> Path:
    """``pending``: the fingerprint the build in progress started from; ``built``: that of the last complete
    build (landing forgets it when it replaces a report's rows, ``forget_dbt_build``)."""
    built = dbt_build_record(paths.work_db)
    return built if which == "built" else built.with_name(f"dbt_{which}.inputs.sha256")


def needs_full_refresh(paths, parser_version: str, full: bool, first_phase: bool) -> bool:
    """True when this phase must rebuild every model (``--full-refresh``), see the module's docstring. The
    first phase notes the fingerprint it started from, so both phases of a run decide alike."""
    pending = _state(paths, "pending")
    if first_phase and pending.exists():  # the last build started did not complete (record_complete_build)
        _state(paths, "built").unlink(missing_ok=True)
    if first_phase or not pending.exists():
        pending.write_text(model_inputs_fingerprint(paths, parser_version))
    built = _state(paths, "built")
    return full or not built.exists() or built.read_text().strip() != pending.read_text().strip()


def record_complete_build(paths) -> None:
    """After the last phase built: later builds may be incremental while the fingerprint holds."""
    _state(paths, "pending").replace(_state(paths, "built"))
