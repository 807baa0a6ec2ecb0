"""Whole pages around the tables: narrative sections, site chrome, HTML and scraped-text forms.

Pages are padded with narrative (一、总体情况 … 六) and chrome to a realistic size: HTML report
pages land at 50–60 KB, the size TEMPLATE.md's speed targets are stated for.
"""

from __future__ import annotations

import html
import random
import unicodedata
from typing import Any

from .tables import Grid, Style, TCell, report_grids

SENTENCES = (
    "{year}年，{agency}认真贯彻落实《中华人民共和国政府信息公开条例》，坚持以公开为常态、不公开为例外，扎实推进政务公开工作。",
    "全年通过政府网站主动公开政府信息{n}条，其中政策文件{m}件，政策解读{k}篇。",
    "严格落实“五公开”要求，将公开属性审查纳入公文办理程序，拟不公开的均说明理由。",
    "健全政府信息公开工作机制，明确分管领导、责任科室和信息发布人员，把审核把关、发布、存档备案等环节责任落实到人。",
    "围绕“放管服”改革、优化营商环境等重点领域，及时公开权责清单、办事指南和监管信息。",
    "坚持“谁起草、谁解读”原则，同步组织、同步审签、同步部署政策解读，以图文、视频等形式解读政策{k}次。",
    "年内召开新闻发布会{m}场，回应社会关切{k}件，及时准确传递权威信息。",
    "规范依申请公开办理流程，严格按照法定时限答复，做到登记、审核、办理、答复、归档全程留痕。",
    "全年共受理政府信息公开申请{total}件，均在法定期限内予以答复。",
    "加强政府网站和政务新媒体管理，开展常态化监测和季度检查，及时整改错链、空白栏目等问题。",
    "组织开展政务公开业务培训{m}次，参训人员{n}人次，工作人员业务能力进一步提升。",
    "依托政务服务中心设立政务公开专区，提供政府信息查阅、咨询和申请服务。",
    "完善政府信息公开指南和目录，动态调整主动公开基本目录，做到应公开尽公开。",
    "加强保密审查，坚持“先审查、后公开”和“一事一审”，全年未发生泄密事件。",
    "做好建议提案办理结果公开，全年公开人大代表建议和政协提案办理复文{m}件。",
    "推进基层政务公开标准化规范化建设，梳理编制{m}个领域的公开事项标准目录。",
    "主动公开部门预决算、“三公”经费和政府采购信息，接受社会监督。",
    "全年未因政府信息公开工作被申请行政复议或提起行政诉讼。",
    "将政务公开工作纳入年度绩效考核，分值权重不低于4%，考核结果与评先评优挂钩。",
    "开展政府信息公开社会评议，收集意见建议{m}条，逐条研究改进。",
)
PROBLEMS = (
    "政策解读形式还不够丰富，解读的针对性和实效性有待提高。",
    "部分信息更新不够及时，公开内容的深度和广度有待进一步拓展。",
    "工作人员业务水平参差不齐，对《条例》的学习理解还不够深入。",
    "政务新媒体互动回应还不够及时，与公众的互动交流有待加强。",
    "下一步，我们将进一步完善工作机制，加强业务培训，提升政务公开工作水平。",
    "针对上述问题，将加大监督检查力度，督促各科室及时更新公开内容。",
)
SUBHEADS = ("（一）主动公开", "（二）依申请公开", "（三）政府信息管理", "（四）平台建设", "（五）监督保障")
NAV = ("首页", "政务公开", "政府信息公开指南", "政府信息公开制度", "法定主动公开内容", "政府信息公开年报",
       "机构概况", "政策文件", "政策解读", "规划计划", "财政资金", "重点领域", "人事信息", "新闻发布", "互动交流",
       "办事服务", "领导信箱", "在线访谈", "征集调查", "网上调查", "数据开放", "专题专栏")
