"""``disclosure-dbt``: dbt's own command, in a process that dies with the process that started it, whose
project parse holds for every warehouse, and which can write the docs page after its build.

Dies with its parent: dagster-dbt starts ``dbt build`` as a child process. If the refresh is SIGKILLed (OOM
killer, a power cut of its container, ``kill -9``), nothing stops that child: it would go on building the work
DB and hold DuckDB's lock on it while the next refresh starts. Here (Linux) the child asks the kernel to
SIGKILL it when its parent dies (``prctl(PR_SET_PDEATHSIG)``), then runs dbt in this same process. The
parent names itself in ``PARENT_PID_ENV``: a parent that died before that request took effect is
seen here, and dbt does not start. ``WarehouseDbtCli`` (orchestration/resources.py) runs dbt this way.
(To the kernel the parent is the thread that started dbt: dagster-dbt starts it in the step's own thread,
which waits for it.)

One parse for every warehouse (issue #11): dbt re-parses the whole project (2.7 s of a 10k build) when the
``--vars`` or the profile's connection differ from those its saved parse (``partial_parse.msgpack``) was made
with. Ours differ only by the warehouse's files (``WAREHOUSE_VARS``, profiles.yml's ``path`` and its DuckDB
``settings``), which no model reads while parsing (they are rendered again when a node is compiled); so they
are left out of that comparison, and the project's own parse (``dbt_project/target``, which dagster-dbt copies
into a new warehouse's target folder) serves a warehouse's first build too. The database name (from the
work DB's file name) still counts.

Docs in the same process: with ``DOCS_AFTER_BUILD_ENV`` set, a successful ``build`` is followed here by
``dbt docs generate --static --no-compile`` (the catalog of what it built), instead of another dbt process
that imports dbt and loads the parse again (orchestration/dbt_metadata.py decides when).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

# the pid of the process that starts dbt (set by WarehouseDbtCli); lower case: a handshake between two of our
# processes, not a setting (settings are the upper-case DISCLOSURE_* names of orchestration/settings.py)
PARENT_PID_ENV = "disclosure_dbt_parent_pid"
# set (to anything) by the post_gate dbt asset when the docs page is due: generate it after a successful build
DOCS_AFTER_BUILD_ENV = "disclosure_dbt_docs_after_build"
# the --vars naming one warehouse's files (orchestration/assets.py: dbt_vars), and the profile's connection
# fields made of them (dbt_project/profiles.yml): not part of what makes a parse
WAREHOUSE_VARS = ("work_db", "duckdb_memory", "agency_overrides")
WAREHOUSE_CONNECTION_FIELDS = ("path", "settings")
DOCS_ARGS = ["docs", "generate", "--static", "--no-compile"]
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


class _WithoutWarehouse:
    """A profile's credentials as dbt's parse state sees them: without the warehouse's own fields."""

    def __init__(self, credentials):
        self._credentials = credentials

    def connection_info(self, *args, **kwargs):
        return ((k, v) for k, v in self._credentials.connection_info(*args, **kwargs)
                if k not in WAREHOUSE_CONNECTION_FIELDS)

    def __getattr__(self, name):
        return getattr(self._credentials, name)


def parse_state_without_warehouse() -> None:
    """Leave the warehouse's vars and connection fields out of dbt's parse state check (see the module)."""
    from dbt.parser.manifest import ManifestLoader

    check = ManifestLoader.build_manifest_state_check
    if getattr(check, "without_warehouse", False):
        return

    def build_manifest_state_check(self):
        config = self.root_project
        cli_vars, credentials = config.cli_vars, config.credentials
        config.cli_vars = {k: v for k, v in cli_vars.items() if k not in WAREHOUSE_VARS}
        config.credentials = _WithoutWarehouse(credentials)
        try:
            return check(self)
        finally:
            config.cli_vars, config.credentials = cli_vars, credentials

    build_manifest_state_check.without_warehouse = True
    ManifestLoader.build_manifest_state_check = build_manifest_state_check


def exit_code(result) -> int:
    """dbt's own: 0 success, 1 a node failed (a model error, a failing test), 2 dbt itself failed."""
    return 0 if result.success else (2 if result.exception is not None else 1)


def run(args: list[str]) -> int:
    """dbt ``args`` in this process; after a successful ``build``, its docs page when asked to."""
    from dbt.cli.main import dbtRunner

    parse_state_without_warehouse()
    code = exit_code(dbtRunner().invoke(args))  # dbt logs its own errors
    if code == 0 and args[:1] == ["build"] and os.environ.get(DOCS_AFTER_BUILD_ENV):
        docs = dbtRunner().invoke([*DOCS_ARGS, *vars_args(args)])
        if not docs.success:  # the build stands: the publish generates the page itself (dbt_metadata.generate_docs)
            print(f"disclosure-dbt: docs not generated: {docs.exception or 'dbt docs generate failed'}", file=sys.stderr)
    return code


def vars_args(args: list[str]) -> list[str]:
    """The ``--vars`` of ``args`` (the same warehouse for the docs as for the build)."""
    at = args.index("--vars") if "--vars" in args else -1
    return args[at:at + 2] if at >= 0 else []


def main() -> None:
    die_with_parent()
    sys.exit(run(sys.argv[1:]))


if __name__ == "__main__":
    main()
