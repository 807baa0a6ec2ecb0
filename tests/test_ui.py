"""A person's view: the Dagster UI on loopback runs the refresh job and shows the graph and the run.

Starts ``dagster-webserver -w workspace.yaml`` with a temporary DAGSTER_HOME, launches the refresh
job through its GraphQL API (default run coordinator: no daemon needed), waits for success, then
looks at the asset graph page and the run page in headless Chromium and saves screenshots (also
to ``warehouse/ui/`` for a person). Then a run where nothing changed (the checks page still shows
the quarantine), and two "Materialize all" runs launched at once (they take turns).
"""

import json
import os
import shutil
import subprocess
import time
import urllib.request
from urllib.parse import quote
from pathlib import Path

import pytest

from tests.test_alerts import free_port

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
pytestmark = pytest.mark.slow

LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}"""
LOCATIONS = """{ workspaceOrError { ... on Workspace { locationEntries { name
  locationOrLoadError { __typename ... on PythonError { message } } } } } }"""
RUN_STATUS = """query Status($id: ID!) { runOrError(runId: $id) { __typename ... on Run { status } } }"""
STEP_STATS = """query Steps($id: ID!) { runOrError(runId: $id) { ... on Run { stepStats { stepKey startTime endTime } } } }"""
ASSET_KEYS = """{ assetNodes { assetKey { path } } }"""
CHECKS = """{ assetNodes(assetKeys: [{path: ["quality_gate"]}]) { assetChecksOrError { ... on AssetChecks {
  checks { name executionForLatestMaterialization { runId status } } } } } }"""


def graphql(base: str, query: str, variables: dict | None = None) -> dict:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(f"{base}/graphql", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        payload = json.load(response)
    assert "errors" not in payload, payload
    return payload["data"]


def wait_for(predicate, what: str, attempts: int, pause: float = 1.0):
    """Poll until ``predicate`` returns a truthy value (a bounded number of attempts, not a timing assertion)."""
    last = None
    for _ in range(attempts):
        try:
            last = predicate()
            if last:
                return last
        except OSError as exc:  # the server is still starting
            last = exc
        time.sleep(pause)
    pytest.fail(f"gave up waiting for {what}: {last}")


@pytest.fixture(scope="module")
def webserver(tmp_path_factory):
    base_dir = tmp_path_factory.mktemp("ui")
    home = base_dir / "dagster_home"
    home.mkdir()
    # Runs launch straight from the webserver (the default coordinator queues them for a daemon).
    (home / "dagster.yaml").write_text(
        "run_coordinator:\n  module: dagster.core.run_coordinator\n  class: DefaultRunCoordinator\n"
        "telemetry:\n  enabled: false\n"
    )
    port = free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home), "DISCLOSURE_WAREHOUSE": str(base_dir / "wh" / "disclosure.duckdb")}
    for var in ("DISCLOSURE_WORK_DB", "DISCLOSURE_SOURCES", "DISCLOSURE_DATA_DOCS"):
        env.pop(var, None)
    log = (base_dir / "webserver.log").open("w")
    proc = subprocess.Popen(
        [str(REPO / ".venv/bin/dagster-webserver"), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        def loaded():
            entries = graphql(base, LOCATIONS)["workspaceOrError"]["locationEntries"]
            states = [e["locationOrLoadError"] for e in entries]
            if any(s and s["__typename"] == "PythonError" for s in states):
                pytest.fail(f"code location failed to load: {states}")
            return entries if entries and all(s and s["__typename"] == "RepositoryLocation" for s in states) else None

        entries = wait_for(loaded, "the code location to load", attempts=300)
        yield {"base": base, "location": entries[0]["name"], "dir": base_dir}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def launch(webserver, job: str = "refresh", run_config: dict | None = None, **selector) -> str:
    """Launch a run of ``job`` through the webserver's GraphQL API (as the UI does); its run id."""
    params = {
        "selector": {
            "repositoryLocationName": webserver["location"],
            "repositoryName": "__repository__",
            "jobName": job,
            **selector,
        },
        "runConfigData": run_config or {},
    }
    launched = graphql(webserver["base"], LAUNCH, {"params": params})["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    return launched["run"]["runId"]


def finish(webserver, run_id: str, attempts: int = 400) -> None:
    def finished():
        status = graphql(webserver["base"], RUN_STATUS, {"id": run_id})["runOrError"]["status"]
        return status if status in ("SUCCESS", "FAILURE", "CANCELED") else None

    status = wait_for(finished, f"run {run_id} to finish", attempts=attempts)
    assert status == "SUCCESS", f"run {run_id} ended {status}; see {webserver['dir']}/webserver.log"


@pytest.fixture(scope="module")
def successful_run(webserver):
    run_id = launch(webserver)
    finish(webserver, run_id)
    return run_id


def dismiss_newsletter(page) -> None:
    """The UI greets a new instance with a 'Join the Dagster community' dialog; skip it."""
    skip = page.get_by_role("button", name="Skip")
    try:
        skip.first.wait_for(timeout=5_000)
    except Exception:  # noqa: BLE001 - no dialog this time
        return
    skip.first.click()


def test_ui_shows_asset_graph_and_successful_run(webserver, successful_run, tmp_path):
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} missing: run `make browser` (Debian's chromium)")
    shots = REPO / "warehouse" / "ui"
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 2400, "height": 1200})
        # The global lineage opens with groups folded: unfold ours (dbt's models stay folded in "warehouse").
        expanded = ",".join(f"global@global:{group}" for group in ("publish", "quality", "ingest"))
        page.goto(f"{webserver['base']}/asset-groups?expanded={quote(expanded)}", wait_until="networkidle")
        dismiss_newsletter(page)
        for name in ("source_documents", "raw_landing", "warehouse", "quality_gate", "published_warehouse"):
            page.get_by_text(name, exact=True).first.wait_for(timeout=60_000)
        page.screenshot(path=str(tmp_path / "asset_graph.png"))

        page.goto(f"{webserver['base']}/runs/{successful_run}", wait_until="networkidle")
        dismiss_newsletter(page)
        page.get_by_text("Success", exact=False).first.wait_for(timeout=60_000)
        page.get_by_text("published_warehouse").first.wait_for(timeout=60_000)
        page.screenshot(path=str(tmp_path / "run.png"))
        browser.close()
    for name in ("asset_graph.png", "run.png"):
        assert (tmp_path / name).stat().st_size > 10_000, f"{name} looks empty"
        shutil.copyfile(tmp_path / name, shots / name)


