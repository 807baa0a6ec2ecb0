"""Bytes in, text out: reading a local file safely, format sniffing (by magic bytes, never the extension) and charset decoding.

Charset order: BOM, strict UTF-8, the declared charset (HTTP ``Content-Type`` header, then
``<meta charset>`` / ``http-equiv`` / ``<?xml encoding>``), strict GB18030, then charset-normalizer. Any GB-family name (gb2312, gbk, cp936...) is
decoded as GB18030, its superset, so pages declaring gb2312 but using GBK/GB18030-only
characters come out right.
"""

from __future__ import annotations

import codecs
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from extract.readers import READERS
from extract.readers.containers import OLE2_MAGIC, ZIP_MAGIC, BadContainer, ole2_kind, ole2_streams, zip_kind, zip_members

HTML, TEXT, PDF, UNKNOWN = "html", "text", "pdf", "unknown"
ZIP, OLE2, CORRUPT = "zip", "ole2", "corrupt"  # containers: their kind (docx, xlsx, doc, xls, wps...) comes from their directory

_MAGIC: tuple[tuple[bytes, str, str], ...] = (
    (b"%PDF", PDF, "PDF document"),
    (OLE2_MAGIC, OLE2, "OLE2 compound file"),
    (ZIP_MAGIC, ZIP, "ZIP container"),
    (b"{\\rtf", "rtf", "RTF document"),
    (b"\x89PNG", UNKNOWN, "PNG image"),
    (b"\xff\xd8\xff", UNKNOWN, "JPEG image"),
    (b"GIF8", UNKNOWN, "GIF image"),
)
_GB_FAMILY = {"gb2312", "gbk", "gb18030", "cp936", "x-gbk", "gb_2312-80", "csgb2312", "euc-cn", "hz-gb-2312", "ms936", "windows-936"}
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.I)
_META_CHARSET = re.compile(rb"<meta[^>]{0,400}?charset\s*=\s*[\"']?\s*([\w.:-]+)|<\?xml[^>]{0,200}?encoding\s*=\s*[\"']([\w.:-]+)", re.I)
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\ufffd]")
_HTML_SNIFF = re.compile(r"<\s*(?:!doctype\s+html|html|head|body|table|div|p|meta|title|td|tr|span|br)\b", re.I)


MAX_DOCUMENT_BYTES = 30_000_000  # the largest document read, from a file or over HTTP
PSEUDO_FILESYSTEMS = ("/proc", "/sys", "/dev")  # kernel state, not documents (/proc/self/environ holds secrets)
_READ_CHUNK = 1 << 20


class UnreadableDocument(Exception):
    """A local file that is not read as a document; the message is the reason."""


