"""Numbers the narrative states about the tables (TEMPLATE.md W3_narrative), read from text outside them.

Only phrasings whose metric is unambiguous are read; any other sentence gives no claim (W3 is a
soft rule: a claim read wrongly would raise a false warning, a claim not read costs nothing):
- 受理 / 收到 … 申请 N 件 (共受理政府信息公开申请30件) — ``applications.new_received.total``;
- 答复 / 办结 … 申请 N 件 (全年共答复依申请公开25件) — ``applications.total_processed.total``.
A count followed by 含 / 包括 (共受理申请30件（含上年结转2件）) mixes rows and gives no claim; so do
numbers in Chinese numerals. Table cells are never read here (scraped-text tables included: a
template cell holds a label or a number, never such a sentence).
"""

from __future__ import annotations

import re

from extract.model import Claim
from extract.tokens import Token

# a character of the clause between the verb and the count: no clause break, no digit, and not the
# words of other rows (复议/诉讼 are table 四's, 结转 the carried-over rows)
_CLAUSE = r"(?:(?!复议|诉讼|结转)[^，,。；;：:\d\n])"
_VERBS = {"受理": "applications.new_received.total", "收到": "applications.new_received.total",
          "答复": "applications.total_processed.total", "办结": "applications.total_processed.total"}
# the verb, a short clause, 申请, the count and 件 (one pattern: a page is scanned once)
_CLAIM = re.compile(f"({'|'.join(_VERBS)}){_CLAUSE}{{0,16}}?申请{_CLAUSE}{{0,6}}?(\\d{{1,7}})\\s*件(?!\\s*[（(]?\\s*(?:含|包括))")
MAX_SENTENCE = 2000  # longer text lines are not narrative paragraphs worth reading


def read_claims(tokens: list[Token]) -> list[Claim]:
    """The claims of the text outside tables, in reading order (each sentence read once)."""
    claims: list[Claim] = []
    for tok in tokens:
        if tok.table is not None:
            continue
        text = tok.text
        if "件" not in text or "申请" not in text or len(text) > MAX_SENTENCE:
            continue
        for m in _CLAIM.finditer(text):
            claims.append(Claim(_VERBS[m.group(1)], int(m.group(2)), m.group(0), tok.row))
    return claims
