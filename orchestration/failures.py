"""Why a step or run failed, in one line a person can act on.

Dagster wraps a failing op's exception ("Error occurred while executing op …") and keeps the real error
as the ``cause`` (or ``context``) of its ``SerializableErrorInfo``. The CLI summary, the alerts and the
exit message all show the errors under those wrappers (type and message: the file, line or setting at
fault is in the message), redacted.
"""

from __future__ import annotations

from orchestration.redaction import redact

TRACEBACK = "Traceback (most recent call last):"
MAX_CHARS = 1500  # of one failure line; a DuckDB or dbt message can run to pages


def error_chain(error) -> list:
    """``error`` then what caused it (explicit cause, else the exception being handled), outermost first."""
    chain = []
    while error is not None and len(chain) < 20:
        chain.append(error)
        error = error.cause or error.context
    return chain


def _is_wrapper(error) -> bool:
    """Dagster's own exception around user code: it says where, its cause says what."""
    return (error.cls_name or "").startswith("Dagster") and (error.cause or error.context) is not None


def _one_line(error) -> str:
    message = " ".join(error.message.split(TRACEBACK)[0].split())  # dbt quotes its own tracebacks
    head, sep, rest = message.partition(": ")
    if error.cls_name and sep and head.rsplit(".", 1)[-1] == error.cls_name:
        message = rest  # "duckdb.duckdb.IOException: …" -> shown as "IOException: …"
    return f"{error.cls_name}: {message}" if error.cls_name else message


def describe_error(error) -> str:
    """E.g. "ValueError: /x/corrections.csv:2: corrected_value 'abc' is not a number", with the deeper causes
    after "<- caused by"; Dagster's wrappers left out unless nothing else is there."""
    if error is None:
        return "failed (no error recorded)"
    chain = error_chain(error)
    shown = [e for e in chain if not _is_wrapper(e)] or chain
    lines: list[str] = []
    for e in shown:
        line = _one_line(e)
        if line not in lines:
            lines.append(line)
    text = redact(" <- caused by ".join(lines))
    return text if len(text) <= MAX_CHARS else text[: MAX_CHARS - 1] + "…"