def read_document(path: str | Path, max_bytes: int = MAX_DOCUMENT_BYTES) -> bytes:
    """A local file's bytes, streamed up to ``max_bytes``; devices, FIFOs, sockets and /proc, /sys, /dev are refused.

    The file is opened without blocking (a FIFO with no writer would otherwise hang) and checked
    to be a regular file on the open descriptor, so what is read is what was checked.
    """
    real = os.path.realpath(path)
    for root in PSEUDO_FILESYSTEMS:
        if real == root or real.startswith(root + "/"):
            raise UnreadableDocument(f"refused: {path} is a special file (under {root}), not a document")
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    except OSError as exc:
        raise UnreadableDocument(f"cannot read file: {exc.strerror or exc}") from None
    with open(fd, "rb", buffering=0) as file:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = "a FIFO" if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode) else "not a regular file"
            raise UnreadableDocument(f"refused: {path} is {kind}, not a document")
        chunks: list[bytes] = []
        size = 0
        while chunk := file.read(min(_READ_CHUNK, max_bytes + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
            if size > max_bytes:
                raise UnreadableDocument(f"oversize: {path} is larger than the cap of {max_bytes} bytes")
        return b"".join(chunks)


@dataclass
class Loaded:
    """A decoded document (``text`` is empty for unsupported formats)."""

    format: str
    text: str
    encoding: str | None
    problem: tuple[str, str] | None = None  # (issue code, message) when it could not be read well


def sniff_binary(data: bytes) -> tuple[str, str] | None:
    """(format, description) for known binary formats by magic bytes; a ZIP or OLE2 container by its directory
    (``extract.readers.containers``: docx, xlsx, doc, xls, wps...). A container whose directory cannot be
    read is ``corrupt`` with the reason as its description."""
    head = data[:1024].lstrip()
    for magic, fmt, what in _MAGIC:
        if head.startswith(magic):
            if fmt not in (ZIP, OLE2):
                return fmt, what
            body = data[len(data[:1024]) - len(head):] if len(head) < len(data[:1024]) else data
            try:
                if fmt == ZIP:
                    return zip_kind({m.filename for m in zip_members(body)})
                return ole2_kind(ole2_streams(body))
            except BadContainer as exc:
                return CORRUPT, str(exc)
    return None


def canonical_charset(name: str | None) -> str | None:
    """A Python codec name for a declared charset, GB-family mapped to gb18030; None if unknown."""
    if not name:
        return None
    low = name.strip().lower().strip("\"'")
    if low in _GB_FAMILY:
        return "gb18030"
    try:
        codec = codecs.lookup(low).name
    except LookupError:
        return None
    return "gb18030" if codec in {"gb2312", "gbk", "gb18030", "hz"} else codec


def _declared(data: bytes, headers: Mapping[str, str] | None) -> str | None:
    if headers:
        for k, v in headers.items():
            if k.lower() == "content-type":
                m = _HEADER_CHARSET.search(v)
                if m and (cs := canonical_charset(m.group(1))):
                    return cs
    m = _META_CHARSET.search(data[:8192])
    if m:
        return canonical_charset((m.group(1) or m.group(2)).decode("ascii", "replace"))
    return None


def _bom(data: bytes) -> str | None:
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        return "utf-16"
    if data.startswith(b"\x84\x31\x95\x33"):
        return "gb18030"
    return None


def _strict(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


_CONTROL_BYTES = bytes((*range(0x00, 0x09), *range(0x0E, 0x20)))
_CONTROL_FROM_CONTROL_BYTES = {"utf-8", "utf-8-sig", "gb18030"}  # codecs whose control characters only come from control bytes


def _looks_binary(text: str, data: bytes, encoding: str) -> bool:
    """Many control characters or replacement characters: not a text document."""
    sample = text[:20000]
    if not sample:
        return False
    if "\ufffd" not in sample and encoding in _CONTROL_FROM_CONTROL_BYTES and not any(b in data for b in _CONTROL_BYTES):
        return False  # no control byte at all: the common case, told faster from the bytes (a memchr per byte value) than from the text
    bad = len(_CONTROL.findall(sample))
    return bad / len(sample) > 0.05


def decode(data: bytes, headers: Mapping[str, str] | None = None) -> tuple[str, str, tuple[str, str] | None]:
    """(text, encoding, problem) — never raises.

    Valid UTF-8 wins over a declaration: non-ASCII text that happens to be valid UTF-8 is
    UTF-8 (GBK bytes almost never are), while GB18030 decodes almost any bytes, so a UTF-8
    page declared gb2312 would otherwise come out as silent mojibake.
    """
    enc = _bom(data)
    if enc:
        return data.decode(enc, errors="replace"), enc, None
    try:
        return data.decode("utf-8"), "utf-8", None
    except UnicodeDecodeError as exc:
        cut_utf8 = exc.reason == "unexpected end of data"
        cut_at = exc.start
    declared = _declared(data, headers)
    if declared and declared != "utf-8":
        text = _strict(data, declared)
        if text is not None:
            return text, declared, None
    if cut_utf8 and data[:cut_at].decode("utf-8", "ignore"):
        # a UTF-8 page cut mid-character (truncated download): keep UTF-8, note the loss
        return data[:cut_at].decode("utf-8"), "utf-8", ("decode_failure", "the document ends inside a UTF-8 character (truncated?)")
    text = _strict(data, "gb18030")
    if text is not None:
        return text, "gb18030", None
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(data[:200_000]).best()
        guess = canonical_charset(best.encoding) if best is not None else None
    except Exception:  # noqa: BLE001 - detection is best effort
        guess = None
    enc = guess or declared or "gb18030"
    text = data.decode(enc, errors="replace")
    bad = text.count("\ufffd")
    problem = ("decode_failure", f"{bad} undecodable characters replaced (decoded as {enc})") if bad else None
    return text, enc, problem


def load(data: bytes, headers: Mapping[str, str] | None = None) -> Loaded:
    """Sniff and decode a document."""
    if not data or data.isspace():  # (isspace stops at the first byte that is not: no 50 MB copy)
        return Loaded(UNKNOWN, "", None, ("empty_document", "the document is empty"))
    binary = sniff_binary(data)
    if binary:
        fmt, what = binary
        if fmt in READERS:  # read from the bytes by its reader (extract.readers), not decoded as text
            return Loaded(fmt, "", None)
        if fmt == CORRUPT:
            return Loaded(fmt, "", None, ("unsupported_format", f"{what}: not read"))
        return Loaded(fmt, "", None, ("unsupported_format", f"{what}: not readable as a report page (yet)"))
    text, enc, problem = decode(data, headers)
    if _looks_binary(text, data, enc):
        return Loaded(UNKNOWN, "", enc, ("decode_failure", "binary content: not a text or HTML document"))
    fmt = HTML if _HTML_SNIFF.search(text[:4096]) or "<table" in text[:200_000].lower() else TEXT
    return Loaded(fmt, text, enc, problem)