def latest_checks(webserver) -> dict[str, dict]:
    """The UI's latest execution of each quality_gate check (check name -> runId, status)."""
    [node] = graphql(webserver["base"], CHECKS)["assetNodes"]
    return {c["name"]: c["executionForLatestMaterialization"] for c in node["assetChecksOrError"]["checks"]}


def test_a_run_where_nothing_changed_keeps_the_quarantine_on_screen(webserver, successful_run, tmp_path):
    """A second refresh finds nothing changed (dbt, the gate and its check steps are skipped): the checks
    still show the quarantine, from that run, not "Skipped"."""
    from playwright.sync_api import sync_playwright

    assert latest_checks(webserver)["hard_rules_hold"] == {"runId": successful_run, "status": "FAILED"}
    unchanged = launch(webserver)
    finish(webserver, unchanged)
    checks = latest_checks(webserver)
    assert checks["hard_rules_hold"] == {"runId": unchanged, "status": "FAILED"}, checks
    assert all(c["status"] != "SKIPPED" for c in checks.values()), checks

    shots = REPO / "warehouse" / "ui"
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.goto(f"{webserver['base']}/assets/quality_gate?view=checks", wait_until="networkidle")
        dismiss_newsletter(page)
        page.get_by_text("hard_rules_hold").first.wait_for(timeout=60_000)
        page.get_by_text("Failed", exact=False).first.wait_for(timeout=60_000)
        assert page.get_by_text("Skipped", exact=True).count() == 0, "a check shows Skipped after the no-change run"
        page.screenshot(path=str(tmp_path / "checks_after_unchanged_run.png"))
        browser.close()
    assert (tmp_path / "checks_after_unchanged_run.png").stat().st_size > 10_000
    shutil.copyfile(tmp_path / "checks_after_unchanged_run.png", shots / "checks_after_unchanged_run.png")


@pytest.mark.timeout(1800)
def test_two_ui_materializations_at_once_take_turns(webserver, successful_run):
    """"Materialize all" twice at once (the implicit asset job, no writer tag, full refresh both): the
    runs never overlap (one holds the warehouse from its first step to its last) and both succeed."""
    keys = [n["assetKey"] for n in graphql(webserver["base"], ASSET_KEYS)["assetNodes"]]
    full = {"ops": {"source_documents": {"config": {"full": True}}}}
    runs = [launch(webserver, "__ASSET_JOB", full, assetSelection=keys) for _ in range(2)]
    for run_id in runs:
        finish(webserver, run_id, attempts=1500)
    spans = []
    for run_id in runs:
        stats = graphql(webserver["base"], STEP_STATS, {"id": run_id})["runOrError"]["stepStats"]
        assert any(s["stepKey"] == "published_warehouse" for s in stats), f"run {run_id} published: {stats}"
        spans.append((min(s["startTime"] for s in stats), max(s["endTime"] for s in stats)))
    (first_start, first_end), (second_start, second_end) = sorted(spans)
    assert first_end <= second_start, f"the runs' steps overlapped: {sorted(spans)}"
