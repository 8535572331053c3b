"""The metrics page, in Prometheus's text format."""
from __future__ import annotations

import hmac

from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import CollectorRegistry

from automations.conf import app_settings
from automations.metrics.collector import AutomationsCollector

_REGISTRY = CollectorRegistry(auto_describe=False)
_REGISTRY.register(AutomationsCollector())


def metrics(request: HttpRequest) -> HttpResponse:
    """The metrics, for a scraper with ``AUTOMATIONS["METRICS_TOKEN"]`` as its bearer token, or a
    staff user signed in; 401 for anyone else (the names of automations and steps are in them)."""
    if not _allowed(request):
        response = HttpResponse("Sign in as staff, or send the metrics token as a bearer token.\n", status=401,
                                content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(_REGISTRY), content_type=CONTENT_TYPE_LATEST)


def _allowed(request: HttpRequest) -> bool:
    token = app_settings.METRICS_TOKEN
    sent = request.headers.get("Authorization", "")
    if token and sent.startswith("Bearer ") and hmac.compare_digest(sent.removeprefix("Bearer ").encode(), token.encode()):
        return True
    return bool(request.user.is_authenticated and request.user.is_staff)
