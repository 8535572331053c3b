"""URLs of the demo project: the admin at /admin/, the REST API at /api/ (docs at /api/docs/), the
pages customers reach from emails' links at /billing/, Prometheus metrics at /metrics/, and Stripe's webhook at /stripe/webhook/ when the demo runs with the Stripe connector (``demo --stripe``)."""
from django.conf import settings
from django.contrib import admin
from django.http import HttpResponse
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("automations.api.urls")),
    path("billing/", include("billing_events.urls")),  # pages customers reach from emails' links
    path("metrics/", include("automations.metrics.urls")),  # Prometheus
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    # Browsers ask for it on every page; an empty answer keeps their consoles free of 404s.
    path("favicon.ico", lambda request: HttpResponse(status=204)),
]
if getattr(settings, "DEMO_STRIPE", False):
    # Only with the Stripe connector configured: the endpoint's check refuses it without a secret.
    urlpatterns.append(path("stripe/", include("billing_events.stripe.urls")))
