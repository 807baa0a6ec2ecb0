"""Alerts: what failed (or recovered), which reports and rules with both sides, and where to look.

Messages are Chinese by default (the maintainers are disclosure offices and data teams), English by
setting (``DISCLOSURE_ALERT_LANGUAGE``). A quality alert names only what is new since the last alert —
reports newly failing a rule, and reports no longer failing (``orchestration.alert_memory`` remembers what
was sent) — each with agency, year, source link and the failing ``rule:instance`` with ``lhs``/``rhs``.
Each channel gets the message cut to its limit at a line, with "等另外 N 项" / "and N more"
(``orchestration.alert_channels`` sends them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

LANGUAGES = ("zh", "en")

TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "quality_subject": "信息公开年报数据仓库：{n} 份报告新近未通过{what}",
        "quality_subject_recovered": "信息公开年报数据仓库：{n} 份报告已恢复通过{what}",
        "hard": "硬性规则（未通过即隔离）",
        "soft": "软性规则（仅提示）",
        "quality_summary": "质量闸门新发现 {new} 份报告未通过{what}，{consequence}；{recovered} 份报告不再未通过。",
        "hard_consequence": "这些报告已被隔离，不进入数据集市",
        "soft_consequence": "这些报告仅作提示",
        "failed": "新近未通过的报告",
        "recovered": "不再未通过的报告",
        "more": "…… 等另外 {n} 项",
        "where": "查看",
        "run": "Dagster 运行",
        "run_id": "Dagster 运行 ID",
        "source": "来源",
        "year": "{year} 年",
        "lhs_rhs": "左 {lhs}，右 {rhs}",
        "failure_subject": "信息公开年报数据仓库：作业 {job} 的运行 {run} 失败",
        "failure_summary": "作业 {job} 的运行失败。",
        "kind": "类型",
        "new_failures": "新近未通过", "recovered_count": "不再未通过", "failed_instances": "未通过的规则实例",
        "failed_steps": "失败的步骤", "quality": "数据质量", "run_failure": "运行失败",
    },
    "en": {
        "quality_subject": "disclosure-warehouse: {n} report(s) newly failing {what}",
        "quality_subject_recovered": "disclosure-warehouse: {n} report(s) pass {what} again",
        "hard": "hard rules (quarantined)",
        "soft": "soft rules (warnings)",
        "quality_summary": "The quality gate found {new} report(s) newly failing {what}; {consequence}. {recovered} report(s) no longer fail.",
        "hard_consequence": "they are held back from the marts (quarantined)",
        "soft_consequence": "they are reported as warnings",
        "failed": "Newly failing reports",
        "recovered": "Reports no longer failing",
        "more": "… and {n} more",
        "where": "Where to look",
        "run": "Dagster run",
        "run_id": "Dagster run id",
        "source": "source",
        "year": "{year}",
        "lhs_rhs": "lhs {lhs}, rhs {rhs}",
        "failure_subject": "disclosure-warehouse: run {run} of job {job} failed",
        "failure_summary": "The run of job {job} failed.",
        "kind": "kind",
        "new_failures": "newly failing", "recovered_count": "no longer failing", "failed_instances": "failed rule instances",
        "failed_steps": "failed steps", "quality": "quality", "run_failure": "run failure",
    },
}


@dataclass
class Alert:
    subject: str
    summary: str  # one or two sentences: what happened
    # report_id, agency, year, source, rules ("rule:instance"), failures ({rule, instance, lhs, rhs})
    failed_reports: list[dict[str, Any]] = field(default_factory=list)
    recovered_reports: list[dict[str, Any]] = field(default_factory=list)  # report_id, agency, year, source
    counts: dict[str, int] = field(default_factory=dict)  # e.g. new_failures, recovered, failed_instances
    links: dict[str, str] = field(default_factory=dict)  # label -> http(s) URL (the UI's run or check page)
    kind: str = "quality"  # quality | run_failure: what sort of alert, shown in every message
    language: str = "zh"

    def say(self, key: str, **values: Any) -> str:
        return TEXT[self.language][key].format(**values)

    def label(self, name: str) -> str:
        """A count's or kind's name in the alert's language (``recovered`` is ``recovered_count`` in TEXT)."""
        return TEXT[self.language].get("recovered_count" if name == "recovered" else name, name)

    def report_line(self, report: dict[str, Any], style: str) -> str:
        """``- 厦门市某局 · 2019 年 · 来源 · `r-001`: R1_balance:total (左 12，右 13); …``"""
        who = [str(report["agency"])] if report.get("agency") else []
        if report.get("year") not in (None, ""):
            who.append(self.say("year", year=report["year"]))
        source = report.get("source")
        if source:
            who.append(_link(self.say("source"), str(source)) if style == "markdown" else str(source))
        rid = report.get("report_id", "?")
        who.append(f"`{rid}`" if style == "markdown" else str(rid))
        failures = [
            f"{f['rule']}:{f['instance']}" + (f" ({self.say('lhs_rhs', lhs=_num(f.get('lhs')), rhs=_num(f.get('rhs')))})"
                                              if f.get("lhs") is not None or f.get("rhs") is not None else "")
            for f in report.get("failures") or ()
        ] or list(report.get("rules") or ())
        return "- " + " · ".join(who) + (": " + "; ".join(failures) if failures else "")

    def _sections(self, style: str) -> tuple[list[str], list[str], list[str]]:
        """(the head, one line per report, the tail): only report lines are dropped to fit a limit."""
        bold = "**" if style == "markdown" else ""
        head = [f"### {self.subject}" if style == "markdown" else self.subject, "", self.summary, ""]
        if self.counts:
            head.append(" · ".join(f"{bold}{self.label(name)}{bold} {value}" for name, value in self.counts.items()))
        lines: list[str] = []
        if self.failed_reports:
            lines += ["", f"{bold}{self.say('failed')} ({len(self.failed_reports)}){bold}"]
            lines += [self.report_line(r, style) for r in self.failed_reports]
        if self.recovered_reports:
            lines += ["", f"{bold}{self.say('recovered')} ({len(self.recovered_reports)}){bold}"]
            lines += [self.report_line(r, style) for r in self.recovered_reports]
        tail = ["", f"{bold}{self.say('where')}{bold}"] if self.links else []
        tail += [f"- {_link(label, target) if style == 'markdown' else f'{label}: {target}'}" for label, target in self.links.items()]
        tail.append(f"{self.say('kind')}: {self.label(self.kind)}")
        return head, lines, tail

    def render(self, style: str, fits: Callable[[str], bool] = lambda _: True) -> str:
        """The message as ``style`` (text | markdown), report lines dropped from the end, with a count of the
        rest, until it ``fits`` the channel."""
        head, lines, tail = self._sections(style)
        whole = "\n".join(head + lines + tail)
        if fits(whole):
            return whole
        kept = len(lines)
        while kept > 0:
            kept -= 1
            dropped = sum(1 for line in lines[kept:] if line.startswith("- "))
            message = "\n".join(head + lines[:kept] + [self.say("more", n=dropped)] + tail)
            if fits(message):
                return message
        return cut_at_word("\n".join(head + tail), 1_000_000, fits)

    def text(self) -> str:
        """The plain-text message (e-mail body)."""
        return self.render("text") + "\n"

    def markdown(self, fits: Callable[[str], bool] = lambda _: True) -> str:
        """The message in the markdown the WeCom, DingTalk and Feishu robots render."""
        return self.render("markdown", fits)


