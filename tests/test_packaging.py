"""The installed wheel works outside the repo: the metric dictionary ships as package data.

Built with the real ``uv build`` (offline: hatchling comes from the dev group) and installed into
a fresh venv in a temporary folder; extraction's template is then read by a Python that cannot see
the repo.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from extract import template

REPO = Path(__file__).resolve().parent.parent
UV = os.environ.get("UV") or shutil.which("uv")


def _run(*args, cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    proc = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{args} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.mark.slow
@pytest.mark.skipif(UV is None, reason="uv is not on PATH (run the tests with `uv run pytest`)")
def test_installed_wheel_reads_the_metric_dictionary_outside_the_repo(tmp_path):
    dist, venv, elsewhere = tmp_path / "dist", tmp_path / "venv", tmp_path / "elsewhere"
    elsewhere.mkdir()
    _run(UV, "build", "--wheel", "--no-build-isolation", "--offline", "--python", sys.executable, "-o", dist, cwd=REPO)
    (wheel,) = dist.glob("*.whl")
    _run(UV, "venv", "--offline", "--python", sys.executable, venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    _run(UV, "pip", "install", "--offline", "--no-deps", "--python", python, wheel, cwd=tmp_path)

    probe = ("import json, extract.template as t; "
             "print(json.dumps({'file': t.__file__, 'dictionary': str(t.dictionary_path()), 'keys': [m.key for m in t.metrics()], "
             "'applicant_columns': t.APPLICANT_COLUMNS, 'versions': t.VERSIONS}))")
    seen = json.loads(_run(python, "-I", "-c", probe, cwd=elsewhere))  # -I: no cwd, PYTHONPATH or user site

    assert not Path(seen["file"]).is_relative_to(REPO), "the installed package, not the source tree"
    packaged = Path(seen["dictionary"])
    assert packaged.parent == Path(seen["file"]).parent and packaged.name == "metric_dictionary.csv"
    assert packaged.read_bytes() == (REPO / "dbt_project" / "seeds" / "metric_dictionary.csv").read_bytes(), \
        "the packaged dictionary is dbt's seed file, byte for byte"
    assert seen["keys"] == [m.key for m in template.metrics()]
    assert seen["applicant_columns"] == list(template.APPLICANT_COLUMNS)
    assert seen["versions"] == list(template.VERSIONS)
