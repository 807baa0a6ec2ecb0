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
