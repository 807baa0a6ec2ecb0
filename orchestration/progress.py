"""Progress of a long stage (fetching, parsing): a live bar with rate and ETA on a terminal, and a
summary line in the run's log every few seconds, so Dagster's event log holds a handful of
progress events per stage instead of one per document (10,000 log events are themselves a cost).

Without a terminal (a pipe, cron, the UI's runs) the summaries are the progress: plain periodic lines.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

SUMMARY_SECONDS = 10.0  # one summary line in the run's log at most this often (and one at the end)
DRAW_SECONDS = 0.2  # the terminal bar is redrawn at most this often
BAR_WIDTH = 24


def terminal() -> TextIO | None:
    """The terminal to draw a bar on: the process's own stderr when it is one, else None."""
    stream = sys.__stderr__
    try:
        return stream if stream is not None and stream.isatty() else None
    except ValueError:  # closed
        return None


class Progress:
    """``advance()`` once per item done; ``close()`` at the end (a final summary line)."""

    def __init__(self, what: str, total: int, log: Callable[[str], None], bar: TextIO | None = None,
                 summary_seconds: float = SUMMARY_SECONDS, clock: Callable[[], float] = time.monotonic):
        self.what, self.total, self.log, self.bar = what, total, log, bar
        self.summary_seconds, self.clock = summary_seconds, clock
        self.done = self.failed = 0
        self.started = self.last_summary = self.last_draw = clock()

    def advance(self, n: int = 1, failed: int = 0) -> None:
        self.done += n
        self.failed += failed
        self.total = max(self.total, self.done)  # a listing's documents are known only once it is read
        now = self.clock()
        if self.bar is not None and (now - self.last_draw >= DRAW_SECONDS or self.done >= self.total):
            self.last_draw = now
            self.bar.write(f"\r\x1b[K{self.line(now, bar=True)}")
            self.bar.flush()
        if now - self.last_summary >= self.summary_seconds and self.done < self.total:
            self.last_summary = now
            self._say(self.line(now))

    def close(self) -> str:
        """Log the closing line and return it (a chunk step puts its stages' closing lines on one line)."""
        now = self.clock()
        text = self.line(now) + f" in {now - self.started:.1f}s"
        self._say(text)
        return text

    def _say(self, message: str) -> None:
        if self.bar is not None:
            self.bar.write("\r\x1b[K")  # the log line takes the bar's place; the next draw puts it back below
            self.bar.flush()
        self.log(message)

    def line(self, now: float, bar: bool = False) -> str:
        """``parse 4,500/10,000 45% [#####.....] 180/s ETA 0:30, 12 failed``"""
        elapsed = max(now - self.started, 1e-9)
        rate = self.done / elapsed
        share = self.done / self.total if self.total else 1.0
        text = f"{self.what} {self.done:,}/{self.total:,} {share:.0%}"
        if bar:
            filled = round(share * BAR_WIDTH)
            text += f" [{'#' * filled}{'.' * (BAR_WIDTH - filled)}]"
        text += f" {rate:,.0f}/s"
        if self.done < self.total and self.done:
            text += f" ETA {_clock((self.total - self.done) / rate)}"
        if self.failed:
            text += f", {self.failed:,} failed"
        return text


def _clock(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds + 0.5), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{seconds:02d}" if minutes >= 60 else f"{minutes}:{seconds:02d}"
