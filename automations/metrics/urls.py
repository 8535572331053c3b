"""``path("metrics/", include("automations.metrics.urls"))`` serves the metrics at ``/metrics/``."""
from django.urls import path

from automations.metrics.views import metrics

app_name = "automations_metrics"
urlpatterns = [path("", metrics, name="metrics")]
