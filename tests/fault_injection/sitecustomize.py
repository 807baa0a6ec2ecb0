"""Test-only start-up hook: with env ``FAULT_AT=<stage>``, ``disclosure refresh`` kills itself with SIGKILL
at that stage, exactly as a crash, an OOM kill or a power cut would stop it there.

tests/test_fault_injection.py puts this folder on PYTHONPATH of the refresh subprocess; Python imports
``sitecustomize`` at start-up. Nothing in the production code knows about it. A stage's function is
wrapped when its module is first imported (imports stay lazy, as in a normal run).
"""

import importlib.abc
import importlib.util
import os
import signal
import sys
import time

STAGE = os.environ.get("FAULT_AT", "")


def _die(where: str) -> None:
    print(f"FAULT_AT={STAGE}: SIGKILL {where}", file=sys.__stderr__, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


def _after(fn, where: str, wait: float = 0.0, detail=lambda out: ""):
    """``fn`` runs, then the process dies (``wait``: after letting what it started run a little; ``detail``:
    what to say about ``fn``'s result)."""
    def wrapper(*args, **kwargs):
        out = fn(*args, **kwargs)
        time.sleep(wait)
        _die(f"after {where}{detail(out)}")
        return out
    return wrapper


def _before(fn, where: str):
    def wrapper(*args, **kwargs):
        _die(f"before {where}")
        return fn(*args, **kwargs)
    return wrapper


def _on_replace(when: str):
    """os.replace of the published file (``<published>`` from a ``.<name>.<pid>.tmp``), killed before or after it."""
    real = os.replace

    def replace(src, dst, *args, **kwargs):
        swap = str(src).endswith(".tmp") and os.path.basename(str(src)).startswith(f".{os.path.basename(str(dst))}.")
        if swap and when == "before":
            _die(f"before swapping in {dst}")
        out = real(src, dst, *args, **kwargs)
        if swap and when == "after":
            _die(f"after swapping in {dst}")
        return out
    os.replace = replace


def _patch_class_method(cls, name: str, wrap) -> None:
    setattr(cls, name, classmethod(wrap(getattr(cls, name).__func__)))


# stage -> (module, how its function is wrapped); each kills in the middle of its stage's work
PATCHES = {
    "fetch": ("orchestration.fetching.store",  # a new document stored, nothing landed yet
              lambda m: setattr(m.RawStore, "put", _after(m.RawStore.put, "storing a fetched document"))),
    "parse": ("orchestration.parsing",  # a document parsed, nothing landed yet (parse_all's in-process path)
              lambda m: setattr(m, "_parse_one", _after(m._parse_one, "parsing a document"))),
    "land": ("orchestration.warehouse.landing",  # reports written inside the landing transaction, not committed
             lambda m: setattr(m, "_land_fetches", _after(m._land_fetches, "landing reports and fetches (uncommitted)"))),
    "dbt": ("dagster_dbt.core.dbt_cli_invocation",  # the dbt build running (its process must die with ours)
            lambda m: _patch_class_method(m.DbtCliInvocation, "run", lambda fn: _after(
                fn, "starting dbt", wait=3.0, detail=lambda invocation: f" (dbt pid {invocation.process.pid})"))),
    "gate": ("expectations.gate",  # rule results written, Data Docs built aside, not swapped in
             lambda m: setattr(m, "_swap_in", _before(m._swap_in, "swapping in the Data Docs"))),
}


class _PatchOnImport(importlib.abc.MetaPathFinder):
    def __init__(self, module: str, patch):
        self.module, self.patch = module, patch

    def find_spec(self, fullname, path=None, target=None):
        if fullname != self.module:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        exec_module = spec.loader.exec_module

        def exec_and_patch(module):
            exec_module(module)
            self.patch(module)
        spec.loader.exec_module = exec_and_patch
        return spec


if STAGE in PATCHES:
    sys.meta_path.insert(0, _PatchOnImport(*PATCHES[STAGE]))
elif STAGE in ("publish_before_swap", "publish_after_swap"):
    _on_replace(STAGE.rsplit("_", 2)[1])
elif STAGE:
    raise SystemExit(f"FAULT_AT={STAGE!r}: unknown stage (one of {', '.join([*PATCHES, 'publish_before_swap', 'publish_after_swap'])})")