# a government site's drop-down navigation (the columns the 政府网站发展指引 asks for): top item, its sub-items
MENU = (
    ("首页", ()),
    ("政务公开", ("政府信息公开指南", "政府信息公开制度", "法定主动公开内容", "政府信息公开年报", "政策文件", "政策解读",
              "规划计划", "财政资金", "重点领域", "人事信息", "建议提案办理")),
    ("政务服务", ("个人办事", "法人办事", "部门服务", "主题服务", "办事指南", "便民服务", "好差评", "证照办理")),
    ("互动交流", ("领导信箱", "在线访谈", "征集调查", "网上调查", "常见问题", "留言选登", "热线电话")),
    ("新闻中心", ("本地要闻", "部门动态", "乡镇动态", "图片新闻", "视频新闻", "公示公告")),
    ("走进本地", ("概况", "历史沿革", "行政区划", "人口民族", "自然地理", "旅游资源", "特色产业")),
    ("专题专栏", ("优化营商环境", "乡村振兴", "安全生产", "生态环境保护", "民生实事", "法治政府建设")),
    ("数据开放", ("统计数据", "统计公报", "数据解读", "数据下载")),
)
# the footer's 友情链接 drop-downs
LINKS = (
    ("国务院部门网站", ("外交部", "国防部", "国家发展和改革委员会", "教育部", "科学技术部", "工业和信息化部", "公安部", "民政部",
                 "司法部", "财政部", "人力资源和社会保障部", "自然资源部", "生态环境部", "住房和城乡建设部")),
    ("省级政府网站", ("北京", "天津", "河北", "山西", "内蒙古", "辽宁", "吉林", "黑龙江", "上海", "江苏", "浙江", "安徽", "福建", "江西")),
    ("市县政府网站", ("福州市", "厦门市", "莆田市", "三明市", "泉州市", "漳州市", "南平市", "龙岩市", "宁德市", "平潭综合实验区")),
    ("其他网站", ("中国政府网", "国务院客户端", "国家政务服务平台", "中国政府网政务服务", "全国一体化在线政务服务平台")),
)
SCRIPT = ("<script type=\"text/javascript\">var _hmt = _hmt || [];(function(){var hm=document.createElement('script');"
          "hm.src='https://hm.baidu.com/hm.js?{h}';var s=document.getElementsByTagName('script')[0];"
          "s.parentNode.insertBefore(hm,s);})();function setFont(size){document.getElementById('zoom').style.fontSize=size+'px';}"
          "</script>")


# Title shapes real pages use: {a} the agency, {y} the year ("年" / "年度" spelled out by the shape)
TITLE_SHAPES = (
    "{a}{y}年政府信息公开工作年度报告", "{a}{y}年政府信息公开工作年度报告", "{a}{y}年度政府信息公开工作年度报告",
    "{a}{y}年政府信息公开年度报告", "{a}{y}年政府信息公开年报", "{y}年{a}政府信息公开工作年度报告",
    "{y}年度{a}政府信息公开工作年度报告", "{a}政府信息公开工作{y}年度报告", "{a}关于{y}年度政府信息公开工作年度报告",
    "{a}政府信息公开工作年度报告（{y}年）", "{a}政府信息公开工作年度报告（{y}年度）", "{a}政府信息公开工作年度报告",
    "{y}年政府信息公开工作年度报告", "{y}年度政府信息公开工作年度报告",
)


def title_of(truth: dict[str, Any], rng: random.Random) -> str:
    """The report's title in one of ``TITLE_SHAPES`` (or ``truth["title_shape"]``); the year is ``truth["title_year"]``
    when a page's title disagrees with its body (hard cases)."""
    shape = truth.get("title_shape") or rng.choice(TITLE_SHAPES)
    return shape.format(a=truth["agency"], y=truth.get("title_year", truth["year"]))


def names_agency(title: str, truth: dict[str, Any]) -> bool:
    return truth["agency"] in title


def paragraph(truth: dict[str, Any], rng: random.Random, pool: tuple[str, ...] = SENTENCES) -> str:
    """A narrative paragraph; the numbers it states about applications agree with the tables.

    It names ``truth["body_agency"]`` when the body was copied from another report (hard cases)."""
    total = truth.get("cells", {}).get("applications.new_received.total", rng.randint(0, 40))
    return "".join(
        s.format(year=truth["year"], agency=truth.get("body_agency", truth["agency"]), n=rng.randint(20, 900), m=rng.randint(1, 30),
                 k=rng.randint(1, 60), total=total)
        for s in rng.sample(pool, rng.randint(2, min(5, len(pool))))
    )


def opening_sentence(truth: dict[str, Any]) -> str:
    """The narrative's first sentence: "<year>年，<agency>认真…" (a year and agency signal of its own)."""
    return SENTENCES[0].format(year=truth["year"], agency=truth.get("body_agency", truth["agency"]))


