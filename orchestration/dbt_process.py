"""``disclosure-dbt``: dbt's own command, in a process that dies with the process that started it.

dagster-dbt starts ``dbt build`` as a child process. If the refresh is SIGKILLed (OOM killer, a power
cut of its container, ``kill -9``), nothing stops that child: it would go on building the work DB and
hold DuckDB's lock on it while the next refresh starts. Here (Linux) the child asks the kernel to
SIGKILL it when its parent dies (``prctl(PR_SET_PDEATHSIG)``), then runs dbt in this same process. The
parent names itself in ``PARENT_PID_ENV``: a parent that died before that request took effect is
seen here, and dbt does not start. ``WarehouseDbtCli`` (orchestration/resources.py) runs dbt this way.
(To the kernel the parent is the thread that started dbt: dagster-dbt starts it in the step's own thread,
which waits for it.)
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

# the pid of the process that starts dbt (set by WarehouseDbtCli); lower case: a handshake between two of our
# processes, not a setting (settings are the upper-case DISCLOSURE_* names of orchestration/settings.py)
PARENT_PID_ENV = "disclosure_dbt_parent_pid"
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent() -> None:
    """SIGKILL this process when its parent dies (Linux; elsewhere nothing); exit now if it already has."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    parent = os.environ.get(PARENT_PID_ENV)
    if parent and os.getppid() != int(parent):
        raise SystemExit(f"disclosure-dbt: the process that started dbt (pid {parent}) is gone; dbt not started")


def main() -> None:
    die_with_parent()
    from dbt.cli.main import cli

    sys.exit(cli())


if __name__ == "__main__":
    main()
