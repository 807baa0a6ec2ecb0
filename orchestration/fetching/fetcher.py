"""Fetch every source of a manifest into the raw store, one ``FetchResult`` per document.

Listings are crawled first (their pages are stored too, but only their report links become
documents); then every document, remote or local, goes through the same path: conditional request
or hash comparison against the store's last copy, so ``changed`` tells what needs re-parsing.
One bad source never fails the run: it becomes a ``failed`` result with its reason.
"""

from __future__ import annotations

import mimetypes
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from email.utils import formatdate
from pathlib import Path
from typing import Any, Callable

from extract.loading import UnreadableDocument, decode, read_document

from .client import FetchError, HttpClient
from .config import DOCUMENT_TYPES, FetchConfig
from .listing import find_links
from .manifest import Manifest, SourceSpec, local_roots, outside_roots
from .store import RawStore, sha256_hex, utc_now

__all__ = ["FetchConfig", "FetchResult", "fetch_sources"]

FETCHED, UNCHANGED, FAILED = "fetched", "unchanged", "failed"
LISTING_TYPES = ("text/html", "application/xhtml+xml")


@dataclass
class FetchResult:
    source_uri: str  # the URL or absolute file path; the document's identity
    final_url: str | None  # after redirects (the path itself for files)
    status: str  # fetched | unchanged | failed
    http_status: int | None
    content_hash: str | None  # sha256 of the stored bytes (the previous copy's when unchanged)
    headers: dict[str, str] = field(default_factory=dict)
    fetched_at: str = field(default_factory=utc_now)  # ISO 8601 UTC
    error: str | None = None  # the reason, when failed
    changed: bool = False  # new content since the last fetch: parse it
    agency_hint: str | None = None  # from the manifest
    listing: str | None = None  # the listing source that led here, if any
    size: int | None = None  # bytes of the content

    def to_record(self) -> dict[str, Any]:
        """The row for ``raw.fetches`` (headers stay a mapping: the landing serialises them)."""
        return asdict(self)


def fetch_sources(
    manifest: Manifest,
    store: RawStore,
    config: FetchConfig | None = None,
    full: bool = False,
    progress: Callable[[str], None] | None = None,
    on_result: Callable[[FetchResult], None] | None = None,
) -> list[FetchResult]:
    """Fetch the manifest's documents (``full``: no conditional requests, every document counts as changed).

    ``config`` defaults to ``FetchConfig.resolve(manifest.settings)`` (no operator overrides). ``progress`` is called from
    the calling thread, once per listing and once per document, unless ``on_result`` is given: then each
    document's result goes to it instead (a progress bar, not a line per document).
    """
    config = config or FetchConfig.resolve(manifest.settings)
    say = progress or (lambda message: None)
    roots = local_roots(manifest.root, config.allowed_roots)
    with HttpClient(config) as client, ThreadPoolExecutor(max_workers=max(1, config.workers)) as pool:
        run = _Run(client, store, config, full, roots)
        listings = {i: pool.submit(run.crawl, s) for i, s in enumerate(manifest.sources) if s.kind == "listing"}
        jobs: list[Any] = []  # futures of documents, in manifest order, or a listing's failure results
        seen: set[str] = set()
        room = config.max_links_per_run  # report links listings may still add this run

        def submit(spec: SourceSpec, listing: str | None) -> None:
            if spec.location not in seen:  # a document listed twice is fetched once, with its first hint
                seen.add(spec.location)
                jobs.append(pool.submit(run.fetch_document, spec, listing))

        for i, spec in enumerate(manifest.sources):
            if spec.kind != "listing":
                submit(spec, None)
                continue
            documents, failures, note, left = listings[i].result()
            new = [doc for doc in documents if doc.location not in seen]
            over_run = max(0, len(new) - room)
            room -= len(new) - over_run
            for doc in new[: len(new) - over_run]:
                submit(doc, spec.location)
            if over_run:
                note += f", {over_run} more left by max_links_per_run={config.max_links_per_run}"
            say(f"listing {spec.location}: {note}")
            jobs.extend(failures)
            if left or over_run:
                jobs.append(_links_left(spec, left, over_run, config))
        results: list[FetchResult] = []
        for number, job in enumerate(jobs, 1):
            result = job if isinstance(job, FetchResult) else job.result()
            results.append(result)
            if on_result is not None:
                on_result(result)
                continue
            detail = f": {result.error}" if result.error else (" (changed)" if result.changed else "")
            say(f"[{number}/{len(jobs)}] {result.status} {result.source_uri}{detail}")
    return results