def intro(truth: dict[str, Any], contact: str | None = None) -> str:
    """The opening paragraph: the report's year (统计期限) and, when ``contact`` is given, who to ask (请与…联系)."""
    y = truth.get("period_year", truth["year"])
    ask = f"请与{contact}联系（联系电话：0592-2667078）。" if contact else "请与本机关办公室联系。"
    return (f"根据《中华人民共和国政府信息公开条例》（以下简称《条例》）规定，特向社会公布本机关{y}年"
            f"政府信息公开工作年度报告。本报告中所列数据的统计期限自{y}年1月1日起至{y}年12月31日止。"
            f"如对本报告有任何疑问，{ask}")


def contact_of(truth: dict[str, Any], title: str, rng: random.Random) -> str | None:
    """The contact line's body: always when the title does not name the agency, else now and then."""
    if "contact" in truth:
        return truth["contact"]
    return truth["agency"] if not names_agency(title, truth) or rng.random() < 0.3 else None


GREETINGS = ("您好，欢迎访问{h}门户网站！", "欢迎访问{h}网站", "{h}欢迎您", "今天是{d} 欢迎访问{h}门户网站")


# ---------------------------------------------------------------- HTML

def _cell_html(c: TCell, style: Style) -> str:
    tag = "th" if c.header and style.th else "td"
    if style.halfwidth_labels and c.key is None:
        c = TCell(unicodedata.normalize("NFKC", c.text), c.rowspan, c.colspan, c.header)
    attrs = (f' rowspan="{c.rowspan}"' if c.rowspan > 1 else "") + (f' colspan="{c.colspan}"' if c.colspan > 1 else "")
    if style.word:
        inner = "<br>".join(html.escape(t) for t in c.text.split("\n")) or "&nbsp;"
        if c.key is None and len(c.text) > 6 and "\n" not in c.text:  # Word splits labels over runs and lines
            cut = len(c.text) // 2
            inner = f"{html.escape(c.text[:cut])}</span><br><span style='font-family:仿宋_GB2312'>{html.escape(c.text[cut:])}"
        elif c.key is not None and len(c.text) > 1 and style.split_runs:  # Word splits a number over runs
            inner = f"{html.escape(c.text[:1])}</span><span lang=EN-US style='font-family:仿宋_GB2312'>{html.escape(c.text[1:])}"
        elif c.key is not None and c.text:
            inner = f"<span style='mso-spacerun:yes'>&nbsp;</span>{inner}"
        return (f"<{tag}{attrs} valign=top><p class=MsoNormal align=center>"
                f"<span lang=EN-US>{inner}<o:p></o:p></span></p></{tag}>")
    text = "<br/>".join(html.escape(t) for t in c.text.split("\n"))
    if style.cms:  # an old CMS: upper-case tags, font wrappers, non-breaking spaces around values
        pad = "&nbsp;" if c.key is not None else ""
        return f"<{tag.upper()}{attrs} align=center><FONT face=宋体 size=2>{pad}{text}{pad}</FONT>"  # HTML 4: </TD> optional
    return f"<{tag}{attrs}>{text}</{tag}>"


def _rows_html(g: Grid, style: Style) -> str:
    out = []
    for i, row in enumerate(g.rows):
        tr = f"<tr style='mso-yfti-irow:{i}'>" if style.word else "<TR>" if style.cms else "<tr>"
        out.append(tr + "".join(_cell_html(c, style) for c in row) + ("<!-- row -->\n" if style.cms else "</tr>"))
    if style.cms:
        return "<COLGROUP>" + "<COL width=80>" * g.width + "</COLGROUP><TBODY>" + "".join(out) + "</TBODY>"
    if style.th and g.header_rows:
        return f"<thead>{''.join(out[:g.header_rows])}</thead><tbody>{''.join(out[g.header_rows:])}</tbody>"
    return "".join(out)


def _table_open(style: Style) -> str:
    if style.word:
        return ("<table class=MsoNormalTable border=1 cellspacing=0 cellpadding=0 style='border-collapse:collapse;"
                "border:none;mso-border-alt:solid windowtext .5pt;mso-yfti-tbllook:1184;mso-padding-alt:0cm 5.4pt 0cm 5.4pt'>")
    return '<table border="1" cellspacing="0" cellpadding="0" width="100%" style="border-collapse:collapse">'


