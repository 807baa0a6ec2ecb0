"""Stage 2 of reading the tables, sections → runs: a label and the number cells that follow it.

``collect`` walks one table's tokens once. Each token is a number, an empty cell, or text; text is
looked up as a label of that table (row, group, column header) or kept as an unknown row. Headers
are remembered per header block, so the rows under them know their columns (grid column per
header on HTML pages, header order on text pages).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from extract.labels import ACTIVE, APPLICATIONS, GROUP, HEADER, REVIEW, ROW, Label, classify, may_be_label, normalize
from extract.template import APPLICANT_COLUMNS, REVIEW_COLUMNS
from extract.tokens import Token
from extract.values import is_number_cell

_EXTRA_LABEL_MAX = 24  # longer unknown text is narrative, not a row label
_HAS_DIGIT = re.compile(r"\d")
_OPENS_WITH_NUMBER = re.compile(r"\s*[+\-＋－]?\d")


@dataclass(slots=True)
class Run:
    """A label and the number cells that follow it."""

    kind: str  # row | group | extra | unknown | column (table 四's header, turned) | loose (numbers with no label)
    key: str | None
    label: Token | None
    values: list[Token] = field(default_factory=list)
    in_10k: bool = False
    cut: bool = False  # ended by text that is neither a label nor a number (its cells may be split)
    header_cols: dict[str, int] = field(default_factory=dict)  # column key -> grid column of its header
    col_order: tuple[str, ...] | None = None  # column keys in the order the headers give them (text pages)
    header_text: dict[str, str] = field(default_factory=dict)  # column key -> raw header text (provenance)

    @property
    def has_cells(self) -> bool:
        """Holds at least one non-empty cell (empty grid cells alone are layout, not data)."""
        return any(t.text.strip() for t in self.values)

    def accepts_empty(self, tok: Token) -> bool:
        """An empty grid cell is a blank value only on the same grid row as this run's last token."""
        last = self.values[-1] if self.values else self.label
        return last is not None and tok.grid_row is not None and last.grid_row == tok.grid_row


_NUMBER, _EMPTY = "number", "empty"  # what a token is when not a label (None: other text)


def _token_kind(text: str, table: str, version: str | None) -> Label | str | None:
    """What a token's text is in ``table``: ``_NUMBER`` (full-width digits too), ``_EMPTY`` (spaces), the
    label interpretation the reader acts on (rows before groups before the rest), or None (other text)."""
    if is_number_cell(text):
        return _NUMBER
    if may_be_label(text):
        return _label_kind(text, table, version)
    return _EMPTY if not text.strip() else None


@lru_cache(maxsize=65536)
def _label_kind(text: str, table: str, version: str | None) -> Label | str | None:
    """``_token_kind`` of label-like text, cached: labels repeat on every page (numbers and prose stay out of the cache)."""
    return _EMPTY if not text.strip() else _pick(classify(text, table), table, version)


def _pick(labels: tuple[Label, ...], table: str, version: str | None) -> Label | None:
    usable = [lb for lb in labels if version is None or not lb.versions or version in lb.versions or (table == ACTIVE and lb.kind == ROW)]
    for kind in (ROW, GROUP):
        for lb in usable:
            if lb.kind == kind:
                return lb
    return usable[0] if usable else None


def _in_value_position(cur: Run | None, tok: Token) -> bool:
    """Text that sits where a number belongs: an unreadable value, not a label.

    In a grid: on the same row after a row's numbers (or right after its label, when the text has
    a digit, e.g. ``3 5``). In text: short text opening with a number after a row's numbers
    (``3/4``, ``12（其中…）``), not a note such as ``注：2020年…``.
    """
    if cur is None or cur.kind == "loose" and not cur.values:
        return False
    if tok.grid_row is not None:
        last = cur.values[-1] if cur.values else cur.label
        return last is not None and last.grid_row == tok.grid_row and (bool(cur.values) or _HAS_DIGIT.search(tok.text) is not None)
    return bool(cur.values) and len(tok.text) <= 20 and _OPENS_WITH_NUMBER.match(tok.text) is not None


