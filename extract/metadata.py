"""A report's year and agency cross-checked across every signal its page has: agreement gives the value,
disagreement an ``error`` issue (R0 holds the report rather than file it under a guess).

The signals are read by ``extract.document`` (title, 统计期限, the narrative's opening, the contact line,
发布机构 / 来源 fields, the publish date); the manifest's agency hint comes from the caller. Site chrome is
never a signal. Issue codes (all ``error``):
- ``year_conflict`` — the title, the 统计期限 and the narrative's opening name different years, or the
  report was published (or filed: the year in its 索引号) before its reporting year was nearly over.
- ``year_uncertain`` — no title, 统计期限 or opening states the year (the first year named is a guess).
- ``agency_conflict`` — the page's own words (contact line, opening) name another body than the title,
  and at least as many signals name it as name the title's.
- ``agency_uncertain`` — no title agency, and the page's own words disagree, or name nobody (a field or the
  manifest hint alone gives a name, or a loose mention that neither confirms).

Two names agree when they name one body in another form: a province/city prefix more or less
(集美区行政审批管理局 / 厦门市集美区行政审批管理局), a bracketed note, a usual abbreviation (人民政府 / 政府).
A department report hosted on a higher government's site is the normal case: 发布机构 and the hint are
site-level signals that support a name but never outvote the title on their own.
"""

from __future__ import annotations

import datetime as dt
import re

from extract.document import Meta
from extract.model import ERROR, Issue

_NOTE = re.compile(r"[（(][^（）()]*[）)]")
_ABBREVIATIONS = (("人民政府", "政府"), ("办公室", "办"), ("办公厅", "办"), ("管理委员会", "管委会"), ("委员会", "委"),
                  ("发展和改革", "发改"), ("人力资源和社会保障", "人社"), ("住房和城乡建设", "住建"), ("自然资源和规划", "资规"),
                  ("卫生健康", "卫健"), ("市场监督管理", "市场监管"), ("退役军人事务", "退役军人"), ("文化和旅游", "文旅"),
                  ("工业和信息化", "工信"), ("科学技术", "科技"))
_PLACE_CHARS = "省市区县州旗盟镇乡"
EARLIEST_PUBLISH = (11, 1)  # a report for year N appears in N+1, or late in N at the earliest
_INDEX_YEAR = re.compile(r"[-/]((?:19|20)\d\d)[-/]\d+$")  # 索引号 XM03148-2500-2020-02677, 000014349/2021-00123: filed in 2020, 2021


def _core(name: str) -> str:
    name = _NOTE.sub("", name)
    for long, short in _ABBREVIATIONS:
        name = name.replace(long, short)
    return name


def same_body(a: str, b: str) -> bool:
    """Whether two names name one body (see the module docstring); ``区科技局`` agrees with ``集美区科技局``."""
    a, b = _core(a), _core(b)
    if a == b:
        return True
    short, long = sorted((a, b), key=len)
    if not short:
        return False
    if long.endswith(short):
        return True
    # "区科技和工信局": the place is said by its kind alone
    return len(short) > 2 and short[0] in _PLACE_CHARS and long.endswith(short[1:]) and long[-len(short)] == short[0]


def _say(signals: list[tuple[str, object]]) -> str:
    return ", ".join(f"{what} {value}" for what, value in signals)


def check_year(meta: Meta) -> list[Issue]:
    said = [(w, y) for w, y in (("title", meta.title_year), ("统计期限", meta.period_year), ("opening", meta.opening_year)) if y]
    issues = []
    if len({y for _, y in said}) > 1:
        issues.append(Issue("year_conflict", ERROR, f"the page names different reporting years: {_say(said)}"))
    elif not said:
        guess = f"; the first year named is {meta.loose_year}" if meta.loose_year else ""
        issues.append(Issue("year_uncertain", ERROR, f"no title, 统计期限 or opening states the reporting year{guess}"))
    if meta.year and meta.published:
        published = dt.date.fromisoformat(meta.published)
        if published < dt.date(meta.year, *EARLIEST_PUBLISH):
            issues.append(Issue("year_conflict", ERROR, f"published {meta.published}, before reporting year {meta.year} was over "
                                                        f"({_say(said) or 'no other signal'})"))
    filed = _INDEX_YEAR.search(meta.index_no or "")
    if meta.year and filed and int(filed.group(1)) < meta.year:
        issues.append(Issue("year_conflict", ERROR, f"索引号 {meta.index_no} files it in {filed.group(1)}, before reporting year "
                                                    f"{meta.year} was over ({_say(said) or 'no other signal'})"))
    return issues


def check_agency(meta: Meta, hint: str | None = None) -> list[Issue]:
    """Issues about the agency; sets ``meta.agency`` from a field or the hint when the page's own words name nobody."""
    own = [(w, n) for w, n in (("contact", meta.contact_agency), ("opening", meta.opening_agency)) if n]
    site = [("发布机构/来源", n) for n in meta.field_agencies] + ([("manifest hint", hint)] if hint else [])
    if meta.title_agency:
        title = meta.title_agency
        support = 1 + sum(same_body(title, n) for _, n in own + site)
        for _, other in own:
            if same_body(title, other):
                continue
            backing = [(w, n) for w, n in own + site if same_body(other, n)]
            if len(backing) >= 2 and len(backing) >= support:
                return [Issue("agency_conflict", ERROR, f"the title names {title} but {_say(backing)} name another body")]
        return []
    if any(not same_body(a, b) for i, (_, a) in enumerate(own) for _, b in own[i + 1:]):
        return [Issue("agency_uncertain", ERROR, f"no title names the agency and the page's own words disagree: {_say(own + site)}")]
    if own:
        return []
    loose = [("mentioned", meta.text_agency)] if meta.text_agency else []
    candidates = loose + site
    if loose and site and all(same_body(loose[0][1], n) for _, n in site):
        return []  # a body the page mentions, confirmed by its field or the manifest (a site's own signals alone are not)
    meta.agency = meta.agency or (candidates[0][1] if candidates else None)
    said = _say(candidates) if candidates else "no signal names one"
    return [Issue("agency_uncertain", ERROR, f"neither a title nor the page's own words name the agency: {said}")]


def check_meta(meta: Meta, hint: str | None = None) -> list[Issue]:
    """The metadata issues of a template report (``meta.agency`` may be filled from a field or the hint)."""
    return check_year(meta) + check_agency(meta, hint)
