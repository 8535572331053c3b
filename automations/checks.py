"""System checks of the ``AUTOMATIONS`` and ``Q_CLUSTER`` settings (``manage.py check``).

They read the settings as configured (not django-q2's ``Conf``, a snapshot taken at import), so a
mistake is reported with the setting's name before a worker runs into it.
"""
from __future__ import annotations

from collections.abc import Iterator
from numbers import Real
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.utils.module_loading import import_string
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission

from automations.conf import DEFAULTS, IMPORT_STRINGS
from billing_events.conf import DEFAULTS as BILLING_DEFAULTS
from automations.card_retries.limits import setting_errors as retry_limits_errors
from automations.messaging.validation import frequency_caps_errors

#: Settings that must be positive numbers (None allowed where it means "off").
POSITIVE = ("TICK_MINUTES", "LEASE_SECONDS", "REDISPATCH_SECONDS", "SWEEP_BATCH",
            "DERIVED_SCAN_MINUTES", "LOOP_MAX_ITEMS", "TIME_BUDGET_SECONDS", "ACTION_TIMEOUT_SECONDS",
            "MAX_INTERRUPTED_ATTEMPTS", "RENDER_SECONDS", "RENDER_MAX_CHARS",
            "PRUNE_MINUTES", "PRUNE_BATCH")
OPTIONAL_POSITIVE = ("RETENTION_DAYS",)
#: The brokers that wait out a restart of their server (automations/brokers), by django-q2 broker.
RESILIENT_BROKERS = {"orm": "automations.brokers.orm.ORM", "redis": "automations.brokers.redis.Redis"}
BASES = {"SMS_PROVIDER": "automations.providers.sms.SMSProvider",
         "CRM_PROVIDER": "automations.providers.crm.CRMProvider"}


def _automations() -> dict[str, Any]:
    return {**DEFAULTS, **(getattr(settings, "AUTOMATIONS", None) or {})}


def _q_cluster() -> dict[str, Any]:
    return getattr(settings, "Q_CLUSTER", None) or {}


