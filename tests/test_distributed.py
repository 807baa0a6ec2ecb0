"""The same `disclosure refresh` on Dagster's multiprocess executor and on Celery workers (dagster-celery
with a real redis-server broker on loopback): the fetch-and-parse steps fan out, one writer lands, and the
marts equal those of the default in-process run, row for row.

Each run is `disclosure refresh` itself, choosing its executor by settings only (DISCLOSURE_EXECUTOR…).
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from orchestration.assets import CONTRACT_RELATIONS

REPO = Path(__file__).resolve().parent.parent
BUNDLED = REPO / "orchestration" / "sample_corpus"
CHUNK_STEP = "source_documents.fetch_and_parse"
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]


def refresh(env: dict, warehouse: Path) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "orchestration.cli", "refresh", "--warehouse", str(warehouse)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return proc


def base_env(base: Path, home: Path) -> dict:
    env = {**os.environ, "DAGSTER_HOME": str(home), "DISCLOSURE_SOURCES": str(base / "sample" / "sources.yml"),
           "DISCLOSURE_LOCK_TIMEOUT": "600", "DISCLOSURE_SOURCES_PER_STEP": "9"}  # 17 documents: two chunk steps
    for var in ("DISCLOSURE_WAREHOUSE", "DISCLOSURE_WORK_DB", "DISCLOSURE_DATA_DOCS", "DISCLOSURE_EXECUTOR",
                "DISCLOSURE_CELERY_BROKER", "DISCLOSURE_CELERY_BACKEND", "DISCLOSURE_MAX_CONCURRENT"):
        env.pop(var, None)
    return env


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """One copy of the bundled corpus that every run reads (same source paths, so the same report ids)."""
    base = tmp_path_factory.mktemp("distributed")
    shutil.copytree(BUNDLED, base / "sample")
    return base


@pytest.fixture(scope="module")
def in_process(corpus) -> Path:
    warehouse = corpus / "in_process" / "disclosure.duckdb"
    refresh(base_env(corpus, corpus / "home_in_process"), warehouse)
    return warehouse


def contract_rows(warehouse: Path) -> dict[str, list[tuple]]:
    """Every contract relation's rows, sorted, without the columns that say when (landed, fetched, built)."""
    rows = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for relation in CONTRACT_RELATIONS:
            schema, table = relation.split(".")
            columns = [c for c, t in con.execute(
                "select column_name, data_type from information_schema.columns where table_schema = ? and table_name = ? "
                "order by ordinal_position", [schema, table]).fetchall() if "TIMESTAMP" not in t and not c.endswith("_at")]
            listed = ", ".join(f'"{c}"' for c in columns)
            rows[relation] = con.execute(f"select {listed} from {relation} order by all").fetchall()
    return rows


def chunk_step_pids(home: Path) -> dict[str, int]:
    """step key -> pid of the process that started it, for the run's fetch-and-parse steps."""
    from dagster import DagsterEventType, DagsterInstance

    with DagsterInstance.from_config(str(home)) as instance:
        (run,) = instance.get_runs()
        return {e.step_key: e.dagster_event.pid for e in instance.all_logs(run.run_id, of_type=DagsterEventType.STEP_START)
                if e.step_key.startswith(CHUNK_STEP)}


