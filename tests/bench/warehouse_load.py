"""Warehouse load benchmark: ``disclosure refresh`` itself (the Dagster refresh job, in its own process) on
generated documents in a folder: wall time, peak RSS of the whole process tree (the command, its parse
workers, dbt), and wall time per asset from the run's own step stats.

    uv run python -m tests.bench.warehouse_load --n 10000
    uv run python -m tests.bench.warehouse_load --n 10000 --again --changed-share 0.01

Pages come from the corpus generator (``--unique`` distinct pages, default 1000, cycled under distinct
file names beyond that, so generation does not dominate): every report layout, ~1 in 10 pages not a
report, and ``--failure-share`` (default 0.2) of the reports breaking a rule (quarantined). ``--again``
then runs a refresh with nothing changed; ``--changed-share`` one where that share of the documents
changed (new bytes). Targets (issue #11): 10k from empty <= 60 s and <= 1.5 GB; no change on 100k <= 15 s.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from tests.corpus import generate

PAGE = os.sysconf("SC_PAGE_SIZE")


def tree_rss(root: int) -> tuple[int, int]:
    """Resident bytes of ``root`` and all its descendants now, and of ``root`` alone (from /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_text()
            statm = Path(f"/proc/{entry.name}/statm").read_text().split()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
        rss[int(entry.name)] = int(statm[1]) * PAGE
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total, rss.get(root, 0)


def run_refresh(sources: Path, warehouse: Path, home: Path, log: Path) -> dict:
    """One ``disclosure refresh`` in a child process: exit code, wall seconds, peak tree RSS, and per step
    (from the run's step stats) its seconds, the peak tree RSS while it ran and that of the refresh process
    alone (the rest: parse workers, dbt)."""
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    command = [sys.executable, "-m", "orchestration.cli", "refresh", "--sources", str(sources), "--warehouse", str(warehouse)]
    samples: list[tuple[float, int, int]] = []  # (epoch seconds, tree RSS, the refresh process's RSS)
    start = time.perf_counter()
    with log.open("w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.1):
                samples.append((time.time(), *tree_rss(process.pid)))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        code = process.wait(timeout=4 * 3600)  # a 100,000-document run on a loaded machine took over an hour
        wall = time.perf_counter() - start
        done.set()
        sampler.join()
    from dagster import DagsterInstance

    os.environ["DAGSTER_HOME"] = str(home)
    with DagsterInstance.get() as instance:
        run = instance.get_runs(limit=1)[0]
        stats = [s for s in instance.get_run_step_stats(run.run_id) if s.start_time and s.end_time]
    def peaks(start: float, end: float) -> tuple[int, int]:
        during = [(tree, own) for t, tree, own in samples if start <= t <= end]
        return max((tree for tree, _ in during), default=0), max((own for _, own in during), default=0)

    steps = {s.step_key: (s.end_time - s.start_time, *peaks(s.start_time, s.end_time))
             for s in sorted(stats, key=lambda s: s.start_time)}
    peak = max((r for _, r, _ in samples), default=0)
    return {"code": code, "wall": wall, "peak_rss": peak, "steps": steps, "log": log, "load": os.getloadavg()}


def report(label: str, n: int, result: dict) -> None:
    lines = result["log"].read_text(errors="replace").splitlines()
    print(f"\n== {label}: exit {result['code']}, wall {result['wall']:.1f} s, peak RSS (tree) "
          f"{result['peak_rss'] / 2**20:,.0f} MiB, {result['wall'] / n * 1000:.2f} ms/doc, "
          f"{len(lines):,} lines printed ({result['log']}); load average after "
          + "/".join(f"{x:.1f}" for x in result["load"]) + f" on {os.cpu_count()} cores (1/5/15 min)")
    for step, (s, rss, own) in result["steps"].items():
        print(f"   {step:<46}{s:>8.2f} s {rss / 2**20:>8,.0f} MiB peak (refresh process {own / 2**20:,.0f})")
    if result["code"] != 0:
        print("\n".join(lines[-15:]))


def generate_documents(folder: Path, args: argparse.Namespace) -> list[Path]:
    """``args.n`` documents in ``folder``: ``args.unique`` distinct generated pages under distinct names."""
    start = time.perf_counter()
    docs = generate(min(args.n, args.unique), seed=args.seed, inconsistent_share=args.failure_share)
    folder.mkdir(parents=True)
    names = []
    for i in range(args.n):
        doc = docs[i % len(docs)]
        names.append(folder / f"{i:06d}_{doc.name}")
        names[-1].write_bytes(doc.data)
    print(f"generated {len(docs)} distinct pages for {args.n:,} documents in {time.perf_counter() - start:.1f}s "
          f"({sum(len(d.data) for d in docs) / len(docs) / 1024:.0f} KB average)", flush=True)
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--n", type=int, default=1000, help="documents to load")
    parser.add_argument("--unique", type=int, default=1000, help="distinct generated pages")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2, help="parsing processes (DISCLOSURE_PARSE_WORKERS)")
    parser.add_argument("--failure-share", type=float, default=0.2, help="share of the reports that break a rule")
    parser.add_argument("--again", action="store_true", help="then a refresh with nothing changed")
    parser.add_argument("--changed-share", type=float, default=0.0, help="then a refresh with this share changed")
    parser.add_argument("--keep", default=None, help="a folder to work in and keep (default: a temporary one)")
    parser.add_argument("--reuse", action="store_true", help="the --keep folder holds an earlier run's documents and "
                        "warehouse: no refresh from empty, only --again and --changed-share on them")
    args = parser.parse_args(argv)
    if args.reuse and not args.keep:
        parser.error("--reuse needs --keep DIR (an earlier run's folder)")
    os.environ["DISCLOSURE_PARSE_WORKERS"] = str(args.workers)

    with tempfile.TemporaryDirectory(prefix="warehouse_bench_") as tmp:
        root = Path(args.keep or tmp)
        folder = root / "documents"
        warehouse, home = root / "warehouse" / "disclosure.duckdb", root / "dagster_home"
        results = []
        if args.reuse:
            names = sorted(folder.iterdir())
            args.n = len(names)
            print(f"reusing {args.n:,} documents and the warehouse in {root}", flush=True)
        else:
            names = generate_documents(folder, args)
            results.append(("from empty", run_refresh(folder, warehouse, home, root / "refresh-1.log")))
            report(*results[-1][:1], args.n, results[-1][1])
        if args.again:
            results.append(("nothing changed", run_refresh(folder, warehouse, home, root / f"refresh-2{'r' * args.reuse}.log")))
            report(results[-1][0], args.n, results[-1][1])
        if args.changed_share:
            step = max(1, round(1 / args.changed_share))
            for path in names[::step]:
                path.write_bytes(path.read_bytes() + b"\n<!-- changed -->\n")
            label = f"{len(names[::step]):,} changed ({args.changed_share:.1%})"
            results.append((label, run_refresh(folder, warehouse, home, root / f"refresh-3{'r' * args.reuse}.log")))
            report(label, args.n, results[-1][1])
    return 0 if all(r["code"] == 0 for _, r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
