"""The run's event log for ``disclosure refresh``: Dagster's SQLite event log, but a batch of events in one
transaction (issue #11).

Dagster's SQLite event log opens, commits and closes a connection per event, and the close of a WAL
database's last connection checkpoints it to disk: some 20 ms per event on a quiet disk, far more on a
busy one. A run writes one ``ASSET_MATERIALIZATION_PLANNED`` event per asset (about 50, most of them dbt
models) before its first step, as one batch when ``DAGSTER_EVENT_BATCH_SIZE`` is set; Dagster's storage
still writes such a batch event by event. Here a batch shares one connection and one transaction per
database file (the run's and the cross-run index), so the same rows cost one commit each. The files and
tables are Dagster's own: the UI and the daemon read them with the default storage.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any

from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._core.storage.event_log.sqlite.sqlite_event_log import INDEX_SHARD_NAME

EVENT_BATCH_SIZE = "1000"  # DAGSTER_EVENT_BATCH_SIZE for the command's runs: a run's planned events in one batch
STORAGE_KEYS = ("storage", "run_storage", "event_log_storage", "schedule_storage")


def batched_event_log(home: str, instance_settings: dict) -> dict[str, Any]:
    """Instance overrides putting this storage in place of the default SQLite event log (same files),
    none when ``dagster.yaml`` configures a storage of its own (e.g. Postgres for several hosts)."""
    if any(key in instance_settings for key in STORAGE_KEYS):
        return {}
    return {"event_log_storage": {"module": __name__, "class": BatchedSqliteEventLogStorage.__name__,
                                  "config": {"base_dir": os.path.join(home, "history", "runs", "")}}}


class BatchedSqliteEventLogStorage(SqliteEventLogStorage):
    """``SqliteEventLogStorage`` writing ``store_event_batch`` in one transaction per shard (else as Dagster does)."""

    def __init__(self, base_dir: str, inst_data: Any = None):
        self._batch: dict[str, Any] = {}  # shard -> the open connection of the batch being written
        super().__init__(base_dir, inst_data=inst_data)
        self._db_lock = threading.RLock()  # a batch holds its shards' connections at once, in one thread

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Any]:
        if shard in self._batch:
            yield self._batch[shard]  # in the batch's transaction, committed once at its end
            return
        with super()._connect(shard) as conn:
            yield conn

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        """Every event as ``store_event`` writes it, in one transaction per shard; a failure rolls the batch
        back (Dagster then stores its events one by one)."""
        shards = sorted({event.run_id for event in events} | {INDEX_SHARD_NAME})
        with self._db_lock, ExitStack() as stack:
            try:
                for shard in shards:
                    self._batch[shard] = stack.enter_context(super()._connect(shard))
                for event in events:
                    self.store_event(event)
            finally:
                self._batch.clear()

    @classmethod
    def from_config_value(cls, inst_data: Any, config_value: Any) -> BatchedSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)
