"""Tables of a PDF page from its ruling lines: segments → tables → a dense grid of cells (merged cells once).

A ruled table is drawn as thin filled rectangles (Chromium, WPS) or stroked lines (Word): each is a
horizontal or vertical segment. Segments that touch form one table; the distinct x of its vertical
and y of its horizontal segments cut it into slots; two neighbouring slots are one merged cell when
no segment runs between them. So a cell keeps the grid place of its top-left slot, as HTML's rowspan
and colspan give it, and its box. All coordinates are top-down points (x0, top, x1, bottom).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field

THIN = 3.0  # points: a rectangle this thin in one direction is a ruling line
SNAP = 2.0  # points: lines this close are the same line (borders drawn twice, rounding)
MIN_SIDE = 6.0  # points: a row or column narrower than this is a double border, not a slot


@dataclass(slots=True)
class Seg:
    pos: float  # y of a horizontal line, x of a vertical one
    lo: float  # where it starts along its direction
    hi: float  # where it ends


@dataclass(slots=True)
class GridCell:
    row: int
    col: int
    box: tuple[float, float, float, float]
    chars: list = field(default_factory=list)  # (x0, top, x1, bottom, ch) inside it


@dataclass(slots=True)
class Grid:
    box: tuple[float, float, float, float]
    xs: list[float]
    ys: list[float]
    cells: list[GridCell]
    slot_cell: dict[tuple[int, int], GridCell]

    def cell_at(self, x: float, y: float) -> GridCell | None:
        c, r = bisect_right(self.xs, x) - 1, bisect_right(self.ys, y) - 1
        return self.slot_cell.get((r, c))


def segments(boxes: list[tuple[float, float, float, float]]) -> tuple[list[Seg], list[Seg]]:
    """(horizontal, vertical) segments of the thin boxes; larger boxes (a stroked cell outline) give their four sides."""
    hs: list[Seg] = []
    vs: list[Seg] = []
    for x0, top, x1, bottom in boxes:
        w, h = x1 - x0, bottom - top
        if h <= THIN and w > THIN:
            hs.append(Seg((top + bottom) / 2, x0, x1))
        elif w <= THIN and h > THIN:
            vs.append(Seg((x0 + x1) / 2, top, bottom))
    return _merge(hs), _merge(vs)


def _merge(segs: list[Seg]) -> list[Seg]:
    """Collinear segments that touch or overlap, joined (a border drawn cell by cell is one line)."""
    segs.sort(key=lambda s: s.pos)
    lines: list[list[Seg]] = []
    for s in segs:  # segments within SNAP of a line's first one are on that line
        if lines and s.pos - lines[-1][0].pos <= SNAP:
            lines[-1].append(s)
        else:
            lines.append([s])
    out: list[Seg] = []
    for line in lines:
        line.sort(key=lambda s: s.lo)
        first = len(out)
        for s in line:
            if len(out) > first and s.lo <= out[-1].hi + SNAP:
                out[-1].hi = max(out[-1].hi, s.hi)
            else:
                out.append(Seg(s.pos, s.lo, s.hi))
    return out


def _clusters(values: list[float]) -> list[float]:
    """Distinct positions: values within SNAP are one; then positions closer than MIN_SIDE are one (double borders)."""
    out: list[float] = []
    for v in sorted(values):
        if out and v - out[-1] <= MIN_SIDE:
            continue
        out.append(v)
    return out


def tables(hs: list[Seg], vs: list[Seg]) -> list[Grid]:
    """The ruled tables: segments that cross or touch, grouped; each with at least two lines each way."""
    parent = list(range(len(hs) + len(vs)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    order = sorted(range(len(vs)), key=lambda j: vs[j].pos)
    vpos = [vs[j].pos for j in order]
    for i, h in enumerate(hs):  # (vertical lines by x: only those within the horizontal one's span are tried)
        lo = bisect_right(vpos, h.lo - SNAP - 0.001)
        for k in range(lo, len(order)):
            v = vs[order[k]]
            if v.pos > h.hi + SNAP:
                break
            if v.lo - SNAP <= h.pos <= v.hi + SNAP:
                a, b = find(i), find(len(hs) + order[k])
                if a != b:
                    parent[a] = b
    groups: dict[int, tuple[list[Seg], list[Seg]]] = {}
    for i, h in enumerate(hs):
        groups.setdefault(find(i), ([], []))[0].append(h)
    for j, v in enumerate(vs):
        groups.setdefault(find(len(hs) + j), ([], []))[1].append(v)
    grids = [_grid(gh, gv) for gh, gv in groups.values() if len(gh) >= 2 and len(gv) >= 2]
    return sorted((g for g in grids if g is not None), key=lambda g: (g.box[1], g.box[0]))


def _covers(segs: list[Seg], lo: float, hi: float) -> bool:
    """Whether one of the segments (all on one line) runs across the middle of [lo, hi]."""
    mid = (lo + hi) / 2
    return any(s.lo - SNAP <= mid <= s.hi + SNAP for s in segs)


def _grid(hs: list[Seg], vs: list[Seg]) -> Grid | None:
    xs, ys = _clusters([v.pos for v in vs]), _clusters([h.pos for h in hs])
    top, bottom = min(v.lo for v in vs), max(v.hi for v in vs)
    if bottom > ys[-1] + MIN_SIDE:  # a table cut by the page end: its last row has no bottom line
        ys.append(bottom)
    if top < ys[0] - MIN_SIDE:  # ... and its continuation's first row no top line
        ys.insert(0, top)
    if len(xs) < 2 or len(ys) < 2:
        return None
    rows, cols = len(ys) - 1, len(xs) - 1
    at_x = [[v for v in vs if abs(v.pos - x) <= MIN_SIDE] for x in xs]
    at_y = [[h for h in hs if abs(h.pos - y) <= MIN_SIDE] for y in ys]
    parent = {(r, c): (r, c) for r in range(rows) for c in range(cols)}

    def find(k: tuple[int, int]) -> tuple[int, int]:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    def join(a: tuple[int, int], b: tuple[int, int]) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)  # (the top-left slot stays the root)

    for r in range(rows):
        for c in range(cols):
            if c + 1 < cols and not _covers(at_x[c + 1], ys[r], ys[r + 1]):
                join((r, c), (r, c + 1))
            if r + 1 < rows and not _covers(at_y[r + 1], xs[c], xs[c + 1]):
                join((r, c), (r + 1, c))
    spans: dict[tuple[int, int], list[int]] = {}
    for (r, c) in parent:
        root = find((r, c))
        s = spans.setdefault(root, [r, c, r, c])
        s[0], s[1], s[2], s[3] = min(s[0], r), min(s[1], c), max(s[2], r), max(s[3], c)
    by_root = {root: GridCell(r0, c0, (xs[c0], ys[r0], xs[c1 + 1], ys[r1 + 1])) for root, (r0, c0, r1, c1) in spans.items()}
    slot_cell = {k: by_root[find(k)] for k in parent}
    cells = sorted(by_root.values(), key=lambda cell: (cell.row, cell.col))
    return Grid((xs[0], ys[0], xs[-1], ys[-1]), xs, ys, cells, slot_cell)
