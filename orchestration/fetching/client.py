"""A polite, defensive HTTP GET: per-host limits, robots.txt, retries, redirect checks, size caps,
one wall-clock deadline per request and no connection to non-public addresses (see ``network.py``).

``HttpClient.get`` either returns a complete response (200 with a body, or 304) or raises
``FetchError`` whose ``reason`` says plainly what went wrong; nothing here decides what a page means.
"""

from __future__ import annotations

import threading
import time
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator
from urllib.parse import urljoin, urlsplit, urlunsplit
from urllib.robotparser import RobotFileParser

import httpx

from .config import DOCUMENT_TYPES, ROBOTS_TOKEN, FetchConfig
from .network import AddressRefused, GuardedBackend, allowed_host_names, deadline

REDIRECTS = (301, 302, 303, 307, 308)
ROBOTS_MAX_BYTES = 512_000
INFLATE_STEP = 1 << 20  # bytes decoded per zlib call
MAX_CRAWL_DELAY = 60.0


class FetchError(Exception):
    """A URL that could not be fetched; ``reason`` is what goes into the fetch record."""

    def __init__(self, reason: str, http_status: int | None = None, url: str | None = None, retryable: bool = False, retry_after: float = 0.0, refused: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.http_status = http_status
        self.url = url
        self.retryable = retryable
        self.retry_after = retry_after  # seconds the server asked us to wait (Retry-After), if any
        self.refused = refused  # a non-public address: nothing was sent


@dataclass
class HttpResponse:
    url: str  # after redirects
    status: int  # 200-class or 304
    headers: dict[str, str]  # lower-cased names
    body: bytes  # decoded from gzip/deflate; empty for 304


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.lower()}"


def without_fragment(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(fragment=""))


class HostGate:
    """Per-host politeness: at most ``concurrency`` requests in flight, starts spaced by an interval."""

    def __init__(self, concurrency: int, min_interval: float):
        self.concurrency = max(1, concurrency)
        self.min_interval = min_interval
        self._lock = threading.Lock()
        self._hosts: dict[str, _HostState] = {}

    def _state(self, host: str) -> _HostState:
        with self._lock:
            if host not in self._hosts:
                self._hosts[host] = _HostState(threading.BoundedSemaphore(self.concurrency), self.min_interval)
            return self._hosts[host]

    def slow_down(self, host: str, interval: float) -> None:
        """Raise the host's interval (robots.txt Crawl-delay); never lowers it."""
        state = self._state(host)
        with self._lock:
            state.interval = max(state.interval, min(interval, MAX_CRAWL_DELAY))

    @contextmanager
    def slot(self, host: str) -> Iterator[None]:
        state = self._state(host)
        with state.semaphore:
            with self._lock:
                now = time.monotonic()
                start = max(now, state.next_start)
                state.next_start = start + state.interval
            if start > now:
                time.sleep(start - now)
            yield


@dataclass
class _HostState:
    semaphore: threading.BoundedSemaphore
    interval: float
    next_start: float = 0.0


