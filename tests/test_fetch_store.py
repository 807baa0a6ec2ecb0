"""The raw store: content-addressed blobs, an append-only fetch log, nothing ever lost."""

from __future__ import annotations

import hashlib

import pytest

from orchestration.fetching import RawStore


def test_put_get_latest_and_persistence(tmp_path):
    store = RawStore(tmp_path)
    first = store.put("http://a.gov.cn/2020.html", b"v1", {"ETag": '"1"', "Content-Type": "text/html"}, final_url="http://a.gov.cn/x", http_status=200)
    assert first.content_hash == hashlib.sha256(b"v1").hexdigest()
    assert (tmp_path / "blobs" / first.content_hash[:2] / first.content_hash).read_bytes() == b"v1"
    assert first.etag == '"1"' and first.headers["content-type"] == "text/html"
    second = store.put("http://a.gov.cn/2020.html", b"v2", {"Last-Modified": "Wed, 01 Jan 2025 00:00:00 GMT"})
    assert store.latest("http://a.gov.cn/2020.html") == second
    assert store.latest("http://a.gov.cn/other.html") is None
    reopened = RawStore(tmp_path)  # a later run reads the log
    assert reopened.latest("http://a.gov.cn/2020.html") == second
    assert reopened.get(first.content_hash) == b"v1" and reopened.get(second.content_hash) == b"v2"
    assert [e.content_hash for e in reopened.entries()] == [first.content_hash, second.content_hash]


def test_same_bytes_are_stored_once_but_every_arrival_is_logged(tmp_path):
    store = RawStore(tmp_path)
    a = store.put("file:///a.txt", b"same")
    b = store.put("file:///b.txt", b"same")
    assert a.content_hash == b.content_hash
    assert len(list((tmp_path / "blobs").rglob("*"))) == 2  # one folder, one blob
    assert [e.source_uri for e in store.entries()] == ["file:///a.txt", "file:///b.txt"]


def test_missing_and_damaged_blobs_fail_loudly(tmp_path):
    store = RawStore(tmp_path)
    entry = store.put("u", b"original")
    with pytest.raises(KeyError, match="no blob"):
        store.get(hashlib.sha256(b"never stored").hexdigest())
    with pytest.raises(ValueError, match="not a sha256"):
        store.get("../../etc/passwd")
    store.blob_path(entry.content_hash).write_bytes(b"tampered")
    with pytest.raises(ValueError, match="damaged"):
        store.get(entry.content_hash)


def test_a_torn_log_line_is_skipped_with_a_warning_and_later_arrivals_still_count(tmp_path):
    store = RawStore(tmp_path)
    store.put("u", b"one")
    with open(store.log_path, "a", encoding="utf-8") as log:
        log.write('{"source_uri": "u", "content')  # a crash mid-append
    later = RawStore(tmp_path)
    last = later.put("u", b"two")
    with pytest.warns(UserWarning, match="torn fetch log line"):
        assert RawStore(tmp_path).latest("u") == last


def test_a_fresh_process_reads_the_log_index_from_its_snapshot_and_only_the_lines_after_it(tmp_path, monkeypatch):
    """At 100,000 sources parsing the whole fetch log was seconds of every refresh: a process starting afresh
    takes each source's last arrival from the snapshot beside the log and parses only what came after."""
    from orchestration.fetching import store as store_module

    monkeypatch.setattr(store_module, "SNAPSHOT_AFTER", 0)  # a snapshot after any read (else after 1 MB)
    store = RawStore(tmp_path)
    for n in range(20):
        store.put(f"https://example.org/{n}.html", f"page {n}".encode())
    store_module.forget_log_indexes()
    assert RawStore(tmp_path).latest("https://example.org/3.html").content_hash == hashlib.sha256(b"page 3").hexdigest()
    assert (tmp_path / store_module.INDEX_NAME).is_file()
    store.put("https://example.org/3.html", b"page 3, changed")
    store.put("https://example.org/new.html", b"a new page")

    parsed: list[int] = []
    real = store_module._parse_lines
    monkeypatch.setattr(store_module, "_parse_lines", lambda path, text, first=0: parsed.append(len(text.splitlines())) or real(path, text, first))
    store_module.forget_log_indexes()  # a new process
    fresh = RawStore(tmp_path)
    assert fresh.latest("https://example.org/3.html").content_hash == hashlib.sha256(b"page 3, changed").hexdigest()
    assert fresh.latest("https://example.org/new.html").content_hash == hashlib.sha256(b"a new page").hexdigest()
    assert fresh.latest("https://example.org/7.html").content_hash == hashlib.sha256(b"page 7").hexdigest()
    assert parsed == [2], "only the two lines after the snapshot"


