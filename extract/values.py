"""Reading one number cell: the value-reading rules of TEMPLATE.md in one place.

A cell is either a number (full-width digits, thousands separators, a sign, a trailing unit),
a blank marker (empty, -, —, ——, /, 无: reads 0 with ``blank=True``), or unreadable. Unreadable
text is never guessed into a number; the caller turns it into an ``unreadable_value`` issue.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache

BLANK_MARKERS = frozenset({"", "-", "—", "——", "–", "/", "无", "―", "─"})  # after NFKC (－ is -); dash runs too
_SPACES = re.compile(r"\s+")
_NUMBER = re.compile(r"^([+-]?)(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(万元|元|件|条|项|个|次)?$")


@dataclass(frozen=True)
class Reading:
    """A parsed number cell: the decimal value, whether it was a blank marker, its unit suffix."""

    value: Decimal
    blank: bool
    unit: str | None  # 万元 / 元 / 件 ... when the cell carried one
    signed: bool  # carried an explicit + or -


_SPLIT_DIGITS = re.compile(r"\d\s+[\d.,]|[.,]\s+\d")


def clean(text: str) -> str | None:
    """NFKC (full-width digits and punctuation to ASCII) without whitespace; None for ``3 5`` (two numbers)."""
    s = unicodedata.normalize("NFKC", text).strip()
    if _SPLIT_DIGITS.search(s):
        return None
    return _SPACES.sub("", s)


MAX_NUMBER_TEXT = 40  # longer text is never one number (keeps narrative off the NFKC path)
# a Chinese character other than a unit or 无 (NFKC leaves them as they are): never a number or blank marker
_NOT_A_NUMBER = re.compile("(?![万元件条项个次无])[\u4e00-\u9fff]")


@lru_cache(maxsize=4096)
def read_number(text: str) -> Reading | None:
    """The number a cell holds, or None when it is not a number or blank marker."""
    if len(text) > MAX_NUMBER_TEXT or _NOT_A_NUMBER.search(text):
        return None
    s = clean(text)
    if s is None:
        return None
    if s in BLANK_MARKERS or (s and set(s) <= {"-", "—", "―", "─", "–"}):
        return Reading(Decimal(0), True, None, False)
    m = _NUMBER.match(s)
    if m is None:
        return None
    sign, digits, frac, unit = m.groups()
    try:
        value = Decimal(digits.replace(",", "") + (frac or ""))
    except InvalidOperation:  # pragma: no cover - the regex admits only digits
        return None
    if sign == "-":
        value = -value
    return Reading(value, False, unit, bool(sign))


def is_number_cell(text: str) -> bool:
    """True when the text reads as a number or a non-empty blank marker (not for empty text)."""
    if len(text) > MAX_NUMBER_TEXT:
        return False
    if text.isdigit() and text.isascii():  # the common case, without a lookup
        return True
    return bool(text.strip()) and read_number(text) is not None


def to_value(reading: Reading, value_type: str, column: str, header_in_10k: bool = False) -> int | float | None:
    """The canonical value for a key of ``value_type``; None when it cannot be one (e.g. 2.5 items).

    ``amount_yuan`` is in yuan: a value or header in 万元 is multiplied by 10000. ``amount_10k_yuan``
    stays in 万元 (a value explicitly in 元 is divided by 10000).
    """
    v = reading.value
    if value_type == "amount":
        if column == "amount_yuan" and (reading.unit == "万元" or (header_in_10k and reading.unit != "元")):
            v = v * 10000
        elif column == "amount_10k_yuan" and reading.unit == "元":
            v = v / 10000
        return float(v)
    if v != v.to_integral_value():
        return None
    if value_type == "count" and reading.signed and v < 0:
        return int(v)  # read faithfully; the gate's R5_domain judges it
    return int(v)
