"""Local pages at 100,000 documents (issue #11): an unchanged page is known by its file's stat, not read
again, and its attachment links by its content hash, not scanned again; a changed page is always read.

The counts come from spies that call the real functions through (``read_document``, ``find_attachments``,
``RawStore.get``): the results are the same either way, so only the work done shows the difference."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from orchestration.fetching import RawStore, fetch_sources, load_manifest
from orchestration.fetching import fetcher, unchanged
from tests.test_fetch import FAST
from tests.test_fetch_attachments import PDF, TITLE, article


@pytest.fixture
def calls(monkeypatch):
    """How often files are read, stored copies fetched and pages scanned (each call goes through)."""
    counts = {"read": 0, "get": 0, "scan": 0}

    def spy(name, real):
        def call(*args, **kwargs):
            counts[name] += 1
            return real(*args, **kwargs)
        return call

    monkeypatch.setattr(fetcher, "read_document", spy("read", fetcher.read_document))
    monkeypatch.setattr(fetcher, "find_attachments", spy("scan", fetcher.find_attachments))
    monkeypatch.setattr(RawStore, "get", spy("get", RawStore.get))
    return counts


@pytest.fixture
def settled_now(monkeypatch):
    """Files written by the test count as settled at once (else their stat is trusted only 3 s after a change)."""
    monkeypatch.setattr(unchanged, "SETTLED_NS", -10**12)


def site(tmp_path: Path) -> Path:
    """Two pages in ``pages/`` (the manifest's folder), one linking a PDF in ``files/`` beside it."""
    docs = tmp_path / "pages"
    (tmp_path / "files").mkdir(parents=True)
    docs.mkdir()
    (docs / "a_article.html").write_bytes(article(f'<p>附件：<a href="../files/z_report.pdf">{TITLE}.pdf</a></p>'))
    (docs / "b_page.html").write_bytes(article("<p>第二页</p>"))
    (tmp_path / "files" / "z_report.pdf").write_bytes(PDF)
    return docs


def manifest_for(docs: Path):
    (docs.parent / "sources.yml").write_text("sources:\n  - path: pages/\n", encoding="utf-8")
    return load_manifest(docs.parent / "sources.yml")


def test_an_unchanged_local_page_is_neither_read_nor_scanned_again(tmp_path, calls, settled_now):
    docs, store = site(tmp_path), tmp_path / "raw"
    first = fetch_sources(manifest_for(docs), RawStore(store), FAST)
    assert calls["read"] == 3 and calls["scan"] == 2  # the PDF is sniffed, not scanned
    calls.update(read=0, get=0, scan=0)
    again = fetch_sources(manifest_for(docs), RawStore(store), FAST)
    # the pages: their stat and remembered links say it all; the .pdf attachment is read to check it is one
    assert calls == {"read": 1, "get": 0, "scan": 0}
    assert [(r.source_uri, r.status, r.content_hash, r.page, r.headers) for r in again] == \
        [(r.source_uri, "unchanged", r.content_hash, r.page, r.headers) for r in first]
    assert {Path(r.source_uri).name: r.page for r in again}["z_report.pdf"] == str(docs / "a_article.html"), \
        "the attachment is still its page's"


def test_a_page_edited_to_the_same_size_and_its_old_mtime_is_read_again(tmp_path, calls, settled_now):
    docs, store = site(tmp_path), tmp_path / "raw"
    page = docs / "b_page.html"
    (first,) = [r for r in fetch_sources(manifest_for(docs), RawStore(store), FAST) if r.source_uri == str(page)]
    before = os.stat(page)
    data = page.read_bytes()
    page.write_bytes(data.replace("第二页".encode(), "第三页".encode()))  # same size
    os.utime(page, ns=(before.st_atime_ns, before.st_mtime_ns))  # and the mtime put back (touch -r, cp -p)
    assert os.stat(page).st_size == before.st_size and os.stat(page).st_mtime_ns == before.st_mtime_ns
    (second,) = [r for r in fetch_sources(manifest_for(docs), RawStore(store), FAST) if r.source_uri == str(page)]
    assert second.status == "fetched" and second.changed and second.content_hash != first.content_hash
    assert RawStore(store).get(second.content_hash) == page.read_bytes()


def test_a_file_read_just_after_it_changed_is_read_again_next_time(tmp_path, calls):
    """A change within the timestamps' tick after the read would leave the stat as it was: a file that
    changed less than ``SETTLED_NS`` before it was read gets no stat recorded, so the next fetch reads it."""
    docs, store = site(tmp_path), tmp_path / "raw"
    fetch_sources(manifest_for(docs), RawStore(store), FAST)
    assert RawStore(store).latest(str(docs / "b_page.html")).file_stat is None
    calls.update(read=0, get=0, scan=0)
    fetch_sources(manifest_for(docs), RawStore(store), FAST)
    assert calls["read"] == 3


def test_remembered_links_are_used_only_for_the_same_content_at_the_same_address(tmp_path, calls, settled_now):
    """The same bytes under another name link other files (relative links): scanned for themselves;
    a store without its remembered links scans again and finds the same."""
    docs, store = site(tmp_path), tmp_path / "raw"
    fetch_sources(manifest_for(docs), RawStore(store), FAST)
    (docs / "c_copy.html").write_bytes((docs / "a_article.html").read_bytes())
    calls.update(read=0, get=0, scan=0)
    results = fetch_sources(manifest_for(docs), RawStore(store), FAST)
    assert calls["scan"] == 1 and calls["read"] == 2, "only the new copy (and the .pdf attachment)"
    assert [r.source_uri for r in results if r.page == str(docs / "c_copy.html")] == [], "its attachment was taken by a_article"
    calls.update(read=0, get=0, scan=0)
    fetch_sources(manifest_for(docs), RawStore(store), FAST)
    assert calls["scan"] == 0, "each address keeps its own entry for the same bytes (a mirrored page, the bench's corpus)"
    import shutil

    shutil.rmtree(store / "links")
    calls.update(read=0, get=0, scan=0)
    again = fetch_sources(manifest_for(docs), RawStore(store), FAST)
    assert calls["scan"] == 3 and calls["read"] == 1
    # the same results (listed in the order the jobs' threads took the PDF, so compared as sets)
    assert sorted((r.source_uri, r.status, r.page) for r in again) == sorted((r.source_uri, "unchanged", r.page) for r in results)


def test_known_unchanged_gives_the_fetchers_result_for_unchanged_pages_without_attachments(tmp_path, calls, settled_now):
    """What ``plan_chunks`` hands to the writer without a fetch step: exactly what ``fetch_sources`` answers for
    an unchanged page that links nothing, found by stat and remembered scan alone; a page with attachment
    links, a changed page (same size, old mtime) and a new page are left to the fetch."""
    docs, store = site(tmp_path), tmp_path / "raw"
    fetch_sources(manifest_for(docs), RawStore(store), FAST)
    again = {r.source_uri: r for r in fetch_sources(manifest_for(docs), RawStore(store), FAST)}
    calls.update(read=0, get=0, scan=0)
    known, rest = fetcher.known_unchanged(manifest_for(docs), RawStore(store), FAST)
    assert calls == {"read": 0, "get": 0, "scan": 0}
    assert [r.source_uri for r in known] == [str(docs / "b_page.html")]
    (page,) = known
    twin = again[page.source_uri]
    assert (page.status, page.content_hash, page.headers, page.size, page.changed, page.page) == \
        (twin.status, twin.content_hash, twin.headers, twin.size, twin.changed, twin.page) == \
        ("unchanged", twin.content_hash, twin.headers, twin.size, False, None)
    assert [s.location for s in rest] == [str(docs / "a_article.html")], "its attachment must be fetched to be known"

    path = docs / "b_page.html"
    before = os.stat(path)
    path.write_bytes(path.read_bytes().replace("第二页".encode(), "第三页".encode()))  # same size
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # and the old mtime put back
    (docs / "c_new.html").write_bytes(article("<p>新页</p>"))
    known, rest = fetcher.known_unchanged(manifest_for(docs), RawStore(store), FAST)
    assert known == [] and sorted(Path(s.location).name for s in rest) == ["a_article.html", "b_page.html", "c_new.html"]


def test_a_known_page_has_the_remembered_scan_of_its_own_address_whatever_its_name(tmp_path, calls, settled_now):
    """The plan writes a page's file URI from its folder's (no ``Path`` per page): it must be ``Path.as_uri()``
    exactly, or no remembered scan is found and every page is read again, for names with spaces, ``%``, ``#``
    and Chinese too."""
    docs, store = tmp_path / "pages", tmp_path / "raw"  # (the folder the test manifest names)
    docs.mkdir()
    names = ["报告 2021.html", "100%#a.html", "plain.html", "站点 报告.txt"]
    for name in names:
        (docs / name).write_bytes(article("<p>无附件</p>"))
    fetch_sources(manifest_for(docs), RawStore(store), FAST)
    run = fetcher._Run(None, RawStore(store), FAST, False, [tmp_path])
    assert [run._file_uri(str(docs / n)) for n in names] == [(docs / n).as_uri() for n in names]
    assert run._file_uri("/") == Path("/").as_uri() and run._file_uri("/a//b.html") == Path("/a//b.html").as_uri()
    known, rest = fetcher.known_unchanged(manifest_for(docs), RawStore(store), FAST)
    assert sorted(Path(r.source_uri).name for r in known) == sorted(names) and rest == []
