"""``disclosure refresh`` counts the manifest before its run; the run's plan takes that reading instead of
listing a folder of 100,000 documents a second time (~3 s at 100k), once, and only in the same process."""

from pathlib import Path

from orchestration.fetching.manifest import drop_handed_over, manifest_for
from orchestration.resources import SourcesResource

PAGE = (Path(__file__).resolve().parent.parent / "orchestration" / "sample_corpus" / "documents" / "g01_2021_html_template.html").read_bytes()


def test_a_manifest_read_for_the_count_is_the_plans_and_read_once(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.html").write_bytes(PAGE)
    try:
        counted = manifest_for(folder, {}, hand_over=True)
        (folder / "b.html").write_bytes(PAGE)  # (shows whether the folder is listed again)
        planned = SourcesResource(sources=str(folder)).manifest()
        assert planned is counted and len(planned.sources) == 1  # taken, not listed again
        assert len(SourcesResource(sources=str(folder)).manifest().sources) == 2  # once only: later readings list it
        manifest_for(folder, {}, hand_over=True)
        drop_handed_over()
        assert len(manifest_for(folder, {}).sources) == 2  # a run that never planned leaves nothing behind
    finally:
        drop_handed_over()