def _misaligned(style: Style, width: int) -> str:
    """Word's trailing row of empty width cells (a real artefact of Word-exported tables)."""
    if not style.word:
        return ""
    return ("<![if !supportMisalignedColumns]><tr height=0>" + "<td width=60 style='border:none'></td>" * width
            + "</tr><![endif]>")


def _heading(text: str, style: Style) -> str:
    if style.word:
        return (f"<p class=MsoNormal style='text-indent:32.0pt;mso-char-indent-count:2.0'><b><span style='font-size:16.0pt;"
                f"font-family:黑体'>{html.escape(text)}<span lang=EN-US><o:p></o:p></span></span></b></p>")
    return f"<p><strong>{html.escape(text)}</strong></p>"


def _para(text: str, style: Style) -> str:
    if style.word:
        return (f"<p class=MsoNormal style='text-indent:32.0pt;line-height:28.0pt;mso-line-height-rule:exactly'>"
                f"<span style='font-size:16.0pt;font-family:仿宋_GB2312'>{html.escape(text)}<span lang=EN-US><o:p></o:p></span></span></p>")
    return f"<p style=\"text-indent:2em\">{html.escape(text)}</p>"


def tables_html(grids: list[Grid], style: Style) -> str:
    if style.merged:
        body = "".join(f"<tr><td colspan=\"{g.width}\">{html.escape(g.title)}</td></tr>" + _rows_html(g, style) for g in grids)
        return _table_open(style) + body + _misaligned(style, 15) + "</table>"
    return "".join(_heading(g.title, style) + _table_open(style) + _rows_html(g, style) + _misaligned(style, g.width)
                   + "</table>" for g in grids)


def greeting(truth: dict[str, Any], rng: random.Random) -> str:
    """The tool bar's greeting: it names the portal's owner (``truth["host"]``), never the reporting agency."""
    return rng.choice(GREETINGS).format(h=truth["host"], d=cn_date(truth["published"]) + " 星期一")


def page_title(title: str, truth: dict[str, Any]) -> str:
    """The <title>: the report's title and the portal's name, joined the ways CMS templates do."""
    site = truth["site"]
    forms = (f"{title}_{site}", f"{title}_{truth['host']}门户网站", f"{truth['host']}门户网站 - {title}", f"{title}|{site}", title,
             f"{truth['host']}-{title}")
    return forms[len(title) % len(forms)]


def chrome_top(truth: dict[str, Any], title: str, rng: random.Random) -> str:
    """The page header as CMS sites write it: tool bar, logo, search, a drop-down menu, breadcrumbs, the 索引号 block."""
    def sub_menu(i: int, subs: tuple[str, ...]) -> str:
        items = "".join(f'<li><a href="/{i}/{j}/index.html" target="_blank">{sub}</a></li>' for j, sub in enumerate(subs))
        return f'<div class="nav-sub"><ul>{items}</ul></div>' if subs else ""

    menu = "".join(f'<li class="nav-item"><a href="/{i}/index.html">{top}</a>{sub_menu(i, subs)}</li>' for i, (top, subs) in enumerate(MENU))
    index_no = f"XM{rng.randint(10000, 99999)}-{rng.randint(1000, 9999)}-{truth['year'] + 1}-{rng.randint(1, 99999):05d}"
    doc_no = rng.choice(("", f"{truth['publisher'][:2]}政办〔{truth['year'] + 1}〕{rng.randint(1, 60)}号"))
    return (
        f'<div class="toolbar"><div class="w1200"><span>{html.escape(greeting(truth, rng))}</span><a href="javascript:void(0)" id="cniil_wza">无障碍浏览</a>'
        '<a href="javascript:void(0)" class="elder">长者模式</a><a href="javascript:void(0)" id="trans">繁体</a>'
        '<a href="/login.html">登录</a><a href="/register.html">注册</a></div></div>'
        f'<div class="header"><div class="logo"><a href="/"><img src="/static/images/logo.png" alt="{html.escape(truth["site"])}"/>'
        f'{html.escape(truth["site"])}</a></div>'
        '<div class="search"><form action="/search" method="get" target="_blank"><input type="hidden" name="siteCode" value="3502000001"/>'
        '<input name="q" class="search-input" placeholder="请输入关键字"/><button type="submit">搜索</button></form></div>'
        f'<div class="nav"><ul class="nav-list">{menu}</ul></div></div>'
        '<div class="breadcrumb">当前位置：<a href="/">首页</a> &gt; <a href="/zwgk/">政府信息公开</a> &gt; '
        '<a href="/zwgk/ndbg/">政府信息公开年报</a></div>'
        '<table class="xxgk-info" width="100%"><tr><td>索引号：</td><td>' + index_no + '</td><td>发布机构：</td><td>'
        + html.escape(truth["publisher"]) + '</td></tr><tr><td>生成日期：</td><td>' + truth["published"]
        + '</td><td>文号：</td><td>' + doc_no + '</td></tr><tr><td>标题：</td><td colspan="3">' + html.escape(title)
        + '</td></tr></table>'
    )


