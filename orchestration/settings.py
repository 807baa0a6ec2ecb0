"""Every DISCLOSURE_* setting, as fields of the resources (orchestration/resources.py), built from the environment here.

The one place the environment is read: each resource field names its variable (``setting(..., env=...)``);
``resources_from_env`` builds the resources from the set ones and lets pydantic validate them, so a bad value
is refused naming the variable and its value (``NAME='value' is not …``): at start-up by ``disclosure
refresh`` (exit 2, no run started), and when the code location loads. Secrets are passed as ``EnvVar`` to
the definitions, so the UI shows the variable's name, never the value. The schedule's cron is not a
resource's (a schedule is fixed when the definitions load); it is read and checked here too.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from dagster import ConfigurableResource, EnvVar
from pydantic import ValidationError

from orchestration.redaction import redact
from orchestration.resources import AlertsResource, ExecutionResource, FetchResource, ParseResource, SourcesResource, WarehouseResource

RESOURCES: dict[str, type[ConfigurableResource]] = {
    "sources": SourcesResource,
    "warehouse": WarehouseResource,
    "fetch": FetchResource,
    "parse": ParseResource,
    "alerts": AlertsResource,
    "execution": ExecutionResource,
}
CRON_SETTING = "DISCLOSURE_REFRESH_CRON"
DEFAULT_CRON = "0 3 * * 1"  # Mondays 03:00: reports are published through the year; weekly is fresh enough


class SettingsError(ValueError):
    """Settings refused; ``problems`` names each variable and its value."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def env_fields(resource: type[ConfigurableResource]) -> dict[str, tuple[str, bool]]:
    """field -> (environment variable, whether it is a secret)."""
    found = {}
    for name, info in resource.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        if "env" in extra:
            found[name] = (str(extra["env"]), bool(extra.get("secret")))
    return found


def setting_names() -> set[str]:
    return {env for resource in RESOURCES.values() for env, _ in env_fields(resource).values()} | {CRON_SETTING}


def resources_from_env(env: Mapping[str, str] | None = None, secrets_as_env_vars: bool = False) -> dict[str, ConfigurableResource]:
    """The resources with the set (non-empty) variables as their fields; raises SettingsError naming each bad one.

    ``secrets_as_env_vars``: a secret field gets ``EnvVar(name)`` (checked here with its value first), for the
    definitions, so the UI masks it and the run resolves it when it launches."""
    env = os.environ if env is None else env
    built, problems = {}, []
    for key, resource in RESOURCES.items():
        fields = env_fields(resource)
        values = {field: env[name].strip() for field, (name, _) in fields.items() if env.get(name, "").strip()}
        try:
            built[key] = resource(**values)
        except ValidationError as exc:
            problems += [_problem(error, fields, values) for error in exc.errors()]
            continue
        if secrets_as_env_vars:
            secret = {field: EnvVar(name) for field, (name, is_secret) in fields.items() if is_secret and field in values}
            built[key] = resource(**{**values, **secret}) if secret else built[key]
    if problems:
        raise SettingsError(problems)
    return built


def _problem(error: Mapping, fields: Mapping[str, tuple[str, bool]], values: Mapping[str, str]) -> str:
    """``NAME='value' is not …`` for a field's error (a secret's value is not shown); a cross-field one as it is."""
    message = error["msg"].removeprefix("Value error, ")
    if not error["loc"] or error["loc"][0] not in fields:
        return redact(message)
    name, secret = fields[error["loc"][0]]
    phrase = {
        "int_parsing": "is not an integer", "int_from_float": "is not an integer", "int_type": "is not an integer",
        "float_parsing": "is not a number", "float_type": "is not a number", "bool_parsing": "is not true/false",
        "greater_than_equal": f"is less than {(error.get('ctx') or {}).get('ge', 0):g}",
        "greater_than": f"is not more than {(error.get('ctx') or {}).get('gt', 0):g}",
    }.get(error["type"], message)
    if secret:
        return redact(message if message.startswith(name) else f"{name}: {phrase}")
    return redact(f"{name}={values.get(error['loc'][0], '')!r} {phrase}")


def refresh_cron(env: Mapping[str, str] | None = None) -> str:
    """The weekly schedule's cron (env DISCLOSURE_REFRESH_CRON, else Mondays 03:00); SettingsError when it is not one."""
    from dagster._utils.schedules import is_valid_cron_string

    env = os.environ if env is None else env
    raw = env.get(CRON_SETTING, "").strip()
    if raw and not is_valid_cron_string(raw):
        raise SettingsError([f"{CRON_SETTING}={raw!r} is not a cron expression (e.g. '{DEFAULT_CRON}')"])
    return raw or DEFAULT_CRON


def check_settings() -> list[str]:
    """Every problem with the DISCLOSURE_* settings in the environment (redacted), empty when all is well."""
    problems = []
    for check in (_named_overrides_exist, refresh_cron):
        try:
            check()
        except SettingsError as exc:
            problems += exc.problems
    return problems


def _named_overrides_exist() -> None:
    """The resources build; and an override file that is named exists (a typo would silently drop every
    correction) — before a refresh only: a running code location waits for a file that is yet to come."""
    warehouse = resources_from_env()["warehouse"]
    fields = env_fields(WarehouseResource)
    missing = [f"{fields[f][0]}={getattr(warehouse, f)!r} is not an existing file"
               for f in ("corrections", "waivers", "agency_overrides") if getattr(warehouse, f) and not Path(getattr(warehouse, f)).expanduser().is_file()]
    if missing:
        raise SettingsError(missing)


def unknown_settings() -> list[str]:
    """DISCLOSURE_* variables in the environment that nothing reads (a typo leaves the default in force)."""
    known = setting_names()
    return sorted(name for name in os.environ if name.startswith("DISCLOSURE_") and name not in known)
