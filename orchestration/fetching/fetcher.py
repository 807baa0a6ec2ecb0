"""Fetch every source of a manifest into the raw store, one ``FetchResult`` per document.

Listings are crawled first (their pages are stored too, but only their report links become
documents); then every document, remote or local, goes through the same path: conditional request
or hash comparison against the store's last copy, so ``changed`` tells what needs re-parsing.
A document that is a page is then read for its attachment links (``attachments.py``), and each
attachment goes through that same path too, with ``page`` saying which page linked it.
One bad source never fails the run: it becomes a ``failed`` result with its reason.
"""

from __future__ import annotations

import json
import mimetypes
import os
import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from email.utils import formatdate
from pathlib import Path
from collections.abc import Mapping
from typing import Any, Callable
from urllib.parse import quote_from_bytes, urlsplit
from urllib.request import url2pathname

from extract.loading import UnreadableDocument, decode, read_document, sniff_binary

from .attachments import AttachmentLink, PageAttachments, find_attachments
from .client import FetchError, HttpClient
from .config import DOCUMENT_TYPES, FetchConfig
from .listing import LISTING_TYPES, find_links
from .manifest import Manifest, SourceSpec, local_roots, outside_roots
from .store import RawStore, StoredFetch, sha256_hex, utc_now
from .unchanged import UnlinkedPages, cached_links, file_stat, remember_links, settled

__all__ = ["FetchConfig", "FetchResult", "fetch_sources", "known_unchanged"]

FETCHED, UNCHANGED, FAILED = "fetched", "unchanged", "failed"


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
    page: str | None = None  # the report page whose attachment link led here, if any
    title_hint: str | None = None  # an attachment's link text when it reads as the report's title

    def to_record(self) -> dict[str, Any]:
        """The row for ``raw.fetches``, its headers as that table holds them (``headers_json``). Shallow, not
        ``asdict``'s deep copy: a refresh makes one per source, 100,000 at national scale."""
        return {f.name: getattr(self, f.name) for f in RECORD_FIELDS} | {"headers": headers_json(self.headers)}


RECORD_FIELDS = fields(FetchResult)


def headers_json(headers: Mapping[str, str] | None) -> str | None:
    """A fetch's headers as a fetch record (``raw.fetches.headers``, the known-pages file) holds them (None: none)."""
    return json.dumps(dict(headers), ensure_ascii=False) if headers else None


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
        jobs: list[Any] = []  # futures of documents (with their attachments), in manifest order, or a listing's failure results
        seen = run.claimed
        room = config.max_links_per_run  # report links listings may still add this run

        def submit(spec: SourceSpec, listing: str | None) -> None:
            if run.claim(spec.location):  # a document listed twice is fetched once, with its first hint
                jobs.append(pool.submit(run.fetch_page, spec, listing))

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
            for result in [job] if isinstance(job, FetchResult) else job.result():
                results.append(result)
                if on_result is not None:
                    on_result(result)
                    continue
                detail = f": {result.error}" if result.error else (" (changed)" if result.changed else "")
                what = f"attachment of {result.page}: " if result.page else ""
                say(f"[{number}/{len(jobs)}] {what}{result.status} {result.source_uri}{detail}")
    run.settle_pages(results)
    return results


def known_unchanged(manifest: Manifest, store: RawStore, config: FetchConfig) -> tuple[list[FetchResult], list[SourceSpec]]:
    """(the results of the local pages whose fetch is known without reading anything, the other sources).

    Known: the file's stat is the one recorded with the store's copy (``_same_file``, the check ``fetch_sources``
    makes) and the page's remembered scan found no attachment link, so ``fetch_sources`` would answer
    ``unchanged`` with the same result. At 100,000 local pages a refresh with nothing changed needs no fetch
    step for these; every other source (HTTP, listings, pages with attachments, anything changed) is fetched."""
    run = _Run(None, store, config, False, local_roots(manifest.root, config.allowed_roots))
    known: list[FetchResult] = []
    rest: list[SourceSpec] = []
    is_known: dict[str, bool] = {}  # location -> known (a document listed twice is fetched once, with its first hint)
    for spec in manifest.sources:
        if spec.location not in is_known:
            result = run.known_page(spec) if spec.kind == "file" else None
            is_known[spec.location] = result is not None
            if result is not None:
                known.append(result)
                continue
        elif is_known[spec.location]:
            continue
        rest.append(spec)
    return known, rest


