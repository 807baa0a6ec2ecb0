"""The three template tables as grids of cells (with rowspan/colspan), and how values are written.

A grid is the layout-neutral form of a table: the HTML renderer turns it into ``<table>``
markup, the text renderers flatten it in document order like a scraper's ``get_text`` does.
Labels come from the metric dictionary; only the template's layout (article numbers, merged
header cells) is written here.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from extract.template import APPLICANT_COLUMNS, REVIEW_COLUMNS, REVIEW_ROWS, columns_for, metrics, rows_for, value_type

BLANK_MARKERS = ("", "-", "—", "——", "/", "无")
FULLWIDTH = str.maketrans("0123456789+-", "０１２３４５６７８９＋－")
# Which 第二十条 item of the regulation each row of table 二 reports under (template layout).
ARTICLE = {"rules": "（一）", "normative_docs": "（一）", "licensing": "（五）", "other_services": "（五）",
           "penalty": "（六）", "coercion": "（六）", "fees": "（八）", "procurement": "（九）"}
# Header labels the template prints on two lines.
BROKEN_LABELS = {"本年新制作数量": "本年新\n制作数量", "本年新公开数量": "本年新\n公开数量"}
LABEL_SUFFIX = {"partially_granted": "（区分处理的，只计这一情形，不计其他情形）"}
BALANCE_NOTE = "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）"


@dataclass
class Style:
    """How one page writes its report; layouts set these, renderers read them."""

    encoding: str = "utf-8"  # utf-8 | gbk
    charset: str = "meta"  # meta (<meta charset>) | http_equiv | header (HTTP header only) | none
    #   | bom (UTF-8 byte-order mark only) | wrong (declares gb2312, is UTF-8)
    word: bool = False  # Word-exported HTML (MsoNormal, <o:p>, nested spans)
    th: bool = False  # header cells as <th>
    merged: bool = False  # all three tables in one <table>
    review_vertical: bool = False  # table 四 as 3 rows x 5 columns instead of the template's 1 x 15
    review_transposed: bool = False  # table 四 as 5 rows (结果维持 … 总计) x 3 columns (复议, 直接起诉, 复议后起诉)
    blank_markers: bool = False  # zeros written as empty, -, —, ——, /, 无
    fullwidth: bool = False  # full-width digits
    thousands: bool = False  # 1,234
    units: bool = False  # 12件, 3.5万元
    wan: str = ""  # procurement amount in 万元: "header" (header says 万元) | "value" (value says 万元) | ""
    text: str = ""  # "" (HTML) | lines (one cell per line) | pipes (cells ending in ` |`) | rows (a line per row)
    empty_cells: bool = False  # scraped text: zeros often written as truly empty cells (an empty line, ` |`, `| |`)
    borders: bool = False  # text rows: `| a | b |` (markdown) instead of `a | b`
    split_headers: bool = False  # scraped text: column headers broken over two or three lines (商业\n企业)
    chrome: bool = True  # site navigation, header block, footer, scripts
    spaced_labels: bool = False  # 总 计, 法 律 服 务 机 构
    split_runs: bool = False  # Word: a number split over two <span> runs (1</span><span>2)
    cms: bool = False  # old CMS markup: upper-case tags, no </TD></TR>, <font>, &nbsp; around values, <colgroup>, comments
    layout_table: bool = False  # the article inside a page-layout table (tables nested in a <td>)
    halfwidth_labels: bool = False  # labels typed with ASCII punctuation: (一)予以公开, 1.属于国家秘密
    unmerged: bool = False  # merged cells split into text + empty cells (pasted from Excel)
    simplified: bool = False  # table 三 retyped with one header row and no 三、本年度办理结果 column


@dataclass
class TCell:
    text: str
    rowspan: int = 1
    colspan: int = 1
    header: bool = False
    key: str | None = None  # canonical key when the cell holds a value


@dataclass
class Grid:
    table: str  # active | applications | review_litigation
    title: str  # the section heading above it
    rows: list[list[TCell]] = field(default_factory=list)
    width: int = 0
    header_rows: int = 0  # leading rows that are column headers


def _labels(version: str) -> tuple[dict[str, str], dict[str, str]]:
    """Row and column labels of ``version`` from the dictionary."""
    rows: dict[str, str] = {}
    cols: dict[str, str] = {}
    for m in metrics():
        if version in m.versions:
            rows.setdefault(f"{m.table}.{m.row}", m.row_label_zh)
            cols.setdefault(f"{m.table}.{m.column}", m.column_label_zh)
    return rows, cols


def _plain(d: Decimal) -> str:
    return format(d.normalize(), "f")


def format_value(key: str, value: Any, style: Style, rng: random.Random) -> str:
    """The text a report writes for ``value`` in the cell ``key`` (a zero may become a blank marker)."""
    column = key.rsplit(".", 1)[1]
    kind = value_type(key)
    if value == 0 and style.empty_cells and rng.random() < 0.6:
        return ""
    if value == 0 and style.blank_markers and rng.random() < 0.8:
        # scraped text drops empty cells altogether, so text pages only use the visible markers
        return rng.choice(BLANK_MARKERS[1:] if style.text else BLANK_MARKERS)
    if kind == "amount":
        d = Decimal(str(value))
        if column == "amount_yuan" and style.wan:
            d = d / 10000
        if style.thousands and d >= 1000:
            s = f"{d.normalize():,f}"
        else:
            s = _plain(d) if d or rng.random() < 0.5 else "0.00"
        unit = "万元" if (column == "amount_10k_yuan" or style.wan) else "元"
        if style.wan == "value" and column == "amount_yuan" or (style.units and rng.random() < 0.5):
            s += unit
    else:
        s = f"{value:,}" if style.thousands and abs(value) >= 1000 else str(value)
        if kind == "signed" and value > 0 and rng.random() < 0.6:
            s = "+" + s
        if style.units and rng.random() < 0.7:
            s += "件" if kind != "signed" else "项"
    if style.fullwidth:
        s = s.translate(FULLWIDTH)
    return s


def _value_cells(keys: list[str], cells: dict[str, Any], style: Style, rng: random.Random,
                 override: dict[str, str] | None = None) -> list[TCell]:
    """Value cells for ``keys``; ``override`` (hard cases) writes a given text instead of the value."""
    override = override or {}
    return [TCell(override[k] if k in override else format_value(k, cells[k], style, rng), key=k) for k in keys if k in cells]


def active_grid(truth: dict[str, Any], style: Style, rng: random.Random, extra_rows: dict[str, list[int]] | None = None) -> Grid:
    """Table 二 in the template's layout: one block per 第二十条 item, 4 columns wide.

    ``extra_rows`` (label -> values) adds rows a body invented to the first block.
    """
    version, cells = truth["template_version"], truth["cells"]
    row_labels, col_labels = _labels(version)
    g = Grid("active", rng.choice(("二、主动公开政府信息情况", "二、主动公开政府信息的情况")), width=4)
    article = None
    for row in rows_for(version, "active"):
        columns = columns_for(version, "active", row)
        if ARTICLE[row] != article:
            article = ARTICLE[row]
            g.rows.append([TCell(f"第二十条第{article}项", colspan=4, header=True)])
            heads = [TCell(_col_label(col_labels[f"active.{c}"], c, style, rng)) for c in columns]
            g.rows.append([TCell("信息内容", header=True)] + _spread(heads, 3, header=True))
        values = _value_cells([f"active.{row}.{c}" for c in columns], cells, style, rng)
        g.rows.append([TCell(row_labels[f"active.{row}"])] + _spread(values, 3))
        if extra_rows and row == "normative_docs":
            for label, vals in extra_rows.items():
                g.rows.append([TCell(label)] + [TCell(str(v)) for v in vals])
    return g


def _col_label(label: str, column: str, style: Style, rng: random.Random) -> str:
    if column == "amount_yuan":
        return label + {"header": "（万元）", "value": ""}.get(style.wan, "（元）")
    if column == "change" and rng.random() < 0.1:  # seed 001: the header cut short
        return label.rstrip("减")
    return BROKEN_LABELS.get(label, label)


def unmerged(g: Grid) -> Grid:
    """The grid with every merged cell split back into its text plus empty cells (a table pasted from Excel)."""
    taken: dict[tuple[int, int], TCell] = {}
    for r, row in enumerate(g.rows):
        c = 0
        for cell in row:
            while (r, c) in taken:
                c += 1
            for dr in range(cell.rowspan):
                for dc in range(cell.colspan):
                    taken[(r + dr, c + dc)] = cell if (dr, dc) == (0, 0) else TCell("", header=cell.header)
            c += cell.colspan
    rows = [[TCell(t.text, header=t.header, key=t.key) for (_, c), t in sorted(taken.items()) if _ == r]
            for r in range(len(g.rows))]
    return Grid(g.table, g.title, rows, g.width, g.header_rows)


def _spread(cells: list[TCell], width: int, header: bool = False) -> list[TCell]:
    """Fill ``width`` columns: the last cell spans what is left (the template merges them)."""
    for c in cells:
        c.header = c.header or header
    cells[-1].colspan = width - len(cells) + 1
    return cells


def _space(label: str, style: Style, rng: random.Random) -> str:
    if style.spaced_labels and len(label) <= 6 and rng.random() < 0.5:
        return " ".join(label)
    return label


def applications_grid(truth: dict[str, Any], style: Style, rng: random.Random, drop: dict[str, Any] | None = None,
                      override: dict[str, str] | None = None) -> Grid:
    """Table 三: three header rows under 申请人情况 (法人或其他组织 spans 5), then the template's rows.

    ``drop`` (hard cases) can blank a row label (``{"label": row}``), leave out a row (``{"row": row}``),
    remove a value cell (``{"cell": key}``) or put the applicant columns in another order (``{"columns": [...]}``).
    """
    version, cells = truth["template_version"], truth["cells"]
    drop = drop or {}
    row_labels, col_labels = _labels(version)
    lab = lambda c: _space(col_labels[f"applications.{c}"], style, rng)  # noqa: E731
    columns = drop.get("columns") or APPLICANT_COLUMNS
    title = rng.choice(("三、收到和处理政府信息公开申请情况", "三、收到和处理政府信息公开申请情况", "三、政府信息依申请公开办理情况"))
    if style.simplified:  # one header row, no 法人或其他组织 span, no 三、本年度办理结果 column
        g = Grid("applications", title, width=9, header_rows=1)
        g.rows.append([TCell("申请人情况", colspan=2, header=True)] + [TCell(lab(c), header=True) for c in columns])
    else:
        g = Grid("applications", title, width=10, header_rows=3)
        g.rows.append([TCell(BALANCE_NOTE, rowspan=3, colspan=3, header=True), TCell("申请人情况", colspan=7, header=True)])
        g.rows.append([TCell(lab("natural_person"), rowspan=2, header=True), TCell("法人或其他组织", colspan=5, header=True),
                       TCell(lab("total"), rowspan=2, header=True)])
        g.rows.append([TCell(lab(c), header=True) for c in columns[1:-1]])
    rows = [r for r in rows_for(version, "applications") if r != drop.get("row")]
    results = [r for r in rows if r not in ("new_received", "carried_over", "carried_forward")]
    groups: dict[str, list[str]] = {}
    for r in results:
        groups.setdefault(row_labels[f"applications.{r}"].split(" ")[0], []).append(r)
    for r in rows:
        label = row_labels[f"applications.{r}"]
        values = [f"applications.{r}.{c}" for c in columns]
        if drop.get("cell") in values:
            values.remove(drop["cell"])
        vcells = _value_cells(values, cells, style, rng, override)
        if r not in results:
            g.rows.append([TCell(_space(label, style, rng), colspan=g.width - 7)] + vcells)
            continue
        lead: list[TCell] = []
        if r == results[0] and not style.simplified:
            lead.append(TCell("三、本年度办理结果", rowspan=len(results)))
        group, _, sub = label.partition(" ")
        if drop.get("label") == r:
            sub = ""
        if not sub and len(groups[group]) == 1:
            lead.append(TCell(_space(group + LABEL_SUFFIX.get(r, ""), style, rng), colspan=2))
        else:
            if r == groups[group][0]:
                lead.append(TCell(group, rowspan=len(groups[group])))
            lead.append(TCell(sub))
        g.rows.append(lead + vcells)
    return g


def review_grid(truth: dict[str, Any], style: Style, rng: random.Random, drop: dict[str, Any] | None = None) -> Grid:
    """Table 四: the template's one row of 15 values, or (``style.review_vertical``) 3 rows x 5 columns.

    ``drop`` (hard cases) can remove a value cell (``{"cell": key}``).
    """
    cells = dict(truth["cells"])
    cells.pop((drop or {}).get("cell"), None)
    row_labels, col_labels = _labels(truth["template_version"])
    heads = [_space(col_labels[f"review_litigation.{c}"], style, rng) for c in REVIEW_COLUMNS]
    title = "四、政府信息公开行政复议、行政诉讼情况"
    keys = {r: [f"review_litigation.{r}.{c}" for c in REVIEW_COLUMNS] for r in REVIEW_ROWS}
    subs = {r: row_labels[f"review_litigation.{r}"].partition(" ")[2] for r in REVIEW_ROWS[1:]}
    if style.review_transposed:  # a row per result, a column per kind: the values in column order of the vertical form
        g = Grid("review_litigation", title, width=4, header_rows=1)
        g.rows.append([TCell("", header=True), TCell(row_labels["review_litigation.review"], header=True)]
                      + [TCell(subs[r], header=True) for r in REVIEW_ROWS[1:]])
        for i, c in enumerate(REVIEW_COLUMNS):
            g.rows.append([TCell(heads[i])] + _value_cells([f"review_litigation.{r}.{c}" for r in REVIEW_ROWS], cells, style, rng))
        return g
    if style.review_vertical:
        g = Grid("review_litigation", title, width=7, header_rows=1)
        g.rows.append([TCell("", colspan=2, header=True)] + [TCell(h, header=True) for h in heads])
        g.rows.append([TCell(row_labels["review_litigation.review"], colspan=2)] + _value_cells(keys["review"], cells, style, rng))
        for i, r in enumerate(REVIEW_ROWS[1:]):
            lead = [TCell("行政诉讼", rowspan=2)] if i == 0 else []
            g.rows.append(lead + [TCell(subs[r])] + _value_cells(keys[r], cells, style, rng))
        return g
    g = Grid("review_litigation", title, width=15, header_rows=3)
    g.rows.append([TCell(row_labels["review_litigation.review"], colspan=5, header=True), TCell("行政诉讼", colspan=10, header=True)])
    g.rows.append([TCell(h, rowspan=2, header=True) for h in heads] + [TCell(subs[r], colspan=5, header=True) for r in REVIEW_ROWS[1:]])
    g.rows.append([TCell(h, header=True) for h in heads * 2])
    g.rows.append(_value_cells([k for r in REVIEW_ROWS for k in keys[r]], cells, style, rng))
    return g


def report_grids(truth: dict[str, Any], style: Style, rng: random.Random, extra_rows: dict[str, list[int]] | None = None,
                 drop: dict[str, Any] | None = None, override: dict[str, str] | None = None) -> list[Grid]:
    """The three tables of ``truth``; the keyword arguments damage them the way hard cases need."""
    grids = [active_grid(truth, style, rng, extra_rows), applications_grid(truth, style, rng, drop, override),
             review_grid(truth, style, rng, drop)]
    return [unmerged(g) for g in grids] if style.unmerged else grids
