"""The raw store: every fetched body kept content-addressed, every arrival kept in an append-only log.

Layout under ``root``::

    blobs/ab/<sha256>     the bytes, written once (temp file + rename, so never half-written)
    fetch_log.jsonl       one JSON line per stored fetch: source_uri, content_hash, size, headers, fetched_at, ...
    fetch_log.index.pickle  each source's last line of the log up to an offset (``_LogIndex``: a cache, not the record)
    links/ab/<sha256>.json  what a page with that content links (``scan_cache.py``: a cache, not the record)

Nothing fetched is ever lost: a blob is never overwritten or deleted, and the log is only appended to.
``latest(source_uri)`` gives the last arrival of a source, for conditional requests and change detection.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import tempfile
import threading
import warnings
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

LOG_NAME = "fetch_log.jsonl"
INDEX_NAME = "fetch_log.index.pickle"
SNAPSHOT_AFTER = 1 << 20  # log bytes read beyond the snapshot that make it worth writing again
HEX = frozenset("0123456789abcdef")


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class StoredFetch:
    """One line of the fetch log."""

    source_uri: str
    content_hash: str
    size: int
    fetched_at: str
    final_url: str | None = None
    http_status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)  # lower-cased names
    file_stat: list[int] | None = None  # a local file's [size, mtime_ns, ctime_ns, inode] as read (fetcher.file_stat)

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")


ENTRY_FIELDS = tuple(f.name for f in fields(StoredFetch))


class _LogIndex:
    """Each source's last arrival in one fetch log, kept for the life of the process and brought up to
    date by reading only what was appended since: a run's chunk steps each open the store, and reading
    the whole log every time would cost chunks × log lines. A log that was replaced or shortened is
    read again from its start.

    A process starting afresh takes the index from the snapshot beside the log (``INDEX_NAME``: the index
    up to an offset of this very file) and reads only the lines after it: at 100,000 sources parsing the
    whole log was seconds of every refresh, also of one with nothing changed. The snapshot is written again
    (whole: temp file and rename) once ``SNAPSHOT_AFTER`` more bytes were read; one that does not match the
    log (another file, a shorter one, unreadable) is ignored."""

    def __init__(self) -> None:
        self.latest: dict[str, StoredFetch] = {}
        self.offset = 0  # bytes read: up to the end of the last whole line
        self.lines = 0  # lines read (for the line numbers of warnings)
        self.identity: tuple[int, int] | None = None  # (device, inode) of the file read
        self.snapshot_offset = 0  # the offset of the snapshot this index read or wrote

    def catch_up(self, path: Path) -> None:
        try:
            with open(path, "rb") as log:
                status = os.fstat(log.fileno())
                if (status.st_dev, status.st_ino) != self.identity or status.st_size < self.offset:
                    self.latest, self.offset, self.lines, self.snapshot_offset = {}, 0, 0, 0
                    self.identity = (status.st_dev, status.st_ino)
                    self._load_snapshot(path.with_name(INDEX_NAME), log, status.st_size)
                log.seek(self.offset)
                data = log.read()
                end = data.rfind(b"\n") + 1  # a line still being appended waits for its newline
                for entry in _parse_lines(path, data[:end].decode("utf-8"), self.lines):
                    self.latest[entry.source_uri] = entry
                self.offset += end
                self.lines += data.count(b"\n", 0, end)
                if self.offset - self.snapshot_offset >= SNAPSHOT_AFTER:
                    self._write_snapshot(path.with_name(INDEX_NAME), log)
        except FileNotFoundError:
            self.latest, self.offset, self.lines, self.identity = {}, 0, 0, None

    def _load_snapshot(self, snapshot: Path, log, size: int) -> None:
        """Start from the snapshot when it is of this log: the same file, no longer than it, and the same bytes
        before its offset (their last ``TAIL`` bytes: lines name sources, hashes and times, so no other log has them)."""
        try:
            with open(snapshot, "rb") as f:
                layout, identity, offset, lines, tail, latest = pickle.load(f)
        except Exception:  # none, damaged or of another version: the log is read whole (and the snapshot replaced)
            return
        if layout != _layout() or identity != self.identity or offset > size or _tail(log, offset) != tail:
            return
        self.latest, self.offset, self.lines, self.snapshot_offset = latest, offset, lines, offset

    def _write_snapshot(self, snapshot: Path, log) -> None:
        try:
            fd, tmp = tempfile.mkstemp(dir=snapshot.parent, prefix=".tmp-index-")
        except OSError:  # a cache: a read-only or full store reads the log instead
            return
        try:
            with os.fdopen(fd, "wb") as out:
                pickle.dump((_layout(), self.identity, self.offset, self.lines, _tail(log, self.offset), self.latest), out,
                            protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, snapshot)
            self.snapshot_offset = self.offset
        except OSError:
            Path(tmp).unlink(missing_ok=True)


TAIL = 1 << 16


def _layout() -> tuple[str, ...]:
    """What a snapshot's entries hold (``StoredFetch``'s fields): one written by other code is not used."""
    return tuple(f.name for f in fields(StoredFetch))


def _tail(log, offset: int) -> bytes:
    """The log's last ``TAIL`` bytes before ``offset``."""
    log.seek(max(0, offset - TAIL))
    return log.read(offset - max(0, offset - TAIL))


