"""App config of billing_events."""
from django.apps import AppConfig, apps


class BillingEventsConfig(AppConfig):
    name = "billing_events"
    verbose_name = "Billing events"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from billing_events import checks  # noqa: F401  (registers the system checks: an app module may not import what reads models)
        from billing_events.stripe import checks as stripe_checks  # noqa: F401

        if apps.is_installed("djstripe"):
            from billing_events.stripe import from_djstripe  # only where dj-stripe is installed

            from_djstripe.connect()
