"""An unchanged local page known without reading it: its file's stat as recorded when it was last read
(``file_stat``, kept in the fetch log), and what its last scan for attachment links found, kept by
content hash beside the raw store's blobs (``cached_links``).

An unchanged page links what it linked last run: at 100,000 local pages, reading every file and every
stored copy again only to find the same bytes and links was a third of the fetch. The scan depends on the bytes (the hash),
the headers' charset, the page's address (relative links) and the scanner's own code, so an entry is
used only when all of these match; otherwise the page is scanned again and the entry replaced.
Layout: ``links/ab/<sha256>-<key>.json`` under the store's root, or an empty ``<sha256>-<key>.none`` when the
scan found nothing (most pages), so a listing of the folders (``UnlinkedPages``) tells 100,000 pages apart
without opening a file each (a cache: deleting it costs one scan per page).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from pathlib import Path

from extract import PARSER_VERSION

from . import attachments
from .attachments import AttachmentLink, PageAttachments

SETTLED_NS = 3 * 10**9  # a file's stat is trusted once its last change is this much older than the read (2 s: FAT's tick)


def file_stat(status: os.stat_result) -> list[int]:
    """What says a local file is the one read last time without reading it: size, mtime and ctime in
    nanoseconds, and the inode. Not the mtime and size alone: an edit that keeps the size and puts the
    old mtime back (``touch -r``, ``cp -p``, ``rsync -t``) still moves the ctime, which no one can set, and a
    file replaced by a rename (an editor's save) has a new inode."""
    return [status.st_size, status.st_mtime_ns, status.st_ctime_ns, status.st_ino]


def settled(status: os.stat_result) -> bool:
    """Whether the file last changed well before now: timestamps tick coarsely (milliseconds here, seconds
    on some file systems), so an edit in the same tick as the read would keep every field the same."""
    return time.time_ns() - max(status.st_mtime_ns, status.st_ctime_ns) > SETTLED_NS


# the scanner's code and the decoder's version: a change to either scans every page again
SCANNER = hashlib.sha256(Path(attachments.__file__).read_bytes() + PARSER_VERSION.encode()).hexdigest()[:16]


def _name(content_hash: str, base: str, content_type: str | None) -> str:
    """One entry per content at one address (the bench's pages, and mirrored sites, repeat the same bytes
    under many names: one entry per hash would be rewritten by each in turn)."""
    key = hashlib.sha256(f"{SCANNER}\0{base}\0{content_type}".encode()).hexdigest()[:16]
    return f"{content_hash}-{key}"


def _path(root: Path, content_hash: str, base: str, content_type: str | None, suffix: str = ".json") -> Path:
    return Path(root) / "links" / content_hash[:2] / (_name(content_hash, base, content_type) + suffix)


def _key(base: str, content_type: str | None) -> dict:
    return {"scanner": SCANNER, "base": base, "content_type": content_type}


def cached_links(root: Path, content_hash: str, base: str, content_type: str | None) -> PageAttachments | None:
    """The links the page with this content, at ``base``, read with ``content_type``, was last found to have."""
    try:
        entry = json.loads(_path(root, content_hash, base, content_type).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return PageAttachments() if _path(root, content_hash, base, content_type, ".none").exists() else None
    except (OSError, ValueError):
        return None  # a damaged entry: scanned again
    if not isinstance(entry, dict) or entry.get("key") != _key(base, content_type):
        return None
    return PageAttachments([AttachmentLink(*link) for link in entry["links"]], list(entry["off_site"]))


def remember_links(root: Path, content_hash: str, base: str, content_type: str | None, found: PageAttachments) -> None:
    """Keep a scan's result for the next run (written whole: temp file and rename; a scan that found nothing
    as an empty marker)."""
    path = _path(root, content_hash, base, content_type)
    if not found.links and not found.off_site:
        marker = path.with_suffix(".none")
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
        return
    entry = {"key": _key(base, content_type), "links": [[l.url, l.text, l.binary_name] for l in found.links],
             "off_site": found.off_site}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(entry, out, ensure_ascii=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class UnlinkedPages:
    """Which pages' remembered scans found no link, from one listing per ``links/ab`` folder (read when first
    asked), not a file opened per page: a refresh plan asks for every local page at once."""

    def __init__(self, root: Path):
        self.folder = Path(root) / "links"
        self.names: dict[str, set[str]] = {}  # "ab" -> the names of its markers

    def __contains__(self, page: tuple[str, str, str | None]) -> bool:
        content_hash, base, content_type = page
        prefix = content_hash[:2]
        if prefix not in self.names:
            try:
                self.names[prefix] = {e.name for e in os.scandir(self.folder / prefix) if e.name.endswith(".none")}
            except OSError:
                self.names[prefix] = set()
        return _name(content_hash, base, content_type) + ".none" in self.names[prefix]
