"""App config of billing_events."""
from django.apps import AppConfig


class BillingEventsConfig(AppConfig):
    name = "billing_events"
    verbose_name = "Billing events"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from billing_events import checks  # noqa: F401  (registers the system checks: an app module may not import what reads models)
        from billing_events.stripe import checks as stripe_checks  # noqa: F401
