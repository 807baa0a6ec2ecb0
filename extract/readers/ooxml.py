"""The ZIP package under DOCX and XLSX: members read with their inflated size bounded before and while inflating.

A zip bomb posing as a DOCX declares a small member that inflates to gigabytes, or lies about its size:
a member is refused when it declares more than ``MAX_MEMBER_BYTES`` or packs tighter than ``MAX_RATIO``
(past 1 MB), and is read in chunks that stop at ``MAX_MEMBER_BYTES`` whatever it declared.
"""

from __future__ import annotations

import zipfile
import zlib
from io import BytesIO

from lxml import etree

from extract.limits import MAX_MEMBER_BYTES, MAX_RATIO
from extract.readers.containers import BadContainer, zip_members

_CHUNK = 1 << 20
_DC = "{http://purl.org/dc/elements/1.1/}"


class OoxmlError(Exception):
    """A package that cannot be read; ``code`` is the issue code, the message its reason."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def open_package(data: bytes) -> zipfile.ZipFile:
    try:
        zip_members(data)  # (bounded member count before zipfile builds its list)
        return zipfile.ZipFile(BytesIO(data))
    except BadContainer as exc:
        raise OoxmlError("unsupported_format", str(exc)) from None


def _check_declared(info: zipfile.ZipInfo) -> None:
    name = info.filename
    if info.file_size > MAX_MEMBER_BYTES:
        raise OoxmlError("input_too_large", f"{name} declares {info.file_size} bytes inflated, more than the "
                                            f"{MAX_MEMBER_BYTES} read (extract.limits.MAX_MEMBER_BYTES): not parsed")
    if info.file_size > _CHUNK and info.file_size > MAX_RATIO * max(info.compress_size, 1):
        raise OoxmlError("input_too_large", f"{name} inflates {info.file_size // max(info.compress_size, 1)} times "
                                            f"its packed size, more than {MAX_RATIO} (extract.limits.MAX_RATIO; a zip bomb?): not parsed")


def read_member(archive: zipfile.ZipFile, name: str) -> bytes:
    """One member's bytes, bounded (see the module docstring)."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise OoxmlError("decode_failure", f"the package has no {name}") from None
    _check_declared(info)
    chunks: list[bytes] = []
    size = 0
    try:
        with archive.open(info) as member:
            while chunk := member.read(_CHUNK):
                size += len(chunk)
                if size > MAX_MEMBER_BYTES:
                    raise OoxmlError("input_too_large", f"{name} inflates past {MAX_MEMBER_BYTES} bytes "
                                                        "(extract.limits.MAX_MEMBER_BYTES; it declared less): not parsed")
                chunks.append(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError) as exc:
        raise OoxmlError("decode_failure", f"{name} cannot be inflated: {exc}") from None
    return b"".join(chunks)


def xml_parser() -> etree.XMLParser:
    """No entities, no network, no DTD: package XML is data only."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True, remove_comments=True)


def core_title(archive: zipfile.ZipFile) -> str | None:
    """``dc:title`` of ``docProps/core.xml``, or None."""
    if "docProps/core.xml" not in archive.NameToInfo:
        return None
    try:
        root = etree.fromstring(read_member(archive, "docProps/core.xml"), xml_parser())
    except (OoxmlError, etree.XMLSyntaxError):
        return None
    el = root.find(_DC + "title")
    return " ".join(el.text.split()) or None if el is not None and el.text else None


def check_package(archive: zipfile.ZipFile) -> None:
    """Every member within the bounds ``read_member`` holds one to, before a library inflates them itself
    (zipfile stops a member at its declared size, so a lying header cannot inflate more)."""
    total = 0
    for info in archive.infolist():
        _check_declared(info)
        total += info.file_size
    if total > 2 * MAX_MEMBER_BYTES:
        raise OoxmlError("input_too_large", f"the package inflates to {total} bytes, more than {2 * MAX_MEMBER_BYTES} read: not parsed")