def chrome_bottom(truth: dict[str, Any], rng: random.Random) -> str:
    """Share bar, related reports, the 友情链接 drop-downs, the footer's identification lines and scripts."""
    related = "".join(f'<li><a href="/zwgk/ndbg/{rng.randint(10**6, 10**7)}.html">{truth["year"] - i}年政府信息公开工作年度报告</a></li>'
                      for i in range(1, 6))
    links = "".join(f'<select onchange="window.open(this.value)"><option value="">{group}</option>'
                    + "".join(f'<option value="http://www.{i}.gov.cn/">{name}</option>' for i, name in enumerate(names)) + "</select>"
                    for group, names in LINKS)
    return (
        '<div class="share">分享到：<a class="wx">微信</a><a class="wb">微博</a><a class="qq">QQ空间</a>'
        '<a href="javascript:window.print()">【打印本页】</a><a href="javascript:window.close()">【关闭窗口】</a></div>'
        f'<div class="related"><h4>相关链接</h4><ul>{related}</ul></div>'
        f'<div class="links"><div class="links-title">友情链接</div>{links}</div>'
        f'<div class="footer"><div class="w1200"><div class="dzjg"><a href="http://bszs.conac.cn/"><img src="/static/images/red.png" alt="党政机关"/></a></div>'
        f'<p>主办单位：{html.escape(truth["host"])}办公室 承办：{html.escape(truth["host"])}信息中心 版权所有</p>'
        f'<p>闽ICP备{rng.randint(10**7, 10**8)}号-{rng.randint(1, 9)} 闽公网安备 {rng.randint(10**13, 10**14)}号 '
        f'网站标识码：{rng.randint(10**9, 10**10)}</p><p>联系电话：0592-{rng.randint(1000000, 9999999)}</p>'
        '<p><a href="/wzdt/">网站地图</a> | <a href="/lxwm/">联系我们</a> | <a href="/sybz/">使用帮助</a></p></div></div>'
        + SCRIPT.replace("{h}", f"{rng.getrandbits(128):032x}")
    )


def head(title: str, style: Style, truth: dict[str, Any]) -> str:
    """The <head>: charset as the style says, the metadata tags government sites carry, styles and scripts."""
    charset = {"utf-8": "utf-8", "gbk": "gbk"}[style.encoding]
    meta = ""
    if style.charset == "meta":
        meta = f'<meta charset="{charset if style.encoding == "utf-8" else "gb2312"}">'
    elif style.charset == "wrong":  # the template's header says gb2312, the CMS writes UTF-8
        meta = '<meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
    elif style.charset == "http_equiv":
        meta = f'<meta http-equiv="Content-Type" content="text/html; charset={charset}">'
    word = ('<meta name=ProgId content=Word.Document><meta name=Generator content="Microsoft Word 15">'
            '<style><!-- p.MsoNormal, li.MsoNormal {mso-style-unhide:no;mso-style-qformat:yes;margin:0cm;'
            'text-align:justify;text-justify:inter-ideograph;font-size:10.5pt;font-family:等线;} '
            '@page WordSection1 {size:595.3pt 841.9pt;margin:72.0pt 90.0pt 72.0pt 90.0pt;} --></style>') if style.word else ""
    site = html.escape(truth["site"])
    site_meta = "".join(f'<meta name="{name}" content="{value}">' for name, value in (
        ("SiteName", site), ("SiteDomain", "www.example.gov.cn"), ("SiteIDCode", "3502000001"), ("ColumnName", "政府信息公开年报"),
        ("ColumnType", "政府信息公开年报"), ("ArticleTitle", html.escape(title)), ("PubDate", truth["published"]),
        ("ContentSource", html.escape(truth["publisher"])), ("Keywords", "政府信息公开,年度报告"),
        ("Description", html.escape(title))))
    assets = "".join(f'<link rel="stylesheet" type="text/css" href="/static/css/{name}.css"/>' for name in ("reset", "common", "index", "xxgk")) \
        + "".join(f'<script type="text/javascript" src="/static/js/{name}.js"></script>' for name in ("jquery.min", "common", "share", "wza"))
    return (f'<head>{meta}<meta name="viewport" content="width=device-width, initial-scale=1">{site_meta}{word}'
            f'<title>{html.escape(page_title(title, truth))}</title>{assets}</head>')