@dataclass
class _Headers:
    """The column headers read so far in one table section: what the rows under them take."""

    cols: dict[int | None, dict[str, list[int]]] = field(default_factory=dict)  # grid table -> column key -> grid columns
    seen: list[str] = field(default_factory=list)  # column keys of the current header block, in reading order
    text: dict[str, str] = field(default_factory=dict)  # column key -> raw header text, current header block
    after_rows: bool = True  # a header after data rows starts a new header block (table 二 repeats them)
    # what the rows under the current header block take, worked out at its first row:
    grid_columns: dict[int | None, dict[str, int]] = field(default_factory=dict)  # grid table -> column key -> its one grid column
    applicant_order: tuple[str, ...] | None = None  # ``_applicant_order`` of the headers seen

    def add(self, lb: Label, tok: Token) -> None:
        if self.after_rows:
            self.cols[tok.table] = {}
            self.seen, self.text = [], {}
            self.after_rows = False
        if lb.key:
            self.seen.append(lb.key)
            self.text.setdefault(lb.key, tok.text)
            if tok.col is not None:
                self.cols.setdefault(tok.table, {}).setdefault(lb.key, []).append(tok.col)

    def start_rows(self) -> None:
        """A row follows the header block: work out what its rows take (the keys with exactly one header column)."""
        self.grid_columns = {grid: {k: v[0] for k, v in cols.items() if len(v) == 1} for grid, cols in self.cols.items()}
        self.applicant_order = _applicant_order(self.seen)
        self.after_rows = True


def collect(tokens: list[Token], table: str, version: str | None) -> list[Run]:
    """Runs of (label, numbers) in one table section."""
    runs: list[Run] = []
    cur: Run | None = None
    in_10k = False
    heads = _Headers()
    pending: list[Token] = []  # empty grid cells that open a row without a label (blank values, if numbers follow)
    for tok in tokens:
        what = _token_kind(tok.text, table, version)
        if what is _NUMBER:
            if cur is None:
                cur = Run("loose", None, None)
                runs.append(cur)
            if pending:
                if pending[-1].grid_row == tok.grid_row:
                    cur.values.extend(pending)
                pending.clear()
            cur.values.append(tok)
            continue
        if what is _EMPTY:
            if cur is not None and (tok.table is None or cur.accepts_empty(tok)):  # (an empty text token is a blank cell)
                if tok.soft and cur.kind in ("row", "group") and not cur.values:
                    tok = Token("", None, tok.row)  # right after a row label no layout comes between: a cell
                cur.values.append(tok)
            elif tok.grid_row is not None or tok.table is None:
                if pending and pending[-1].grid_row != tok.grid_row:
                    pending.clear()
                pending.append(tok)
            continue
        pending.clear()
        lb: Label | None = what  # type: ignore[assignment]
        if lb is None:
            if _in_value_position(cur, tok):
                cur.values.append(tok)  # type: ignore[union-attr]
                continue
            if cur is not None:
                cur.cut = True
            kind = "extra" if table == ACTIVE and len(normalize(tok.text)) <= _EXTRA_LABEL_MAX else "unknown"
            cur = Run(kind, normalize(tok.text), tok)
            runs.append(cur)
        elif lb.kind in (ROW, GROUP):
            if not heads.after_rows:
                heads.start_rows()
            cur = Run(lb.kind, lb.key, tok, in_10k=in_10k, header_cols=heads.grid_columns.get(tok.table, {}),
                      col_order=heads.applicant_order if table == APPLICATIONS else None, header_text=heads.text)
            runs.append(cur)
        else:
            if lb.kind == HEADER:
                in_10k = in_10k or lb.in_10k and lb.key == "amount_yuan"
                heads.add(lb, tok)
            cur = None
            if table == REVIEW and lb.kind == HEADER and lb.key in REVIEW_COLUMNS:
                cur = Run("column", lb.key, tok)  # table 四 turned (a row per result) has its values after it
                runs.append(cur)
    return runs


def _applicant_order(seen: list[str]) -> tuple[str, ...] | None:
    """Applicant columns in the order a text page's headers give them; None when they do not say.

    The template prints 自然人 and 总计 as two-row headers around the five 法人或其他组织 columns,
    so reading order puts 总计 before them; only the order of the five is taken from the page.
    """
    middle = [k for k in seen if k in APPLICANT_COLUMNS[1:-1]]
    if sorted(middle) != sorted(APPLICANT_COLUMNS[1:-1]):
        return None
    return (APPLICANT_COLUMNS[0], *middle, APPLICANT_COLUMNS[-1])