class HttpClient:
    """One httpx client shared by all fetch threads, with the politeness and robots state of a run."""

    def __init__(self, config: FetchConfig):
        self.config = config
        self.gate = HostGate(config.per_host_concurrency, config.min_interval_seconds)
        transport = httpx.HTTPTransport(limits=httpx.Limits(max_connections=max(config.workers, 1) * 2), trust_env=False)
        # httpx takes no network backend: give its connection pool ours (every connection checked and bounded)
        transport._pool._network_backend = GuardedBackend(allowed_host_names(config.allowed_hosts))
        self._client = httpx.Client(
            timeout=httpx.Timeout(config.timeout_seconds),
            follow_redirects=False,  # redirects are followed by hand, to check each hop
            transport=transport,
            trust_env=False,
        )
        self._robots: dict[str, RobotFileParser | FetchError] = {}  # origin -> parser, or why all is refused
        self._robots_locks: dict[str, threading.Lock] = {}
        self._robots_lock = threading.Lock()  # guards _robots_locks

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def get(self, url: str, headers: dict[str, str] | None = None, accept_types: tuple[str, ...] | None = DOCUMENT_TYPES,
            max_bytes: int | None = None) -> HttpResponse:
        """GET ``url`` following at most ``max_redirects`` http(s) redirects; robots.txt checked at every hop.
        ``max_bytes``: a smaller body cap of this request (an attachment's)."""
        seen = [url]
        current = url
        for _ in range(self.config.max_redirects + 1):
            scheme = urlsplit(current).scheme
            if scheme not in ("http", "https"):
                raise FetchError(f"not an http(s) URL: {current}", url=current)
            self.check_robots(current)
            response = self.exchange(current, headers or {}, accept_types, max_bytes)
            if response.status not in REDIRECTS:
                return response
            location = response.headers.get("location")
            if not location:
                raise FetchError(f"HTTP {response.status} redirect without a Location header", response.status, current)
            target = without_fragment(urljoin(current, location.strip()))
            if urlsplit(target).scheme not in ("http", "https"):
                raise FetchError(f"redirect to a non-HTTP scheme: {target}", response.status, current)
            if target in seen:
                raise FetchError(f"redirect loop: {' -> '.join(seen + [target])}", response.status, current)
            seen.append(target)
            current = target
        raise FetchError(f"too many redirects (more than {self.config.max_redirects}): {' -> '.join(seen)}", url=current)

    def exchange(self, url: str, headers: dict[str, str], accept_types: tuple[str, ...] | None, max_bytes: int | None = None) -> HttpResponse:
        """One request/response, retried with exponential backoff on timeouts, dropped connections, 429 and 5xx."""
        attempts = self.config.retries + 1
        host = urlsplit(url).netloc.lower()
        for attempt in range(attempts):
            try:
                with self.gate.slot(host):
                    return self._once(url, headers, accept_types, max_bytes)
            except FetchError as exc:
                if not exc.retryable or attempt == attempts - 1:
                    if exc.retryable and attempts > 1:
                        exc.reason = f"{exc.reason} (after {attempts} attempts)"
                    raise
                delay = min(max(self.config.backoff_seconds * 2**attempt, exc.retry_after), self.config.max_backoff_seconds)
                time.sleep(delay)
        raise AssertionError("unreachable")

    def _once(self, url: str, headers: dict[str, str], accept_types: tuple[str, ...] | None, max_bytes: int | None) -> HttpResponse:
        request_headers = {
            "User-Agent": self.config.user_agent_header,
            "Accept-Encoding": "gzip, deflate",  # only what _Inflater can decode under a cap
            "Accept": "text/html,application/xhtml+xml,*/*;q=0.8",
            **headers,
        }
        limit = self.config.total_timeout_seconds
        try:
            with deadline(limit) as due, self._client.stream("GET", url, headers=request_headers) as response:
                status = response.status_code
                found = {k.lower(): v for k, v in response.headers.items()}
                if status == 429 or status >= 500:
                    wait = found.get("retry-after", "").strip()
                    raise FetchError(f"HTTP {status} {response.reason_phrase}".strip(), status, url, retryable=True, retry_after=float(wait) if wait.isdigit() else 0.0)
                if status >= 400:
                    raise FetchError(f"HTTP {status} {response.reason_phrase}".strip(), status, url)
                if status in REDIRECTS or status == 304:
                    return HttpResponse(url, status, found, b"")
                if not 200 <= status < 300:
                    raise FetchError(f"unexpected HTTP {status}", status, url)
                content_type = found.get("content-type", "").split(";")[0].strip().lower()
                if accept_types is not None and content_type and content_type not in accept_types:
                    raise FetchError(f"not a document: Content-Type {content_type}", status, url)
                body = self._read_body(response, found, url, max_bytes)
                return HttpResponse(url, status, found, body)
        except AddressRefused as exc:
            raise FetchError(str(exc), url=url, refused=True) from None
        except httpx.TimeoutException as exc:
            if time.monotonic() >= due:
                raise FetchError(f"timeout: no complete response after {limit:g} s (connect, headers and body)", url=url, retryable=True) from None
            raise FetchError(f"timeout ({type(exc).__name__}, limit {self.config.timeout_seconds:g} s)", url=url, retryable=True) from None
        except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError, httpx.CloseError) as exc:
            raise FetchError(f"connection dropped: {type(exc).__name__}: {exc}", url=url, retryable=True) from None
        except httpx.ConnectError as exc:
            raise FetchError(f"cannot connect (DNS or refused): {exc}", url=url) from None
        except httpx.HTTPError as exc:
            raise FetchError(f"HTTP error: {type(exc).__name__}: {exc}", url=url) from None

    def _read_body(self, response: httpx.Response, headers: dict[str, str], url: str, cap: int | None) -> bytes:
        """Stream the body, aborting past the wire cap or the decoded cap (the request's deadline bounds the time).

        ``cap``: a smaller cap of this request (robots.txt), applied to the wire and to the decoded bytes alike.
        """
        max_bytes = self.config.max_bytes if cap is None else cap
        declared = headers.get("content-length", "").strip()
        if declared.isdigit() and int(declared) > max_bytes:
            raise FetchError(f"oversize: Content-Length {declared} exceeds the cap of {max_bytes} bytes", response.status_code, url)
        inflater = _Inflater.for_encoding(headers.get("content-encoding", ""), url)
        max_decoded = self.config.max_decoded_bytes if cap is None else min(cap, self.config.max_decoded_bytes)
        if inflater is None:
            max_decoded = max(max_decoded, max_bytes)  # undecoded: the wire cap is the one that counts
        chunks: list[bytes] = []
        decoded = 0
        for raw in response.iter_raw():
            if response.num_bytes_downloaded > max_bytes:
                raise FetchError(f"oversize: body exceeds the cap of {max_bytes} bytes", response.status_code, url)
            pieces = [raw] if inflater is None else inflater.feed(raw, max_decoded - decoded + 1)
            decoded += sum(len(piece) for piece in pieces)
            if decoded > max_decoded:
                raise FetchError(
                    f"decompression bomb: {response.num_bytes_downloaded} bytes on the wire decode past the cap of {max_decoded} bytes",
                    response.status_code,
                    url,
                )
            chunks.extend(pieces)
        return b"".join(chunks)

    def check_robots(self, url: str) -> None:
        """Refuse a URL robots.txt disallows for our token (RFC 9309: 4xx = no rules, 5xx/unreachable = all refused)."""
        if not self.config.respect_robots:
            return
        site = origin(url)
        with self._robots_lock:
            site_lock = self._robots_locks.setdefault(site, threading.Lock())
        with site_lock:  # each site's robots.txt is fetched once; other sites are not held up meanwhile
            if site not in self._robots:
                self._robots[site] = self._load_robots(site)
            rules = self._robots[site]
        if isinstance(rules, FetchError):
            if rules.refused:  # the host itself is refused: say so, not that its robots.txt was unreadable
                raise FetchError(rules.reason, url=url, refused=True)
            raise FetchError(f"robots.txt of {site} could not be read ({rules.reason}): not fetching", url=url)
        if not rules.can_fetch(ROBOTS_TOKEN, url):
            raise FetchError(f"disallowed by robots.txt: {url}", url=url)

    def _load_robots(self, site: str) -> RobotFileParser | FetchError:
        parser = RobotFileParser(site + "/robots.txt")
        try:
            response = self.exchange(site + "/robots.txt", {}, None, ROBOTS_MAX_BYTES)
        except FetchError as exc:
            if exc.http_status is not None and 400 <= exc.http_status < 500:
                parser.parse([])  # no robots.txt: everything allowed
                return parser
            return exc
        if response.status in REDIRECTS or response.status == 304:
            parser.parse([])
            return parser
        parser.parse(response.body.decode("utf-8", errors="replace").splitlines())
        delay = parser.crawl_delay(ROBOTS_TOKEN)
        if delay:
            self.gate.slow_down(urlsplit(site).netloc.lower(), float(delay))
        return parser


