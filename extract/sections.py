"""Stage 1 of reading the tables, tokens → sections: which tokens belong to which template table.

Steps (each a function from one structure to the next, like pdfplumber's ``TableFinder``):
``join_wrapped`` (header cells a narrow column wrapped, joined back) → ``split_sections`` (the token
runs of each template table, and the template version their headers and rows speak for).
"""

from __future__ import annotations

from functools import lru_cache

from extract.labels import HEADER, ROW, Label, classify, classify_all, may_be_label, section_of
from extract.tokens import Token
from extract.values import is_number_cell

WRAP_MAX = 10  # the pieces of a header a narrow column wrapped are short


def join_wrapped(tokens: list[Token]) -> list[Token]:
    """Text header cells a narrow column wrapped over two or three lines (商业 / 企业, 未经复议直 / 接起诉) joined
    back, when the joined text is a label and the later pieces are none on their own: 其他 / 结果 is 其他结果
    (table 四), not 其他 (table 三) followed by noise. ``tokens`` itself when nothing was wrapped (most pages):
    only the short text lines are looked at, and the list is copied only around a join."""
    out: list[Token] = []
    done = 0  # the tokens before this index are in ``out`` (or joined into it)
    for i in [i for i, tok in enumerate(tokens) if _is_piece(tok)]:
        if i < done:  # (a later piece of the join just made)
            continue
        k = _wrapped_pieces(tokens, i)
        if k:
            out.extend(tokens[done:i])
            out.append(Token("".join(t.text for t in tokens[i:i + 1 + k]), None, tokens[i].row))
            done = i + 1 + k
    if not done:
        return tokens
    out.extend(tokens[done:])
    return out


def _is_piece(tok: Token) -> bool:
    """Whether a token can be a piece of a wrapped header: a short text line, not ASCII."""
    return tok.table is None and 0 < len(tok.text) <= WRAP_MAX and not tok.text.isascii()


def _wrapped_pieces(tokens: list[Token], i: int) -> int:
    """How many tokens after ``tokens[i]`` are the later pieces of its wrapped header (0: none)."""
    text = tokens[i].text
    for more in (1, 2):
        parts = tokens[i + 1:i + 1 + more]
        if len(parts) < more or not _fragments(parts):
            return 0
        if classify_all(text + "".join(p.text for p in parts)):
            return more
    return 0


def _fragments(parts: list[Token]) -> bool:
    """Whether ``parts`` can be the later pieces of a wrapped header: short text lines that are no label."""
    return bool(parts) and all(_is_piece(p) and not classify_all(p.text) for p in parts)


Section = tuple[str, list[Token]]  # (template table, its tokens)


def split_sections(tokens: list[Token]) -> tuple[list[Section], str | None]:
    """The token runs of each template table, by section titles or by the labels themselves, and the
    template version their headers and rows speak for (``2019`` / ``2021``, never from the year)."""
    bounds: list[list] = []  # [table, first token, end]: a section is a contiguous slice of the tokens
    votes: dict[str, int] = {}
    current: str | None = None
    for i, tok in enumerate(tokens):
        if not may_be_label(tok.text):  # (only label-like text moves the reader)
            continue
        move, speaks_for = _route(tok.text, current)
        if move is not None:
            if current is not None:
                bounds[-1][2] = i
            if move == "end":
                current = None
                continue
            current = move[0]
            bounds.append([current, i + 1 if move[1] else i, len(tokens)])
        if current is not None:
            for v in speaks_for:
                votes[v] = votes.get(v, 0) + 1
    return [(table, tokens[start:end]) for table, start, end in bounds], _winner(votes)


def _winner(votes: dict[str, int]) -> str | None:
    if not votes:
        return None
    ranked = sorted(votes.items(), key=lambda kv: -kv[1])
    if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        return None
    return ranked[0][0]


@lru_cache(maxsize=65536)
def _route(text: str, current: str | None) -> tuple[str | tuple[str, bool] | None, tuple[str, ...]]:
    """Where a token moves the reader (``end`` of the tables, (table, is a title) to start one, None
    to stay), and the versions it speaks for in the table it then sits in."""
    if is_number_cell(text):
        return None, ()
    sec = section_of(text)
    if sec == "end":
        return "end", ()
    if sec is not None:
        return (sec, True), ()
    labels = classify_all(text)
    if labels and (current is None or current not in labels):
        other = [t for t, lbs in labels.items() if t != current and _strong(lbs)]
        if len(other) == 1:
            return (other[0], False), _version_votes(text, other[0])
    return None, _version_votes(text, current) if current is not None else ()


def _strong(labels: tuple[Label, ...]) -> bool:
    return any(lb.kind in (ROW, HEADER) and lb.key for lb in labels)


def _version_votes(text: str, table: str) -> tuple[str, ...]:
    """The template versions ``text`` speaks for in ``table`` (规范性文件 is in both, whatever its spelling)."""
    return tuple(v for lb in classify(text, table) if lb.versions and not (lb.kind == ROW and lb.key == "normative_docs")
                 for v in lb.versions)