def cn_date(iso: str) -> str:
    """2021-01-05 -> 2021年1月5日 (how a report's signature dates it)."""
    y, m, d = iso.split("-")
    return f"{y}年{int(m)}月{int(d)}日"


def _frame(truth: dict[str, Any], title: str, style: Style, rng: random.Random) -> tuple[str, str]:
    """The page around the article: head, chrome, title block; and what closes it."""
    top = chrome_top(truth, title, rng) if style.chrome else ""
    bottom = chrome_bottom(truth, rng) if style.chrome else ""
    xmlns = (' xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office"'
             ' xmlns:w="urn:schemas-microsoft-com:office:word"') if style.word else ""
    h1 = (f'<h1 class="title">{html.escape(title)}</h1><div class="info">发布日期：{truth["published"]} '
          f'来源：{html.escape(truth["publisher"])} 字号：<a>大</a> <a>中</a> <a>小</a></div>')
    if style.layout_table:  # the article sits in a page-layout table beside a side menu (nested tables)
        side = "".join(f'<tr><td><a href="/zwgk/{i}/">{n}</a></td></tr>' for i, n in enumerate(NAV[:8]))
        h1 = f'<table class="layout" width="1000"><tr><td class="side" width="200"><table>{side}</table></td><td class="main">{h1}'
        bottom = "</td></tr></table>" + bottom
    opening = f"<!DOCTYPE html><html{xmlns}>{head(title, style, truth)}<body>{top}{h1}" \
              '<div id="zoom" class="content"><div class=WordSection1>'
    return opening, "</div></div>" + bottom + "</body></html>"


def html_page(truth: dict[str, Any], style: Style, rng: random.Random, body: str | None = None,
              title: str | None = None, target: int | None = None, damage: dict[str, Any] | None = None) -> bytes:
    """A report (or another ``body``) in a site page, padded with narrative up to ``target`` encoded bytes.

    ``target`` defaults to 50–60 KB; ``damage`` is passed to ``report_grids`` (hard cases).
    """
    title = title or title_of(truth, rng)
    opening, ending = _frame(truth, title, style, rng)
    before: list[str] = []
    after: list[str] = []
    if body is None:  # a report: opening paragraph, 一 (the padding goes here), 二–四 tables, 五, 六, signature
        body = tables_html(report_grids(truth, style, rng, **(damage or {})), style)
        before = [_para(intro(truth, contact_of(truth, title, rng)), style), _heading("一、总体情况", style)]
        if truth.get("opening") or rng.random() < 0.6:
            before.append(_para(opening_sentence(truth) + paragraph(truth, rng), style))
        after = [_heading("五、存在的主要问题及改进情况", style), _para(paragraph(truth, rng, PROBLEMS), style),
                 _heading("六、其他需要报告的事项", style),
                 _para("无。", style) if rng.random() < 0.5 else _para(paragraph(truth, rng), style),
                 f'<p style="text-align:right">{html.escape(truth["agency"])}</p>'
                 f'<p style="text-align:right">{cn_date(truth["published"])}</p>']
    if target is None:
        target = rng.randint(51_600, 60_000)
    enc = style.encoding
    size = sum(len(p.encode(enc)) for p in [opening, ending, body, *before, *after])
    narrative: list[str] = []
    subheads = list(SUBHEADS)
    while True:  # stop before passing the target: pages stay within it
        sub = _heading(subheads[0], style) if subheads and rng.random() < 0.25 else ""
        p = sub + _para(paragraph(truth, rng), style)
        n = len(p.encode(enc))
        if size + n > target:
            break
        if sub:
            subheads.pop(0)
        narrative.append(p)
        size += n
    if before:
        page = opening + "".join(before + narrative) + body + "".join(after) + ending
    else:
        page = opening + body + "".join(narrative) + ending
    return (b"\xef\xbb\xbf" if style.charset == "bom" else b"") + page.encode(enc)