_INDEXES: dict[Path, _LogIndex] = {}  # per fetch log path, for this process
_INDEXES_LOCK = threading.Lock()


def forget_log_indexes() -> None:
    """Drop this process's fetch-log indexes (a line per source: ~150 MB at 100k sources) once the run's
    fetching is done, so the writer's process does not carry them through dbt and the publish; a later
    RawStore reads its log again."""
    with _INDEXES_LOCK:
        _INDEXES.clear()


class RawStore:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.blobs = self.root / "blobs"
        self.log_path = self.root / LOG_NAME
        self._lock = threading.Lock()
        self._latest: dict[str, StoredFetch] | None = None

    def blob_path(self, content_hash: str) -> Path:
        if len(content_hash) != 64 or not HEX.issuperset(content_hash):
            raise ValueError(f"not a sha256 hex digest: {content_hash!r}")
        return self.blobs / content_hash[:2] / content_hash

    def has(self, content_hash: str) -> bool:
        return self.blob_path(content_hash).exists()

    def get(self, content_hash: str) -> bytes:
        """The bytes of a blob, checked against their hash (a damaged store fails loudly)."""
        path = self.blob_path(content_hash)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise KeyError(f"no blob {content_hash} in {self.root}") from None
        if sha256_hex(data) != content_hash:
            raise ValueError(f"blob {path} is damaged: its content no longer hashes to its name")
        return data

    def put(
        self,
        source_uri: str,
        data: bytes,
        headers: dict[str, str] | None = None,
        fetched_at: str | None = None,
        final_url: str | None = None,
        http_status: int | None = None,
        file_stat: list[int] | None = None,
    ) -> StoredFetch:
        """Keep ``data`` (once per distinct content) and log this arrival of ``source_uri``."""
        content_hash = sha256_hex(data)
        entry = StoredFetch(
            source_uri=source_uri,
            content_hash=content_hash,
            size=len(data),
            fetched_at=fetched_at or utc_now(),
            final_url=final_url,
            http_status=http_status,
            headers={k.lower(): v for k, v in (headers or {}).items()},
            file_stat=file_stat,
        )
        path = self.blob_path(content_hash)
        # the blob outside the lock: the fetch threads' fsyncs overlap, and none waits on another's to ask ``latest``
        # (two threads writing one content each rename the same bytes into place)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        with self._lock:
            self.root.mkdir(parents=True, exist_ok=True)
            line = json.dumps({f: getattr(entry, f) for f in ENTRY_FIELDS}, ensure_ascii=False) + "\n"  # (not asdict's deep copy)
            with open(self.log_path, "ab+") as log:
                if log.seek(0, os.SEEK_END) > 0:
                    log.seek(-1, os.SEEK_END)
                    if log.read(1) != b"\n":  # after a torn line, start a fresh one
                        line = "\n" + line
                log.write(line.encode("utf-8"))
            if self._latest is not None:
                self._latest[source_uri] = entry
        return entry

    def latest(self, source_uri: str) -> StoredFetch | None:
        """The last stored fetch of ``source_uri``, or None if it was never fetched."""
        with self._lock:
            if self._latest is None:
                with _INDEXES_LOCK:
                    index = _INDEXES.setdefault(self.log_path.absolute(), _LogIndex())
                    index.catch_up(self.log_path)
                    self._latest = dict(index.latest)
            return self._latest.get(source_uri)

    def entries(self) -> Iterator[StoredFetch]:
        """The whole fetch log, oldest first."""
        with self._lock:
            entries = list(self._read_log())
        return iter(entries)

    def _read_log(self) -> Iterator[StoredFetch]:
        if not self.log_path.exists():
            return
        yield from _parse_lines(self.log_path, self.log_path.read_text(encoding="utf-8"))


def _parse_lines(path: Path, text: str, first: int = 0) -> Iterator[StoredFetch]:
    """The fetch log entries in ``text`` (lines of ``path`` after its first ``first``)."""
    for number, line in enumerate(text.splitlines(), first + 1):
        if not line.strip():
            continue
        try:
            yield StoredFetch(**json.loads(line))
        except (ValueError, TypeError) as exc:
            # Only a crash mid-append tears a line; the blob it described is still in blobs/.
            warnings.warn(f"{path}:{number}: skipping a torn fetch log line: {exc}", stacklevel=3)
