"""Getting report documents: the sources manifest, polite HTTP fetching, the content-addressed raw store.

Plain Python (no Dagster); the orchestration layer wraps these as resources and assets.
"""

from .client import FetchError
from .config import FetchConfig
from .fetcher import FetchResult, fetch_sources
from .manifest import Manifest, ManifestError, SourceSpec, default_manifest_path, load_manifest, manifest_for
from .store import RawStore, StoredFetch

__all__ = [
    "FetchConfig",
    "FetchError",
    "FetchResult",
    "Manifest",
    "ManifestError",
    "RawStore",
    "SourceSpec",
    "StoredFetch",
    "default_manifest_path",
    "fetch_sources",
    "load_manifest",
    "manifest_for",
]
