"""System checks of the AUTOMATIONS and Q_CLUSTER settings: each mistake has its id."""
from __future__ import annotations

import pytest
from django.core.checks import Tags, run_checks

CLUSTER = {"name": "automations", "orm": "default", "timeout": 60, "retry": 90,
           "broker_class": "automations.brokers.orm.ORM"}


def ids(**options) -> list[str]:
    return sorted(message.id for message in run_checks(tags=["automations"], **options))


@pytest.fixture
def cluster(settings):
    settings.Q_CLUSTER = dict(CLUSTER)
    return settings


def test_the_demo_settings_pass(cluster):
    assert ids() == []


@pytest.mark.parametrize(("q_cluster", "expected"), [
    ({"timeout": 90, "retry": 60}, ["automations.E001"]),
    ({"timeout": None}, ["automations.E001"]),
    ({"timeout": 30}, ["automations.E005"]),  # 20 s budget + 30 s action + 2 s render >= 30 s
    ({"orm": "elsewhere"}, ["automations.E006"]),
    ({"orm": None, "broker_class": None}, ["automations.W002"]),
    ({"broker_class": None}, ["automations.W004"]),
    ({"orm": None, "redis": "redis://127.0.0.1:6379/0", "broker_class": "automations.brokers.orm.ORM"},
     ["automations.W004"]),
    ({"orm": None, "redis": "redis://127.0.0.1:6379/0", "broker_class": "automations.brokers.redis.Redis"}, []),
])
def test_cluster_timeouts_and_broker(cluster, q_cluster, expected):
    cluster.Q_CLUSTER = {**CLUSTER, **q_cluster}
    assert ids() == expected


def test_action_timeouts_must_stay_below_the_task_timeout(cluster):
    cluster.AUTOMATIONS = {"ACTION_TIMEOUT_SECONDS": 45}
    [message] = run_checks(tags=["automations"])
    assert message.id == "automations.E005" and "(20 + 45 + 2) must stay below Q_CLUSTER['timeout'] (60)" in message.msg


@pytest.mark.parametrize(("automations", "expected"), [
    ({"BILLING_GATEWAY": "billing_events.gateway.reference.ReferenceGateway"}, ["automations.W001"]),
    ({"SMS_PROVIDER": "automations.providers.sms.Missing"}, ["automations.E004"]),
    ({"CRM_PROVIDER": "billing_events.gateway.reference.ReferenceGateway"}, ["automations.E004"]),
    ({"LEASE_SECONDS": 0, "RETENTION_DAYS": "ninety"}, ["automations.E003", "automations.E003"]),
    ({"LEASE_SECONDS": 600, "RETENTION_DAYS": None, "CRM_PROVIDER": "automations.providers.crm.HTTPCRMProvider"}, []),
    ({"SLAK_WEBHOOK_URL": "https://hooks.slack.com/x"}, ["automations.W001"]),
    ({"RETRY_LIMITS": {"mastercard": [{"attempts": 10, "within": "24h"}], "other": []}}, []),
    ({"RETRY_LIMITS": {"visa": [{"attempts": 0, "within": "soon", "per": "amount"}]}},
     ["automations.E010"] * 3),
    ({"RETRY_LIMITS": ["visa"]}, ["automations.E010"]),
])
def test_automations_settings(cluster, automations, expected):
    cluster.AUTOMATIONS = automations
    assert ids() == expected


def test_an_unreachable_redis_broker_is_reported_by_database_checks(cluster):
    cluster.Q_CLUSTER = {**CLUSTER, "orm": None, "redis": "redis://127.0.0.1:1/0",
                         "broker_class": "automations.brokers.redis.Redis"}
    messages = run_checks(tags=[Tags.database], databases=["default"])
    assert [message.id for message in messages] == ["automations.E007"]
    assert ids() == [], "plain manage.py check does not connect"


def test_a_deployment_without_a_secrets_key_is_warned(cluster):
    assert ids() == [], "only check --deploy asks"
    assert ids(include_deployment_checks=True) == ["automations.W003"]
    cluster.AUTOMATIONS = {"SECRETS_KEY": "x" * 43 + "="}
    assert ids(include_deployment_checks=True) == []


def test_a_billing_events_setting_written_in_automations_says_where_it_belongs(cluster):
    cluster.AUTOMATIONS = {"EVENT_MAX_BYTES": 1000}
    [message] = run_checks(tags=["automations"])
    assert message.id == "automations.W001" and "write it in BILLING_EVENTS" in message.hint


@pytest.mark.parametrize(("billing_events", "expected"), [
    ({}, []),
    ({"BILLING_GATEWAY": "nowhere.Gateway"}, ["billing_events.E003"]),
    ({"BILLING_GATEWAY": "automations.providers.sms.ConsoleSMSProvider"}, ["billing_events.E003"]),
    ({"EVENT_MAX_BYTES": 0, "JSON_MAX_DEPTH": "deep"}, ["billing_events.E002", "billing_events.E002"]),
    ({"SMS_PROVIDER": "automations.providers.sms.ConsoleSMSProvider"}, ["billing_events.W001"]),
    ({"PUBLIC_URL": "https://billing.example.com", "CARD_UPDATE_RETURN_URL": "https://example.com/account?from=card"},
     []),
    ({"PUBLIC_URL": "billing.example.com", "CARD_UPDATE_RETURN_URL": "/account"},
     ["billing_events.E014", "billing_events.E014"]),
])
def test_billing_events_settings(settings, billing_events, expected):
    settings.BILLING_EVENTS = billing_events
    assert sorted(message.id for message in run_checks(tags=["billing_events"])) == expected


def test_a_retry_limit_mistake_names_where_it_is(cluster):
    cluster.AUTOMATIONS = {"RETRY_LIMITS": {"visa": [{"attempts": 15, "within": "30 days"}]}}
    [message] = run_checks(tags=["automations"])
    assert message.id == "automations.E010" and message.msg.startswith("AUTOMATIONS['RETRY_LIMITS.visa[0].within']")
