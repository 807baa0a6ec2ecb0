"""The fetch results of the local pages a refresh plan knew unchanged (``known_unchanged``), in one Arrow file
beside the chunk files: the writer reads them as records, column by column.

At 100,000 pages these results went through Dagster's IO manager as objects, pickled and unpickled twice
(plan → gather → writer: seconds of a refresh with nothing changed); the file is written once and read
once, and a step that only counts them reads one column. Their headers are kept as a fetch record holds them
(``to_record``: the JSON ``raw.fetches`` stores).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from .fetcher import RECORD_FIELDS, FetchResult, headers_json

COLUMNS = tuple(f.name for f in RECORD_FIELDS)
TYPES = {"http_status": pa.int32(), "size": pa.int64(), "changed": pa.bool_()}


def write_known(path: Path, results: Sequence[FetchResult]) -> None:
    """Write ``results`` to ``path`` (Arrow IPC, written whole: a temp file, then renamed)."""
    columns = {c: [getattr(r, c) for r in results] for c in COLUMNS if c != "headers"}
    columns["headers"] = [headers_json(r.headers) for r in results]
    table = pa.table({c: pa.array(v, type=TYPES.get(c, pa.string())) for c, v in columns.items()})
    tmp = Path(f"{path}.tmp")
    with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    tmp.replace(path)


def _read(path: Path, columns: list[str] | None = None) -> pa.Table:
    with pa.memory_map(str(path)) as source:
        return pa.ipc.open_file(source).read_all().select(columns or list(COLUMNS))


def known_sources(path: Path | None) -> pa.Array:
    """The sources in the file (none without one)."""
    if path is None:
        return pa.array([], type=pa.string())
    return _read(path, ["source_uri"]).column("source_uri").combine_chunks()


def known_records(path: Path | None, besides: Iterable[str] = ()) -> list[dict]:
    """The file's results as ``FetchResult.to_record()`` rows (headers as their JSON), but for the sources in
    ``besides`` (reached by a chunk step too: its result counts, as within one fetch)."""
    if path is None:
        return []
    table = _read(path)
    besides = pa.array(list(besides), type=pa.string())
    if len(besides):
        table = table.filter(pc.invert(pc.is_in(table.column("source_uri"), value_set=besides)))
    return table.to_pylist()


def overlap(path: Path | None, sources: Iterable[str]) -> int:
    """How many of ``sources`` are in the file."""
    sources = pa.array(list(sources), type=pa.string())
    known = known_sources(path)
    if not len(sources) or not len(known):
        return 0
    return pc.sum(pc.is_in(known, value_set=sources)).as_py() or 0
