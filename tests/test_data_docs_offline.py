"""GX Data Docs work with no network: every script and stylesheet is local (vendored), the index
shows the validation results in headless Chromium with the network off, and a failing report is
named by agency and year beside its report_id. Screenshots are saved under ``warehouse/ui/``.
"""

import re
import shutil
from pathlib import Path

import pytest

from tests.test_ui import CHROMIUM, CHROMIUM_ARGS
from tests.warehouse_support import build_warehouse, parse_seeds, query, warehouse_paths

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow
# a resource the page loads (not a link a person may follow): script src, stylesheet / icon href, CSS url()
LOADED = re.compile(r"""<script[^>]+src=["']([^"']+)|<link[^>]+href=["']([^"']+)|<img[^>]+src=["']([^"']+)|url\(["']?([^"')]+)""")


@pytest.fixture(scope="module")
def site(tmp_path_factory, seeds_dir):
    paths = warehouse_paths(tmp_path_factory.mktemp("docs_wh"))
    result = build_warehouse(parse_seeds(seeds_dir), paths, publish_=False)
    assert result.gate_counts["quarantined"] >= 1, "seed 001 does not add up"
    return paths


def test_every_page_loads_only_local_files(site):
    remote = {}
    for path in [*site.data_docs_dir.rglob("*.html"), *site.data_docs_dir.rglob("*.css")]:
        for match in LOADED.finditer(path.read_text(encoding="utf-8", errors="replace")):
            url = next(g for g in match.groups() if g)
            if re.match(r"(?i)(https?:)?//", url):
                remote.setdefault(url, path.relative_to(site.data_docs_dir))
    assert not remote, f"Data Docs load from the network: {remote}"


def _offline_page(pw):
    """A Chromium page with the network off; ``requests`` collects anything not read from a file."""
    browser = pw.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, "--host-resolver-rules=MAP * ~NOTFOUND"])
    context = browser.new_context(offline=True, viewport={"width": 1400, "height": 1000})
    requests: list[str] = []

    def only_files(route):
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            requests.append(route.request.url)
            route.abort()

    context.route("**/*", only_files)
    return browser, context.new_page(), requests


def test_index_and_a_failing_validation_render_offline(site, tmp_path):
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} missing: run `make browser` (Debian's chromium)")
    agency, year, report_id = query(site.work_db, """
        select d.agency_name, d.year, d.report_id from marts.dim_report d
        where d.gate_status = 'quarantined' order by d.report_id limit 1""").iloc[0]
    failing = query(site.work_db, "select expectation from quality.rule_results where report_id = ? and not passed limit 1",
                    [report_id]).iloc[0, 0]
    [page_file] = (site.data_docs_dir / "validations" / failing).rglob("*.html")
    shots = REPO / "warehouse" / "ui"
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser, page, requests = _offline_page(pw)
        page.goto((site.data_docs_dir / "index.html").as_uri(), wait_until="load")
        # the results table is drawn by bootstrap-table (jQuery): blank when those scripts cannot load
        page.locator("tbody tr a").first.wait_for(state="visible", timeout=30_000)  # a row linking to a suite
        page.get_by_text("Showing 1 to", exact=False).first.wait_for(state="visible", timeout=30_000)
        assert page.locator("tbody tr:visible").count() >= 5, "the validation results are listed"
        page.screenshot(path=str(tmp_path / "data_docs_offline_index.png"))

        page.goto(page_file.as_uri(), wait_until="load")
        page.get_by_text(report_id).first.wait_for(state="visible", timeout=30_000)
        body = page.inner_text("body")
        # each expectation names its first failing reports: id, agency, year, then both sides
        assert f"{report_id} {agency} {year} (lhs " in body, f"{agency} {year} shown beside {report_id}"
        page.locator(f"text={report_id}").first.scroll_into_view_if_needed()
        page.screenshot(path=str(tmp_path / "data_docs_offline_validation.png"))
        browser.close()
    assert not requests, f"the pages tried the network: {requests}"
    for name in ("data_docs_offline_index.png", "data_docs_offline_validation.png"):
        assert (tmp_path / name).stat().st_size > 10_000, f"{name} looks empty"
        shutil.copyfile(tmp_path / name, shots / name)
