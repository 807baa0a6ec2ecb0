"""``source_documents``: the manifest's sources fetched and parsed in chunks, one Dagster step per chunk.

A graph-backed asset, so one run (``disclosure refresh``, the UI, the schedule) fans out and the
asset graph still shows one ``source_documents``: ``plan_chunks`` splits the sources (every listing
in the first chunk, since its link budget is per run; documents ``sources_per_step`` at a time) →
one ``fetch_and_parse`` step per chunk (a Dagster dynamic output) → ``gather_fetches``. Each chunk
step fetches its sources into the raw store, parses the content its sources now show that this
parser has not parsed, and writes those outcomes to a chunk file beside the work DB; it never opens
the work DB for writing and never takes the warehouse lock, so chunk steps run side by side on the
multiprocess or Celery executor (the raw store and the chunk files are the shared storage).
``raw_landing``, the one writer, lands the chunk files in bulk (``prepared_outcomes``).
"""

import os
import pickle
import shutil
import socket
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from dagster import (
    AssetExecutionContext,
    Config,
    ConfigMapping,
    DynamicOut,
    DynamicOutput,
    MetadataValue,
    OpExecutionContext,
    Out,
    Output,
    graph_asset,
    op,
)

from orchestration.parsing import ParseOutcome, end_kept_workers, packed_pool, parse_job
from orchestration.progress import Progress, terminal
from orchestration.resources import FetchResource, ParseResource, SourcesResource, WarehouseResource
from orchestration.run_metadata import METADATA_ROWS, md_table

class RefreshConfig(Config):
    full: bool = False  # re-fetch and re-parse every source, not only new or changed ones


@dataclass
class FetchBatch:
    """What ``source_documents`` hands to parsing: every source's fetch result, and the mode."""

    results: list[Any]  # orchestration.fetching.fetcher.FetchResult, of the chunk steps
    full: bool
    store_root: str
    root: str | None = None  # the manifest's folder: local sources' report_ids are relative to it
    chunk_files: list[tuple[str, list[tuple[str, str]]]] = field(default_factory=list)  # (file, its (source, content)s): the chunk steps' parse outcomes
    known_file: str | None = None  # the results of the pages known unchanged and parsed (``known_pages``), kept out of Dagster's pickles
    known: int = 0  # how many


@dataclass
class Chunk:
    """One chunk step's work: its share of the manifest, and where everything lives (shared storage)."""

    index: int
    of: int  # the run's number of chunk steps
    manifest: Any  # orchestration.fetching.manifest.Manifest with this chunk's sources only
    config: Any  # orchestration.fetching.config.FetchConfig, resolved once for the run
    full: bool
    store_root: str
    work_db: str
    out_file: str


def raw_store_root(warehouse: WarehouseResource) -> Path:
    """The raw document store sits beside the work DB: both are the warehouse's private state."""
    return Path(warehouse.paths().work_db).parent / "raw"


def chunk_folder(work_db: Path) -> Path:
    """Where chunk steps leave their parse outcomes for the writer (beside the work DB: shared storage)."""
    return Path(work_db).parent / "chunks"


def progress_bar(context: OpExecutionContext | AssetExecutionContext):
    """The terminal to draw a progress bar on: only for runs that print progress (``disclosure refresh``'s
    ``progress`` logger), never for runs of the UI or the daemon."""
    return terminal() if "progress" in (context.run_config.get("loggers") or {}) else None


def steps_share_this_process(context: OpExecutionContext) -> bool:
    """Whether this run's chunk steps all run in this process (the in-process executor, the default): then
    the parse workers are kept from one step to the next (``end_kept_workers`` once all have run)."""
    config = (context.run.run_config.get("execution") or {}).get("config") or {"in_process": {}}
    return "in_process" in config


