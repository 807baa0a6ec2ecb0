"""What a ZIP or OLE2 container holds, told from its directory alone (no member is inflated or read).

DOCX, XLSX and ODF are ZIP files, legacy .doc/.xls/.wps are OLE2 compound files: the magic bytes say only
"a container". Its kind comes from the member (ZIP central directory) or stream (OLE2 directory sectors)
names: ``word/document.xml`` is DOCX, ``WordDocument`` a Word 97 binary document (Kingsoft WPS Writer
saves its .wps in the same structure, so it is read the same way). Both walks are bounded: at most
``MAX_MEMBERS`` names, ``MAX_DIR_SECTORS`` directory sectors, and a loop in a sector chain ends the walk.
"""

from __future__ import annotations

import struct
import zipfile
from io import BytesIO

MAX_MEMBERS = 5_000  # ZIP members / OLE2 directory entries looked at; a real report has a few dozen
MAX_DIR_SECTORS = 64  # OLE2 directory sectors followed (4 entries each at 512 bytes)

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
_EOCD = b"PK\x05\x06"
_END_OF_CHAIN = 0xFFFFFFFE


class BadContainer(Exception):
    """The container's directory cannot be read; the message says why."""


def zip_members(data: bytes) -> list[zipfile.ZipInfo]:
    """The ZIP's members from its central directory (nothing inflated), refused past ``MAX_MEMBERS``."""
    at = data.rfind(_EOCD, max(0, len(data) - 65_557))
    if at < 0 or len(data) < at + 22:
        raise BadContainer("ZIP archive without its central directory (truncated or damaged)")
    entries = struct.unpack_from("<H", data, at + 10)[0]
    if entries > MAX_MEMBERS:
        raise BadContainer(f"ZIP archive of {entries} members, more than the {MAX_MEMBERS} read")
    try:
        with zipfile.ZipFile(BytesIO(data)) as archive:
            return archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, struct.error, EOFError) as exc:
        raise BadContainer(f"ZIP archive that cannot be read: {exc}") from None


def zip_kind(names: set[str]) -> tuple[str, str]:
    """(format, description) of a ZIP container by its member names."""
    if "word/document.xml" in names:
        return "docx", "Word document (DOCX)"
    if "xl/workbook.xml" in names:
        return "xlsx", "Excel workbook (XLSX)"
    if "content.xml" in names and "mimetype" in names:
        return "odf", "OpenDocument file"
    if "OFD.xml" in names:
        return "ofd", "OFD document (GB/T 33190)"
    return "zip", "ZIP archive that is no Word or Excel document"


def _sector(data: bytes, index: int, size: int) -> bytes:
    start = (index + 1) * size
    if index < 0 or start + size > len(data):
        raise BadContainer(f"OLE2 sector {index} lies outside the file (truncated or damaged)")
    return data[start:start + size]


def _fat_sectors(data: bytes, size: int) -> list[int]:
    """Where the allocation table lies: 109 sectors named in the header, the rest in the DIFAT chain (files
    past ~7 MB), followed up to ``MAX_DIR_SECTORS`` sectors."""
    fat = list(struct.unpack_from("<109I", data, 0x4C))
    difat, = struct.unpack_from("<I", data, 0x44)
    seen: set[int] = set()
    while difat < 0xFFFFFFFA and difat not in seen and len(seen) < MAX_DIR_SECTORS:
        seen.add(difat)
        block = _sector(data, difat, size)
        entries = struct.unpack_from(f"<{size // 4}I", block)
        fat.extend(entries[:-1])
        difat = entries[-1]
    return [s for s in fat if s < 0xFFFFFFFA]


def ole2_streams(data: bytes) -> list[str]:
    """The stream and storage names of an OLE2 compound file, from its directory sectors only."""
    if len(data) < 512:
        raise BadContainer("OLE2 file shorter than its header")
    shift, = struct.unpack_from("<H", data, 0x1E)
    if shift not in (9, 12):
        raise BadContainer(f"OLE2 header with an invalid sector size (2^{shift})")
    size = 1 << shift
    per_fat = size // 4
    fat_sectors = _fat_sectors(data, size)
    first_dir, = struct.unpack_from("<I", data, 0x30)

    def next_sector(s: int) -> int:
        fat_index, slot = divmod(s, per_fat)
        if fat_index >= len(fat_sectors):
            raise BadContainer("OLE2 sector chain runs past the allocation table")
        return struct.unpack_from("<I", _sector(data, fat_sectors[fat_index], size), slot * 4)[0]

    names: list[str] = []
    sector, seen = first_dir, set()
    while sector != _END_OF_CHAIN and len(seen) < MAX_DIR_SECTORS and len(names) < MAX_MEMBERS:
        if sector in seen:
            break  # a loop in the chain
        seen.add(sector)
        block = _sector(data, sector, size)
        for off in range(0, size, 128):
            length, kind = struct.unpack_from("<H", block, off + 0x40)[0], block[off + 0x42]
            if kind in (1, 2, 5) and 2 <= length <= 64:
                names.append(block[off:off + length - 2].decode("utf-16-le", "replace"))
        sector = next_sector(sector)
    if not names:
        raise BadContainer("OLE2 file with no readable directory")
    return names


def ole2_kind(names: list[str]) -> tuple[str, str]:
    """(format, description) of an OLE2 compound file by its stream names."""
    streams = set(names)
    if "WordDocument" in streams:
        return "doc", "Word 97-2003 document (.doc, or a Kingsoft WPS .wps in the same structure)"
    if streams & {"Workbook", "Book"}:
        return "xls", "Excel 97-2003 workbook (.xls)"
    if any(n.lower().startswith("wps") for n in streams) or "CONTENTS" in streams:
        return "wps", "WPS / Works document (.wps)"
    if "EncryptedPackage" in streams:
        return "ole2", "encrypted Office document (password protected)"
    return "ole2", "OLE2 compound file that is no Word, Excel or WPS document"