class _Run:
    """The state of one fetch run, shared by its worker threads."""

    def __init__(self, client: HttpClient, store: RawStore, config: FetchConfig, full: bool, roots: list[Path]):
        self.client = client
        self.store = store
        self.config = config
        self.full = full
        self.roots = roots  # the folders local sources may lie in

    def fetch_document(self, spec: SourceSpec, listing: str | None) -> FetchResult:
        try:
            if spec.kind == "file":
                return self._local(spec, listing)
            return self._remote(spec.location, spec.agency_hint, listing)
        except Exception as exc:  # a bug must cost one source, not the run; the reason is kept
            return FetchResult(spec.location, None, FAILED, None, None, error=f"internal error: {exc!r}", agency_hint=spec.agency_hint, listing=listing)

    def _local(self, spec: SourceSpec, listing: str | None) -> FetchResult:
        """A local document, only from inside the allowed folders, only a plain file, at most ``max_bytes``."""
        path = Path(spec.location)
        try:
            refused = outside_roots(path, self.roots)
            if refused:
                raise UnreadableDocument(refused)
            mtime = os.stat(path).st_mtime
            data = read_document(path, self.config.max_bytes)
        except (OSError, UnreadableDocument) as exc:
            reason = str(exc) if isinstance(exc, UnreadableDocument) else f"cannot read file: {exc.strerror or exc}"
            return FetchResult(spec.location, spec.location, FAILED, None, None, error=reason, agency_hint=spec.agency_hint, listing=listing)
        headers = {"content-type": mimetypes.guess_type(path.name)[0] or "application/octet-stream", "last-modified": formatdate(mtime, usegmt=True)}
        return self._arrived(spec.location, spec.location, None, headers, data, spec.agency_hint, listing)

    def _remote(self, url: str, agency: str | None, listing: str | None, accept_types: tuple[str, ...] = DOCUMENT_TYPES) -> FetchResult:
        """Fetch a URL conditionally (validators of the store's last copy) and store what is new."""
        previous = None if self.full else self.store.latest(url)
        if previous is not None and not self.store.has(previous.content_hash):
            previous = None  # its blob is gone: ask for the body again instead of a 304 that cannot restore it
        conditional = {}
        if previous is not None and previous.etag:
            conditional["If-None-Match"] = previous.etag
        if previous is not None and previous.last_modified:
            conditional["If-Modified-Since"] = previous.last_modified
        try:
            response = self.client.get(url, conditional, accept_types)
        except FetchError as exc:
            return FetchResult(url, exc.url, FAILED, exc.http_status, None, error=exc.reason, agency_hint=agency, listing=listing)
        if response.status == 304:
            if previous is None:
                return FetchResult(url, response.url, FAILED, 304, None, response.headers, error="HTTP 304 without a conditional request", agency_hint=agency, listing=listing)
            return FetchResult(url, response.url, UNCHANGED, 304, previous.content_hash, response.headers, agency_hint=agency, listing=listing, size=previous.size)
        return self._arrived(url, response.url, response.status, response.headers, response.body, agency, listing)

    def _arrived(self, uri: str, final: str, http_status: int | None, headers: dict[str, str], data: bytes, agency: str | None, listing: str | None) -> FetchResult:
        """Store new content (or new validators) and say whether the document changed."""
        if not data:
            return FetchResult(uri, final, FAILED, http_status, None, headers, error="empty body", agency_hint=agency, listing=listing)
        content_hash = sha256_hex(data)
        previous = self.store.latest(uri)
        changed = self.full or previous is None or previous.content_hash != content_hash
        validators = (headers.get("etag"), headers.get("last-modified"))
        if changed or previous is None or validators != (previous.etag, previous.last_modified) \
                or not self.store.has(content_hash):  # unchanged, but its blob was lost: store it again
            self.store.put(uri, data, headers, final_url=final, http_status=http_status)
        status = FETCHED if changed else UNCHANGED
        return FetchResult(uri, final, status, http_status, content_hash, headers, changed=changed, agency_hint=agency, listing=listing, size=len(data))

    def crawl(self, spec: SourceSpec) -> tuple[list[SourceSpec], list[FetchResult], str, int]:
        """Walk a listing's pages (at most ``max_pages``) collecting on-site report links, at most ``listing_max_links``.

        Returns the documents, the failures, the progress note and how many report links were left by the cap.
        """
        budget = spec.max_pages or self.config.listing_max_pages
        cap = self.config.listing_max_links
        queue, visited = [spec.location], {spec.location}
        documents: list[SourceSpec] = []
        found: set[str] = set()  # every report link seen, kept or left
        failures: list[FetchResult] = []
        pages = off_site = 0
        try:
            while queue and pages < budget and len(found) <= cap:
                page = queue.pop(0)
                pages += 1
                result = self._remote(page, spec.agency_hint, spec.location, LISTING_TYPES)
                if result.status == FAILED:
                    failures.append(result)
                    continue
                body = self.store.get(result.content_hash)  # just stored, or the copy a 304 confirmed
                links = find_links(decode(body, result.headers)[0], result.final_url or page, spec.link_text)
                off_site += links.off_site
                for url in links.reports:
                    if url not in found:
                        found.add(url)
                        if len(documents) < cap:
                            documents.append(SourceSpec(kind="url", location=url, agency_hint=spec.agency_hint, line=spec.line))
                for url in links.pages:
                    if url not in visited:
                        visited.add(url)
                        queue.append(url)
        except Exception as exc:  # as in fetch_document: one listing's bug is its own failure
            failures.append(FetchResult(spec.location, None, FAILED, None, None, error=f"internal error: {exc!r}", agency_hint=spec.agency_hint, listing=spec.location))
        left = len(found) - len(documents)
        note = f"{pages} page(s) read, {len(documents)} report link(s), {off_site} off-site link(s) skipped, {len(failures)} failure(s)"
        if left:
            note += f", {left} more report link(s) left by listing_max_links={cap}"
        if queue:
            note += f", {len(queue)} more page(s) " + ("not read (link cap reached)" if left else f"beyond max_pages={budget}")
        if not documents and not failures:
            failures.append(
                FetchResult(spec.location, spec.location, FAILED, None, None, error=f"no links matching {spec.link_text!r} on {pages} listing page(s)", agency_hint=spec.agency_hint, listing=spec.location)
            )
        return documents, failures, note, left


def _links_left(spec: SourceSpec, by_listing: int, by_run: int, config: FetchConfig) -> FetchResult:
    """The listing's record of report links it found but the link caps kept from being fetched."""
    caps = [f"{n} by listing_max_links={config.listing_max_links}" for n in (by_listing,) if n]
    caps += [f"{n} by max_links_per_run={config.max_links_per_run}" for n in (by_run,) if n]
    error = f"link cap: {by_listing + by_run} report link(s) not fetched ({', '.join(caps)}); raise the setting to fetch them"
    return FetchResult(spec.location, spec.location, FAILED, None, None, error=error, agency_hint=spec.agency_hint, listing=spec.location)
