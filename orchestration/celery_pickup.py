"""A deadline for Celery steps that no worker takes, and a stop that does not wait for them.

dagster-celery's loop (``core_celery_execution_loop``) asks each submitted step's Celery ``AsyncResult``
once a second whether it is ``ready()``. A queued task that no worker takes (none running, or none on
its queue) never is, so the run waited forever; and a stop signal revokes the task, which reaches no
worker either, so the stopped run waited too. ``PickupDeadlineExecutor`` gives that loop results that
also answer for the queued step itself: failed with ``NoCeleryWorker`` (naming the step, the queue and
the broker) once the run has had steps queued and none on a worker for ``pickup_timeout_s`` (the clock
restarts whenever one of its steps runs or ends, so steps queued behind busy workers are not timed
out), and revoked at once when the run is stopped before a worker took it. Whether a worker took a step
is read from the run's own event log (the worker's engine event, or the step's start), so it holds
whatever the workers' Celery settings.
"""

from __future__ import annotations

import time
import warnings

from celery.exceptions import DuplicateTaskNameWarning, TaskRevokedError
from dagster import DagsterEventType
from dagster_celery.core_execution_loop import DELEGATE_MARKER, core_celery_execution_loop
from dagster_celery.executor import CeleryExecutor, _submit_task

from orchestration.redaction import endpoint

READ_EVERY_S = 1.0  # the event log is read at most this often (the loop's own tick is a second)


class NoCeleryWorker(RuntimeError):
    """No worker took a queued step within the pickup deadline."""


class PickupDeadlineExecutor(CeleryExecutor):
    """dagster-celery's executor, failing a step no worker takes within ``pickup_timeout_s``."""

    def __init__(self, pickup_timeout_s: float, **celery):
        super().__init__(**celery)
        self.pickup_timeout_s = pickup_timeout_s
        # dagster-celery registers its one task anew for every step it submits; Celery warns each time (a
        # screenful of "Task name 'execute_plan' is already registered" on the launcher's terminal).
        warnings.filterwarnings("ignore", message="Task name 'execute_plan' is already registered", category=DuplicateTaskNameWarning)

    def execute(self, plan_context, execution_plan):
        pickups = Pickups(plan_context.instance, plan_context.dagster_run.run_id, self.pickup_timeout_s, self.broker)

        def submit(app, context, step, queue, priority, known_state):
            return QueuedStep(pickups, step.key, queue, _submit_task(app, context, step, queue, priority, known_state))

        return core_celery_execution_loop(plan_context, execution_plan, step_execution_fn=submit)


class Pickups:
    """Which of the run's steps a worker took (from its event log), and since when none of them has run."""

    def __init__(self, instance, run_id: str, timeout_s: float, broker: str):
        self.instance, self.run_id, self.timeout_s, self.broker = instance, run_id, timeout_s, broker
        self.busy_at = time.monotonic()  # the last moment a step of the run was on a worker (or ended)
        self._taken: set[str] = set()
        self._cursor: str | None = None
        self._read_at = float("-inf")

    def taken(self, step_key: str) -> bool:
        if step_key not in self._taken and time.monotonic() - self._read_at >= READ_EVERY_S:
            self._read()
        return step_key in self._taken

    def _read(self) -> None:
        """New STEP_START events, and the engine event a worker reports when it takes a step."""
        self._read_at = time.monotonic()
        page = self.instance.get_records_for_run(self.run_id, cursor=self._cursor,
                                                 of_type={DagsterEventType.STEP_START, DagsterEventType.ENGINE_EVENT})
        for record in page.records:
            event = record.event_log_entry.dagster_event
            if event is None or not event.step_key:
                continue
            if event.event_type == DagsterEventType.STEP_START or event.engine_event_data.marker_end == DELEGATE_MARKER:
                self._taken.add(event.step_key)
        self._cursor = page.cursor or self._cursor

    def message(self, step_key: str, queue: str) -> str:
        return (f"no Celery worker took step {step_key} within {self.timeout_s:g} s: is a worker running on queue "
                f"'{queue}' of the broker {endpoint(self.broker)}? (DISCLOSURE_CELERY_PICKUP_TIMEOUT)")


class QueuedStep:
    """A step's Celery result, as dagster-celery's loop polls it, that is also ready when no worker has it:
    past the deadline (``get`` raises ``NoCeleryWorker``) or revoked by a stop (``get`` raises ``TaskRevokedError``)."""

    def __init__(self, pickups: Pickups, step_key: str, queue: str, result):
        self.pickups, self.step_key, self.queue, self.result = pickups, step_key, queue, result
        self.submitted_at = time.monotonic()
        self.revoked = False
        self.expired = False

    def ready(self) -> bool:
        if self.result.ready():
            self.pickups.busy_at = time.monotonic()
            return True
        if self.pickups.taken(self.step_key):  # on a worker: Celery's own result says when it ends
            self.pickups.busy_at = time.monotonic()
            return False
        if self.revoked:
            return True  # stopped before any worker took it: nobody will answer for it
        if time.monotonic() - max(self.submitted_at, self.pickups.busy_at) >= self.pickups.timeout_s:
            self.expired = True
            self.result.revoke()  # a worker that turns up later leaves it
            return True
        return False

    def get(self, *args, **kwargs):
        if self.expired:
            raise NoCeleryWorker(self.pickups.message(self.step_key, self.queue))
        if self.revoked and not self.result.ready():
            raise TaskRevokedError(f"step {self.step_key} was revoked before a worker took it")
        return self.result.get(*args, **kwargs)

    def revoke(self, *args, **kwargs):
        self.revoked = True
        return self.result.revoke(*args, **kwargs)
