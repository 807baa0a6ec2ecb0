"""How the main government CMS families write a column's list and its pager, read without running JavaScript.

- TRS WCM: ``createPageHTML(total, current, "index", "htm")`` (also the six-argument form with the pager's
  element id and the record count first/last, the counts given as ``var`` variables), or inline ``var countPage = N`` / ``currentPage`` with
  ``document.write("<a href=\\"index"+"_"+nextPage+"."+"html\\">下一页</a>")``: pages ``index.htm``,
  ``index_1.htm`` … ``index_{N-1}.htm`` of the page's folder.
- TRS hycloud / provincial 政府网站集约化平台 list models: the page's script loads the records from a JSON
  list API (``$.ajax({url: "...", data: {pageNo: 1, ...}})``, ``$.getJSON``); the API is followed with the
  page parameter it names, and its answer gives the records (``title`` + ``url`` …) and the page count.
- Hanweb 大汉 (jcms): the records are CDATA ``<record>`` s of a ``<datastore>`` in ``<script type="text/xml">``;
  the ``jpage`` pager states ``totalRecord`` / ``perPage`` / ``groupSize`` and the ``dataproxy.jsp``
  (its ``<nextgroup>`` link or ``proxyUrl`` + ``ajaxParam``) that serves further groups of records by
  ``startrecord`` / ``endrecord`` / ``perpage``.
A page count stated by a script is believed only up to ``SCRIPT_PAGES_CAP`` (the crawl's ``max_pages``
bounds what is read).
"""

from __future__ import annotations

import html
import itertools
import math
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from bs4 import BeautifulSoup

SCRIPT_PAGES_CAP = 1000  # a hostile createPageHTML(1000000000, ...) must not become a billion URLs

CREATE_PAGE = re.compile(r"createPageHTML\s*\(([^()]*)\)")
COUNT_PAGE = re.compile(r"\bcountPage\s*=\s*['\"]?(\d+)")
PAGE_STEM = (re.compile(r"""(\w+)["']\s*\+\s*["']_["']"""), re.compile(r"""["'/=](\w+)_["']\s*\+"""))  # "index"+"_", "index_"+
PAGE_EXT = (re.compile(r"""["']\.["']\s*\+\s*["'](\w+)"""), re.compile(r"""\+\s*["']\.(\w+)"""))  # "."+"html", +".html"

API_CALL = re.compile(r"""(?:\burl\s*:\s*|\$\.(?:getJSON|get)\(\s*)["']([^"'\s]+)["']""")
POSTED = re.compile(r"""\b(?:type|method)\s*:\s*["']post["']""", re.I)  # the client only GETs: a POST-only API is left
DATA_OBJECT = re.compile(r"\bdata\s*:\s*\{([^{}]*)\}")
PAIR = re.compile(r"""["']?(\w+)["']?\s*:\s*(?:["']([^"']*)["']|(-?\d+)\b|([A-Za-z_$][\w$]*)(?![\w$.(\[]))""")
IDENTIFIER = re.compile(r"[A-Za-z_$][\w$]*")
CALLS_CAP = 20  # createPageHTML(...) / API calls read from one script (each may search the script again)
PAIRS_CAP = 50  # parameters read from one object literal (each name may be looked up in the script)
PAGE_KEYS = ("pageNo", "pageNum", "pageIndex", "page", "curPage", "currentPage", "pageNumber", "p")
SIZE_KEYS = ("pageSize", "pagesize", "size", "rows", "perPage", "limit")
PAGE_COUNT_KEYS = ("totalpage", "totalpages", "pagecount", "pagetotal", "pages", "totalpagenum")
RECORD_COUNT_KEYS = ("total", "totalcount", "totalrecord", "totalrecords", "recordcount", "totalelements", "totalnum")
TITLE_KEYS = ("title", "doctitle", "name", "docname", "maintitle", "subject")
URL_KEYS = ("url", "link", "href", "docpuburl", "docurl", "puburl", "linkurl", "detailurl")
JSON_NODES_CAP = 100_000  # dictionaries and lists walked in one API answer

RECORD = re.compile(r"<record>\s*<!\[CDATA\[(.*?)\]\]>\s*</record>", re.S)
NEXT_GROUP = re.compile(r"<nextgroup>\s*<!\[CDATA\[.*?href=[\"']([^\"']+)[\"']", re.S)
TOTAL_RECORD = re.compile(r"(?:totalRecord\s*:\s*['\"]?|<totalrecord>\s*)(\d+)", re.I)
PER_PAGE = re.compile(r"\bperPage\s*:\s*['\"]?(\d+)")
GROUP_SIZE = re.compile(r"\bgroupSize\s*:\s*['\"]?(\d+)")
PROXY_URL = re.compile(r"""\bproxyUrl\s*:\s*["']([^"']+)["']""")
AJAX_PARAM = re.compile(r"\bajaxParam\s*:\s*\{([^{}]*)\}")