class _Run:
    """The state of one fetch run, shared by its worker threads."""

    def __init__(self, client: HttpClient | None, store: RawStore, config: FetchConfig, full: bool, roots: list[Path]):
        self.client = client
        self.store = store
        self.config = config
        self.full = full
        self.roots = roots  # the folders local sources may lie in
        self.claimed: set[str] = set()  # documents and attachments taken by a job this run (each fetched once)
        # attachment -> (page, the page's agency hint, the link's title) for each page whose job found it taken
        self.linked: dict[str, list[tuple[str, str | None, str | None]]] = {}
        self.unlinked = UnlinkedPages(store.root)  # pages whose remembered scan found no link
        self._folders: dict[str, bool] = {}  # a local folder -> whether its real path lies in a root (once a run)
        self._folder_uris: dict[str, str | None] = {}  # a local folder -> its file URI (``_file_uri``)
        self.started = utc_now()  # when a plan found its pages known (one time for all: seconds, as every fetch's)
        self._blobs: set[str] = set()  # content hashes seen in the store this run (a blob is never deleted)
        self._arrival = threading.local()  # (content hash, bytes) this thread has just fetched: its page's scan reads them
        self._claim_lock = threading.Lock()

    def claim(self, location: str) -> bool:
        """Whether ``location`` is new this run (and now taken): a document listed twice or an attachment
        linked from two pages is fetched once."""
        with self._claim_lock:
            if location in self.claimed:
                return False
            self.claimed.add(location)
            return True

    def settle_pages(self, results: list[FetchResult]) -> None:
        """Each attachment is the first linking page's in manifest order, whichever job's thread took it first
        (two pages linking one file: which page holds the report, and so the agency and title hints it gives the
        report, must not depend on timing); a linked file
        the manifest (or a listing) also names is fetched once and is still the page's attachment."""
        order = {r.source_uri: n for n, r in enumerate(results) if r.page is None}
        for result in results:
            linkers = [link for link in self.linked.get(result.source_uri, []) if link[0] != result.source_uri]
            if not linkers:
                continue
            if result.page is None:  # the manifest (or a listing) names it too: its own agency hint stays
                result.page = min((page for page, _, _ in linkers), key=lambda p: order.get(p, len(order)))
                continue
            # fetched as an attachment: the page, its agency hint and its link's title all come from the one holding page
            linkers.append((result.page, result.agency_hint, result.title_hint))
            result.page, result.agency_hint, result.title_hint = min(linkers, key=lambda link: order.get(link[0], len(order)))

    def known_page(self, spec: SourceSpec) -> FetchResult | None:
        """``fetch_page``'s result for a local page whose file is the store's copy (its stat) and that links no
        attachment (its remembered scan), found without reading either; None: it must be fetched. A plan asks
        this of 100,000 pages: no ``Path`` per page (its folder's, once)."""
        location = spec.location
        try:
            if self._refused(location):
                return None
            same = self._same_file(location, os.stat(location), self.config.max_bytes)
        except OSError:
            return None
        if same is None:
            return None
        page = (same.content_hash, self._file_uri(location), _content_type(same.headers))
        if self.config.attachment_max_links and page not in self.unlinked:
            found = cached_links(self.store.root, *page)  # an entry from before the markers: kept as one if it found nothing
            if found is None or found.links or found.off_site:
                return None
            remember_links(self.store.root, *page, found)
        return self._unchanged_file(spec, None, same, self.started)

    def _file_uri(self, location: str) -> str:
        """``Path(location).as_uri()``, from its folder's URI (worked out once a run) and its quoted name:
        ``as_uri`` quotes byte by byte, so the parts quote as the whole does (the folder's, when it is written
        as ``Path`` writes it; else the whole path's)."""
        folder, name = os.path.split(location)
        if folder not in self._folder_uris:
            self._folder_uris[folder] = Path(folder).as_uri().rstrip("/") if str(Path(folder)) == folder else None
        base = self._folder_uris[folder]
        return f"{base}/{quote_from_bytes(os.fsencode(name))}" if base is not None and name else Path(location).as_uri()

    def _refused(self, location: str) -> str | None:
        """``outside_roots`` with the file's folder resolved once a run (a refresh reads 100,000 files from a few
        folders; a file that is no symlink lies in its folder's real path)."""
        folder, name = os.path.split(location)
        if os.path.islink(location) or name in ("", ".", ".."):
            return outside_roots(Path(location), self.roots)
        if folder not in self._folders:  # its files lie in a root when it does
            self._folders[folder] = outside_roots(Path(folder), self.roots) is None
        return None if self._folders[folder] else outside_roots(Path(location), self.roots, Path(folder).resolve() / name)

    def _has(self, content_hash: str) -> bool:
        if content_hash not in self._blobs and self.store.has(content_hash):
            self._blobs.add(content_hash)
        return content_hash in self._blobs

    def fetch_page(self, spec: SourceSpec, listing: str | None) -> list[FetchResult]:
        """A document and, when it is a page, its attachments (on the same site, at most ``attachment_max_links``)."""
        page = self.fetch_document(spec, listing)
        try:
            return [page, *self._attachments(spec, page)]
        except Exception as exc:  # as in fetch_document: a bug costs the attachments, the page stays (with the reason)
            page.error = f"internal error reading its attachments: {exc!r}"
            return [page]

    def _attachments(self, spec: SourceSpec, page: FetchResult) -> list[FetchResult]:
        """Fetch the attachments the page's current content links (this run's copy, or the one an outage left current)."""
        cap = self.config.attachment_max_links
        previous = self.store.latest(spec.location)
        content_hash = page.content_hash or (previous.content_hash if previous is not None else None)
        if not cap or content_hash is None or not self.store.has(content_hash):
            return []
        local = spec.kind == "file"
        base = Path(spec.location).as_uri() if local else (page.final_url or spec.location)
        found = self._page_links(content_hash, base, page.headers or (previous.headers if previous else None))
        results = []
        for url in found.off_site:
            if self.claim(url):
                results.append(self._attachment_failed(url, page, f"refused: attachment link to another site, not followed (from {spec.location})"))
        taken = 0
        for link in found.links:
            location = url2pathname(urlsplit(link.url).path) if local else link.url
            if not self.claim(location):
                with self._claim_lock:
                    self.linked.setdefault(location, []).append((spec.location, page.agency_hint, link.title))
                continue
            if taken >= cap:
                results.append(self._attachment_failed(location, page, f"attachment cap: more than {cap} attachment link(s) on {spec.location}; "
                                                                        "raise attachment_max_links to fetch it"))
                continue
            taken += 1
            result = self._local_attachment(location, link, page) if local else self._remote(
                link.url, page.agency_hint, page.listing, None, self.config.attachment_max_bytes, link)
            result.page, result.title_hint = spec.location, link.title
            results.append(result)
        return results

    def _page_links(self, content_hash: str, base: str, headers: dict[str, str] | None) -> PageAttachments:
        """The attachment links of the page with this content at ``base``: remembered from its last scan, else
        read from the store and scanned (a PDF or Word file links nothing)."""
        content_type = _content_type(headers)
        found = cached_links(self.store.root, content_hash, base, content_type)
        if found is None:
            arrived, self._arrival.data = getattr(self._arrival, "data", None), None
            data = arrived[1] if arrived is not None and arrived[0] == content_hash else self.store.get(content_hash)
            found = PageAttachments() if sniff_binary(data) is not None else find_attachments(decode(data, headers)[0], base)
            remember_links(self.store.root, content_hash, base, content_type, found)
        return found

    def _local_attachment(self, location: str, link: AttachmentLink, page: FetchResult) -> FetchResult:
        """An attachment a local page links by relative path: read like a local source (only inside the allowed folders)."""
        return self._local(SourceSpec(kind="file", location=location, agency_hint=page.agency_hint), page.listing, link)

    def _attachment_failed(self, location: str, page: FetchResult, reason: str) -> FetchResult:
        return FetchResult(location, None, FAILED, None, None, error=reason, agency_hint=page.agency_hint, listing=page.listing, page=page.source_uri)

    def fetch_document(self, spec: SourceSpec, listing: str | None) -> FetchResult:
        try:
            if spec.kind == "file":
                return self._local(spec, listing)
            return self._remote(spec.location, spec.agency_hint, listing)
        except Exception as exc:  # a bug must cost one source, not the run; the reason is kept
            return FetchResult(spec.location, None, FAILED, None, None, error=f"internal error: {exc!r}", agency_hint=spec.agency_hint, listing=listing)

    def _local(self, spec: SourceSpec, listing: str | None, link: AttachmentLink | None = None) -> FetchResult:
        """A local document, only from inside the allowed folders, only a plain file, at most ``max_bytes``
        (``link``: the attachment link that named it, at most ``attachment_max_bytes``)."""
        path = Path(spec.location)
        limit = min(self.config.max_bytes, self.config.attachment_max_bytes) if link else self.config.max_bytes
        try:
            refused = self._refused(str(path))
            if refused:
                raise UnreadableDocument(refused)
            status = os.stat(path)
            same = None if link is not None and link.binary_name else self._same_file(spec.location, status, limit)
            if same is not None:  # not read again: the file the store holds, by its stat
                return self._unchanged_file(spec, listing, same)
            data = read_document(path, limit)
        except (OSError, UnreadableDocument) as exc:
            reason = str(exc) if isinstance(exc, UnreadableDocument) else f"cannot read file: {exc.strerror or exc}"
            return FetchResult(spec.location, spec.location, FAILED, None, None, error=reason, agency_hint=spec.agency_hint, listing=listing)
        headers = {"content-type": mimetypes.guess_type(path.name)[0] or "application/octet-stream", "last-modified": formatdate(status.st_mtime, usegmt=True)}
        return self._arrived(spec.location, spec.location, None, headers, data, spec.agency_hint, listing, link,
                             file_stat(status) if settled(status) else None)

    @staticmethod
    def _unchanged_file(spec: SourceSpec, listing: str | None, same: StoredFetch, at: str | None = None) -> FetchResult:
        return FetchResult(spec.location, spec.location, UNCHANGED, None, same.content_hash, dict(same.headers),
                           at or utc_now(), agency_hint=spec.agency_hint, listing=listing, size=same.size)

    def _same_file(self, location: str, status: os.stat_result, limit: int) -> StoredFetch | None:
        """The store's last copy of a local file when the file's stat is the one recorded with it (and the copy is
        still there, within the size cap); None: read it."""
        previous = None if self.full else self.store.latest(location)
        if previous is None or previous.file_stat != file_stat(status) or not stat.S_ISREG(status.st_mode):
            return None
        return previous if previous.size <= limit and self._has(previous.content_hash) else None

    def _remote(self, url: str, agency: str | None, listing: str | None, accept_types: tuple[str, ...] | None = DOCUMENT_TYPES,
                max_bytes: int | None = None, link: AttachmentLink | None = None) -> FetchResult:
        """Fetch a URL conditionally (validators of the store's last copy) and store what is new.
        An attachment (``link``) is taken whatever its Content-Type (the parser reads the format from the bytes)."""
        previous = None if self.full else self.store.latest(url)
        if previous is not None and not self.store.has(previous.content_hash):
            previous = None  # its blob is gone: ask for the body again instead of a 304 that cannot restore it
        conditional = {}
        if previous is not None and previous.etag:
            conditional["If-None-Match"] = previous.etag
        if previous is not None and previous.last_modified:
            conditional["If-Modified-Since"] = previous.last_modified
        try:
            response = self.client.get(url, conditional, accept_types, max_bytes)
        except FetchError as exc:
            return FetchResult(url, exc.url, FAILED, exc.http_status, None, error=exc.reason, agency_hint=agency, listing=listing)
        if response.status == 304:
            if previous is None:
                return FetchResult(url, response.url, FAILED, 304, None, response.headers, error="HTTP 304 without a conditional request", agency_hint=agency, listing=listing)
            return FetchResult(url, response.url, UNCHANGED, 304, previous.content_hash, response.headers, agency_hint=agency, listing=listing, size=previous.size)
        return self._arrived(url, response.url, response.status, response.headers, response.body, agency, listing, link)

    def _arrived(self, uri: str, final: str, http_status: int | None, headers: dict[str, str], data: bytes, agency: str | None,
                 listing: str | None, link: AttachmentLink | None = None, stat_read: list[int] | None = None) -> FetchResult:
        """Store new content (or new validators, or a local file's new ``stat_read``) and say whether the document
        changed. An attachment named like a binary file (.pdf, .docx ...) whose body is not one is an error page:
        failed, not stored as the report."""
        if not data:
            return FetchResult(uri, final, FAILED, http_status, None, headers, error="empty body", agency_hint=agency, listing=listing)
        if link is not None and link.binary_name and sniff_binary(data) is None:
            return FetchResult(uri, final, FAILED, http_status, None, headers, agency_hint=agency, listing=listing,
                               error=f"not the attachment: {link.text or uri} answered with a text or HTML page (an error page?), "
                                     f"Content-Type {headers.get('content-type') or 'none'}")
        content_hash = sha256_hex(data)
        previous = self.store.latest(uri)
        changed = self.full or previous is None or previous.content_hash != content_hash
        validators = (headers.get("etag"), headers.get("last-modified"))
        if changed or previous is None or validators != (previous.etag, previous.last_modified) \
                or (stat_read is not None and stat_read != previous.file_stat) \
                or not self.store.has(content_hash):  # unchanged, but its blob was lost: store it again
            self.store.put(uri, data, headers, final_url=final, http_status=http_status, file_stat=stat_read)
        self._arrival.data = (content_hash, data)  # not read back from the store to scan the page for attachments
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
        unfollowed: dict[str, None] = {}  # what listing pages name but cannot be followed (a POST-only list API)
        start: str | None = None
        try:
            while queue and pages < budget and len(found) <= cap:
                page = queue.pop(0)
                pages += 1
                result = self._remote(page, spec.agency_hint, spec.location, LISTING_TYPES)
                if result.status == FAILED:
                    failures.append(result)
                    continue
                visited.add(result.final_url or page)  # a redirected page is not read again under its new name
                start = start or result.final_url or page  # the column is where its first page landed (https://, www., a slash)
                body = self.store.get(result.content_hash)  # just stored, or the copy a 304 confirmed
                links = find_links(decode(body, result.headers)[0], result.final_url or page, spec.link_text, start)
                off_site += links.off_site
                unfollowed.update(dict.fromkeys(links.unfollowed))
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
        if unfollowed:
            note += f", not followed: {'; '.join(unfollowed)}"
        if not documents and not failures:
            failures.append(
                FetchResult(spec.location, spec.location, FAILED, None, None, error=f"no links matching {spec.link_text!r} on {pages} listing page(s)" + "".join(f"; not followed: {u}" for u in unfollowed), agency_hint=spec.agency_hint, listing=spec.location)
            )
        return documents, failures, note, left


def _content_type(headers: dict[str, str] | None) -> str | None:
    return next((v for k, v in (headers or {}).items() if k.lower() == "content-type"), None)


def _links_left(spec: SourceSpec, by_listing: int, by_run: int, config: FetchConfig) -> FetchResult:
    """The listing's record of report links it found but the link caps kept from being fetched."""
    caps = [f"{n} by listing_max_links={config.listing_max_links}" for n in (by_listing,) if n]
    caps += [f"{n} by max_links_per_run={config.max_links_per_run}" for n in (by_run,) if n]
    error = f"link cap: {by_listing + by_run} report link(s) not fetched ({', '.join(caps)}); raise the setting to fetch them"
    return FetchResult(spec.location, spec.location, FAILED, None, None, error=error, agency_hint=spec.agency_hint, listing=spec.location)
