"""Data Docs that work offline: GX's pages load their scripts, stylesheets and logos from CDNs, so
with no network the index is blank. Each built page (and GX's stylesheet) is rewritten to copies
vendored in ``data_docs_assets/`` (the exact versions GX 1.x references, from npm, with their
licences: see its README), copied into the site as ``static/vendor/``.

A GX upgrade that references a new URL is caught by tests/test_data_docs_offline.py (every script
and stylesheet of the site must be local).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

VENDORED = Path(__file__).resolve().parent / "data_docs_assets"
VENDOR_DIR = "static/vendor"
GX_LOGO = "static/images/logo-long.png"  # GX's own copy, already in the site

# the URL GX writes -> the vendored file, under data_docs_assets/ (and static/vendor/ in the site)
CDN_FILES = {
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery@3.7.1/dist/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": "popper.js@1.12.9/dist/umd/popper.min.js",
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": "bootstrap@4.3.1/dist/css/bootstrap.min.css",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": "bootstrap@4.3.1/dist/js/bootstrap.min.js",
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css":
        "bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": "fontawesome-free@6.6.0/css/all.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css":
        "bootstrap-datepicker@1.9.0/dist/css/bootstrap-datepicker.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js":
        "bootstrap-datepicker@1.9.0/dist/js/bootstrap-datepicker.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": "bootstrap-table@1.19.1/dist/bootstrap-table.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": "bootstrap-table@1.19.1/dist/bootstrap-table.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js":
        "bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css":
        "bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css":
        "bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css",
    "https://cdn.jsdelivr.net/npm/vega@5": "vega@5.33.1/build/vega.min.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": "vega-lite@5.23.0/build/vega-lite.min.js",
    "https://cdn.jsdelivr.net/npm/vega-embed@6": "vega-embed@6.29.0/build/vega-embed.min.js",
}
# GX's logos on its web-assets bucket (with a cache-busting ?d=...): its local copy instead
GX_LOGO_URL = re.compile(r"https://great-expectations-web-assets\.s3\.[a-z0-9-]+\.amazonaws\.com/[\w-]+\.png(\?d=[\w.]+)?")
CDN_URL = re.compile("|".join(re.escape(url) for url in sorted(CDN_FILES, key=len, reverse=True)) + r"(?=[\"'])")


def make_offline(site_dir: Path) -> int:
    """Copy the vendored assets into ``site_dir`` and point every page and stylesheet at them;
    returns the number of files rewritten."""
    site_dir = Path(site_dir)
    shutil.copytree(VENDORED, site_dir / VENDOR_DIR, dirs_exist_ok=True, ignore=shutil.ignore_patterns("README.md"))
    rewritten = 0
    for path in [*site_dir.rglob("*.html"), *(site_dir / "static" / "styles").glob("*.css")]:
        text = path.read_text(encoding="utf-8")
        root = Path(os.path.relpath(site_dir, path.parent)).as_posix()
        local = CDN_URL.sub(lambda m: f"{root}/{VENDOR_DIR}/{CDN_FILES[m.group(0)]}", text)
        local = GX_LOGO_URL.sub(f"{root}/{GX_LOGO}", local)
        if local != text:
            path.write_text(local, encoding="utf-8")
            rewritten += 1
    return rewritten
