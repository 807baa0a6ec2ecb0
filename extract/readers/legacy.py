"""Legacy .doc, .wps, .xls and RTF: converted by LibreOffice headless to DOCX / XLSX, then read as those.

Each conversion runs ``soffice`` in a fresh temporary folder with its own profile (``-env:UserInstallation``:
concurrent conversions never share one, and no user profile is touched), a deadline
(``extract.limits.CONVERT_TIMEOUT``, the whole process group killed past it, and as much CPU time at most)
and a cap on the files it may write (RLIMIT_FSIZE); the parse worker's address-space ceiling applies to it too. No converter installed is ``converter_missing``; a conversion that fails, times out
or writes nothing is ``converter_failed``: an error each, the batch goes on. ``make setup`` installs
Debian's ``libreoffice-writer-nogui`` and ``libreoffice-calc-nogui``.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from extract.limits import CONVERT_TIMEOUT, MAX_BYTES
from extract.model import ERROR, Issue
from extract.readers import ReadResult

# sniffed format -> (the input's extension, LibreOffice's target, the reader of the result)
_TARGETS = {"doc": ("doc", "docx", "docx"), "wps": ("wps", "docx", "docx"), "rtf": ("rtf", "docx", "docx"),
            "xls": ("xls", "xlsx", "xlsx")}


def converter() -> str | None:
    """The LibreOffice binary on PATH, or None."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def read(data: bytes, fmt: str | None = None) -> ReadResult:
    """Convert and read; ``fmt`` (doc, wps, rtf, xls) is sniffed again when not given."""
    if fmt is None:
        from extract.loading import sniff_binary

        fmt = (sniff_binary(data) or ("doc", ""))[0]
    suffix, target, reader = _TARGETS.get(fmt, _TARGETS["doc"])
    res = ReadResult()
    binary = converter()
    if binary is None:
        res.issues.append(Issue("converter_missing", ERROR, f"a .{suffix} document needs LibreOffice (soffice) to be read, "
                                                            "and none is installed (make setup installs it): not read"))
        return res
    converted, problem = convert(binary, data, suffix, target)
    if converted is None:
        res.issues.append(Issue("converter_failed", ERROR, f"LibreOffice could not convert the .{suffix} document: {problem}"))
        return res
    from extract.readers import reader_for

    return reader_for(reader)(converted)  # type: ignore[misc]


def _limit_child() -> None:
    """In the child before exec, inherited by every process LibreOffice starts: files written at most MAX_BYTES,
    CPU time at most the deadline (so a converter orphaned by a killed parse worker still ends)."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_BYTES, MAX_BYTES))
    resource.setrlimit(resource.RLIMIT_CPU, (CONVERT_TIMEOUT, CONVERT_TIMEOUT + 5))


def convert(binary: str, data: bytes, suffix: str, target: str, timeout: float = CONVERT_TIMEOUT) -> tuple[bytes | None, str]:
    """(the converted bytes, "") or (None, why not)."""
    with tempfile.TemporaryDirectory(prefix="disclosure-convert-") as tmp:
        folder = Path(tmp)
        source = folder / f"input.{suffix}"
        source.write_bytes(data)
        out = folder / "out"
        cmd = [binary, "--headless", "--norestore", "--nologo", "--nolockcheck", f"-env:UserInstallation={(folder / 'profile').as_uri()}",
               "--convert-to", target, "--outdir", str(out), str(source)]
        env = {**os.environ, "HOME": tmp, "SAL_USE_VCLPLUGIN": "svp"}
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True, preexec_fn=_limit_child)
        try:
            log, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            return None, f"no result within {timeout:g} s (extract.limits.CONVERT_TIMEOUT)"
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        result = out / f"input.{target}"
        if proc.returncode != 0 or not result.is_file():
            said = " ".join(log.decode("utf-8", "replace").split())[-300:]
            return None, f"exit status {proc.returncode}, no .{target} written ({said or 'no output'})"
        if result.stat().st_size > MAX_BYTES:
            return None, f"the converted file is larger than {MAX_BYTES} bytes"
        return result.read_bytes(), ""