@op(out={"chunks": DynamicOut(Chunk), "batch": Out(FetchBatch)})
def plan_chunks(context: OpExecutionContext, config: RefreshConfig, sources: SourcesResource, warehouse: WarehouseResource,
                fetch: FetchResource, parse: ParseResource):
    """Split the manifest's sources into chunks of ``sources_per_step`` (every listing in the first one).

    The local pages already known to be unchanged and parsed (``known_unchanged``: their stat, no attachment
    links; their content landed by this parser) get no step: their fetch results go to the writer as they are.
    With nothing to fetch there is no chunk step at all (``gather_fetches`` then collects an empty list)."""
    from orchestration.fetching.config import FetchConfig
    from orchestration.fetching.known_pages import write_known

    manifest = sources.manifest(fetch)
    work_db = Path(warehouse.paths().work_db)
    folder = chunk_folder(work_db)
    shutil.rmtree(folder, ignore_errors=True)  # an earlier run's leftovers (writers never overlap)
    (folder / context.run_id).mkdir(parents=True, exist_ok=True)
    fetch_config = FetchConfig.resolve(manifest.settings, fetch.overrides())
    store_root = str(raw_store_root(warehouse))
    known, todo = ([], manifest.sources) if config.full else known_and_parsed(manifest, fetch_config, store_root, work_db)
    known_file = str(folder / context.run_id / "known.arrow") if known else None
    if known_file:
        write_known(Path(known_file), known)
    listings = [s for s in todo if s.kind == "listing"]
    documents = [s for s in todo if s.kind != "listing"]
    step = parse.sources_per_step
    groups = [g for g in [listings + documents[:step]] + [documents[i:i + step] for i in range(step, len(documents), step)] if g]
    context.log.info(f"fetch and parse: {len(manifest.sources)} sources, {len(known):,} of them local files unchanged "
                     f"and parsed (not read again), the rest in {len(groups)} step(s) of at most {step} documents "
                     "(DISCLOSURE_SOURCES_PER_STEP)")
    for index, group in enumerate(groups):
        out_file = str(folder / context.run_id / f"{index:05d}.pickle")
        chunk = Chunk(index, len(groups), replace(manifest, sources=group), fetch_config, config.full, store_root,
                      str(work_db), out_file)
        yield DynamicOutput(chunk, mapping_key=f"c{index:05d}", output_name="chunks")
    yield Output(FetchBatch(results=[], full=config.full, store_root=store_root,
                            root=str(manifest.root) if manifest.root else None, known_file=known_file, known=len(known)),
                 output_name="batch")


def known_and_parsed(manifest: Any, fetch_config: Any, store_root: str, work_db: Path) -> tuple[list[Any], list[Any]]:
    """(the fetch results of the local pages known unchanged whose content this parser has landed, the sources
    a step must fetch): a known page whose content still needs parsing (a new parser, a failed parse) is fetched
    and parsed by a step as any other."""
    from extract import PARSER_VERSION
    from orchestration.fetching.fetcher import known_unchanged
    from orchestration.fetching.store import RawStore
    from orchestration.warehouse.landing import parsed_reports

    known, rest = known_unchanged(manifest, RawStore(Path(store_root)), fetch_config)
    done = parsed_reports(work_db, PARSER_VERSION) if known else set()  # all: cheaper than naming 100,000 sources
    parsed = [r for r in known if (r.source_uri, r.content_hash) in done]
    if len(parsed) < len(known):
        again = {r.source_uri for r in known if (r.source_uri, r.content_hash) not in done}
        fetched = {id(s) for s in rest}
        rest = [s for s in manifest.sources if id(s) in fetched or s.location in again]
    return parsed, rest


@dataclass
class ChunkResult:
    """What a chunk step did: its fetch results, and which (source, content) it parsed into ``out_file``."""

    index: int
    results: list[Any]  # FetchResult
    out_file: str
    parsed: list[tuple[str, str]]
    worker: str  # host and pid of the process that ran the step


