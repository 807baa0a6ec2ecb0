"""SIGTERM and SIGINT stop ``disclosure refresh`` within seconds.

While a run executes, Dagster installs its own handlers: either signal interrupts the running step.
A step can still sit waiting for work that never notices (the fetcher's threads blocked on a stalled
server), which made the first SIGTERM look ignored. So a watcher thread, woken by every signal via
``signal.set_wakeup_fd`` (whoever's handler is installed), interrupts the main thread again every few
seconds and, as a last resort, ends the process. Either way the warehouse lock (a flock) is released
with the process and the published file, replaced atomically, stays whole.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def exit_code(signum: int) -> int:
    """The shell's convention for a process stopped by a signal: 128 + its number (SIGTERM 143, SIGINT 130)."""
    return 128 + signum


class StopOnSignals:
    """Within ``with``: SIGTERM/SIGINT raise KeyboardInterrupt (or Dagster's interrupt during a run);
    the first one received is kept in ``signum``; the process is gone at most ``give_up_after`` seconds later."""

    def __init__(self, nudge_every: float = 3.0, give_up_after: float = 30.0):
        self.nudge_every = nudge_every
        self.give_up_after = give_up_after
        self.signum: int | None = None
        self.received = threading.Event()
        self.stopped = threading.Event()  # set on leaving the block: no more nudging the main thread
        self._first = threading.RLock()  # the handler may run again inside itself

    def __enter__(self) -> StopOnSignals:
        self._handlers = {sig: signal.signal(sig, self._interrupt) for sig in STOP_SIGNALS}
        self._read_fd, write_fd = os.pipe()
        os.set_blocking(write_fd, False)
        self._write_fd = write_fd
        self._previous_wakeup_fd = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
        threading.Thread(target=self._watch, name="stop-on-signals", daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        signal.set_wakeup_fd(self._previous_wakeup_fd)
        for sig, handler in self._handlers.items():
            signal.signal(sig, handler)
        os.close(self._write_fd)  # ends the watcher's read

    def signal_name(self) -> str | None:
        """The name of the stop signal received, if any."""
        return signal.Signals(self.signum).name if self.received.is_set() else None

    def _interrupt(self, signum: int, _frame) -> None:
        self._note(signum)
        raise KeyboardInterrupt

    def _note(self, signum: int) -> None:
        """Keep the first stop signal (seen by the handler or the watcher, whichever is first) and start its deadline."""
        with self._first:
            if signum not in STOP_SIGNALS or self.received.is_set():
                return
            self.signum = signum
            self.received.set()
        threading.Thread(target=self._enforce, name="stop-deadline", daemon=True).start()

    def _watch(self) -> None:
        with os.fdopen(self._read_fd, "rb", buffering=0) as wakeups:
            while data := wakeups.read(64):
                for signum in data:
                    self._note(signum)

    def _enforce(self) -> None:
        name = signal.Signals(self.signum).name
        say = lambda message: print(f"disclosure refresh: {message}", file=sys.__stderr__, flush=True)  # noqa: E731
        say(f"{name} received: stopping (at most {self.give_up_after:.0f}s)")
        deadline = time.monotonic() + self.give_up_after
        while not self.stopped.wait(self.nudge_every) and time.monotonic() < deadline:
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)  # wakes a blocked wait, too
        time.sleep(max(0.0, deadline - time.monotonic()))  # a clean exit ends the process before this
        say(f"interrupted by {name}: not stopped after {self.give_up_after:.0f}s (threads still waiting): exiting now")
        os._exit(exit_code(self.signum))