def _number(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


@register("automations")
def check_automations_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Unknown keys, values of the wrong kind, dotted paths that cannot be imported."""
    configured = getattr(settings, "AUTOMATIONS", None) or {}
    messages: list[CheckMessage] = []
    if not isinstance(configured, dict):
        return [Error("AUTOMATIONS must be a dict", id="automations.E002")]
    for key in sorted(set(configured) - set(DEFAULTS)):
        hint = (f"{key} is a setting of billing_events: write it in BILLING_EVENTS" if key in BILLING_DEFAULTS
                else f"Known settings: {', '.join(sorted(DEFAULTS))}")
        messages.append(Warning(f"AUTOMATIONS[{key!r}] is not a setting of the automations app", hint=hint,
                                id="automations.W001"))
    values = _automations()
    for key in POSITIVE:
        if not _number(values[key]) or values[key] <= 0:
            messages.append(Error(f"AUTOMATIONS[{key!r}] must be a positive number, not {values[key]!r}",
                                  id="automations.E003"))
    for key in OPTIONAL_POSITIVE:
        if values[key] is not None and (not _number(values[key]) or values[key] <= 0):
            messages.append(Error(f"AUTOMATIONS[{key!r}] must be a positive number or None, not {values[key]!r}",
                                  id="automations.E003"))
    messages.extend(_import_errors(values))
    messages.extend(_class_list_errors("API_AUTHENTICATION", values["API_AUTHENTICATION"], BaseAuthentication,
                                       "authentication", may_be_empty=False))
    messages.extend(_class_list_errors("API_PERMISSIONS", values["API_PERMISSIONS"], BasePermission, "permission",
                                       may_be_empty=True))
    for problem in frequency_caps_errors(values["FREQUENCY_CAPS"], "FREQUENCY_CAPS"):
        messages.append(Error(f"AUTOMATIONS[{problem['field']!r}] {problem['message']}", id="automations.E008"))
    if values["RETRY_LIMITS"] is not None:
        for problem in retry_limits_errors(values["RETRY_LIMITS"]):
            messages.append(Error(f"AUTOMATIONS[{problem['field']!r}] {problem['message']}", id="automations.E010",
                                  hint="For example {'mastercard': [{'attempts': 10, 'within': '24h', 'per': 'card'}]}"))
    return messages


def _import_errors(values: dict[str, Any]) -> Iterator[CheckMessage]:
    for key in sorted(IMPORT_STRINGS):
        path = values[key]
        if path is None:
            continue
        try:
            imported = import_string(path) if isinstance(path, str) else path
        except (ImportError, TypeError, ValueError) as exc:
            yield Error(f"AUTOMATIONS[{key!r}] = {path!r} cannot be imported: {exc}", id="automations.E004")
            continue
        base = import_string(BASES[key])
        if not (isinstance(imported, type) and issubclass(imported, base)):
            yield Error(f"AUTOMATIONS[{key!r}] = {path!r} is not a subclass of {BASES[key]}", id="automations.E004")


def _class_list_errors(key: str, paths: Any, base: type, what: str, *, may_be_empty: bool) -> Iterator[CheckMessage]:
    if not isinstance(paths, (list, tuple)) or (not paths and not may_be_empty):
        yield Error(f"AUTOMATIONS[{key!r}] must be a {'' if may_be_empty else 'non-empty '}list of dotted paths, "
                    f"not {paths!r}", id="automations.E009")
        return
    for path in paths:
        try:
            imported = import_string(path) if isinstance(path, str) else path
        except (ImportError, TypeError, ValueError) as exc:
            yield Error(f"AUTOMATIONS[{key!r}] names {path!r}, which cannot be imported: {exc}", id="automations.E009")
            continue
        if not (isinstance(imported, type) and issubclass(imported, base)):
            yield Error(f"AUTOMATIONS[{key!r}] names {path!r}, which is not a DRF {what} class", id="automations.E009")


@register("automations")
def check_q_cluster(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The worker cluster's timeouts: a task must end before it is handed out again, and the
    engine's own budgets must end before the task's timeout."""
    cluster, values = _q_cluster(), _automations()
    if cluster.get("sync"):
        return []  # tasks run in the calling process (tests): no timeouts apply
    timeout, retry = cluster.get("timeout"), cluster.get("retry", 60)
    if not _number(timeout):
        return [Error("Q_CLUSTER['timeout'] must be set: without it a hung action holds a worker for ever",
                      hint="For example 'timeout': 60, 'retry': 90.", id="automations.E001")]
    messages: list[CheckMessage] = []
    if not _number(retry) or retry <= timeout:
        messages.append(Error(
            f"Q_CLUSTER['timeout'] ({timeout}) must be below Q_CLUSTER['retry'] ({retry})",
            hint="The broker hands a task that is not acknowledged within 'retry' seconds to another worker; "
                 "one still running would then run twice.", id="automations.E001"))
    budget, action, render = (values["TIME_BUDGET_SECONDS"], values["ACTION_TIMEOUT_SECONDS"],
                              values["RENDER_SECONDS"])
    if all(_number(value) for value in (budget, action, render)) and budget + action + render >= timeout:
        messages.append(Error(
            f"AUTOMATIONS['TIME_BUDGET_SECONDS'] + ['ACTION_TIMEOUT_SECONDS'] + ['RENDER_SECONDS'] "
            f"({budget} + {action} + {render}) must stay below Q_CLUSTER['timeout'] ({timeout})",
            hint="A step that starts just before the time budget runs out may take the action timeout and a "
                 "render on top; a task that outlives Q_CLUSTER['timeout'] is killed.", id="automations.E005"))
    orm = cluster.get("orm")
    if orm and orm not in settings.DATABASES:
        messages.append(Error(f"Q_CLUSTER['orm'] = {orm!r} is not in DATABASES", id="automations.E006"))
    broker_class = cluster.get("broker_class")
    if not orm and not cluster.get("redis") and not broker_class:
        messages.append(Warning("Q_CLUSTER names no broker ('orm' or 'redis'); django-q2 will try Redis on "
                                "localhost", id="automations.W002"))
    elif broker_class != (wanted := RESILIENT_BROKERS["redis" if cluster.get("redis") else "orm"]):
        messages.append(Warning(
            "Q_CLUSTER['broker_class'] is not one of the brokers that wait out an outage: each restart of the "
            "database or Redis stops the cluster's puller (and its result saver) for a while",
            hint=f"Add 'broker_class': {wanted!r} to Q_CLUSTER.", id="automations.W004"))
    return messages


@register("automations", Tags.security, deploy=True)
def check_secrets_key(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``check --deploy``: stored secrets need a key of their own. The fallback derived from
    SECRET_KEY is for the demo: rotating SECRET_KEY would make every stored secret unreadable."""
    if _automations()["SECRETS_KEY"]:
        return []
    return [Warning("AUTOMATIONS['SECRETS_KEY'] is not set: stored secrets are encrypted under a key derived "
                    "from SECRET_KEY, and changing SECRET_KEY makes them unreadable",
                    hint="Generate one with: python -c 'from cryptography.fernet import Fernet; "
                         "print(Fernet.generate_key().decode())'", id="automations.W003")]


@register(Tags.database)
def check_broker(app_configs: Any = None, databases: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Whether the Redis broker answers (run by ``migrate`` and ``check --database``: it connects)."""
    cluster = _q_cluster()
    if not databases or cluster.get("sync") or not cluster.get("redis"):
        return []
    try:
        import redis  # optional: only hosts with the redis extra have it
    except ImportError:
        return [Error("Q_CLUSTER['redis'] is set but the redis package is not installed",
                      hint="pip install 'billing-automations[redis]'", id="automations.E007")]
    options = cluster["redis"]
    try:
        client = (redis.Redis.from_url(options, socket_connect_timeout=2, socket_timeout=2)
                  if isinstance(options, str) else
                  redis.Redis(**{"socket_connect_timeout": 2, "socket_timeout": 2, **options}))
        client.ping()
    except (redis.RedisError, OSError) as exc:
        return [Error(f"the Redis broker in Q_CLUSTER['redis'] does not answer: {exc}", id="automations.E007")]
    return []
