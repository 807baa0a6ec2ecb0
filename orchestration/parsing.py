"""Parsing documents from the raw store, in a pool of worker processes that a dead worker cannot sink.

``ProcessPoolExecutor`` breaks whole when one worker dies (SIGKILL from the OOM killer): every
document still pending fails with it. Here the parent knows which documents each worker holds, so
a dead worker costs only those: each is retried once, alone in a fresh process, and a document
that kills that process too is recorded as failed with the reason (landed in raw.parse_failures
like any parse failure). Each worker runs under an address-space ceiling (RLIMIT_AS, ParseResource's
worker_memory_mb): a document that would need more fails inside its own parse
with a MemoryError (an issue on the document) before the machine runs out and the kernel picks a
process to kill. Kept free of Dagster so a fresh worker starts in a fraction of a second.
"""

from __future__ import annotations

import os
import pickle
import resource
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing import get_context
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

PARSE_POOL_THRESHOLD = 24  # below this many documents, a process pool costs more than it saves
HELD_PER_WORKER = 2  # documents sent ahead to a worker (one parsing, one waiting), all a death can cost


@dataclass
class ParseOutcome:
    source: str
    content_hash: str
    report: Any = None  # extract.model.ParsedReport (parse_all), or its rows (orchestration.warehouse.report_rows.ReportRows)
    error: str | None = None  # why there is no report (unreadable from the store, or its parse worker died twice)


def parse_all(items: Sequence[tuple], store_root: str, log=print, workers: int = 1,
              memory_bytes: int | None = None) -> list[ParseOutcome]:
    """Parse ``(source, content_hash, headers[, manifest agency hint[, attachment title hint]])`` items from the raw store, in order; a pool
    of ``workers`` processes (ParseResource), each under ``memory_bytes`` of address space, when there are many.
    Each outcome holds the parsed report itself; one log line per document: for small batches (the refresh
    streams with ``parse_stream``)."""
    outcomes: list[ParseOutcome | None] = [None] * len(items)
    jobs = [parse_job(item, store_root) for item in items]
    for done, (index, outcome) in enumerate(survive_map(_parse_one, jobs, workers, memory_bytes, _worker_died, log), 1):
        outcomes[index] = outcome
        _log_parsed(log, done, len(items), outcome)
    return outcomes  # type: ignore[return-value]  (every index is filled)


def parse_stream(items: Sequence[tuple], store_root: str, log=print, workers: int = 1, memory_bytes: int | None = None,
                 keep: bool = False) -> Iterator[tuple[int, Packed]]:
    """``(index, packed outcome)`` for each item as it is parsed (not in order): the caller lands them in chunks,
    so no more than a chunk of parsed reports is ever held (``unpack`` gives the ``ParseOutcome``, its report as
    the rows landing writes). ``log`` gets only worker deaths. ``keep``: the workers stay for the next call."""
    with packed_pool(workers, memory_bytes, log, keep) as pool:
        for item in items:
            pool.add(parse_job(item, store_root))
        yield from pool.rest()


def packed_pool(workers: int, memory_bytes: int | None, log=print, keep: bool = False) -> SurvivingPool:
    """A pool whose jobs (``parse_job``) come back as ``Packed`` outcomes, ready for a chunk file."""
    return SurvivingPool(parse_packed, workers, memory_bytes, packed_death, log, keep)


def parse_job(item: tuple, store_root: str) -> tuple:
    """A parse worker's job for ``(source, content_hash, headers[, manifest agency hint[, attachment title hint]])``."""
    source, content_hash, headers, agency, title = (*item, None, None)[:5]  # (the hints are optional)
    return (source, content_hash, headers, store_root, agency, title)


def _log_parsed(log, done: int, total: int, outcome: ParseOutcome) -> None:
    if outcome.error is not None:
        log(f"parse {done}/{total}: FAILED {outcome.source}: {outcome.error}")
    else:
        r = outcome.report
        log(f"parse {done}/{total}: {r.document_kind} {r.template_version or '-'} {r.year or '-'} {outcome.source}")


def _parse_one(job: tuple[str, str, dict, str, str | None, str | None]) -> ParseOutcome:
    """One document; a failure is recorded with its reason, never raised (the run goes on)."""
    from extract import parse_document
    from orchestration.fetching.store import RawStore

    source, content_hash, headers, store_root, agency_hint, title_hint = job
    try:
        data = RawStore(Path(store_root)).get(content_hash)
        return ParseOutcome(source, content_hash, report=parse_document(data, source, headers, agency_hint, title_hint))
    except Exception as exc:  # noqa: BLE001 - any parser failure is recorded against the document
        return ParseOutcome(source, content_hash, error=f"{type(exc).__name__}: {exc}")


