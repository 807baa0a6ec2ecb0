"""The sources manifest: what it accepts, and malformed ones refused up front with file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestration.fetching import FetchConfig, ManifestError, default_manifest_path, load_manifest, manifest_for


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.yml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "2020.html").write_text("<p>年度报告</p>", encoding="utf-8")
    (folder / "sub" / "2019.txt").write_text("年度报告", encoding="utf-8")
    (folder / "truth.json").write_text("{}", encoding="utf-8")  # not a document
    (folder / ".hidden.html").write_text("x", encoding="utf-8")
    return folder


def test_every_kind_of_source_and_settings(tmp_path, docs):
    path = write(
        tmp_path,
        "settings:\n"
        "  contact: ops@example.org\n"
        "  min_interval_seconds: 2.5\n"
        "  per_host_concurrency: 1\n"
        "sources:\n"
        "  - url: https://www.example.gov.cn/zfxxgk/ndbg/2020.html\n"
        "    agency: 厦门市思明区人民政府办公室\n"
        "  - listing: http://www.example.gov.cn/zfxxgk/ndbg/\n"
        "    max_pages: 3\n"
        "    link_text: 年度报告\n"
        "  - path: docs/\n",
    )
    manifest = load_manifest(path)
    kinds = [(s.kind, s.location, s.agency_hint, s.line) for s in manifest.sources]
    assert kinds == [
        ("url", "https://www.example.gov.cn/zfxxgk/ndbg/2020.html", "厦门市思明区人民政府办公室", 6),
        ("listing", "http://www.example.gov.cn/zfxxgk/ndbg/", None, 8),
        ("file", str(docs / "2020.html"), None, 11),
        ("file", str(docs / "sub" / "2019.txt"), None, 11),
    ]
    assert manifest.sources[1].max_pages == 3 and manifest.sources[1].link_text == "年度报告"
    assert manifest.settings == {"contact": "ops@example.org", "min_interval_seconds": 2.5, "per_host_concurrency": 1}
    config = FetchConfig.resolve(manifest.settings)
    assert config.min_interval_seconds == 2.5 and config.user_agent_header.endswith("(+ops@example.org)")


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("sources:\n  - url: [unclosed\n", 3, "invalid YAML"),
        ("sources:\n  - url: http://a.gov.cn/\n  bad: indent\n", 3, "invalid YAML"),
        ("source:\n  - url: http://a.gov.cn/\n", 1, "unknown key 'source'"),
        ("sources:\n  - url: http://a.gov.cn/\n    agnecy: x\n", 3, "unknown key 'agnecy' in a url source"),
        ("sources:\n  - agency: 某局\n", 2, "exactly one of 'url', 'listing', 'path'"),
        ("sources:\n  - url: http://a.gov.cn/\n    path: docs/\n", 2, "exactly one of"),
        ("sources:\n  - url:\n", 2, "'url' must be non-empty text"),
        ("sources:\n  - url: ftp://a.gov.cn/report.html\n", 2, "only http and https"),
        ("sources:\n  - url: a.gov.cn/report.html\n", 2, "only http and https"),
        ("sources:\n  - url: http:///report.html\n", 2, "URL has no host"),
        ("sources:\n  - path: nowhere/\n", 2, "does not exist"),
        ("sources:\n  - listing: http://a.gov.cn/\n    max_pages: 0\n", 3, "positive integer"),
        ("sources:\n  - listing: http://a.gov.cn/\n    link_text: '年度(报告'\n", 3, "not a valid regular expression"),
        ("sources:\n  - url: http://a.gov.cn/\n  - url: http://b.gov.cn/\n    url: http://c.gov.cn/\n", 4, "duplicate key 'url'"),
        ("settings:\n  timeout_seconds: soon\nsources:\n  - url: http://a.gov.cn/\n", 2, "'soon' is not a number"),
        ("settings:\n  retries: -1\nsources:\n  - url: http://a.gov.cn/\n", 2, "-1 is negative"),
        ("settings:\n  speed: max\nsources:\n  - url: http://a.gov.cn/\n", 2, "unknown setting 'speed'"),
        ("sources: []\n", 1, "non-empty list"),
        ("sources:\n  - http://a.gov.cn/\n", 2, "a source must be a mapping"),
        ("- url: http://a.gov.cn/\n", 1, "the manifest must be a mapping"),
    ],
)
def test_malformed_manifest_is_refused_with_file_and_line(tmp_path, text, line, reason):
    path = write(tmp_path, text)
    with pytest.raises(ManifestError) as refused:
        load_manifest(path)
    message = str(refused.value)
    assert message.startswith(f"{path}:{line}: ") and reason in message


def test_empty_manifest_and_empty_folder_are_refused(tmp_path):
    with pytest.raises(ManifestError, match="empty manifest"):
        load_manifest(write(tmp_path, "# nothing yet\n"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ManifestError, match="holds no documents"):
        load_manifest(write(tmp_path, "sources:\n  - path: empty/\n"))
    with pytest.raises(ManifestError, match="no such manifest"):
        manifest_for(tmp_path / "missing")


def test_a_folder_or_a_single_document_is_an_implicit_manifest(docs):
    folder = manifest_for(docs)
    assert [Path(s.location).name for s in folder.sources] == ["2020.html", "2019.txt"]
    assert folder.path is None and all(s.kind == "file" for s in folder.sources)
    single = manifest_for(docs / "sub" / "2019.txt")
    assert [s.location for s in single.sources] == [str(docs / "sub" / "2019.txt")]


def test_the_bundled_sample_corpus_manifest_loads(seeds_dir):
    manifest = manifest_for(default_manifest_path())
    names = {Path(s.location).name for s in manifest.sources}
    assert {p.name for p in seeds_dir.glob("*.txt")} <= names  # the seeds, plus whatever else is bundled


def test_env_overrides_manifest_settings_which_override_defaults():
    from orchestration.settings import SettingsError, resources_from_env

    env = {"DISCLOSURE_FETCH_RETRIES": "1", "DISCLOSURE_FETCH_RESPECT_ROBOTS": "no"}
    config = FetchConfig.resolve({"retries": 5, "timeout_seconds": 3.0}, resources_from_env(env)["fetch"].overrides())
    assert (config.retries, config.timeout_seconds, config.respect_robots, config.max_redirects) == (1, 3.0, False, FetchConfig().max_redirects)
    with pytest.raises(SettingsError, match="DISCLOSURE_FETCH_MAX_BYTES='lots' is not an integer"):
        resources_from_env({"DISCLOSURE_FETCH_MAX_BYTES": "lots"})


def test_env_allowed_roots_reach_the_manifest_reader(tmp_path, docs):
    """A local source outside the manifest's folder is refused unless DISCLOSURE_FETCH_ALLOWED_ROOTS names its folder:
    the operator's override reaches the manifest reader (through the sources resource), not only the fetcher."""
    from orchestration.settings import resources_from_env

    manifest_file = tmp_path / "m" / "sources.yml"
    manifest_file.parent.mkdir()
    manifest_file.write_text(f"sources:\n  - path: {docs / '2020.html'}\n", encoding="utf-8")
    refused = resources_from_env({"DISCLOSURE_SOURCES": str(manifest_file)})
    with pytest.raises(ManifestError):
        refused["sources"].manifest(refused["fetch"])
    allowed = resources_from_env({"DISCLOSURE_SOURCES": str(manifest_file), "DISCLOSURE_FETCH_ALLOWED_ROOTS": str(docs)})
    assert [s.location for s in allowed["sources"].manifest(allowed["fetch"]).sources] == [str(docs / "2020.html")]