def cut_at_word(text: str, limit: int, fits: Callable[[str], bool] | None = None) -> str:
    """``text`` at most ``limit`` characters (and ``fits``), cut after a space or punctuation mark when one
    is near the end (Chinese has no spaces: a character boundary otherwise), marked with "…"."""
    fits = fits or (lambda s: len(s) <= limit)
    if len(text) <= limit and fits(text):
        return text
    cut = text[: limit - 1]
    while cut and not fits(cut + "…"):
        cut = cut[: max(len(cut) - max(len(cut) // 10, 1), 0)]
    breaks = [cut.rfind(ch) for ch in " \n，。；、,;:：)）"]
    at = max(breaks)
    if at >= len(cut) * 2 // 3:
        cut = cut[: at + 1]
    return cut.rstrip() + "…"


def quality_alert(new_failures: list[dict[str, Any]], recovered: list[dict[str, Any]], hard: bool,
                  run_link: str, language: str = "zh") -> Alert:
    """The alert for what changed at the gate: reports newly failing rules of one severity, and recoveries."""
    text = TEXT[language]
    what = text["hard" if hard else "soft"]
    key = "quality_subject" if new_failures else "quality_subject_recovered"
    return Alert(
        subject=text[key].format(n=len(new_failures) or len(recovered), what=what),
        summary=text["quality_summary"].format(new=len(new_failures), what=what, recovered=len(recovered),
                                               consequence=text["hard_consequence" if hard else "soft_consequence"]),
        failed_reports=new_failures,
        recovered_reports=recovered,
        counts={"new_failures": len(new_failures), "recovered": len(recovered),
                "failed_instances": sum(len(r.get("failures") or ()) for r in new_failures)},
        links=_run_links(run_link, text),
        kind="quality",
        language=language,
    )


def run_failure_alert(job_name: str, run_id: str, reason: str, failed_steps: list[str], run_link: str,
                      language: str = "zh") -> Alert:
    """The alert for a failed run (sent once: by `disclosure refresh` for its own runs, else by the sensor).
    It opens in the alert's language; ``reason`` (Dagster's own message, or empty) and the failed steps follow as they were written."""
    text = TEXT[language]
    return Alert(
        subject=text["failure_subject"].format(job=job_name, run=run_id[:8]),
        summary=" ".join(part for part in [text["failure_summary"].format(job=job_name), reason, *failed_steps] if part)[:2000],
        counts={"failed_steps": len(failed_steps)},
        links=_run_links(run_link, text),
        kind="run_failure",
        language=language,
    )


def _run_links(run_link: str, text: dict[str, str]) -> dict[str, str]:
    """The UI's run page when its address is configured (``DISCLOSURE_DAGSTER_URL``), else the run id to look up."""
    is_url = urlsplit(run_link).scheme in ("http", "https")
    return {text["run" if is_url else "run_id"]: run_link}


def _num(value: Any) -> str:
    """12.0 as 12: counts are whole numbers."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "—" if value is None else str(value)


def _link(label: str, target: str) -> str:
    return f"[{label}]({target})" if urlsplit(target).scheme in ("http", "https") else f"{label}: `{target}`"