def test_multiprocess_executor_gives_the_same_marts(corpus, in_process):
    home = corpus / "home_multiprocess"
    warehouse = corpus / "multiprocess" / "disclosure.duckdb"
    proc = refresh({**base_env(corpus, home), "DISCLOSURE_EXECUTOR": "multiprocess"}, warehouse)
    assert not no_dagster_log_lines(proc.stdout + proc.stderr)  # the progress lines an in-process run prints, only
    assert "▶ raw_landing" in proc.stdout and "summary of run" in proc.stdout
    pids = chunk_step_pids(home)
    assert len(pids) == 2, pids  # the sources were split into two steps...
    assert len(set(pids.values())) == 2, pids  # ...each in a process of its own
    assert contract_rows(warehouse) == contract_rows(in_process)
    # nothing changed: the pages the plan (a process of its own) knew unchanged reach the writer (another) in its file
    again = refresh({**base_env(corpus, home), "DISCLOSURE_EXECUTOR": "multiprocess"}, warehouse)
    assert again.returncode == 0 and "nothing changed since the last publish" in again.stdout, again.stdout + again.stderr
    assert "of them local files unchanged and parsed" in again.stdout and " 0 of them local files" not in again.stdout
    assert "retired 0" in again.stdout and contract_rows(warehouse) == contract_rows(in_process)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def redis_broker(tmp_path):
    """redis-server on a loopback port (its files in a temp dir), stopped afterwards; yields its URL."""
    redis_server = shutil.which("redis-server")
    if redis_server is None:
        pytest.fail("redis-server is not installed: `make test` installs Debian's redis-server (make redis)")
    port = free_port()
    redis = subprocess.Popen([redis_server, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp_path),
                              "--save", "", "--appendonly", "no", "--protected-mode", "yes"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        redis.terminate()  # redis-server exits at once on SIGTERM (no persistence configured)
        redis.wait(timeout=30)


def celery_env(corpus: Path, home: Path, broker: str) -> dict:
    """``base_env`` on the Celery executor with ``broker``, and ``home`` holding the instance settings."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(REPO / "orchestration" / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    return {**base_env(corpus, home), "DISCLOSURE_EXECUTOR": "celery", "DISCLOSURE_CELERY_BROKER": broker}


@pytest.fixture
def celery_worker(tmp_path, corpus, redis_broker):
    """One dagster-celery worker on ``redis_broker``, stopped afterwards. Yields (broker URL, the worker
    command's pid, its environment)."""
    broker = redis_broker
    env = celery_env(corpus, corpus / "home_celery", broker)
    config = tmp_path / "celery.yaml"
    config.write_text(f"execution:\n  config:\n    broker: {broker}\n    backend: {broker}\n")
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app", "-y", str(config),
         "--name", "disclosure-test", "--", "--concurrency", "2"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_worker(broker, env, timeout=120)
        yield broker, worker.pid, env
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait(timeout=10)
        log.close()


def wait_for_worker(broker: str, env: dict, timeout: float) -> None:
    """Until a worker answers a ping through the broker (celery's own inspect), or fail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ping = subprocess.run([str(Path(sys.executable).parent / "celery"), "-b", broker, "inspect", "ping", "--timeout", "2"],
                              env=env, capture_output=True, text=True, timeout=60)
        if ping.returncode == 0 and "pong" in ping.stdout:
            return
        time.sleep(1)
    pytest.fail(f"no Celery worker answered on {broker} within {timeout:.0f}s")


def ancestors(pid: int) -> list[int]:
    """The pids above ``pid`` (from /proc), nearest first."""
    chain = []
    while pid > 1:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            break
        pid = int(stat.rsplit(")", 1)[1].split()[1])
        chain.append(pid)
    return chain


def test_celery_workers_give_the_same_marts(corpus, in_process, celery_worker):
    broker, worker_pid, env = celery_worker
    home = corpus / "home_celery"
    warehouse = corpus / "celery" / "disclosure.duckdb"
    proc = refresh(env, warehouse)
    assert not no_dagster_log_lines(proc.stdout + proc.stderr)  # the steps' own lines print on the worker's terminal
    assert "summary of run" in proc.stdout and "already registered" not in proc.stderr, proc.stderr[-3000:]
    pids = chunk_step_pids(home)
    assert len(pids) == 2, pids
    for step, pid in pids.items():  # each chunk step ran in a process of the worker this test started
        assert worker_pid in ancestors(pid), (step, pid, worker_pid, proc.stdout[-3000:])
    assert contract_rows(warehouse) == contract_rows(in_process)


def no_dagster_log_lines(output: str) -> list[str]:
    """Lines of Dagster's own console logger (``… - dagster - DEBUG - …``): an in-process run prints none."""
    return [line for line in output.splitlines() if " - dagster - " in line]


def refresh_cmd(warehouse: Path) -> list[str]:
    return [sys.executable, "-m", "orchestration.cli", "refresh", "--warehouse", str(warehouse)]


def test_a_celery_run_with_no_worker_fails_naming_the_step_and_its_queue(corpus, redis_broker, tmp_path):
    env = {**celery_env(corpus, tmp_path / "home", redis_broker), "DISCLOSURE_CELERY_PICKUP_TIMEOUT": "5"}
    proc = subprocess.run(refresh_cmd(tmp_path / "wh" / "disclosure.duckdb"), cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    port = redis_broker.rsplit(":", 1)[1].split("/")[0]
    said = (f"no Celery worker took step source_documents.plan_chunks within 5 s: is a worker running on queue "
            f"'dagster' of the broker redis://127.0.0.1:{port}/…?")
    assert said in proc.stderr.splitlines()[-1], proc.stderr[-3000:]  # the reason, as the last line says it
    assert said in proc.stdout  # and in the summary
    assert not no_dagster_log_lines(proc.stdout + proc.stderr)


def run_of(home: Path):
    """The one run in ``home``'s instance and its event log entries, or (None, [])."""
    from dagster import DagsterInstance

    with DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs()
        return (runs[0], instance.all_logs(runs[0].run_id)) if runs else (None, [])


def test_a_celery_run_waiting_for_a_worker_stops_cleanly_on_sigterm(corpus, redis_broker, tmp_path):
    home = tmp_path / "home"
    env = celery_env(corpus, home, redis_broker)  # the default deadline: minutes
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    with out.open("w") as stdout, err.open("w") as stderr:
        proc = subprocess.Popen(refresh_cmd(tmp_path / "wh" / "disclosure.duckdb"), cwd=REPO, env=env, stdout=stdout,
                                stderr=stderr)
    try:
        for _ in range(600):  # until its first step is queued for a worker that never comes (bounded)
            run, entries = run_of(home)
            if any("Submitting celery task" in e.message for e in entries) or proc.poll() is not None:
                break
            time.sleep(0.5)
        assert proc.poll() is None, out.read_text()[-3000:] + err.read_text()[-3000:]
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    said = err.read_text()
    assert code == 143, out.read_text()[-3000:] + said[-3000:]
    assert "interrupted by SIGTERM: stopped" in said and "not stopped after" not in said, said  # not the last resort
    run, entries = run_of(home)
    assert run.status.value in ("FAILURE", "CANCELED"), run.status
    assert any("revoked" in e.message for e in entries)


def test_the_writer_lands_what_its_load_needs_from_the_chunk_files_once_and_parses_the_rest(tmp_path):
    """The chunk steps only do the work; the writer decides from the whole load: an outcome two steps
    made lands once, one the load no longer needs does not land, and content no step parsed is left to it."""
    import pickle

    from orchestration.ingest import FetchBatch, prepared_outcomes
    from orchestration.parsing import ParseOutcome

    files = []
    for name, keys in (("a", [("s1", "h1"), ("s2", "h2")]), ("b", [("s2", "h2"), ("s3", "h3")])):
        path = tmp_path / f"{name}.pickle"
        with path.open("wb") as out:
            for source, content in keys:
                pickle.dump(ParseOutcome(source, content, error="stand-in"), out)
        files.append((str(path), keys))
    batch = FetchBatch(results=[], full=False, store_root=str(tmp_path / "raw"), chunk_files=files)
    todo = [{"source_uri": s, "content_hash": h} for s, h in (("s1", "h1"), ("s2", "h2"), ("s4", "h4"))]
    outcomes, rest = prepared_outcomes(batch, todo)
    assert [(o.source, o.content_hash) for o in outcomes] == [("s1", "h1"), ("s2", "h2")]
    assert rest == [{"source_uri": "s4", "content_hash": "h4"}]


def test_the_executor_settings_become_the_runs_execution_config():
    from orchestration.settings import SettingsError, resources_from_env

    assert resources_from_env({})["execution"].run_config() == {}  # the job's own default: in one process
    multi = resources_from_env({"DISCLOSURE_EXECUTOR": "multiprocess", "DISCLOSURE_MAX_CONCURRENT": "3"})["execution"]
    assert multi.run_config() == {"execution": {"config": {"multiprocess": {"max_concurrent": 3}}}}
    broker = "redis://127.0.0.1:6379/0"
    celery = resources_from_env({"DISCLOSURE_EXECUTOR": "celery", "DISCLOSURE_CELERY_BROKER": broker})["execution"]
    assert celery.run_config() == {"execution": {"config": {"celery": {"broker": broker, "backend": broker, "pickup_timeout": 600.0}}}}
    with pytest.raises(SettingsError, match="DISCLOSURE_CELERY_BROKER"):
        resources_from_env({"DISCLOSURE_EXECUTOR": "celery"})
    with pytest.raises(SettingsError, match="DISCLOSURE_EXECUTOR"):
        resources_from_env({"DISCLOSURE_EXECUTOR": "dask"})
