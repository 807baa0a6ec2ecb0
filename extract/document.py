"""Document understanding beyond the tables: title, agency, reporting year, publish date, index fields.

Agency: from the report title first (every title shape: year before or after the agency, in brackets,
none; also split over two lines), else from the opening paragraphs (the contact line, the narrative's
"XXXX年，<agency>…"). A ``发布机构`` / ``来源`` field is read as a signal only, never as the value when the
page names the agency itself: it often names the site's publishing body (seed 000).
Year: the title's year, else the 统计期限, else the narrative's opening "XXXX年，", else the first year
named outside book titles 《》. Site chrome (greetings, site names, footers) is never a signal.
Every signal is kept on ``Meta`` so ``extract.metadata`` can cross-check them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

HEAD_CHARS = 20_000  # metadata lives at the top of a page; never scan a 50 MB body with these regexes

_BREAKS = ",，。;；!！?？《》"  # a title is one clause: none of these stands before its report words
_NAME = f"([^{_BREAKS}]{{0,60}}?)"
_Y = r"((?:19|20)\d\d)"
_REPORT = r"(?:政府信息公开(?:工作)?(?:年度?报告|年报)|政务公开工作)"
_TITLE = re.compile(r"^" + _NAME + _Y + r"\s*年\s*度?\s*(?:本单位|本机关|本部门)?\s*" + _REPORT)
_TITLE_YEAR_FIRST = re.compile(r"^" + _Y + r"\s*年\s*度?\s*([^" + _BREAKS + r"\d]{2,40}?)" + _REPORT)
# <agency>政府信息公开工作2021年度报告 · <agency>政府信息公开工作年度报告（2021年度） · <agency>政府信息公开工作年度报告
_TITLE_YEAR_INSIDE = re.compile(r"^" + _NAME + r"(?:政府信息公开|政务公开)(?:工作)?\s*" + _Y + r"\s*年\s*度?\s*(?:报告|年报)")
_TITLE_YEAR_AFTER = re.compile(r"^" + _NAME + r"(?:政府信息公开|政务公开)(?:工作)?(?:年度?报告|年报)\s*[（(【\[]\s*" + _Y + r"\s*年?\s*度?\s*[）)】\]]")
_TITLE_NO_YEAR = re.compile(r"^" + _NAME + r"(?:政府信息公开|政务公开)(?:工作)?(?:年度报告|年报)\s*$")
# what every title shape above opens with: its report words, no clause break before them
_TITLE_OPENING = re.compile(f"[^{_BREAKS}]*?(?:政府信息公开|政务公开)")
_HTML_TITLE_SPLIT = re.compile(r"\s*(?:[_|｜]|[-—–－]+)\s*")  # <title>报告标题_网站名 / 网站名-报告标题 / 网站名 | 报告标题
_NAME_TAIL = re.compile(r"(?:召开|关于|举办|开展|印发|发布)$")
_TITLE_PREFIX = re.compile(r"^(?:标\s*题|题\s*目|名\s*称)\s*[:：]?\s*")
_TITLE_JUNK = re.compile(r"^[\s\d年月日::|/_\-—·.,，。;；、]+|[\s:：|_\-—·、]+$")
_PERIOD = re.compile(r"统计期限[^0-9]{0,8}((?:19|20)\d\d)\s*年")
_TABLES_HEADING = re.compile(r"[ \t\u3000]*(?:二\s*[、.．]\s*)?")  # what may stand before 主动公开政府信息 on its line
_OPENING_YEAR = re.compile(r"^\s*((?:19|20)\d\d)\s*年\s*度?\s*[,，]\s*(.{0,60})", re.M)  # the narrative: "2020年，我局…"
_YEAR = re.compile(r"((?:19|20)\d\d)\s*年")
_BOOK = re.compile(r"《[^《》]{0,80}》|〔[^〔〕]{0,20}〕|\[[^\[\]]{0,20}\]")
_DATE = r"((?:19|20)\d\d|[１２][０-９]{3})\s*[-/.年－／．]\s*(\d{1,2})\s*[-/.月－／．]\s*(\d{1,2})"
_PUBLISHED = re.compile(r"[时日]\s*[间期]\s*[:：]?\s*" + _DATE)  # 发布时间 / 日期 / 生成日期 …: (a literal start is fast)
_INDEX_NO = re.compile(r"索\s*引\s*号\s*[:：]?\s*([A-Za-z0-9][A-Za-z0-9\-_/.]*)")
_DOC_NO = re.compile(r"文\s*号\s*[:：]?\s*([^\s:：]{2,40}?〔\d{4}〕\s*\d+\s*号|[^\s:：]{2,40}?\[\d{4}\]\s*\d+\s*号)")
_SUFFIX = r"(?:人民政府办公室|人民政府办公厅|人民政府|办公室|办公厅|管理委员会|委员会|办事处|政府|局|厅|委|办|中心|院|署|所|站|队|处|会)"
_PLACE_NAME = re.compile(r"[\u4e00-\u9fff（）()]{2,20}?(?:省|市|区|县|州|旗|盟|镇|乡|街道)[\u4e00-\u9fff（）()]{0,24}?" + _SUFFIX + r"(?![\u4e00-\u9fff]{0,2}(?:长|员|主任|书记))")
_AGENCY_LINE = re.compile(r"^[\u4e00-\u9fff（）()]{2,40}" + _SUFFIX + "$")
_CONTACT = re.compile(r"(?:请|可|直接)与\s*([\u4e00-\u9fff（）()]{3,40}?" + _SUFFIX + r")\s*联系")
_TRAILING_NOTE = re.compile(r"[（(][^（）()]*[）)]$")
_FIELD = re.compile(r"(?:发布机构|发布单位|发文机关|发文单位|公开主体|信息来源|来\s*源)(?:\s*[:：]\s*|\s+)([^\s:：|<>]{2,40})")  # (not 来源于…)
# the narrative's opening names its agency before the verb: "2019年，思明区人民政府办公室认真贯彻…"
_OPENING_NAME = re.compile(r"^([\u4e00-\u9fff（）()]{2,40}?" + _SUFFIX + r")(?:认真|不断|坚持|深入|全面|严格|紧紧|始终|按照|围绕|进一步|持续|积极|扎实|着力|聚焦|高度|切实|以|在|把|将|对|继续)")
# site chrome: greetings, site names, breadcrumbs and footers name the site's owner, never the reporting agency
CHROME = re.compile(r"欢迎|您好|门户网站|主办|承办|协办|网站标识码|ICP备|公网安备|版权所有|当前位置|您的位置|技术支持|网站地图")
_PATH = re.compile(r"[>＞»/\\]|首页")
_SITE_NAME = re.compile(r"欢迎|您好|网站|门户|政府网|网$")  # a site's name or greeting inside a would-be agency name
_LEAD_VERBS = re.compile(r"^(?:请与|现将|根据|按照|依据|明确|关于|我们|本年度|年度|由|向|经|对|在|为|是|将)+")  # words that open a clause, not a name
AGENCY_SCAN_CHARS = 6000  # the opening paragraphs; bounds the name search on adversarial text


@dataclass
class Meta:
    title: str | None = None
    agency: str | None = None
    year: int | None = None
    published: str | None = None
    index_no: str | None = None
    doc_no: str | None = None
    # the signals, each as the page gives it (None: the page does not say); extract.metadata cross-checks them
    title_agency: str | None = None
    title_year: int | None = None
    period_year: int | None = None  # 统计期限
    opening_year: int | None = None  # the narrative's "XXXX年，…"
    contact_agency: str | None = None  # 请与…联系
    opening_agency: str | None = None  # "XXXX年，<agency>认真…"
    field_agencies: tuple[str, ...] = ()  # 发布机构 / 来源 / 发文机关 fields
    text_agency: str | None = None  # the first place-and-body name in the opening paragraphs (a last resort)
    loose_year: int | None = None  # the first year named anywhere (a last resort)


_FULLWIDTH = re.compile("[\uff01-\uff5e\u3000]+")


def _fold(m: re.Match[str]) -> str:
    return "".join(" " if ch == "\u3000" else chr(ord(ch) - 0xFEE0) for ch in m.group())


def _nfkc(s: str) -> str:
    """Full-width ASCII folded (digits, colons, brackets): what NFKC does here, at a fraction of its cost."""
    return _FULLWIDTH.sub(_fold, s)


def _clean_agency(name: str) -> str | None:
    name = _TITLE_PREFIX.sub("", name.strip())
    name = _TITLE_JUNK.sub("", name)
    name = _NAME_TAIL.sub("", re.sub(r"\s+", "", name))
    if _SITE_NAME.search(name) or CHROME.search(name) or _PATH.search(name) or name.startswith(("本", "我", "该")):
        return None  # a site's name, greeting or breadcrumb (首页 > 政务公开 > …), or "本机关": not a name
    return name if len(name) >= 2 and re.search(r"[\u4e00-\u9fff]", name) else None


def _title_match(text: str) -> tuple[str | None, int | None, bool]:
    """(agency part, year, is a report title) of one line in any title shape."""
    m = _TITLE.search(text)
    if m:
        return m.group(1), int(m.group(2)), True
    m = _TITLE_YEAR_FIRST.search(text)
    if m:
        return m.group(2), int(m.group(1)), True
    for pattern in (_TITLE_YEAR_INSIDE, _TITLE_YEAR_AFTER):
        m = pattern.search(text)
        if m:
            return m.group(1), int(m.group(2)), True
    m = _TITLE_NO_YEAR.search(text)
    if m:
        return m.group(1), None, True
    return None, None, False


def find_title(lines: list[str], html_title: str | None) -> tuple[str | None, str | None, int | None]:
    """(title, agency, year) from the first line that reads as the report title and names the agency.

    ``<agency><year>年…年度报告`` (the agency may sit alone on the line before: seed 003),
    ``<year>年<agency>…年度报告``, ``<agency>…工作<year>年度报告``, ``<agency>…年度报告（<year>年）`` or
    ``<agency>…年度报告``; a title without an agency still gives the year. An HTML ``<title>`` is read
    segment by segment (``报告标题_网站名``), so the site's name never joins the agency.

    (Finding the lines that say 政府信息公开 by one search over the joined lines was slower than a test per
    line: table 三's labels say it too, ~80 of a page's 400 lines.)
    """
    segments = _HTML_TITLE_SPLIT.split(html_title) if html_title else []
    candidates = segments + lines[:400]
    fallback: tuple[str | None, str | None, int | None] = (None, None, None)
    for i, line in enumerate(candidates):
        if not _may_be_title(line):
            continue
        text = _unlabelled(line)
        if len(text) > 120:
            continue
        text = _nfkc(text)
        name, year, is_title = _title_match(text)
        if is_title:
            agency = _clean_agency(name or "")
            if agency is None:
                prev = _text_before(candidates, i, len(segments))
                agency = _clean_agency(prev) if _AGENCY_LINE.search(prev) else None
            if agency is not None and (year is not None or fallback[2] is None):
                return text, agency, year if year is not None else fallback[2]
            if year is not None and fallback[2] is None:
                fallback = (text, None, year)
    return fallback


def _may_be_title(line: str) -> bool:
    """Whether a line can be in any title shape: it opens with its report words, no clause break before them, and
    names a report (报告, 年报) or 政务公开工作 (folding and a 标题： label change none of this). Other lines (prose,
    table labels such as 一、本年新收政府信息公开申请数量) are neither folded nor matched."""
    return (("政府信息公开" in line or "政务公开" in line) and _TITLE_OPENING.match(line) is not None
            and ("报" in line or "政务公开工作" in line))


def _unlabelled(line: str) -> str:
    """A line without a 标题： label; the same length as with full-width ASCII folded (``_nfkc``), so long
    lines are told before they are folded."""
    line = line.strip()
    label = _TITLE_PREFIX.match(line)  # (match: tried at the start only, where the label stands)
    return line[label.end():] if label else line


def _text_before(lines: list[str], i: int, first: int) -> str:
    """The last text before ``lines[i]``, from ``lines[first]`` on: where an agency may stand alone above its title
    (never from ``<title>``, where the site's name stands beside the title)."""
    for j in range(i - 1, first - 1, -1):
        if text := _unlabelled(lines[j]):
            return _nfkc(text)
    return ""


def _tables_start(nhead: str) -> int:
    """Where table 二's heading (二、主动公开政府信息情况) opens its line, else the end of the head."""
    i = nhead.find("主动公开政府信息")
    while i >= 0:
        line_start = nhead.rfind("\n", 0, i) + 1
        if _TABLES_HEADING.fullmatch(nhead, line_start, i) and nhead.startswith(("主动公开政府信息情况", "主动公开政府信息的情况"), i):
            return line_start
        i = nhead.find("主动公开政府信息", i + 1)
    return len(nhead)


def _name_lines(nhead: str) -> list[str]:
    """The opening paragraphs without book titles, site chrome (which names the site, not the agency) and
    发布机构 / 来源 fields (a signal of their own)."""
    text = _BOOK.sub("", nhead[:AGENCY_SCAN_CHARS])
    return [ln for ln in text.splitlines() if not CHROME.search(ln) and not _FIELD.search(ln)]


def _contact_agency(text: str) -> str | None:
    for m in _CONTACT.finditer(text):
        if name := _clean_agency(m.group(1)):
            return name
    return None


def _text_agency(lines: list[str]) -> str | None:
    for para in lines:
        for m in _PLACE_NAME.finditer(para):
            name = _LEAD_VERBS.sub("", m.group(0))
            if len(name) >= 4 and re.search(r"(?:省|市|区|县|州|旗|盟|镇|乡|街道)", name):
                return _clean_agency(name)
    return None


def _field_agencies(nhead: str) -> tuple[str, ...]:
    """Names in 发布机构 / 来源 fields (a site's own name, 本站 or a newspaper is not one)."""
    out: list[str] = []
    for m in _FIELD.finditer(nhead[:AGENCY_SCAN_CHARS]):
        name = _clean_agency(m.group(1))
        bare = _TRAILING_NOTE.sub("", name or "")  # 区科技和工信局(台商投资区)
        if name and not re.search(r"[网站报社台]$|^本", bare) and _AGENCY_LINE.search(bare) and name not in out:
            out.append(name)
    return tuple(out)


def _search_at(pattern: re.Pattern[str], first: str, text: str) -> re.Match[str] | None:
    """``pattern.search(text)`` for a pattern that opens with the literal ``first`` and a character rare in
    the text: ``str.find`` skips to each candidate far faster than the regex engine scans 20 KB."""
    i = text.find(first)
    while i >= 0:
        m = pattern.match(text, i)
        if m:
            return m
        i = text.find(first, i + 1)
    return None


def read_meta(lines: list[str], html_title: str | None) -> Meta:
    """Metadata of a document from its lines of text (top of the page first): every signal, and the values
    TEMPLATE.md's order gives (agency: title, else opening paragraph; year: title, else 统计期限)."""
    meta = Meta()
    # \d and int() read full-width digits, and the patterns accept full-width colons and brackets,
    # so the head is searched as it is (folding 20 KB of text would cost more than all the rest)
    nhead = "\n".join(lines)[:HEAD_CHARS]
    meta.title, meta.title_agency, meta.title_year = find_title(lines, html_title)
    before_tables = _tables_start(nhead)  # the opening is before the tables (五、六 may plan "2022年，我局将…")
    meta.contact_agency = _contact_agency(_BOOK.sub("", nhead[:min(before_tables, AGENCY_SCAN_CHARS)]))
    meta.field_agencies = _field_agencies(nhead)
    m = _PERIOD.search(nhead)
    meta.period_year = int(m.group(1)) if m else None
    m = _OPENING_YEAR.search(nhead, 0, before_tables)
    if m:
        meta.opening_year = int(m.group(1))
        n = _OPENING_NAME.match(m.group(2))
        meta.opening_agency = _clean_agency(n.group(1)) if n else None
    meta.agency = meta.title_agency or meta.contact_agency or meta.opening_agency
    if meta.agency is None:
        meta.text_agency = meta.agency = _text_agency(_name_lines(nhead[:before_tables]))
    meta.year = meta.title_year or meta.period_year or meta.opening_year
    if meta.year is None:
        m = _YEAR.search(_BOOK.sub("", nhead))
        meta.loose_year = meta.year = int(m.group(1)) if m else None
    m = _PUBLISHED.search(nhead)
    if m:
        y, mo, d = (int(g) for g in m.groups())
        if 1 <= mo <= 12 and 1 <= d <= 31:
            meta.published = f"{y:04d}-{mo:02d}-{d:02d}"
    m = _search_at(_INDEX_NO, "索", nhead)
    meta.index_no = m.group(1) if m else None
    m = _DOC_NO.search(nhead)
    meta.doc_no = re.sub(r"\s+", "", m.group(1)) if m else None
    return meta
