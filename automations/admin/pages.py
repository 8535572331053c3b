"""What the builder and run-view pages are given: the page configuration and a strict
Content-Security-Policy (the pages load only their own static modules and talk only to the API)."""
from __future__ import annotations

from typing import Any

import django
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.urls import NoReverseMatch, reverse

from billing_events.catalogue import ENTITY_SCHEMAS, EVENT_TYPES

CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
                           "form-action 'self'; frame-ancestors 'self'")


def api_root() -> str | None:
    """Where the host mounted ``automations.api.urls`` (None when it did not): the prefix of one of
    its URLs."""
    try:
        return reverse("automations_api:event-types").removesuffix("event-types/")
    except NoReverseMatch:
        return None


def entity_samples() -> dict[str, Any]:
    """A sample record of each entity (customer, invoice, ...) taken from the event catalogue's
    samples: the fields a loop over a collection offers in the variable picker."""
    samples: dict[str, Any] = {}
    for event_type in EVENT_TYPES.values():
        for root, value in event_type.sample_data().items():
            if root in ENTITY_SCHEMAS and isinstance(value, dict):
                samples.setdefault(root, value)
    return samples


def permissions(request: HttpRequest) -> dict[str, bool]:
    user = request.user
    return {
        "view": user.has_perm("automations.view_automation"),
        "add": user.has_perm("automations.add_automation"),
        "change": user.has_perm("automations.change_automation"),
        "runExecution": user.has_perm("automations.add_execution"),
        "changeExecution": user.has_perm("automations.change_execution"),
        "viewEmailTemplate": user.has_perm("automations.view_emailtemplate"),
        "changeEmailTemplate": user.has_perm("automations.change_emailtemplate"),
        "viewSecret": user.has_perm("automations.view_secret"),
        "decideApproval": user.has_perm("automations.decide_approval"),
    }


def page_config(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    return {
        "apiRoot": api_root(),
        "csrfToken": get_token(request),
        "permissions": permissions(request),
        "entities": ENTITY_SCHEMAS,
        "entitySamples": entity_samples(),
        "urls": {
            "builder": reverse("admin:automations_automation_builder", args=[0]),
            "add": reverse("admin:automations_automation_add"),
            "execution": reverse("admin:automations_execution_change", args=[0]),
        },
        **extra,
    }


def strict(response: HttpResponse) -> HttpResponse:
    response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    return response


def breadcrumbs(*items: tuple[str, str | None]) -> dict[str, Any]:
    """Context for ``admin/automations/breadcrumbs.html``: Home, the app, then ``items``
    (label, url), the last one the current page (url None)."""
    return {
        "crumbs": [("Home", reverse("admin:index")),
                   ("Automations", reverse("admin:app_list", kwargs={"app_label": "automations"})), *items],
        "crumbs_as_list": django.VERSION >= (6, 0),
    }
