"""The ``AUTOMATIONS`` settings, read lazily with defaults and reloaded when tests change them.
billing_events' own (the gateway, the payload limits) are in ``BILLING_EVENTS``
(``billing_events.conf``)."""
from __future__ import annotations

from typing import Any

from django.core.signals import setting_changed

from billing_events.conf import AppSettings

SETTING = "AUTOMATIONS"
#: Every key of the ``AUTOMATIONS`` dict, with its default.
DEFAULTS: dict[str, Any] = {
    "SMS_PROVIDER": "automations.providers.sms.ConsoleSMSProvider",
    # For the HTTP provider: account_sid, auth_token, from_number, base_url (Twilio-style API).
    "SMS_OPTIONS": {},
    "CRM_PROVIDER": None,
    # For the HTTP provider: endpoint (base URL), token (sent as a Bearer token).
    "CRM_OPTIONS": {},
    "SLACK_WEBHOOK_URL": None,
    "OUTBOUND_ALLOWED_HOSTS": [],
    # Named secrets, referenced as {{ secrets.NAME }}: a dict of name -> value (wins over the
    # Secret table), and the Fernet key(s) that encrypt the table's values (a key or a list, the
    # first encrypting); without keys, one derived from SECRET_KEY (a demo fallback).
    "SECRETS": {},
    "SECRETS_KEY": None,
    # The REST API's authentication classes (dotted paths, tried in order): a host on JWT, or on
    # sessions only, names its own. The host's REST_FRAMEWORK setting is not read for this.
    "API_AUTHENTICATION": ["rest_framework.authentication.TokenAuthentication",
                           "rest_framework.authentication.SessionAuthentication"],
    # Permission classes (dotted paths) every API request must pass besides the Django model
    # permissions each view asks: a host narrows who may call the API (staff only, an IP allowlist),
    # it cannot widen it.
    "API_PERMISSIONS": [],
    # The largest request body the REST API reads (bytes); a larger one is a 413.
    "API_MAX_BODY_BYTES": 1024 * 1024,
    "DEFAULT_FROM_EMAIL": None,
    # How often the worker cluster runs ``automations.engine.tick`` (django-q2's scheduler
    # granularity is one minute, and it polls about every 30 seconds).
    "TICK_MINUTES": 1,
    # A worker that holds an execution longer than this without finishing a step is presumed dead
    # and the next sweep resumes the execution from its cursor.
    "LEASE_SECONDS": 300,
    # An event whose dispatch has not completed this long after it came is dispatched by a drain
    # task (its own task was lost, or still waits in a long queue); dispatching twice is harmless.
    "REDISPATCH_SECONDS": 30,
    "SWEEP_BATCH": 500,
    # Whether django-q2 stores the result of each engine task that succeeded (failed ones are
    # always stored). The step log is the runs' record; storing a result costs django-q2 a write,
    # and with its save_limit a locked read of the stored results, for every task.
    "KEEP_TASK_RESULTS": False,
    # How often the derived-event scans (subscription.ending_soon, invoice.overdue,
    # usage.threshold_exceeded) look through the billing data.
    "DERIVED_SCAN_MINUTES": 60,
    "LOOP_MAX_ITEMS": 1000,
    # Finished executions (with their step log), events, history rows and django-q2 results older
    # than this are deleted by manage.py automations_prune and by a task the tick queues every
    # PRUNE_MINUTES (automations/retention.py). None keeps everything.
    "RETENTION_DAYS": 90,
    # The Prometheus metrics page (automations.metrics): a scraper sends this token as
    # "Authorization: Bearer <token>"; unset, only staff users signed in may read it.
    "METRICS_TOKEN": None,
    "PRUNE_MINUTES": 24 * 60,
    "PRUNE_BATCH": 1000,
    "ACTIONS": [],
    "TIME_BUDGET_SECONDS": 20,
    # One action attempt's outbound timeout (webhooks, Slack, SMS, CRM); with TIME_BUDGET_SECONDS
    # it must stay below Q_CLUSTER["timeout"] (system check automations.E005).
    "ACTION_TIMEOUT_SECONDS": 30,
    # An attempt cut short this many times by a worker's death is not performed again: the step fails.
    "MAX_INTERRUPTED_ATTEMPTS": 3,
    # One template render may take this long and produce this many characters (a longer one is
    # a failed step, never a hung worker); see automations/template_limits.py.
    "RENDER_SECONDS": 2,
    "RENDER_MAX_CHARS": 500_000,
    # Frequency caps every automation obeys unless its definition has its own frequency_caps:
    # [{"channels": ["email", "sms"], "max": 3, "period": "1d", "on_cap": "delay"}] (see
    # automations/messaging/caps.py).
    "FREQUENCY_CAPS": [],
    # Errors that pass (an SMTP 451, a 503, a dropped connection) are tried 5 times over about
    # an hour: after 2m, 6m, 18m and 30m. A payment decline is tried again only under the step's own policy.
    "RETRY": {"max_attempts": 5, "initial_interval": "2m", "backoff_coefficient": 3, "max_interval": "30m"},
    # The card networks' retry limits every retry_payment step obeys, across all automations, by
    # network: {"mastercard": [{"attempts": 10, "within": "24h", "per": "card"}, ...], "other": [...]}
    # ("per": "card" or "card_and_amount"). None: the defaults (Visa's and Mastercard's published
    # figures; see automations/card_retries/limits.py).
    "RETRY_LIMITS": None,

}
IMPORT_STRINGS = {"SMS_PROVIDER", "CRM_PROVIDER"}

app_settings = AppSettings(SETTING, DEFAULTS, IMPORT_STRINGS)


def _reload(*, setting: str, **kwargs: Any) -> None:
    if setting == SETTING:
        app_settings.reload()


setting_changed.connect(_reload)
