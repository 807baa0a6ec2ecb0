"""Warehouse load benchmark: generated pages -> parse (2 processes) -> land -> dbt pre_gate -> gate
-> dbt post_gate -> publish, wall time per stage, rows/s and ms per document.

    uv run python -m tests.bench.warehouse_load --n 1000
    uv run python -m tests.bench.warehouse_load --n 10000

Pages come from the corpus generator (``--unique`` distinct pages, default 1000, cycled under
distinct source URIs beyond that, so generation does not dominate); each is parsed for real.
Target: 10,000 documents (parsing included) within 60 s on 2 cores, per-document cost flat.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from extract import parse_document
from orchestration.warehouse.pipeline import build_warehouse
from tests.corpus import generate
from tests.warehouse_support import query, warehouse_paths


def _parse(item: tuple[bytes, str, dict]) -> object:
    data, source, headers = item
    return parse_document(data, source, headers)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="documents to load")
    parser.add_argument("--unique", type=int, default=1000, help="distinct generated pages")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2, help="parsing processes")
    parser.add_argument("--inconsistent-share", type=float, default=0.05)
    args = parser.parse_args(argv)

    start = time.perf_counter()
    docs = generate(min(args.n, args.unique), seed=args.seed, inconsistent_share=args.inconsistent_share)
    items = [(docs[i % len(docs)].data, f"bench/{i:06d}/{docs[i % len(docs)].name}", docs[i % len(docs)].headers)
             for i in range(args.n)]
    print(f"generated {len(docs)} distinct pages for {args.n} documents in {time.perf_counter() - start:.1f}s "
          f"({sum(len(d.data) for d in docs) / len(docs) / 1024:.0f} KB average)", flush=True)

    with tempfile.TemporaryDirectory(prefix="warehouse_bench_") as tmp:
        paths = warehouse_paths(Path(tmp))
        total = time.perf_counter()
        start = time.perf_counter()
        with ProcessPoolExecutor(max_workers=args.workers) as pool:
            reports = list(pool.map(_parse, items, chunksize=64))
        parse_seconds = time.perf_counter() - start
        print(f"parse done in {parse_seconds:.1f}s", flush=True)
        result = build_warehouse(reports, paths, progress=lambda m: print(f"  {m}", flush=True))
        wall = time.perf_counter() - total
        cells = result.landing.cells
        facts = query(paths.work_db, "select count(*) as n from marts.fct_metric").n[0]
        checks = result.gate.rule_checks

    seconds = {"parse": parse_seconds, **result.seconds}
    rows = {"parse": args.n, "land": cells, "dbt pre_gate": cells, "gate": checks, "dbt post_gate": facts,
            "publish": facts}
    print(f"\n{'stage':<14}{'seconds':>9}{'rows':>11}{'rows/s':>12}")
    for stage, s in seconds.items():
        n = rows.get(stage, 0)
        print(f"{stage:<14}{s:>9.2f}{n:>11,}{n / s if s else 0:>12,.0f}")
    print(f"{'total':<14}{wall:>9.2f}")
    print(f"\ndocuments {args.n:,}  cells {cells:,}  rule checks {checks:,}  facts {facts:,}")
    print(f"gate: {result.gate.counts}  batch gate: {'publish' if result.decision.ok else 'refused'} "
          f"({result.decision.reason})")
    print(f"per document: {wall / args.n * 1000:.2f} ms (target: 10,000 in <= 60 s, i.e. <= 6 ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