def _worker_died(job: tuple[str, str, dict, str, str | None], reason: str) -> ParseOutcome:
    source, content_hash = job[:2]
    return ParseOutcome(source, content_hash, error=reason)


@dataclass
class Packed:
    """A ``ParseOutcome`` (its report as rows) pickled where it was made: the chunk step writes ``data`` to
    its chunk file as it is, so only the writer unpickles it (once, not on the way through)."""

    source: str
    content_hash: str
    failed: bool
    data: bytes


def pack(outcome: ParseOutcome) -> Packed:
    return Packed(outcome.source, outcome.content_hash, outcome.report is None,
                  pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL))


def unpack(packed: Packed) -> ParseOutcome:
    return pickle.loads(packed.data)


def parse_packed(job: tuple[str, str, dict, str, str | None, str | None]) -> Packed:
    """``_parse_one``, its report as the rows landing writes (``report_rows``, built here in the worker), pickled."""
    from orchestration.warehouse.report_rows import report_rows

    outcome = _parse_one(job)
    if outcome.report is not None:
        outcome.report = report_rows(outcome.report)
    return pack(outcome)


def packed_death(job: tuple[str, str, dict, str, str | None], reason: str) -> Packed:
    return pack(_worker_died(job, reason))


# --- the pool ----------------------------------------------------------------------------------


# Workers a run keeps between its calls (``keep``): the in-process executor runs every chunk step of a
# refresh in one process, and a fresh pool per step cost each step its workers' start (the imports, ~1 s
# of CPU each under load) and a tail where one worker idled. By (fn, memory ceiling): a worker serves one.
_KEPT: dict[tuple[Callable[[Any], Any], int | None], list[_Worker]] = {}


def end_kept_workers() -> None:
    """End the workers kept for later calls (after a run's last parse: idle, they would hold their memory)."""
    for kept in _KEPT.values():
        for w in kept:
            w.finish()
            w.process.join(timeout=5)
            if w.process.is_alive():
                w.process.kill()
                w.process.join()
            w.conn.close()
    _KEPT.clear()


def survive_map(fn: Callable[[Any], Any], jobs: Iterable[Any], workers: int, memory_bytes: int | None,
                died: Callable[[Any, str], Any], log=print, keep: bool = False) -> Iterator[tuple[int, Any]]:
    """``(index, fn(job))`` for every job, as they finish: a ``SurvivingPool`` given them all at once."""
    with SurvivingPool(fn, workers, memory_bytes, died, log, keep) as pool:
        for job in jobs:
            pool.add(job)
        yield from pool.rest()


