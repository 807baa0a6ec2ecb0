"""dbt's two phases alone, incremental, on a copy of a built work DB: the cost of a refresh's dbt steps where
a share of the reports changed, per phase and per node (dbt's run_results.json), without fetching,
landing or publishing.

    uv run python -m tests.bench.dbt_incremental /tmp/wh10k/warehouse/work/disclosure.duckdb --changed-share 0.01
    uv run python -m tests.bench.dbt_incremental WORK_DB --project /path/to/other/checkout/dbt_project  # A/B

That share of the current annual reports is deleted from every incremental model (``materialized:
incremental`` in the manifest), so the build adds exactly those reports back, as after a refresh where they
changed; ``dbt build --select tag:pre_gate`` then ``tag:post_gate`` run without ``--full-refresh``, as the
dbt assets run them. The work DB itself is left as it was.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2] / "dbt_project"


def incremental_models(manifest: Path) -> list[str]:
    nodes = json.loads(manifest.read_text())["nodes"].values()
    return sorted(f'{n["schema"]}.{n.get("alias") or n["name"]}' for n in nodes
                  if n["resource_type"] == "model" and n["config"].get("materialized") == "incremental")


def remove_reports(db: Path, models: list[str], share: float) -> int:
    """Delete every ``1/share``-th current annual report from ``models``; returns how many reports."""
    import duckdb

    step = max(1, round(1 / share))
    with duckdb.connect(str(db)) as con:
        con.execute("create temp table changed as select report_id from (select report_id, row_number() over "
                    f"(order by report_id) as n from intermediate.int_annual_reports) where n % {step} = 0")
        for model in models:
            con.execute(f"delete from {model} where report_id in (select report_id from changed)")
        return con.execute("select count(*) from changed").fetchone()[0]


def build(project: Path, db: Path, target: Path, phase: str, top: int) -> None:
    dbt = Path(sys.executable).with_name("dbt")
    variables = json.dumps({"work_db": str(db), "agency_overrides": str(project / "overrides" / "agency_identity.csv")})
    start = time.perf_counter()
    proc = subprocess.run([str(dbt), "build", "--select", f"tag:{phase}", "--vars", variables, "--target-path", str(target)],
                          cwd=project, capture_output=True, text=True, timeout=3600)
    wall = time.perf_counter() - start
    results = json.loads((target / "run_results.json").read_text())
    nodes = sorted(results["results"], key=lambda r: -r["execution_time"])
    print(f"{phase}: exit {proc.returncode}, wall {wall:.1f} s (dbt's run {results['elapsed_time']:.1f} s, "
          f"{len(nodes)} nodes, their times add up to {sum(r['execution_time'] for r in nodes):.1f} s)")
    for r in nodes[:top]:
        print(f"   {r['execution_time']:7.2f} s  {r['unique_id'].split('.')[0]:5} {r['unique_id'].split('.')[2]}")
    if proc.returncode:
        print(proc.stdout[-3000:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("work_db", type=Path)
    parser.add_argument("--changed-share", type=float, default=0.01)
    parser.add_argument("--project", type=Path, default=PROJECT, help="the dbt project (another checkout's, for an A/B)")
    parser.add_argument("--top", type=int, default=10, help="slowest nodes shown per phase")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="dbt_incremental_") as tmp:
        db, target = Path(tmp) / "work.duckdb", Path(tmp) / "target"
        shutil.copyfile(args.work_db, db)
        subprocess.run([str(Path(sys.executable).with_name("dbt")), "parse", "--target-path", str(target), "--vars",
                        json.dumps({"work_db": str(db)})], cwd=args.project, check=True, capture_output=True, timeout=600)
        models = incremental_models(target / "manifest.json")
        print(f"{remove_reports(db, models, args.changed_share):,} reports removed from {', '.join(models)}")
        for phase in ("pre_gate", "post_gate"):
            build(args.project.resolve(), db, target, phase, args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