def script_pages(scripts: list[str], page_url: str, listing_url: str) -> list[str]:
    """The further listing pages the page's scripts state: TRS WCM pagers, a JSON list API's first page
    (Hanweb's groups are read from the list unit's own datastore: ``hanweb_groups``)."""
    pages: list[str] = []
    for script in scripts:
        pages += _trs_pages(script, page_url, listing_url)
        pages += _list_api(script, page_url)
    return pages


def _trs_pages(script: str, page_url: str, listing_url: str) -> list[str]:
    """TRS WCM: ``createPageHTML(...)`` or ``var countPage = N`` with its ``document.write`` links."""
    variables: dict[str, str] = {}  # each name looked up once: arguments may be variables (countPage, currentPage)
    for call in itertools.islice(CREATE_PAGE.finditer(script), CALLS_CAP):
        values = [v.strip() for v in call.group(1).split(",")[:8]]
        for i, value in enumerate(values):
            if IDENTIFIER.fullmatch(value):  # a variable, not a quoted name
                if value not in variables:
                    variables[value] = _variable(value, script)
                values[i] = variables[value]
            else:
                values[i] = value.strip("'\"")
        numbers = [i for i, v in enumerate(values) if v.isdigit()]
        names = values[numbers[1] + 1: numbers[1] + 3] if len(numbers) >= 2 else []  # total, current, then stem, extension
        if len(names) == 2 and all(re.fullmatch(r"[\w-]+", v) and not v.isdigit() for v in names):
            return _numbered(int(values[numbers[0]]), names[0], names[1], page_url)
    count = COUNT_PAGE.search(script)
    if count is None:
        return []
    default_stem, _, default_ext = (urlsplit(listing_url).path.rpartition("/")[2] or "index.html").partition(".")
    stem = next((m.group(1) for p in PAGE_STEM if (m := p.search(script))), default_stem)
    ext = next((m.group(1) for p in PAGE_EXT if (m := p.search(script))), default_ext or "html")
    return _numbered(int(count.group(1)), stem, ext, page_url)


def _numbered(total: int, stem: str, ext: str, page_url: str) -> list[str]:
    return [urljoin(page_url, f"{stem}.{ext}" if n == 0 else f"{stem}_{n}.{ext}") for n in range(min(total, SCRIPT_PAGES_CAP))]


def _pairs(text: str, script: str = "") -> dict[str, str]:
    """``key: "value"`` / ``key: 12`` pairs of a script's object literal; ``key: name`` takes the value of
    ``var name = "..."`` in ``script``, or "" when the script does not give it."""
    pairs = {}
    for key, quoted, number, name in PAIR.findall(text)[:PAIRS_CAP]:
        pairs[key] = _variable(name, script) if name else number or quoted
    return pairs


def _variable(name: str, script: str) -> str:
    """The value ``var name = "..."`` / ``name = 12`` gives in ``script``; "" when it gives none."""
    known = re.search(rf"""\b{re.escape(name)}\s*=\s*(?:["']([^"']*)["']|(-?\d+))""", script)
    return (known.group(2) or known.group(1) or "") if known else ""


def _with_query(url: str, values: dict[str, str]) -> str:
    """``url`` with ``values`` set in its query, in place where the page wrote them (so page 1 of an API is
    one URL however it was reached); the other parameters stay exactly as written."""
    parts = urlsplit(url)
    pieces, left = [], dict(values)
    for piece in (p for p in parts.query.split("&") if p):
        key = piece.split("=", 1)[0]
        pieces.append(urlencode({key: left.pop(key)}) if key in left else piece)
    return urlunsplit(parts._replace(query="&".join(pieces + ([urlencode(left)] if left else []))))


def posted_apis(scripts: list[str], page_url: str) -> list[str]:
    """The list APIs the scripts call by POST, which the crawl cannot follow (said in the listing's progress line)."""
    return [
        urljoin(page_url, html.unescape(match.group(1)))
        for script in scripts for match in itertools.islice(API_CALL.finditer(script), CALLS_CAP)
        if POSTED.search(script, max(0, match.start() - 300), match.end() + 300)
    ]