@op
def fetch_and_parse(context: OpExecutionContext, chunk: Chunk, parse: ParseResource) -> ChunkResult:
    """Fetch this chunk's sources into the raw store; parse the content they now show that this parser
    has not parsed yet (read from the work DB, read-only, for this chunk's sources only) into the chunk file,
    one outcome at a time. A document the manifest names goes to the parse workers as soon as it is fetched
    (the workers parse while the rest is fetched); what its fetch alone cannot settle (attachments, whose page
    and hints are settled once all are fetched; failures, whose earlier content stays current) once all are."""
    from extract import PARSER_VERSION
    from orchestration.fetching.fetcher import fetch_sources
    from orchestration.fetching.store import RawStore
    from orchestration.warehouse.landing import current_load, parsed_reports

    store = RawStore(Path(chunk.store_root))
    work_db = Path(chunk.work_db)
    named = {s.location for s in chunk.manifest.sources if s.kind != "listing"}  # (listings add theirs as they are read)
    # (source, content) not to parse: what this parser landed (asked now for the named sources, after the fetch
    # for the rest) and what is already with the parse workers
    skip = set() if chunk.full else parsed_reports(work_db, PARSER_VERSION, sorted(named))
    # the summaries within a step go to the event log only (debug): the terminal gets the step's one line below
    fetching = Progress("fetch", len(named), context.log.debug, progress_bar(context))
    parsing = Progress("parse", 0, context.log.debug)  # its bar once the fetch's is done
    parsed: list[tuple[str, str]] = []
    tmp = Path(chunk.out_file + ".tmp")
    with tmp.open("wb") as out, packed_pool(parse.worker_count(), parse.worker_memory_bytes(), context.log.info,
                                            keep=steps_share_this_process(context)) as parser:

        def queue(source: str, content_hash: str, result: Any) -> None:
            skip.add((source, content_hash))
            parsing.total += 1
            parser.add(parse_job(parse_item(store, source, content_hash, result), chunk.store_root))

        def write(outcomes: Iterator[tuple[int, Any]]) -> None:
            for _, packed in outcomes:
                out.write(packed.data)  # pickled by the worker (a ParseOutcome, its report as rows), read by the writer
                parsed.append((packed.source, packed.content_hash))
                parsing.advance(failed=packed.failed)

        def fetched(result: Any) -> None:
            fetching.advance(failed=result.status == "failed")
            if result.page is None and result.source_uri in named and result.status != "failed" and result.content_hash \
                    and (result.source_uri, result.content_hash) not in skip:
                queue(result.source_uri, result.content_hash, result)  # its own fetch settles a named document's content
            write(parser.ready())

        results = fetch_sources(chunk.manifest, store, chunk.config, full=chunk.full, progress=context.log.info,
                                on_result=fetched)
        fetched_line = fetching.close()
        load = current_load(work_db, [r.to_record() for r in results])
        others = [] if chunk.full else [s["source_uri"] for s in load if s["source_uri"] not in named]
        skip |= parsed_reports(work_db, PARSER_VERSION, others) if others else set()
        by_source = {r.source_uri: r for r in results}
        parsing.bar = progress_bar(context)
        for s in load:  # the rest: attachments, failures (their earlier content stays current), listings' documents
            if s["content_hash"] and (s["source_uri"], s["content_hash"]) not in skip:
                queue(s["source_uri"], s["content_hash"], by_source.get(s["source_uri"]))
        write(parser.rest())
    tmp.replace(chunk.out_file)
    parsed_line = parsing.close()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    context.log.info(f"chunk {chunk.index + 1}/{chunk.of}: {fetched_line}; {parsed_line} (in {worker})")
    return ChunkResult(chunk.index, results, chunk.out_file, parsed, worker)


@op
def gather_fetches(context: OpExecutionContext, batch: FetchBatch, chunks: list[ChunkResult], sources: SourcesResource) -> FetchBatch:
    """Every chunk's fetch results as one batch (a source two chunks reached counts once, as within one
    fetch: the first, still an attachment of the page that linked it), and the chunk files for the writer."""
    from orchestration.fetching.known_pages import overlap
    from orchestration.fetching.store import forget_log_indexes

    forget_log_indexes()  # every chunk step has fetched: this process needs the fetch log's index no more
    end_kept_workers()  # nor the parse workers its chunk steps kept
    chunks = sorted(chunks, key=lambda c: c.index)
    merged: dict[str, Any] = {}
    for result in (r for c in chunks for r in c.results):
        first = merged.setdefault(result.source_uri, result)
        if first is not result and first.page is None and result.page is not None:
            first.page = result.page
    results = list(merged.values())
    # the pages known unchanged (all ``unchanged``, in the known file), but for those a chunk step reached too
    known = batch.known - overlap(Path(batch.known_file) if batch.known_file else None, merged)
    counts = Counter(r.status for r in results) + Counter({"unchanged": known})
    failed = [r for r in results if r.status == "failed"]
    context.log.info(f"fetched {counts.get('fetched', 0)}, unchanged {counts.get('unchanged', 0)}, "
                     f"failed {len(failed)} of {len(results) + known} sources")
    context.add_output_metadata({
        "sources": len(results) + known,
        "fetched": counts.get("fetched", 0),
        "unchanged": counts.get("unchanged", 0),
        "failed": len(failed),
        "full_refresh": batch.full,
        "manifest": str(sources.location()),
        "steps": len(chunks),
        "workers": MetadataValue.json(sorted({c.worker for c in chunks})),
        "failures": MetadataValue.md(md_table(["source", "error"], [[r.source_uri, r.error or ""] for r in failed],
                                              limit=METADATA_ROWS)),
    })
    return replace(batch, results=results, chunk_files=[(c.out_file, c.parsed) for c in chunks])


