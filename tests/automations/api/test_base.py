"""The API is safe on its own: in a host that leaves DRF to its defaults (anyone may do anything,
no pagination, no filters), it still refuses anonymous requests, checks model permissions,
paginates, filters, and answers bad input with a 400."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.checks import run_checks
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.test import APIClient

from automations import services
from automations.models import Automation, AutomationVersion, Execution
from billing_events.models import Event
from tests.automations.api.conftest import token_client
from tests.conftest import sample

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    ("get", "/api/automations/"), ("post", "/api/automations/"), ("get", "/api/automations/{a}/"),
    ("put", "/api/automations/{a}/"), ("patch", "/api/automations/{a}/"), ("delete", "/api/automations/{a}/"),
    ("post", "/api/automations/{a}/activate/"), ("post", "/api/automations/{a}/pause/"),
    ("post", "/api/automations/{a}/resume/"), ("get", "/api/automations/{a}/versions/"),
    ("get", "/api/automations/{a}/versions/1/"), ("post", "/api/automations/{a}/versions/1/restore/"),
    ("post", "/api/automations/{a}/test/"), ("post", "/api/automations/{a}/run/"),
    ("get", "/api/executions/"), ("get", "/api/executions/{x}/"), ("post", "/api/executions/{x}/cancel/"),
    ("post", "/api/executions/{x}/retry/"), ("get", "/api/events/"), ("post", "/api/events/"),
    ("get", "/api/events/evt_1/"), ("get", "/api/event-types/"), ("get", "/api/actions/"), ("get", "/api/step-types/"), ("get", "/api/trigger-kinds/"),
    ("get", "/api/stripe-events/"), ("get", "/api/templates/"), ("post", "/api/templates/payment_dunning/instantiate/"),
]


@pytest.fixture
def running(dunning, engine):
    """The dunning automation with one waiting execution, started by event evt_1."""
    engine.emit("payment.failed", sample("payment.failed"), id="evt_1")
    return dunning, Execution.objects.get()


def _state(automation: Automation) -> tuple:
    automation.refresh_from_db()
    return (Automation.objects.count(), AutomationVersion.objects.count(), Execution.objects.count(),
            list(Execution.objects.values_list("status", flat=True)), Event.objects.count(), automation.is_paused)


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_anonymous_requests_get_401_and_no_data_under_drf_defaults(drf_defaults, anonymous, running, method,
                                                                   path):
    automation, execution = running
    before = _state(automation)
    body = {"data": sample("payment.failed")} if method != "delete" else None
    response = getattr(anonymous, method)(path.format(a=automation.pk, x=execution.pk), body, format="json")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"errors": [{"field": "", "message": "Authentication credentials were not provided."}]}
    assert _state(automation) == before


def test_a_bad_definition_is_a_400_under_drf_defaults(drf_defaults, api):
    response = api.post("/api/automations/", {"name": "Bad", "trigger": {"type": "event", "event": "nope"},
                                              "steps": [{"type": "delay", "duration": "soon"}]}, format="json")
    assert response.status_code == 400
    assert {error["field"] for error in response.json()["errors"]} >= {"trigger.event", "steps.delay_1.duration"}


def test_lists_are_paginated_and_filtered_under_drf_defaults(drf_defaults, api, running):
    api.post("/api/templates/welcome_series/instantiate/")
    listing = api.get("/api/automations/?status=active").json()
    assert listing["count"] == 1 and listing["results"][0]["name"] == "Payment dunning"
    assert api.get("/api/executions/?status=failed").json() == {"count": 0, "next": None, "previous": None,
                                                                "results": []}
    assert {"count", "next", "previous", "results"} <= set(api.get("/api/event-types/").json())


@pytest.fixture
def editor(django_user_model):
    """A user who may view and add automations, but not change them."""
    user = django_user_model.objects.create_user("editor", password="pw")
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_automation", "add_automation"]))
    return user


@pytest.mark.parametrize("action", ["activate", "pause", "resume", "versions/1/restore"])
def test_lifecycle_actions_need_the_change_permission(drf_defaults, dunning, editor, action):
    services.update_draft(dunning, services.current_definition(dunning))  # something to activate
    client = token_client(editor)
    url = f"/api/automations/{dunning.pk}/{action}/"
    refused = client.post(url)
    assert refused.status_code == 403
    editor.user_permissions.add(Permission.objects.get(codename="change_automation"))
    assert client.post(url).status_code == 200


class HeaderAuthentication(BaseAuthentication):
    """A host's own scheme (as a JWT one would be): the user named in the ``X-User`` header."""

    def authenticate(self, request):
        name = request.headers.get("X-User")
        user = get_user_model().objects.filter(username=name).first() if name else None
        return (user, None) if user else None

    def authenticate_header(self, request):
        return "X-User"


def test_a_host_names_its_own_authentication_in_one_setting(settings, api):
    assert api.get("/api/automations/").status_code == 200, "a token, by default"
    settings.AUTOMATIONS = {"API_AUTHENTICATION": [f"{__name__}.HeaderAuthentication"]}
    assert api.get("/api/automations/").status_code == 401, "tokens are no longer read"
    header = APIClient()
    header.credentials(HTTP_X_USER="ops")
    assert header.get("/api/automations/").status_code == 200
    assert APIClient().get("/api/automations/").status_code == 401


class StaffOnly(BasePermission):
    def has_permission(self, request, view):
        return bool(request.user and request.user.is_staff)


def test_a_host_narrows_who_may_call_the_api_in_one_setting(settings, api, django_user_model):
    clerk = django_user_model.objects.create_user("clerk", "clerk@example.com", "pw")
    clerk.user_permissions.set(Permission.objects.filter(codename="view_automation"))
    client = token_client(clerk)
    assert client.get("/api/automations/").status_code == 200, "model permissions, by default"
    settings.AUTOMATIONS = {"API_PERMISSIONS": [f"{__name__}.StaffOnly"]}
    assert client.get("/api/automations/").status_code == 403
    assert api.get("/api/automations/").status_code == 200, "staff, with the model permission"


@pytest.mark.parametrize(("setting", "value"), [
    ("API_AUTHENTICATION", []), ("API_AUTHENTICATION", ["nowhere.Authentication"]),
    ("API_AUTHENTICATION", ["automations.api.base.Pagination"]), ("API_PERMISSIONS", "StaffOnly"),
    ("API_PERMISSIONS", ["automations.api.base.Pagination"])])
def test_an_api_class_setting_that_names_no_such_class_is_a_check_error(settings, setting, value):
    settings.AUTOMATIONS = {setting: value}
    assert "automations.E009" in [message.id for message in run_checks(tags=["automations"])]
