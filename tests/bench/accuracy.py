"""Extraction accuracy on a generated corpus with known truth.

    uv run python -m tests.bench.accuracy [--n 2000] [--seed 0] [--inconsistent-share 0.1] [--layouts A,B] [--out FOLDER]

Prints documents, cells, % cells exact, document-level accuracy (kind / version / agency / year),
metadata right or flagged (every field right, or an error issue raised) and silent metadata errors,
silent errors (a wrong or missing value with no error-severity issue: must be 0), flagged documents,
hard cases flagged as expected, a per-layout breakdown and example failures. Exits 1 if there is a
silent error or fewer than 99.9 % of cells are exact.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from extract import parse_document
from tests.corpus import GeneratedDoc, generate, hard_cases, write_corpus
from tests.corpus.compare import FIELDS, Mismatch, cell_mismatches, error_issues, field_mismatches, flagged_as_expected, metadata_silent

MIN_CELLS_EXACT = 99.9


@dataclass
class Tally:
    docs: int = 0
    cells: int = 0
    cells_exact: int = 0
    silent: int = 0
    flagged: int = 0
    meta_silent: int = 0  # a wrong kind / version / agency / year with no error issue
    fields_right: Counter = field(default_factory=Counter)
    fields_judged: Counter = field(default_factory=Counter)

    def cells_pct(self) -> float:
        return 100.0 * self.cells_exact / self.cells if self.cells else 100.0


@dataclass
class Outcome:
    doc: GeneratedDoc
    wrong: list[Mismatch]
    flagged: bool
    silent: bool
    crashed: str | None = None
    published_ok: bool = False
    meta_silent: bool = False


def judge(doc: GeneratedDoc) -> Outcome:
    try:
        got = parse_document(doc.data, doc.name, doc.headers).to_contract()
    except Exception as exc:  # a crash is a loud failure, not a silent one; count it and go on
        return Outcome(doc, [Mismatch("parse", "no exception", repr(exc))], True, False, crashed=repr(exc))
    wrong = field_mismatches(doc.truth, got) + cell_mismatches(doc.truth, got)
    flagged = bool(error_issues(got))
    if doc.truth.get("expected_errors"):
        silent = not flagged_as_expected(doc.truth, got)
    else:
        silent = bool(wrong) and not flagged
    return Outcome(doc, wrong, flagged, silent, published_ok=got.get("published") == doc.truth["published"],
                   meta_silent=metadata_silent(doc.truth, got))


def add(t: Tally, o: Outcome) -> None:
    t.docs += 1
    truth = o.doc.truth
    skip = set(truth.get("uncertain_keys", ()))
    judged = [k for k in truth["cells"] if k not in skip]
    wrong_keys = {m.key for m in o.wrong}
    t.cells += len(judged)
    t.cells_exact += sum(k not in wrong_keys for k in judged)
    t.silent += o.silent
    t.flagged += o.flagged
    t.meta_silent += o.meta_silent
    fields = FIELDS if truth["document_kind"] == "annual_report" else FIELDS[:2]
    for f in fields:
        t.fields_judged[f] += 1
        t.fields_right[f] += f not in wrong_keys and o.crashed is None
    if truth["document_kind"] == "annual_report":
        t.fields_judged["published"] += 1
        t.fields_right["published"] += o.published_ok


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    ap.add_argument("--n", type=int, default=2000, help="generated documents (default 2000)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--inconsistent-share", type=float, default=0.1, help="share of reports that break a rule (read as written)")
    ap.add_argument("--hard-per-case", type=int, default=10, help="documents per hard case (default 10)")
    ap.add_argument("--layouts", default=None, help="comma-separated layout names (default: the generator's mix)")
    ap.add_argument("--examples", type=int, default=12, help="example failures to print")
    ap.add_argument("--out", default=None, help="also write the corpus to this folder (documents/ and truth.jsonl)")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    layouts = args.layouts.split(",") if args.layouts else None
    docs = generate(args.n, seed=args.seed, layouts=layouts, inconsistent_share=args.inconsistent_share)
    hard = hard_cases(seed=args.seed, per_case=args.hard_per_case)
    print(f"generated {len(docs)} documents + {len(hard)} hard cases in {time.perf_counter() - t0:.1f}s", flush=True)
    if args.out:
        print(f"wrote {write_corpus(docs + hard, args.out)}")

    total, clean = Tally(), Tally()
    per_layout: dict[str, Tally] = defaultdict(Tally)
    failures: list[Outcome] = []
    t0 = time.perf_counter()
    for i, doc in enumerate(docs + hard, 1):
        o = judge(doc)
        add(total, o)
        add(per_layout[doc.layout], o)
        if not doc.truth.get("expected_errors"):
            add(clean, o)
        if o.silent or o.crashed or (o.wrong and not doc.truth.get("expected_errors")):
            failures.append(o)
        if i % 250 == 0:
            print(f"  parsed {i}/{len(docs) + len(hard)} ({time.perf_counter() - t0:.0f}s)", flush=True)

    print()
    print(f"documents            {total.docs}  (hard cases {len(hard)})")
    print(f"cells                {clean.cells}  exact {clean.cells_pct():.3f} %  (pages without expected errors)")
    for f in FIELDS:
        print(f"{f:<20} {100.0 * total.fields_right[f] / max(total.fields_judged[f], 1):.2f} %  of {total.fields_judged[f]}")
    print(f"{'published':<20} {100.0 * total.fields_right['published'] / max(total.fields_judged['published'], 1):.2f} %  "
          f"of {total.fields_judged['published']}  (informative, not gated)")
    print(f"metadata right or flagged {100.0 * (total.docs - total.meta_silent) / max(total.docs, 1):.2f} %  "
          f"(silent metadata errors {total.meta_silent}: must be 0)")
    print(f"silent errors        {total.silent}")
    print(f"flagged documents    {total.flagged}  (an error-severity issue raised)")
    crashed = sum(o.crashed is not None for o in failures)
    print(f"parser exceptions    {crashed}")
    print()
    print(f"{'layout':<34}{'docs':>6}{'cells exact %':>15}{'flagged':>9}{'silent':>8}{'docs wrong':>12}")
    wrong_docs = Counter(o.doc.layout for o in failures)
    for name in sorted(per_layout):
        t = per_layout[name]
        print(f"{name:<34}{t.docs:>6}{t.cells_pct():>15.3f}{t.flagged:>9}{t.silent:>8}{wrong_docs[name]:>12}")

    if failures:
        print(f"\nexample failures ({len(failures)} documents):")
        shown: Counter = Counter()
        for o in sorted(failures, key=lambda o: (not o.silent, o.doc.name)):
            if shown[o.doc.layout] >= 2 or sum(shown.values()) >= args.examples:
                continue
            shown[o.doc.layout] += 1
            tag = "SILENT" if o.silent else "flagged" if o.flagged else "wrong"
            print(f"  [{tag}] {o.doc.name}: " + "; ".join(map(str, o.wrong[:4])) + (" …" if len(o.wrong) > 4 else ""))

    ok = total.silent == 0 and total.meta_silent == 0 and clean.cells_pct() >= MIN_CELLS_EXACT
    print(f"\n{'PASS' if ok else 'FAIL'}: silent errors {total.silent} (must be 0), cells exact {clean.cells_pct():.3f} % "
          f"(must be >= {MIN_CELLS_EXACT})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
