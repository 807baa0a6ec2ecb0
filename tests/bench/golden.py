"""Golden outputs of the parser: write them once, then check a refactoring changes nothing.

    uv run python -m tests.bench.golden write FILE [--n 3000] [--seed 0]
    uv run python -m tests.bench.golden compare FILE [--n 3000] [--seed 0]

The documents: the bundled sample corpus, the seeds (``../shared/seeds``), ``--n`` generated pages
in every layout (reports and non-reports, some inconsistent) and every hard case. Each document's
full record is kept — ``ParsedReport.to_record()``: metadata, cells with table/row/column and
labels, issues, claims — as one JSON line. ``compare`` prints the first differences and exits 1
when there are any. The data file is not kept in the repository: write it before the change.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path

from extract import parse_document
from tests.corpus import generate, hard_cases
from tests.corpus.layouts import LAYOUTS

ROOT = Path(__file__).resolve().parents[2]
FILE_FOLDERS = (ROOT / "orchestration" / "sample_corpus" / "documents", ROOT.parent / "shared" / "seeds")


def records(n: int, seed: int) -> Iterator[str]:
    """One JSON line per document, in a fixed order."""
    for folder in FILE_FOLDERS:
        for path in sorted(folder.glob("*.*")):
            yield _line(path.name, parse_document(path.read_bytes(), str(path.relative_to(folder.parent))).to_record())
    docs = generate(n, seed=seed, layouts=LAYOUTS, inconsistent_share=0.1) + hard_cases(seed=seed, per_case=10)
    for doc in docs:
        yield _line(doc.name, parse_document(doc.data, doc.name, doc.headers).to_record())


def _line(name: str, record: dict) -> str:
    return json.dumps({"name": name, "record": record}, ensure_ascii=False, sort_keys=False, default=str)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    ap.add_argument("action", choices=("write", "compare"))
    ap.add_argument("file")
    ap.add_argument("--n", type=int, default=3000, help="generated documents (default 3000)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if args.action == "write":
        with open(args.file, "w", encoding="utf-8") as out:
            count = sum(out.write(line + "\n") > 0 for line in records(args.n, args.seed))
        print(f"wrote {count} records to {args.file}")
        return 0
    with open(args.file, encoding="utf-8") as f:
        golden = f.read().splitlines()
    now = list(records(args.n, args.seed))
    diffs = [(g, c) for g, c in zip(golden, now) if g != c]
    for g, c in diffs[:5]:
        print(f"DIFFERS {json.loads(g)['name']}:\n  golden {g[:600]}\n  now    {c[:600]}")
    if len(golden) != len(now):
        print(f"record count differs: golden {len(golden)}, now {len(now)}")
    print(f"{len(now)} records, {len(diffs)} differ")
    return 1 if diffs or len(golden) != len(now) else 0


if __name__ == "__main__":
    sys.exit(main())
