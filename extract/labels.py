"""Label normalisation and matching: what a piece of table text *is* (row label, column header,
section heading, noise) for each of the three template tables.

The canonical labels come from the metric dictionary (``extract.template``); this module adds
only the spelling variants real pages use (cut headers such as ``本年增/``, ``本年新``, section
titles). Matching is on a normalised form: NFKC (full/half-width brackets and digits), no
whitespace (``法 律 服 务 机 构``), no quote marks (“”"'), no trailing colon.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache

from extract.template import metrics

ACTIVE, APPLICATIONS, REVIEW = "active", "applications", "review_litigation"
TABLE_KEYS = (ACTIVE, APPLICATIONS, REVIEW)

# Kinds of label.
ROW, GROUP, HEADING, HEADER, NOISE, SECTION, END = "row", "group", "heading", "header", "noise", "section", "end"

_DROP = re.compile(r"[\s\u3000\u00a0“”\"'‘’「」『』|]+")
_ORDINAL = re.compile(r"[一二三四五六七八九十]+、|\([一二三四五六七八九十]+\)|\d+[.、]")
_PAREN_TAIL = re.compile(r"\([^()]*\)$")
_NOISE = re.compile(r"^(第[一二三四五六七八九十]+条.*|信息内容|申请人情况|本列数据的勾稽关系.*|\(本列数据的勾稽关系.*|单位:.*)$")
_SECTION = re.compile(r"^(?:[一二三四五六七八九十]+[、.]|第[一二三四五六七八九十]+部分|\([一二三四五六七八九十]+\))?(.*)$")


@lru_cache(maxsize=65536)
def normalize(text: str) -> str:
    """The comparable form of a label (see the module docstring)."""
    s = _DROP.sub("", unicodedata.normalize("NFKC", text))
    return s.rstrip(":;,.。")


@dataclass(frozen=True, slots=True)
class Label:
    """One interpretation of a label inside one table."""

    kind: str  # row | group | heading | header | noise
    key: str | None = None  # row key (row), group name (group), column key (header)
    versions: tuple[str, ...] = ()  # template versions this label is specific to (version detection)
    in_10k: bool = False  # a header saying the amount is in 万元


def _core(label: str) -> tuple[str, bool]:
    """The last ordinal-separated segment of a normalised label, and whether an ordinal preceded it."""
    parts = _ORDINAL.split(label)
    marks = _ORDINAL.findall(label)
    for i in range(len(parts) - 1, -1, -1):
        if parts[i]:
            return parts[i], i > 0 and bool(marks)
    return "", bool(marks)


# --- label tables, built once from the metric dictionary ---------------------------------------

_ACTIVE_HEADER_FRAGMENTS = {
    "本年新": ("2019",), "制作数量": ("2019",), "公开数量": ("2019",), "本年增/": ("2019",), "本年增": ("2019",),
    "减": ("2019",), "增/减": ("2019",), "本年增减": ("2019",), "本年新制作": ("2019",), "本年新公开": ("2019",),
    "本年增/减数量": ("2019",), "本年处理决定数量": ("2021",), "本年收费金额": ("2021",)
}


@cache
def _tables() -> dict[str, dict[str, list[Label]]]:
    """table -> normalised core text -> interpretations."""
    out: dict[str, dict[str, list[Label]]] = {ACTIVE: {}, APPLICATIONS: {}, REVIEW: {}}

    def add(table: str, text: str, label: Label) -> None:
        bucket = out[table].setdefault(text, [])
        if label not in bucket:
            bucket.append(label)

    versions_of: dict[tuple[str, str, str, str], set[str]] = {}
    for m in metrics():
        if m.versions:
            versions_of.setdefault((m.table, "row", m.row_label_zh, m.row), set()).update(m.versions)
            versions_of.setdefault((m.table, "col", m.column_label_zh, m.column), set()).update(m.versions)
    all_versions = {"2019", "2021"}
    for (table, kind, text, key), vs in versions_of.items():
        specific = tuple(sorted(vs)) if vs != all_versions else ()
        norm = normalize(text)
        if kind == "col":
            in_10k = "万元" in norm
            core = _PAREN_TAIL.sub("", norm)
            if table == APPLICATIONS:
                add(table, core, Label(HEADER, key))
            else:
                add(table, core, Label(HEADER, key, specific, in_10k))
                add(table, norm, Label(HEADER, key, specific, in_10k))
            continue
        if table == APPLICATIONS:
            pieces = text.split(" ")
            core, _ = _core(normalize(_PAREN_TAIL.sub("", normalize(pieces[-1]))))
            core = _PAREN_TAIL.sub("", core)
            add(table, core, Label(ROW, key, specific))
            if len(pieces) > 1:
                group, _ = _core(normalize(pieces[0]))
                if group != core:
                    add(table, group, Label(GROUP, group, specific))
        elif table == REVIEW:
            pieces = text.split(" ")
            add(table, normalize(pieces[-1]), Label(ROW, key))
            if len(pieces) > 1:
                add(table, normalize(pieces[0]), Label(GROUP, normalize(pieces[0])))
        else:
            add(table, normalize(text), Label(ROW, key, specific))
    for frag, vs in _ACTIVE_HEADER_FRAGMENTS.items():
        add(ACTIVE, frag, Label(HEADER, None, vs))
    add(APPLICATIONS, "本年度办理结果", Label(HEADING))
    add(APPLICATIONS, "法人或其他组织", Label(HEADER))
    add(APPLICATIONS, "申请人情况", Label(NOISE))
    add(REVIEW, "行政诉讼", Label(GROUP, "行政诉讼"))
    return out


@cache
def _group_rows() -> dict[tuple[str, str], tuple[str, ...]]:
    """(version, group core) -> leaf row keys of that applications group, in order."""
    out: dict[tuple[str, str], list[str]] = {}
    for m in metrics():
        if m.table != APPLICATIONS or m.column != "natural_person":
            continue
        pieces = m.row_label_zh.split(" ")
        if len(pieces) < 2:
            continue
        group, _ = _core(normalize(pieces[0]))
        for v in m.versions:
            out.setdefault((v, group), []).append(m.row)
    return {k: tuple(v) for k, v in out.items()}


def group_rows(version: str, group: str) -> tuple[str, ...]:
    """Leaf row keys of an applications group (e.g. 不予公开) in template order."""
    return _group_rows().get((version, group), ())


@cache
def group_of(version: str) -> dict[str, str]:
    """Applications leaf row key -> its group name, for ``version``."""
    return {row: g for (v, g), rows in _group_rows().items() if v == version for row in rows}


MAX_LABEL_TEXT = 120  # longer text is narrative: never a label (and never normalised)
_NOT_A_LABEL: dict[str, tuple[Label, ...]] = {}


def may_be_label(text: str) -> bool:
    """Whether ``text`` can be a label or a section title at all: never prose (long text or a sentence)
    and never pure ASCII (numbers, dates, codes: every template label is Chinese).

    Tested before any cached lookup, so a page's prose and numbers (new on every page) do not fill the caches.
    """
    return not text.isascii() and len(text) <= MAX_LABEL_TEXT and "。" not in text


def classify(text: str, table: str) -> tuple[Label, ...]:
    """Every interpretation of ``text`` as a label of ``table`` (empty: not a label of it)."""
    return classify_all(text).get(table, ())


def classify_all(text: str) -> dict[str, tuple[Label, ...]]:
    """table -> interpretations of ``text``; normalised and cut into its core once for all tables."""
    return _classify_all(text) if may_be_label(text) else _NOT_A_LABEL


@lru_cache(maxsize=65536)
def _classify_all(text: str) -> dict[str, tuple[Label, ...]]:
    norm = normalize(text)
    if not norm:
        return {}
    if _NOISE.match(norm):
        return dict.fromkeys(TABLE_KEYS, (Label(NOISE),))
    out: dict[str, tuple[Label, ...]] = {}
    core: tuple[str, bool] | None = None
    for table, known in _tables().items():
        found = known.get(norm)
        if found is not None:
            headers = tuple(lb for lb in found if lb.kind == HEADER) if table == APPLICATIONS else ()
            # bare 总计 / 其他 in table 三 are column headers; its rows carry an ordinal
            labels = headers or tuple(found)
        else:
            if core is None:
                core = _core(norm)
            text_core, had_ordinal = core
            found = known.get(text_core) or known.get(_PAREN_TAIL.sub("", text_core))
            if found is None:
                continue
            # an ordinal makes 总计 / 其他 a row ((七)总计, 3.其他), never the column header
            labels = tuple(lb for lb in found if lb.kind != HEADER) if table == APPLICATIONS and had_ordinal else tuple(found)
        if table == ACTIVE and "万元" in norm:
            labels = tuple(Label(lb.kind, lb.key, lb.versions, True) if lb.kind == HEADER else lb for lb in labels)
        if labels:
            out[table] = labels
    return out


_END_WORDS = ("存在的主要问题", "改进情况", "其他需要报告", "需要说明的其他事项", "其他事项")


def section_of(text: str) -> str | None:
    """``active`` / ``applications`` / ``review_litigation`` / ``end`` when ``text`` is a section title."""
    return _section_of(text) if len(text) <= 80 and may_be_label(text) else None


@lru_cache(maxsize=65536)
def _section_of(text: str) -> str | None:
    norm = normalize(text)
    if not norm or len(norm) > 40:
        return None
    body = _SECTION.match(norm).group(1)  # type: ignore[union-attr]
    numbered = body != norm
    if "主动公开" in body and "情况" in body:
        return ACTIVE
    if ("申请" in body and "情况" in body and ("收到" in body or "办理" in body or "处理" in body)) and "本年新收" not in body:
        return APPLICATIONS
    if ("复议" in body or "诉讼" in body) and "情况" in body:
        return REVIEW
    if numbered and any(w in body for w in _END_WORDS):
        return "end"
    return None
