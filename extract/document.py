"""Document understanding beyond the tables: title, agency, reporting year, publish date, index fields.

Agency: from the report title first (``<agency><year>年…政府信息公开…年度报告``, also split over two
lines), else from the opening paragraphs; a ``发布机构`` header field is not used because it
often names the site's publishing body rather than the reporting agency (seed 000).
Year: the title's year, else the 统计期限, else the first year named outside book titles 《》.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

HEAD_CHARS = 20_000  # metadata lives at the top of a page; never scan a 50 MB body with these regexes

_TITLE = re.compile(r"^([^,，。;；!！?？《》]{0,60}?)((?:19|20)\d\d)\s*年\s*度?\s*(?:本单位|本机关|本部门)?\s*(?:政府信息公开(?:工作)?年度?报告|政务公开工作)")
_TITLE_YEAR_FIRST = re.compile(r"^((?:19|20)\d\d)\s*年\s*度?\s*([^,，。;；!！?？《》\d]{2,40}?)(?:政府信息公开(?:工作)?年度?报告|政务公开工作)")
_NAME_TAIL = re.compile(r"(?:召开|关于|举办|开展|印发|发布)$")
_TITLE_PREFIX = re.compile(r"^(?:标\s*题|题\s*目|名\s*称)\s*[::]?\s*")
_TITLE_JUNK = re.compile(r"^[\s\d年月日::|/_\-—·.,，。;；、]+|[\s:：|_\-—·、]+$")
_PERIOD = re.compile(r"统计期限[^0-9]{0,8}((?:19|20)\d\d)\s*年")
_YEAR = re.compile(r"((?:19|20)\d\d)\s*年")
_BOOK = re.compile(r"《[^《》]{0,80}》|〔[^〔〕]{0,20}〕|\[[^\[\]]{0,20}\]")
_DATE = r"((?:19|20)\d\d|[１２][０-９]{3})\s*[-/.年－／．]\s*(\d{1,2})\s*[-/.月－／．]\s*(\d{1,2})"
_PUBLISHED = re.compile(r"[时日]\s*[间期]\s*[:：]?\s*" + _DATE)  # 发布时间 / 日期 / 生成日期 …: (a literal start is fast)
_INDEX_NO = re.compile(r"索\s*引\s*号\s*[::]?\s*([A-Za-z0-9][A-Za-z0-9\-_/.]*)")
_DOC_NO = re.compile(r"文\s*号\s*[::]?\s*([^\s:：]{2,40}?〔\d{4}〕\s*\d+\s*号|[^\s:：]{2,40}?\[\d{4}\]\s*\d+\s*号)")
_SUFFIX = r"(?:人民政府办公室|人民政府办公厅|人民政府|办公室|办公厅|管理委员会|委员会|办事处|政府|局|厅|委|办|中心|院|署|所|站|队|处|会)"
_PLACE_NAME = re.compile(r"[\u4e00-\u9fff（）()]{2,20}?(?:省|市|区|县|州|旗|盟|镇|乡|街道)[\u4e00-\u9fff（）()]{0,24}?" + _SUFFIX + r"(?![\u4e00-\u9fff]{0,2}(?:长|员|主任|书记))")
_AGENCY_LINE = re.compile(r"^[\u4e00-\u9fff（）()]{2,40}" + _SUFFIX + "$")
_CONTACT = re.compile(r"请与\s*([\u4e00-\u9fff（）()]{3,40}?" + _SUFFIX + r")\s*联系")
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
    return name if len(name) >= 2 and re.search(r"[\u4e00-\u9fff]", name) else None


def find_title(lines: list[str], html_title: str | None) -> tuple[str | None, str | None, int | None]:
    """(title, agency, year) from the first line that reads as the report title and names the agency.

    ``<agency><year>年…年度报告`` (the agency may sit alone on the line before: seed 003) or
    ``<year>年<agency>…年度报告``; a title without an agency still gives the year.
    """
    candidates = ([html_title] if html_title else []) + lines[:400]
    prev = ""
    fallback: tuple[str | None, str | None, int | None] = (None, None, None)
    for line in candidates:
        text = _TITLE_PREFIX.sub("", _nfkc(line).strip())
        if len(text) > 120:
            prev = text
            continue
        m = _TITLE.search(text)
        if m:
            agency = _clean_agency(m.group(1)) or (_clean_agency(prev) if _AGENCY_LINE.search(prev) else None)
            if agency is not None:
                return text, agency, int(m.group(2))
            if fallback[2] is None:
                fallback = (text, None, int(m.group(2)))
        else:
            m = _TITLE_YEAR_FIRST.search(text)
            if m and (agency := _clean_agency(m.group(2))):
                return text, agency, int(m.group(1))
        if text:
            prev = text
    return fallback


def _agency_from_text(nhead: str) -> str | None:
    text = _BOOK.sub("", nhead[:AGENCY_SCAN_CHARS])
    m = _CONTACT.search(text)
    if m:
        return _clean_agency(m.group(1))
    for para in text.splitlines():
        for m in _PLACE_NAME.finditer(para):
            name = _LEAD_VERBS.sub("", m.group(0))
            if len(name) >= 4 and re.search(r"(?:省|市|区|县|州|旗|盟|镇|乡|街道)", name):
                return _clean_agency(name)
    return None


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
    """Metadata of a document from its lines of text (top of the page first)."""
    meta = Meta()
    # \d and int() read full-width digits, and the patterns accept full-width colons and brackets,
    # so the head is searched as it is (folding 20 KB of text would cost more than all the rest)
    nhead = "\n".join(lines)[:HEAD_CHARS]
    meta.title, meta.agency, meta.year = find_title(lines, html_title)
    if meta.agency is None:
        meta.agency = _agency_from_text(nhead)
    if meta.year is None:
        m = _PERIOD.search(nhead)
        if m:
            meta.year = int(m.group(1))
        else:
            m = _YEAR.search(_BOOK.sub("", nhead))
            meta.year = int(m.group(1)) if m else None
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
