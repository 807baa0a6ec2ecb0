"""What the refresh process carries into dbt and the publish (issue #11: the process tree's peak at 100k
documents is this process plus dbt's DuckDB, or plus the publish's): the fetch log's index is dropped
once fetching is done, and freed memory is given back to the OS before DuckDB takes its limit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from dagster import AssetKey

from tests.warehouse_support import run_refresh_job, warehouse_paths

REPO = Path(__file__).resolve().parent.parent
BUNDLED = REPO / "orchestration" / "sample_corpus" / "documents"


def test_the_fetch_log_index_is_dropped_once_fetching_is_done(tmp_path):
    from orchestration.fetching import store

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("g01_2021_html_template.html", "g07_2021_text_pipes.txt"):
        (corpus / name).write_bytes((BUNDLED / name).read_bytes())
    paths = warehouse_paths(tmp_path / "wh")
    result, _ = run_refresh_job(paths, [AssetKey("source_documents")], sources=corpus)
    assert result.success
    log = Path(paths.work_db).parent / "raw" / store.LOG_NAME
    assert log.exists() and len(log.read_text().splitlines()) == 2  # both fetched, into the log the index reads
    assert not store._INDEXES  # before: a line per source of the fetch log, held for the rest of the run


FREED_THEN_TRIMMED = """
import os
from orchestration.warehouse.db import return_freed_memory

def rss():
    return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

blocks = [bytes(1000) + str(i).encode() for i in range(200_000)]  # ~200 MB in malloc's heap (> 512 bytes each)
top = bytes(1000) + b"top"  # still in use above them: free() alone cannot shrink the heap
del blocks
freed = rss()
return_freed_memory()
print(freed - rss())
"""


def test_freed_memory_goes_back_to_the_os():
    out = subprocess.run([sys.executable, "-c", FREED_THEN_TRIMMED], cwd=REPO, capture_output=True, text=True,
                         timeout=120, check=True).stdout
    assert int(out.split()[-1]) > 100 * 2**20  # glibc kept the freed ~200 MB until asked
