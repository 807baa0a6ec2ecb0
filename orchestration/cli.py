"""The disclosure command: parse (extraction only), refresh (the whole pipeline) and export (the marts for people).

Each subcommand imports its machinery lazily, so ``disclosure parse`` never pays for Dagster,
dbt or Great Expectations start-up.
"""

from __future__ import annotations

import argparse
import sys


def package_version() -> str:
    """The installed distribution's version and the parser's (each landed record carries the latter)."""
    from importlib.metadata import PackageNotFoundError, version

    from extract import PARSER_VERSION

    try:
        installed = version("disclosure-warehouse")
    except PackageNotFoundError:
        installed = "unknown"
    return f"disclosure {installed} (parser {PARSER_VERSION})"


class _VersionAction(argparse.Action):
    """``--version``: looked up only when asked, so every other command starts without importlib.metadata
    and the parser (issue #11: the start-up of every command)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, help="show the installed version and the parser's and exit"):
        super().__init__(option_strings, dest=dest, default=argparse.SUPPRESS, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        print(package_version())  # on stdout, as argparse's own version action
        parser.exit()


def _parser(*args, **kwargs) -> argparse.ArgumentParser:
    """An argparse parser that refuses abbreviations: ``--ful`` is an error, never ``--full``."""
    return argparse.ArgumentParser(*args, allow_abbrev=False, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = _parser(prog="disclosure", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_parser)

    parse = sub.add_parser("parse", help="parse report documents into canonical cells (JSON lines)")
    parse.add_argument("paths", nargs="+", help="files or folders of documents (HTML, text)")
    parse.add_argument("--jsonl", action="store_true", help="one JSON object per document per line (the contract)")

    refresh = sub.add_parser("refresh", help="fetch, parse, land, build, gate and publish the warehouse via Dagster")
    refresh.add_argument("--sources", default=None, help="a sources manifest (YAML) or a folder of documents; default: the bundled sample corpus")
    refresh.add_argument("--warehouse", default=None, help="where to publish the DuckDB warehouse; default: warehouse/disclosure.duckdb")
    refresh.add_argument("--full", action="store_true", help="re-fetch and re-parse every source, not only new or changed ones")

    export = sub.add_parser("export", help="write agency_year and fct_metric as Excel and CSV (Chinese headers); Parquet on request")
    export.add_argument("--warehouse", default=None, help="the published DuckDB file; default: DISCLOSURE_WAREHOUSE, else warehouse/disclosure.duckdb")
    export.add_argument("--out", default=None, help="folder for disclosure.xlsx and the CSVs; default: export/ beside the warehouse")
    export.add_argument("--format", dest="formats", action="append", choices=("xlsx", "csv", "parquet"),
                        help="xlsx, csv or parquet, repeatable; default: xlsx and csv. parquet: every marts and quality "
                             "relation, partitioned by year, to DISCLOSURE_PARQUET_DIR (else parquet/ in --out), written "
                             "now even when nothing changed (the filters do not apply to it)")
    export.add_argument("--region", action="append", default=[], help="only rows of this province, city or county (repeatable)")
    export.add_argument("--year", action="append", default=[], type=int, help="only rows of this year (repeatable)")
    return parser


def run_export(args: argparse.Namespace) -> int:
    """``disclosure export``: the published file's tables for people; 2 when it cannot be done as asked."""
    from pathlib import Path

    from orchestration.settings import SettingsError, resources_from_env
    from orchestration.warehouse.export import ExportError, ExportFilter, export_parquet, export_tables

    try:
        paths = resources_from_env()["warehouse"].paths(args.warehouse)
    except SettingsError as exc:
        print(f"disclosure export: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out).expanduser().resolve() if args.out else paths.published.parent / "export"
    formats = args.formats or ["xlsx", "csv"]
    try:
        written = export_tables(paths.published, out, [f for f in formats if f != "parquet"],
                                ExportFilter(tuple(args.region), tuple(args.year)))
        if "parquet" in formats:
            written += export_parquet(paths.published, paths.parquet_dir or out / "parquet")
    except ExportError as exc:
        print(f"disclosure export: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "parse":
        from extract.cli import run_parse

        return run_parse(args.paths, jsonl=args.jsonl)
    if args.command == "export":
        return run_export(args)
    from orchestration.interrupts import StopOnSignals, exit_code
    from orchestration.refresh import run_refresh

    with StopOnSignals() as stop:
        try:
            code = run_refresh(sources=args.sources, warehouse=args.warehouse, full=args.full)
        except KeyboardInterrupt:
            code = None
        name = stop.signal_name()
    if name is None:
        return 1 if code is None else code
    print(f"disclosure refresh: interrupted by {name}: stopped; the published warehouse is intact (it is only "
          "ever replaced whole) and the warehouse lock is released; the next refresh carries on", file=sys.stderr)
    return exit_code(stop.signum)


if __name__ == "__main__":
    sys.exit(main())
