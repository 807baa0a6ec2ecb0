"""The sources manifest: which report pages, listing columns and local documents to fetch.

A malformed manifest is refused whole, before anything runs, with the file, line and reason.
The format is documented in ``orchestration/fetching/README.md``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit

import yaml

from .config import FetchConfig, coerce, setting_names

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_MANIFEST = PACKAGE_DIR.parent / "sample_corpus" / "sources.yml"
MANIFEST_SUFFIXES = (".yml", ".yaml")
# Files a folder source contributes; anything else in a folder (truth JSON, notes, images) is left alone.
DOCUMENT_SUFFIXES = (".html", ".htm", ".shtml", ".xhtml", ".txt", ".text", ".pdf", ".doc", ".docx", ".wps", ".rtf", ".xls", ".xlsx")
DEFAULT_LINK_TEXT = r"年度报告|年报"

KINDS = ("url", "listing", "path")
SOURCE_KEYS = {
    "url": {"url", "agency"},
    "listing": {"listing", "agency", "max_pages", "link_text"},
    "path": {"path", "agency"},
}


class ManifestError(ValueError):
    """A manifest that cannot be used as written; the message names the file, line and reason."""


@dataclass(frozen=True)
class SourceSpec:
    """One thing to fetch.

    ``kind`` is ``url`` (one report page), ``listing`` (a column of report links to crawl) or ``file``
    (one local document; a folder in the manifest becomes one ``file`` spec per document).
    ``location`` is the URL or the absolute file path, which is also the document's ``source_uri``.
    """

    kind: str  # url | listing | file
    location: str
    agency_hint: str | None = None
    max_pages: int | None = None  # listing only; None: FetchConfig.listing_max_pages
    link_text: str = DEFAULT_LINK_TEXT  # listing only: regex a link's text (or title) must match
    line: int | None = None  # where the manifest declared it (1-based), for messages

    @property
    def is_remote(self) -> bool:
        return self.kind in ("url", "listing")


@dataclass
class Manifest:
    sources: list[SourceSpec]
    settings: dict[str, Any] = field(default_factory=dict)  # FetchConfig overrides (see config.py)
    path: Path | None = None  # the manifest file; None for an implicit one (a folder or a file)
    root: Path | None = None  # the folder local sources must lie in (besides allowed_roots); None: only those


def local_roots(root: Path | None, allowed_roots: str) -> list[Path]:
    """The folders local sources may resolve into: the manifest's own and the ``allowed_roots`` setting
    (comma-separated; relative ones are taken from the manifest's folder)."""
    base = root or Path.cwd()
    extra = [base / Path(r.strip()).expanduser() for r in allowed_roots.split(",") if r.strip()]
    return [p.resolve() for p in ([root] if root else []) + extra]


def outside_roots(path: Path, roots: list[Path], real: Path | None = None) -> str | None:
    """Why ``path`` (symlinks resolved: ``real``, else resolved here) may not be read as a local source, or None
    when it lies in a root."""
    real = real or path.resolve()
    if any(real.is_relative_to(root) for root in roots):
        return None
    where = ", ".join(str(r) for r in roots) or "no folder (the manifest has none)"
    return f"refused: {path} resolves to {real}, outside {where}; add its folder to the allowed_roots setting to read it"


def default_manifest_path() -> Path:
    """The bundled sample corpus manifest, written (listing the bundled documents) if absent."""
    if not DEFAULT_MANIFEST.exists():
        DEFAULT_MANIFEST.parent.mkdir(parents=True, exist_ok=True)
        DEFAULT_MANIFEST.write_text(
            "# The bundled sample corpus: the default sources manifest of `disclosure refresh`.\n"
            "# Format: orchestration/fetching/README.md. Paths are relative to this file.\n"
            "sources:\n  - path: documents/\n",
            encoding="utf-8",
        )
    return DEFAULT_MANIFEST


# A manifest read by ``manifest_for(..., hand_over=True)`` for the next reading of the same one in this process:
# ``disclosure refresh`` checks and counts the manifest before its run, and the run's plan (in the same process,
# on the in-process executor) takes it instead of listing a folder of 100,000 documents again.
_HANDED_OVER: dict[tuple[Path, tuple], Manifest] = {}


def manifest_for(path_or_folder: str | Path, overrides: Mapping[str, Any] | None = None, hand_over: bool = False) -> Manifest:
    """A manifest file (.yml/.yaml) as written; a folder or a single document as an implicit manifest.
    ``overrides``: the operator's fetch settings (FetchConfig.resolve), e.g. ``allowed_roots``.
    ``hand_over``: keep it for the next call for the same manifest (which takes it: read once; ``drop_handed_over``)."""
    key = (Path(path_or_folder).expanduser().absolute(), tuple(sorted((overrides or {}).items())))
    handed = _HANDED_OVER.pop(key, None)
    if handed is not None:
        return handed
    manifest = _read_manifest(path_or_folder, overrides)
    if hand_over:
        _HANDED_OVER[key] = manifest
    return manifest


def drop_handed_over() -> None:
    """Forget a manifest handed over but not taken (its run never planned)."""
    _HANDED_OVER.clear()


def _read_manifest(path_or_folder: str | Path, overrides: Mapping[str, Any] | None) -> Manifest:
    path = Path(path_or_folder).expanduser()
    if not path.exists():
        raise ManifestError(f"{path}: no such manifest, folder or document")
    if path.is_file() and path.suffix.lower() in MANIFEST_SUFFIXES:
        return load_manifest(path, overrides)
    root = path.resolve() if path.is_dir() else path.resolve().parent
    return Manifest(sources=local_documents(path, where=str(path)), root=root)


def load_manifest(path: Path, overrides: Mapping[str, Any] | None = None) -> Manifest:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{path}: cannot read manifest: {exc}") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        reason = getattr(exc, "problem", None) or str(exc)
        raise ManifestError(f"{where}: invalid YAML: {reason}") from None
    return _Reader(path, overrides).manifest(root)


def local_documents(path: Path, where: str, agency: str | None = None, line: int | None = None) -> list[SourceSpec]:
    """A file, or every document file under a folder (recursively, sorted, hidden files skipped)."""
    path = path.resolve()
    if path.is_file():
        files = [path]
    elif not path.is_dir():
        raise ManifestError(f"{where}: {path} is neither a regular file nor a folder (a FIFO or a device is no document)")
    else:
        files = [os.path.join(path, *parts) for parts in sorted(_document_files(str(path)))]  # no Path per file
        if not files:
            raise ManifestError(f"{where}: folder {path} holds no documents ({', '.join(DOCUMENT_SUFFIXES)})")
    return [SourceSpec(kind="file", location=str(f), agency_hint=agency, line=line) for f in files]


def _document_files(folder: str, parts: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """The document files under ``folder`` as path parts relative to it (hidden files and folders skipped,
    symlinked folders not entered, as ``Path.rglob``), from its listings: 100,000 files cost no stat each."""
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                yield from _document_files(entry.path, (*parts, entry.name))
            elif entry.is_file() and os.path.splitext(entry.name)[1].lower() in DOCUMENT_SUFFIXES:
                yield (*parts, entry.name)


class _Reader:
    """Walks the composed YAML nodes so every complaint can name its line."""

    def __init__(self, path: Path, overrides: Mapping[str, Any] | None = None):
        self.path = path
        self.overrides = overrides
        self.base = path.resolve().parent
        self.roots: list[Path] = [self.base]  # where local sources may lie; settings may add folders

    def fail(self, node: yaml.Node | None, reason: str) -> ManifestError:
        line = f":{node.start_mark.line + 1}" if node is not None else ""
        return ManifestError(f"{self.path}{line}: {reason}")

    def mapping(self, node: yaml.Node, what: str) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{what} must be a mapping (key: value)")
        out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode):
                raise self.fail(key, f"{what}: keys must be plain words")
            if key.value in out:
                raise self.fail(key, f"{what}: duplicate key {key.value!r}")
            out[key.value] = (key, value)
        return out

    def scalar(self, node: yaml.Node, what: str) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, f"{what} must be a single value")
        return yaml.SafeLoader("").construct_object(node)

    def text(self, node: yaml.Node, what: str) -> str:
        value = self.scalar(node, what)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(node, f"{what} must be non-empty text")
        return value.strip()

    def manifest(self, root: yaml.Node | None) -> Manifest:
        if root is None:
            raise self.fail(None, "empty manifest: expected a 'sources:' list")
        top = self.mapping(root, "the manifest")
        for name, (key, _) in top.items():
            if name not in ("sources", "settings"):
                raise self.fail(key, f"unknown key {name!r} (expected 'sources' and optionally 'settings')")
        if "sources" not in top:
            raise self.fail(root, "missing 'sources:' list")
        settings = self.settings(top["settings"][1]) if "settings" in top else {}
        try:
            self.roots = local_roots(self.base, FetchConfig.resolve(settings, self.overrides).allowed_roots)
        except ValueError as exc:
            raise self.fail(None, str(exc)) from None
        seq = top["sources"][1]
        if not isinstance(seq, yaml.SequenceNode) or not seq.value:
            raise self.fail(seq, "'sources' must be a non-empty list")
        sources: list[SourceSpec] = []
        for item in seq.value:
            sources.extend(self.source(item))
        return Manifest(sources=sources, settings=settings, path=self.path, root=self.base)

    def settings(self, node: yaml.Node) -> dict[str, Any]:
        known = setting_names()
        out: dict[str, Any] = {}
        for name, (key, value) in self.mapping(node, "settings").items():
            if name not in known:
                raise self.fail(key, f"unknown setting {name!r} (known: {', '.join(known)})")
            scalar = self.scalar(value, f"setting {name!r}")
            try:
                out[name] = coerce(name, scalar)
            except ValueError as exc:
                raise self.fail(value, f"setting {name!r}: {scalar!r} {exc}") from None
        return out

    def source(self, node: yaml.Node) -> list[SourceSpec]:
        entries = self.mapping(node, "a source")
        line = node.start_mark.line + 1
        kinds = [k for k in KINDS if k in entries]
        if len(kinds) != 1:
            found = f"found {' and '.join(kinds)}" if kinds else f"found only {', '.join(entries) or 'nothing'}"
            raise self.fail(node, f"a source needs exactly one of 'url', 'listing', 'path' ({found})")
        kind = kinds[0]
        for name, (key, _) in entries.items():
            if name not in SOURCE_KEYS[kind]:
                raise self.fail(key, f"unknown key {name!r} in a {kind} source (allowed: {', '.join(sorted(SOURCE_KEYS[kind]))})")
        agency = self.text(entries["agency"][1], "'agency'") if "agency" in entries else None
        value_node = entries[kind][1]
        location = self.text(value_node, f"'{kind}'")
        if kind == "path":
            target = (self.base / location).resolve()
            if not target.exists():
                raise self.fail(value_node, f"path {location!r} does not exist (looked at {target})")
            refused = outside_roots(self.base / location, self.roots)
            if refused:
                raise self.fail(value_node, refused)
            return local_documents(target, where=f"{self.path}:{line}", agency=agency, line=line)
        self.check_url(value_node, location)
        spec = SourceSpec(kind=kind, location=location, agency_hint=agency, line=line)
        if kind == "listing":
            max_pages = None
            if "max_pages" in entries:
                max_pages = self.scalar(entries["max_pages"][1], "'max_pages'")
                if not isinstance(max_pages, int) or isinstance(max_pages, bool) or max_pages < 1:
                    raise self.fail(entries["max_pages"][1], f"'max_pages' must be a positive integer, got {max_pages!r}")
            link_text = DEFAULT_LINK_TEXT
            if "link_text" in entries:
                link_text = self.text(entries["link_text"][1], "'link_text'")
                try:
                    re.compile(link_text)
                except re.error as exc:
                    raise self.fail(entries["link_text"][1], f"'link_text' is not a valid regular expression: {exc}") from None
            spec = SourceSpec(kind=kind, location=location, agency_hint=agency, max_pages=max_pages, link_text=link_text, line=line)
        return [spec]

    def check_url(self, node: yaml.Node, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise self.fail(node, f"{url!r}: only http and https URLs can be fetched (scheme {parts.scheme or 'missing'!r})")
        if not parts.hostname:
            raise self.fail(node, f"{url!r}: URL has no host")