# ---------------------------------------------------------------- scraped text

def _text_grid(g: Grid, style: Style, rng: random.Random) -> list[str]:
    out = [g.title]
    if style.text == "rows":  # one line per table row, cells joined by " | " (html2text-like), or a markdown table
        rows = [" | ".join(c.text.replace("\n", "") for c in row) for row in g.rows]
        return out + ([f"| {r} |" for r in rows] if style.borders else rows)
    for i, row in enumerate(g.rows):
        for c in row:
            lines = split_header(c.text, rng) if style.split_headers and c.header else c.text.split("\n")
            if style.text == "pipes":  # an empty cell is its separator alone: " |", " | " or a bare "|"
                out.extend(f"{t} |" if t else rng.choice((" |", " | ", " |", "|")) for t in lines)
            else:
                out.extend(lines)
        if style.text == "pipes" and i + 1 < len(g.rows):
            # (rows apart by 2+ pipes when a bare "|" may be an empty cell: else the page itself is ambiguous)
            out.append("|" * rng.randint(2 if style.empty_cells else 1, 5))
    return out


def split_header(text: str, rng: random.Random) -> list[str]:
    """A header cell's text broken over lines as a narrow column wraps it (商业 / 企业, 本年制发 / 件数)."""
    if "\n" in text or len(text) < 4 or len(text) > 30:
        return text.split("\n")
    cuts = sorted(rng.sample(range(2, len(text) - 1), min(rng.choice((1, 1, 2)), len(text) - 3)))
    return [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)])]


def text_page(truth: dict[str, Any], style: Style, rng: random.Random, damage: dict[str, Any] | None = None) -> bytes:
    """A report as a scraper's text: one cell per line (seeds 000/001), cells ending in ` |` (seeds 002/003)
    or one line per row with ` | ` between cells."""
    dated = f"日期:{truth['published']} 17:37:00 字号:"
    y, shape = truth.get("period_year", truth["year"]), rng.random()
    contact = truth.get("contact", truth["agency"])
    if "title_shape" in truth:  # (hard cases: the title as the case needs it)
        shape = 1.0
    if shape < 0.2:  # no title line: the agency is named only in the opening paragraph (seed 002)
        lines = [dated, f"依据《中华人民共和国政府信息公开条例》要求，制作本报告。本报告中所列数据统计期限自{y}年1月1日至{y}年12月31日。"
                        f"如对本年度报告有任何疑问，请与{contact}联系（联系电话：0592-{rng.randint(10**6, 10**7 - 1)}）。"]
    elif shape < 0.4:  # the title over two lines (seed 003)
        lines = [truth["agency"], f"{truth.get('title_year', truth['year'])}年政府信息公开年度报告", dated, intro(truth)]
    else:
        title = title_of(truth, rng)
        lines = [title, dated, intro(truth, contact_of(truth, title, rng))]
    chrome = rng.random() < 0.3  # the scraper kept the site's chrome: greeting and breadcrumbs above, footer below
    if chrome:
        lines = [greeting(truth, rng), "当前位置：首页 > 政务公开 > 政府信息公开年报", *lines]
    if truth.get("opening") or rng.random() < 0.5:
        lines.append(opening_sentence(truth))
    lines.append("一、总体情况")
    lines += [paragraph(truth, rng) for _ in range(rng.randint(4, 10))]
    for g in report_grids(truth, style, rng, **(damage or {})):
        lines += _text_grid(g, style, rng)
    lines += ["五、存在的主要问题及改进情况", paragraph(truth, rng, PROBLEMS), "六、其他需要报告的事项", "无",
              truth["agency"], cn_date(truth["published"])]
    if chrome:
        lines += [f"主办单位：{truth['host']}办公室 承办：{truth['host']}信息中心", f"闽ICP备{rng.randint(10**7, 10**8)}号"]
    if style.text == "lines":
        text = "".join(f"  {t}\n\n" for t in lines)
    else:
        text = "\n".join(lines) + "\n"
    if rng.random() < 0.7:  # scraped text often comes NFKC-folded: （三） -> (三), ： -> :
        text = unicodedata.normalize("NFKC", text)
    return text.encode("utf-8")