class SurvivingPool:
    """``fn`` over jobs as they arrive: ``add`` a job (its index is the order of adding), ``ready()`` the results
    finished so far without waiting, ``rest()`` every other result once no job is to come (a chunk step parses
    each document as soon as it is fetched, so the workers do not idle while the parent fetches).

    The ``workers`` processes (spawned, or those an earlier pool kept; ``keep``: kept, idle, for the next pool,
    until ``end_kept_workers``) start with the ``PARSE_POOL_THRESHOLD``-th job, and only with ``workers`` at least
    2: fewer jobs are run here, in ``rest()`` (a pool would cost more than it saves). A job whose process dies is
    run again alone in a fresh process; if that dies too, ``died(job, reason)`` stands for its result. ``fn``
    must be importable by name (it is sent to the workers)."""

    def __init__(self, fn: Callable[[Any], Any], workers: int, memory_bytes: int | None,
                 died: Callable[[Any, str], Any], log=print, keep: bool = False) -> None:
        self.ctx = get_context("spawn")
        self.fn, self.workers, self.memory_bytes, self.died, self.log, self.keep = fn, workers, memory_bytes, died, log, keep
        self.kept = _KEPT.setdefault((fn, memory_bytes), [])
        self.jobs: list[Any] = []
        self.pending: deque[int] = deque()  # first attempts, fed to long-lived workers
        self.retries: deque[int] = deque()  # second attempts, each in a process of its own
        self.first_death: dict[int, str] = {}
        self.live: list[_Worker] = []
        self.closed = False  # no more jobs: idle workers are let go (or kept)
        self.started = False  # the workers: from the PARSE_POOL_THRESHOLD-th job on (before, jobs only wait)

    def __enter__(self) -> SurvivingPool:
        return self

    def __exit__(self, *exc) -> None:
        for w in self.live:
            w.process.kill()
            w.process.join()
        self.live = []

    def add(self, job: Any) -> None:
        self.jobs.append(job)
        self.pending.append(len(self.jobs) - 1)
        self.started = self.started or (len(self.jobs) >= PARSE_POOL_THRESHOLD and self.workers >= 2)
        if self.started:
            self._feed()

    def ready(self) -> Iterator[tuple[int, Any]]:
        """The results finished by now (no waiting)."""
        return self._results(block=False) if self.started else iter(())

    def rest(self) -> Iterator[tuple[int, Any]]:
        """Every result not yet taken, waiting for them (no job may be added after)."""
        self.closed = True
        if not self.started:
            return ((index, self.fn(self.jobs[index])) for index in self.pending)
        return self._results(block=True)

    def _feed(self) -> None:
        while self.retries and len(self.live) < self.workers:
            index = self.retries.popleft()
            self.live.append(_Worker(self.ctx, self.fn, self.memory_bytes, [(index, self.jobs[index])], last=True))
        while self.pending and len(self.live) < self.workers:
            self.live.append(_kept_worker(self.kept) or _Worker(self.ctx, self.fn, self.memory_bytes, [], last=False))
        for w in list(self.live):
            while not w.last and len(w.held) < HELD_PER_WORKER and self.pending:
                index = self.pending.popleft()
                w.send(index, self.jobs[index])
            if self.closed and not w.last and not w.held and not self.pending:
                if self.keep and len(self.kept) < self.workers:
                    self.live.remove(w)  # idle until the next call
                    self.kept.append(w)
                else:
                    w.finish()  # nothing left for it: it exits once the pipe is read

    def _results(self, block: bool) -> Iterator[tuple[int, Any]]:
        while self.pending or self.retries or self.live:
            self._feed()
            if not self.live:
                continue
            ready = wait([w.conn for w in self.live] + [w.process.sentinel for w in self.live], timeout=None if block else 0)
            if not ready:
                return  # (only without blocking: nothing finished yet)
            for w in [w for w in self.live if w.conn in ready or w.process.sentinel in ready]:
                results, ended = w.receive()
                yield from results
                if ended:
                    yield from self._ended(w)

    def _ended(self, w: _Worker) -> Iterator[tuple[int, Any]]:
        self.live.remove(w)
        if not w.held:
            return
        reason = w.death()
        if any(index not in self.first_death for index in w.held):
            self.log(f"parse worker died ({reason}) holding {len(w.held)} documents: each is retried once, alone in a fresh process")
        for index in w.held:
            if index in self.first_death:
                yield index, self.died(self.jobs[index], _twice(self.first_death[index], reason))
            else:
                self.first_death[index] = reason
                self.retries.append(index)


def _kept_worker(kept: list[_Worker]) -> _Worker | None:
    """A kept worker still alive (one that died idle, e.g. killed, held nothing: it is let go)."""
    while kept:
        w = kept.pop()
        if not wait([w.process.sentinel], timeout=0):  # (its end closes the sentinel at once; is_alive waits to reap it)
            return w
        w.process.join()
        w.conn.close()
    return None


def _twice(first: str, second: str) -> str:
    if first == second:
        return f"parse worker died ({first}) twice"
    return f"parse worker died twice ({first}, then {second})"


class _Worker:
    """One worker process and the jobs it holds (sent, not yet answered)."""

    def __init__(self, ctx, fn, memory_bytes: int | None, jobs: list[tuple[int, Any]], last: bool) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(child, fn, memory_bytes), daemon=True)
        self.process.start()
        child.close()
        self.held: list[int] = []
        self.last = last  # no more jobs after these: told to exit
        self.finished = False
        for index, job in jobs:
            self.send(index, job)
        if last:
            self.finish()

    def send(self, index: int, job: Any) -> None:
        self.held.append(index)
        try:
            self.conn.send((index, job))
        except OSError:  # it died already: its sentinel says so on the next wait
            pass

    def finish(self) -> None:
        if not self.finished:
            self.finished = self.last = True
            try:
                self.conn.send(None)
            except OSError:
                pass

    def receive(self) -> tuple[list[tuple[int, Any]], bool]:
        """The results waiting in the pipe, and whether the process has ended (exited or died)."""
        results = []
        gone = False
        try:
            while self.conn.poll():
                index, result = self.conn.recv()
                self.held.remove(index)
                results.append((index, result))
        except (EOFError, OSError):  # the other end is gone (a result cut short is not one)
            gone = True
        if not gone and self.process.is_alive():
            return results, False
        self.process.join()
        self.conn.close()
        return results, True

    def death(self) -> str:
        code = self.process.exitcode
        return f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"


def _serve(conn: Connection, fn: Callable[[Any], Any], memory_bytes: int | None) -> None:
    """A worker: ``(index, job)`` in, ``(index, fn(job))`` out, until ``None`` or the parent is gone."""
    if memory_bytes:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = memory_bytes if hard == resource.RLIM_INFINITY else min(memory_bytes, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if message is None:
            return
        index, job = message
        conn.send((index, fn(job)))