def _list_api(script: str, page_url: str) -> list[str]:
    """A list model's JSON API named in the script, at its first page, when its parameters name a page."""
    for match in itertools.islice(API_CALL.finditer(script), CALLS_CAP):
        if POSTED.search(script, max(0, match.start() - 300), match.end() + 300):
            continue
        api = urljoin(page_url, html.unescape(match.group(1)))
        data = DATA_OBJECT.search(script, match.end())
        values = _pairs(data.group(1), script) if data else {}
        stated = {**dict(parse_qsl(urlsplit(api).query)), **values}
        key = next((k for k in PAGE_KEYS if k in stated), None)
        if key is not None and urlsplit(api).scheme in ("http", "https"):
            return [_with_query(api, {**values, key: stated[key] if stated[key].isdigit() else "1"})]
    return []


def json_list(data: Any, page_url: str) -> tuple[list[tuple[str, str, str]], list[str]]:
    """A JSON list API's answer: its records as (url, title, title) and every page of the API it states."""
    records: list[tuple[str, str, str]] = []
    counts: dict[str, int] = {}
    stack, walked = [data], 0
    while stack and walked < JSON_NODES_CAP:
        node = stack.pop()
        walked += 1
        if isinstance(node, list):
            stack.extend(reversed(node))
        elif isinstance(node, dict):
            lower = {str(k).lower(): v for k, v in node.items()}
            title = next((lower[k] for k in TITLE_KEYS if isinstance(lower.get(k), str)), None)
            link = next((lower[k] for k in URL_KEYS if isinstance(lower.get(k), str)), None)
            if title and link:
                records.append((link, title, title))
            for key, value in lower.items():
                if isinstance(value, int) and not isinstance(value, bool) and key not in counts:
                    counts[key] = value
            stack.extend(reversed([v for v in node.values() if isinstance(v, (list, dict))]))
    return records, _api_pages(counts, page_url)


def _api_pages(counts: dict[str, int], page_url: str) -> list[str]:
    query = dict(parse_qsl(urlsplit(page_url).query))
    key = next((k for k in PAGE_KEYS if k in query and query[k].isdigit()), None)
    if key is None:
        return []
    total = next((counts[k] for k in PAGE_COUNT_KEYS if k in counts), None)
    if total is None:
        size = next((counts[k.lower()] for k in SIZE_KEYS if counts.get(k.lower())), None)
        size = size or next((int(query[k]) for k in SIZE_KEYS if query.get(k, "").isdigit() and int(query[k])), None)
        records = next((counts[k] for k in RECORD_COUNT_KEYS if k in counts), None)
        if not size or records is None:
            return []
        total = math.ceil(records / size)
    first = 0 if query[key] == "0" else 1
    return [_with_query(page_url, {key: str(first + n)}) for n in range(min(max(total, 0), SCRIPT_PAGES_CAP))]


def datastore_records(text: str) -> list[tuple[str, str, str]]:
    """Hanweb ``<datastore>`` records: each CDATA ``<record>`` 's links as (href, text, title)."""
    records = RECORD.findall(text)
    if not records:
        return []
    soup = BeautifulSoup("".join(records), "lxml")
    return [(a["href"], " ".join(a.get_text(" ", strip=True).split()), a.get("title") or "") for a in soup.find_all("a", href=True)]


def hanweb_groups(script: str, all_scripts: str, page_url: str) -> list[str]:
    """The dataproxy.jsp requests for the record groups after the one the list unit's ``datastore`` carries,
    as its ``jpage`` pager states them (``all_scripts``: the page's scripts, where the pager's settings are)."""
    if "<datastore>" not in script:
        return []
    total, per_page = TOTAL_RECORD.search(script) or TOTAL_RECORD.search(all_scripts), PER_PAGE.search(all_scripts)
    next_group, proxy = NEXT_GROUP.search(script), PROXY_URL.search(all_scripts)
    if total is None or per_page is None or (next_group is None and proxy is None):
        return []
    per, embedded = max(int(per_page.group(1)), 1), len(RECORD.findall(script))
    stated_group = GROUP_SIZE.search(all_scripts)
    group = max(per * int(stated_group.group(1)) if stated_group else embedded or per, 1)
    if next_group is not None:
        base = urljoin(page_url, html.unescape(next_group.group(1)))
    else:
        params = AJAX_PARAM.search(all_scripts)
        base = _with_query(urljoin(page_url, html.unescape(proxy.group(1))), _pairs(params.group(1), all_scripts) if params else {})
    starts = range(embedded + 1, int(total.group(1)) + 1, group)  # the page carries the first ``embedded`` records
    return [_with_query(base, {"startrecord": str(s), "endrecord": str(s + group - 1), "perpage": str(per)}) for s in starts[:SCRIPT_PAGES_CAP]]
