"""Prometheus metrics for the engineers who run the apps (``pip install ".[metrics]"``), at a URL
the host includes: ``path("metrics/", include("automations.metrics.urls"))``."""