def snapshot_of(root, pages: int, monkeypatch) -> None:
    """A store of ``pages`` pages ("page N") whose log index snapshot a fresh process has just written."""
    from orchestration.fetching import store as store_module

    monkeypatch.setattr(store_module, "SNAPSHOT_AFTER", 0)  # a snapshot after any read (else after 1 MB)
    store = RawStore(root)
    for n in range(pages):
        store.put(f"https://example.org/{n}.html", f"page {n}".encode())
    store_module.forget_log_indexes()
    RawStore(root).latest("https://example.org/0.html")  # writes the snapshot


@pytest.mark.parametrize("how", ["rewritten in place", "shortened", "damaged snapshot"])
def test_a_snapshot_that_is_not_of_the_log_is_ignored(tmp_path, monkeypatch, how):
    """The snapshot is a cache: a log rewritten in place (same file, other lines), a shorter log or an
    unreadable snapshot means the log is read whole."""
    from orchestration.fetching import store as store_module

    snapshot_of(tmp_path, 5, monkeypatch)
    log = tmp_path / "fetch_log.jsonl"
    other = RawStore(tmp_path / "other")
    for n in range(5):
        other.put(f"https://example.org/{n}.html", f"other {n}".encode())
    lines = (tmp_path / "other" / "fetch_log.jsonl").read_bytes()
    if how == "rewritten in place":
        with open(log, "r+b") as f:  # the same file (inode), other lines
            f.write(lines)
            f.truncate()
        expected = {n: f"other {n}" for n in range(5)}
    elif how == "shortened":
        with open(log, "r+b") as f:
            f.truncate(len(b"".join(log.read_bytes().splitlines(keepends=True)[:2])))
        expected = {0: "page 0", 1: "page 1"}
    else:
        (tmp_path / store_module.INDEX_NAME).write_bytes(b"not a pickle")
        expected = {n: f"page {n}" for n in range(5)}
    store_module.forget_log_indexes()
    fresh = RawStore(tmp_path)
    for n in range(5):
        found = fresh.latest(f"https://example.org/{n}.html")
        assert (found.content_hash if found else None) == (hashlib.sha256(expected[n].encode()).hexdigest() if n in expected else None), n


def test_a_snapshot_written_by_other_code_is_not_used(tmp_path, monkeypatch):
    """Entries pickled with other fields (another version of ``StoredFetch``) would lack what this code reads."""
    from orchestration.fetching import store as store_module

    snapshot_of(tmp_path, 3, monkeypatch)
    parsed: list[int] = []
    real = store_module._parse_lines
    monkeypatch.setattr(store_module, "_parse_lines", lambda path, text, first=0: parsed.append(len(text.splitlines())) or real(path, text, first))
    monkeypatch.setattr(store_module, "_layout", lambda: ("source_uri", "a field of other code"))
    store_module.forget_log_indexes()
    assert RawStore(tmp_path).latest("https://example.org/2.html").content_hash == hashlib.sha256(b"page 2").hexdigest()
    assert parsed == [3], "the whole log read"


def test_a_blob_on_its_way_to_disk_holds_up_neither_lookups_nor_other_arrivals(tmp_path, monkeypatch):
    """A chunk step's fetch threads each store a blob with an fsync; the store's lock covers only the log and
    its index, so ``latest`` and other threads' arrivals do not wait for a slow disk (they did, one at a time)."""
    import os
    import threading

    store = RawStore(tmp_path)
    store.put("file:///known.txt", b"known")
    syncing, release = threading.Event(), threading.Event()
    real_fsync = os.fsync

    def slow_fsync(fd: int) -> None:
        if threading.current_thread().name == "slow":
            syncing.set()
            release.wait(30)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", slow_fsync)
    slow = threading.Thread(target=store.put, args=("file:///slow.txt", b"slow"), name="slow")
    slow.start()
    try:
        assert syncing.wait(10)
        answers: list = []
        other = threading.Thread(target=lambda: answers.extend([store.latest("file:///known.txt"),
                                                                store.put("file:///fast.txt", b"fast")]))
        other.start()
        other.join(10)
        assert not other.is_alive(), "a lookup or another arrival waited for the slow blob's fsync"
        assert answers[0].content_hash == hashlib.sha256(b"known").hexdigest()
        assert store.latest("file:///slow.txt") is None  # not logged until its blob is on disk
    finally:
        release.set()
        slow.join(10)
    assert store.latest("file:///slow.txt").content_hash == hashlib.sha256(b"slow").hexdigest()
    assert RawStore(tmp_path).get(hashlib.sha256(b"slow").hexdigest()) == b"slow"
