"""Warehouse load benchmark: generated pages in a folder -> the refresh job ``disclosure refresh`` runs
(fetch, parse, land, dbt pre_gate, gate, dbt post_gate, checks, publish), wall time per asset from the
run's own step stats, rows/s and ms per document.

    uv run python -m tests.bench.warehouse_load --n 1000
    uv run python -m tests.bench.warehouse_load --n 10000

Pages come from the corpus generator (``--unique`` distinct pages, default 1000, cycled under
distinct file names beyond that, so generation does not dominate); each is fetched from the folder
and parsed for real (a folder carries no HTTP headers: the parser finds each page's charset itself).
Target: 10,000 documents (parsing included) within 60 s on 2 cores, per-document cost flat.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from tests.corpus import generate
from tests.warehouse_support import (batch_gate_decision, materialization_metadata, run_refresh_job, step_seconds,
                                     warehouse_paths)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--n", type=int, default=1000, help="documents to load")
    parser.add_argument("--unique", type=int, default=1000, help="distinct generated pages")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2, help="parsing processes (DISCLOSURE_PARSE_WORKERS)")
    parser.add_argument("--inconsistent-share", type=float, default=0.05)
    args = parser.parse_args(argv)
    os.environ["DISCLOSURE_PARSE_WORKERS"] = str(args.workers)

    start = time.perf_counter()
    docs = generate(min(args.n, args.unique), seed=args.seed, inconsistent_share=args.inconsistent_share)
    with tempfile.TemporaryDirectory(prefix="warehouse_bench_") as tmp:
        folder = Path(tmp) / "documents"
        folder.mkdir()
        for i in range(args.n):
            doc = docs[i % len(docs)]
            (folder / f"{i:06d}_{doc.name}").write_bytes(doc.data)
        print(f"generated {len(docs)} distinct pages for {args.n} documents in {time.perf_counter() - start:.1f}s "
              f"({sum(len(d.data) for d in docs) / len(docs) / 1024:.0f} KB average)", flush=True)

        paths = warehouse_paths(Path(tmp) / "warehouse")
        start = time.perf_counter()
        result, instance = run_refresh_job(paths, sources=folder, progress=True)
        wall = time.perf_counter() - start
        seconds = step_seconds(instance, result.run_id)
        landing = materialization_metadata(result, "raw_landing")
        gate = materialization_metadata(result, "quality_gate")
        published = materialization_metadata(result, "published_warehouse")
        decision = batch_gate_decision(result)

    cells = landing.get("landing", {}).get("cells", 0)
    checks, facts = gate.get("rule_checks", 0), published.get("rows.marts.fct_metric", 0)
    rows = {"source_documents": args.n, "raw_landing": cells, "dbt_pre_gate": cells, "quality_gate": checks,
            "dbt_post_gate": facts, "published_warehouse": facts}
    print(f"\n{'step':<46}{'seconds':>9}{'rows':>11}{'rows/s':>12}")
    for step, s in seconds.items():
        n = rows.get(step, 0)
        print(f"{step:<46}{s:>9.2f}{n:>11,}{n / s if s and n else 0:>12,.0f}")
    print(f"{'run (wall)':<46}{wall:>9.2f}")
    print(f"\ndocuments {args.n:,}  parsed {landing.get('parsed', 0):,}  cells {cells:,}  rule checks {checks:,}  facts {facts:,}")
    verdict = "did not run" if decision is None else f"{'publish' if decision.ok else 'refused'} ({decision.reason})"
    print(f"run {'succeeded' if result.success else 'FAILED'}; gate: "
          f"{ {k: gate.get(k) for k in ('passed', 'quarantined', 'not_applicable')} }; batch gate: {verdict}")
    print(f"per document: {wall / args.n * 1000:.2f} ms (target: 10,000 in <= 60 s, i.e. <= 6 ms)")
    return 0 if result.success else 1


if __name__ == "__main__":
    raise SystemExit(main())
