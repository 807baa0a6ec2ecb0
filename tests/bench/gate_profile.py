"""The GX quality gate alone on a built work DB (e.g. one ``warehouse_load --keep`` left): wall time, peak
RSS, rule checks and failures, Data Docs size, and where the time goes (cProfile, top functions).

    uv run python -m tests.bench.warehouse_load --n 10000 --failure-share 0.4 --keep /tmp/wh10k
    uv run python -m tests.bench.gate_profile /tmp/wh10k/warehouse/work/disclosure.duckdb --changed-share 0.01

Runs on a copy of the work DB, so the warehouse it came from is left as it was. ``--replicate 10`` copies the
gate's input relations ten times (report ids suffixed): a 100k load for the gate alone from a 10k build. The first gate run is a
full one; ``--changed-share`` then changes that share of the reports' rule inputs (R1's ``new_received``
plus one, in ``intermediate.int_applications_by_applicant``) and runs the gate again (incremental).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import resource
import shutil
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("work_db", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--changed-share", type=float, default=0.0, help="then an incremental run with this share changed")
    parser.add_argument("--replicate", type=int, default=1,
                        help="the gate's input relations copied this many times (report ids suffixed): 10 turns 10k into 100k")
    args = parser.parse_args(argv)
    import duckdb

    from expectations.gate import run_gate

    with tempfile.TemporaryDirectory(prefix="gate_profile_") as tmp:
        db, docs = Path(tmp) / "work.duckdb", Path(tmp) / "data_docs"
        shutil.copyfile(args.work_db, db)
        with duckdb.connect(str(db)) as conn:
            conn.execute("drop schema if exists quality cascade")  # from empty: no earlier verdicts
            if args.replicate > 1:
                _replicate(conn, args.replicate)
            profile = cProfile.Profile()
            _report("full", docs, *_timed(lambda: profile.runcall(run_gate, conn, docs)))
            pstats.Stats(profile).sort_stats("cumulative").print_stats(args.top)
            if args.changed_share:
                conn.execute("update intermediate.int_applications_by_applicant set new_received = new_received + 1 "
                             "where hash(report_id) % ? = 0", [max(1, round(1 / args.changed_share))])
                _report(f"{args.changed_share:.1%} changed", docs, *_timed(lambda: run_gate(conn, docs)))
    return 0


def _replicate(conn, times: int) -> None:
    """Every relation the rules read (and the current reports) as ``times`` copies, report ids suffixed: the
    gate's load at ``times`` the scale without parsing and building it (a view becomes a table)."""
    from expectations.rules import RULES

    for relation in sorted({r.relation for r in RULES} | {"intermediate.int_reports_current"}):
        schema, name = relation.split(".")
        (kind,) = conn.execute("select table_type from information_schema.tables where table_schema = ? and table_name = ?",
                               [schema, name]).fetchone()
        conn.execute(f"create or replace temp table copy_of as select * from {relation}")
        conn.execute(f"drop {'view' if kind == 'VIEW' else 'table'} {relation}")
        conn.execute(f"create table {relation} as select * replace (report_id || '-' || copy as report_id) "
                     f"from copy_of, range({times}) as copies(copy)")
    conn.execute("drop table copy_of")
    print(f"replicated the gate's inputs {times} times: "
          f"{conn.execute('select count(*) from intermediate.int_reports_current').fetchone()[0]:,} reports", flush=True)


def _timed(call):
    start = time.perf_counter()
    result = call()
    return result, time.perf_counter() - start


def _report(label: str, docs: Path, result, wall: float) -> None:
    files = [p for p in docs.rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    print(f"gate ({label}): {wall:.1f} s; {getattr(result, 'mode', 'full')}, validated "
          f"{getattr(result, 'validated_reports', '?')} of {getattr(result, 'reports', '?')} reports; "
          f"{result.rule_checks:,} rule checks; failed instances (not waived) {result.failed_instances}; "
          f"Data Docs {len(files)} files, {size / 2**20:.1f} MiB; "
          f"peak RSS so far {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