class _Inflater:
    """gzip/deflate decoding that never produces more than asked for (decompression-bomb safe)."""

    def __init__(self, coding: str, url: str):
        self.coding = coding
        self.url = url
        self._z: "zlib._Decompress | None" = None

    @classmethod
    def for_encoding(cls, header: str, url: str) -> _Inflater | None:
        codings = [c.strip().lower() for c in header.split(",") if c.strip() and c.strip().lower() != "identity"]
        if not codings:
            return None
        if len(codings) > 1 or codings[0] not in ("gzip", "x-gzip", "deflate"):
            raise FetchError(f"unsupported Content-Encoding: {header}", url=url)
        return cls(codings[0], url)

    def feed(self, data: bytes, limit: int) -> list[bytes]:
        """The decoded pieces of ``data``, at most ``limit`` bytes in all (kept apart: no copy while the cap is not known to hold)."""
        out: list[bytes] = []
        produced = 0
        try:
            while produced < limit:
                if self._z is None:
                    if not data:
                        break
                    if self.coding == "deflate":  # zlib-wrapped as the RFC says, or raw as some servers send
                        wbits = zlib.MAX_WBITS if data[0] & 0x0F == 8 else -zlib.MAX_WBITS
                    else:
                        wbits = 16 + zlib.MAX_WBITS
                    self._z = zlib.decompressobj(wbits)
                step = min(limit - produced, INFLATE_STEP)  # small steps: zlib's own buffer stays small too
                chunk = self._z.decompress(data, step)
                out.append(chunk)
                produced += len(chunk)
                if self._z.eof:  # a further gzip member may follow
                    data = self._z.unused_data.lstrip(b"\0")
                    self._z = None
                else:
                    data = self._z.unconsumed_tail
                    if not data and len(chunk) < step:  # input used up, no output pending
                        break
        except zlib.error as exc:
            raise FetchError(f"corrupt {self.coding} body: {exc}", url=self.url) from None
        return out
