"""The ``disclosure`` command line itself: abbreviations refused, ``--version``, a missing path is an error,
help without rST markup, and the Makefile's PATH line for the uv it installed."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from orchestration.cli import main

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "orchestration" / "sample_corpus" / "documents" / "g01_2021_html_template.html"


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """The installed ``disclosure`` entry point, as a user runs it."""
    return subprocess.run([str(Path(sys.executable).parent / "disclosure"), *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("argv", [["refresh", "--ful"], ["refresh", "--warehous", "x.duckdb"],
                                  ["parse", str(SAMPLE), "--json"], ["export", "--form", "csv"]])
def test_abbreviated_options_are_refused(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    assert "unrecognized arguments" in capsys.readouterr().err


def test_version():
    done = run_cli("--version")
    assert done.returncode == 0
    assert re.fullmatch(r"disclosure \d+\.\d+\.\d+ \(parser \d+\.\d+\.\d+\)\n", done.stdout)


def test_parse_of_a_missing_path_is_an_error_naming_it():
    done = run_cli("parse", "/nonexistent.html")
    assert done.returncode == 2
    assert done.stdout == ""
    assert "/nonexistent.html: no such file or folder" in done.stderr


def test_parse_goes_on_past_a_missing_path_and_still_fails():
    done = run_cli("parse", "--jsonl", "/nonexistent.html", str(SAMPLE))
    assert done.returncode == 2
    assert len(done.stdout.splitlines()) == 1 and '"annual_report"' in done.stdout  # the real document was parsed
    assert "/nonexistent.html: no such file or folder" in done.stderr


def test_top_level_help_has_no_rst_markup():
    done = run_cli("--help")
    assert done.returncode == 0
    assert "``" not in done.stdout and "export" in done.stdout


def test_make_prints_the_path_line_for_the_uv_it_installed(tmp_path):
    """A fresh machine: uv installed by ``pip install --user`` (as ``make uv`` does) is not on PATH; make says
    the exact line, and after it ``uv`` runs (so the README's ``uv run ...`` commands work as written)."""
    base_python = Path(sys._base_executable).resolve()  # the interpreter the venv was made from, with user site
    bare_path = f"{base_python.parent}:/usr/bin:/bin"
    user_bin = subprocess.run([str(base_python), "-c", "import site; print(site.USER_BASE)"],
                              capture_output=True, text=True, check=True).stdout.strip() + "/bin"
    if not (Path(user_bin) / "uv").is_file() or shutil.which("uv", path=bare_path):
        pytest.skip(f"this machine's uv is not a user install in {user_bin} (make installs it there)")
    (tmp_path / "python3").symlink_to(base_python)  # `python3` as make calls it
    env = {"HOME": os.environ["HOME"], "PATH": f"{tmp_path}:{bare_path}"}
    done = subprocess.run(["make", "-s", "uv"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    line = re.search(r'export PATH="[^"]+"', done.stdout)
    assert line and user_bin in line.group(0), done.stdout
    after = subprocess.run(["bash", "-c", f"{line.group(0)}; uv --version"], env=env, capture_output=True, text=True, timeout=60)
    assert after.returncode == 0 and after.stdout.startswith("uv "), after.stderr


@pytest.mark.parametrize("module, argv", [
    ("accuracy", ["--inconsistent", "0.1"]), ("golden", ["compare", "x.jsonl", "--se", "1"]),
    ("parse_speed", ["--rep", "1"]), ("fetch_throughput", ["--round", "1"]), ("warehouse_load", ["--uniq", "5"])])
def test_the_readmes_bench_commands_refuse_abbreviations_too(module, argv, capsys):
    import importlib

    with pytest.raises(SystemExit) as stop:
        importlib.import_module(f"tests.bench.{module}").main(argv)
    assert stop.value.code == 2
    assert "unrecognized arguments" in capsys.readouterr().err