@graph_asset(group_name="ingest", kinds={"python"}, config=ConfigMapping(
    config_fn=lambda config: {"plan_chunks": {"config": config}}, config_schema=RefreshConfig.to_config_schema()))
def source_documents() -> FetchBatch:
    """Fetch every source of the manifest into the raw store (conditional requests; unchanged sources cost
    little) and parse what is new, a chunk of sources per step (``raw_landing`` lands the chunks)."""
    chunks, batch = plan_chunks()
    return gather_fetches(batch, chunks.map(fetch_and_parse).collect())


def prepared_outcomes(batch: FetchBatch, todo: Sequence[Mapping]) -> tuple[Iterator[ParseOutcome], list[Mapping]]:
    """(the chunk steps' outcomes for ``todo``, each once; the ``todo`` rows no chunk parsed, for the writer
    to parse itself). The writer decides what is to land from the whole load; the chunks only did the work."""
    wanted = {(s["source_uri"], s["content_hash"]) for s in todo}
    covered = {tuple(key) for _, keys in batch.chunk_files for key in keys} & wanted
    files = [Path(f) for f, _ in batch.chunk_files]
    rest = [s for s in todo if (s["source_uri"], s["content_hash"]) not in covered]

    def outcomes() -> Iterator[ParseOutcome]:
        seen: set[tuple[str, str]] = set()
        for path in files:
            for outcome in _read(path):
                key = (outcome.source, outcome.content_hash)
                if key in wanted and key not in seen:
                    seen.add(key)
                    yield outcome

    return outcomes(), rest


def _read(path: Path) -> Iterator[ParseOutcome]:
    with path.open("rb") as f:
        while True:
            try:
                yield pickle.load(f)
            except EOFError:
                return


def discard_chunk_files(batch: FetchBatch) -> None:
    """The chunk files and the known file once landed (their run's folder)."""
    for folder in {Path(f).parent for f in [f for f, _ in batch.chunk_files] + [batch.known_file] if f}:
        shutil.rmtree(folder, ignore_errors=True)


def parse_items(results: Sequence[Any], store_root: str, todo: Sequence[Mapping]) -> list[tuple[str, str, dict, str | None, str | None]]:
    """``parse_item`` for each source of ``todo`` (rows of the current load), with its fetch result."""
    from orchestration.fetching.store import RawStore

    store = RawStore(Path(store_root))
    by_source = {r.source_uri: r for r in results}
    return [parse_item(store, s["source_uri"], s["content_hash"], by_source.get(s["source_uri"])) for s in todo]


def parse_item(store: Any, source: str, content_hash: str, result: Any) -> tuple[str, str, dict, str | None, str | None]:
    """``(source, content_hash, headers, agency hint, title hint)`` for ``parse_job``, with the headers the content
    arrived with (its charset) from the raw store's (``RawStore``) log: this run's answer may be a bare 304, or a
    failure that left the previous content current; the hint is the manifest's ``agency``, the title an
    attachment's link text on its page (both from the source's fetch ``result``, if any)."""
    stored = store.latest(source)
    if stored is not None and stored.content_hash == content_hash:
        headers = dict(stored.headers)
    else:
        headers = dict(result.headers or {}) if result is not None else {}
    return (source, content_hash, headers, result.agency_hint if result is not None else None,
            getattr(result, "title_hint", None))
