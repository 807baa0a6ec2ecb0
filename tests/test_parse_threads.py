"""``parse_document`` from threads (issue #13): the process-wide state it touches stays right.

It pauses the cycle collector, which is the whole process's, and lxml's error log (read to tell
markup nested too deeply) belonged to one module-level parser shared by every thread.
"""

from __future__ import annotations

import gc
import sys
import threading
import time

import pytest

from extract import parse_document

PAGE = "<html><body><p>标题</p><table><tr><td>规章</td><td>1</td></tr></table></body></html>".encode()
DEEP = b"<html><body>" + b"<div>" * 2100 + PAGE + b"</div>" * 2100 + b"</body></html>"  # past libxml2's depth 2048
FILLER = ("<p>" + "填充内容，" * 200 + "</p>").encode()


def _slow_page(megabytes: int) -> bytes:
    return PAGE.replace(b"</body>", FILLER * (megabytes * 1024 * 1024 // len(FILLER)) + b"</body>")


@pytest.fixture
def collector_on():
    gc.enable()
    yield
    gc.enable()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("data", [PAGE, b"", b"<table><tr>" + b"<td>1" * 200_001, DEEP], ids=["page", "empty", "too-large", "deep"])
def test_the_collector_gets_back_the_state_it_had(collector_on, data: bytes) -> None:
    parse_document(data, "x.html")
    assert gc.isenabled()
    gc.disable()
    parse_document(data, "x.html")
    assert not gc.isenabled()


@pytest.mark.timeout(120)
def test_one_parse_ending_does_not_restart_the_collector_under_another(collector_on) -> None:
    """The first parse to begin used to re-enable the collector when it ended, while a second still ran."""
    # sized so the second is inside its parse long before the first ends: a warm parse of 2 MB took 15 ms,
    # hardly longer than the second's start (hashing 20 MB), and the check found the second not yet begun
    short, long = _slow_page(12), _slow_page(40)
    first = threading.Thread(target=parse_document, args=(short, "short.html"))
    second = threading.Thread(target=parse_document, args=(long, "long.html"))
    first.start()
    while gc.isenabled() and first.is_alive():
        time.sleep(0.0005)
    second.start()  # begins while the first parse runs (warm, it takes ~0.1 s, the second ~0.4 s)
    first.join()
    checked = second.is_alive()
    paused = not gc.isenabled()
    second.join()
    assert checked, "the long parse ended before the short one: nothing was checked"
    assert paused
    assert gc.isenabled()


@pytest.mark.timeout(120)
def test_threads_never_read_each_others_lxml_error_log() -> None:
    """Deep markup is told by libxml2's "Excessive depth" error; a parser shared by threads let one
    thread read another's log (a deep page taken as shallow, or the reverse)."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads take turns as often as they can: races show in a few hundred parses
    wrong: list[str] = []

    def parse(data: bytes, name: str, deep: bool) -> None:
        for _ in range(400):
            codes = {i.code for i in parse_document(data, name).issues}
            if ("markup_too_deep" in codes) != deep:
                wrong.append(name)

    threads = [threading.Thread(target=parse, args=(PAGE, "page.html", False)) for _ in range(2)]
    threads += [threading.Thread(target=parse, args=(DEEP, "deep.html", True)) for _ in range(2)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(previous)
    assert wrong == []
