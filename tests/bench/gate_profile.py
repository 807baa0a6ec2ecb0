"""The GX quality gate alone on a built work DB (e.g. one ``warehouse_load --keep`` left): wall time,
rule checks and failures, Data Docs size, and where the time goes (cProfile, top functions).

    uv run python -m tests.bench.warehouse_load --n 10000 --keep /tmp/wh10k
    uv run python -m tests.bench.gate_profile /tmp/wh10k/warehouse/work/disclosure.duckdb

Runs on a copy of the work DB, so the warehouse it came from is left as it was.
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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work_db", type=Path)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    from expectations.gate import run_gate

    with tempfile.TemporaryDirectory(prefix="gate_profile_") as tmp:
        db, docs = Path(tmp) / "work.duckdb", Path(tmp) / "data_docs"
        shutil.copyfile(args.work_db, db)
        profile = cProfile.Profile()
        start = time.perf_counter()
        result = profile.runcall(run_gate, db, docs)
        wall = time.perf_counter() - start
        files = [p for p in docs.rglob("*") if p.is_file()]
        size = sum(p.stat().st_size for p in files)
        failing = sum(len(v) for v in result.failures.values())
        print(f"gate: {wall:.1f} s; {result.rule_checks:,} rule checks; {result.counts}; {failing:,} failing hard "
              f"instances; Data Docs {len(files)} files, {size / 2**20:.1f} MiB; "
              f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB")
        pstats.Stats(profile).sort_stats("cumulative").print_stats(args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
