"""App config of automations: fills the action registry and connects to billing events."""
from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AutomationsConfig(AppConfig):
    name = "automations"
    verbose_name = "Automations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from automations import checks  # noqa: F401  (registers the system checks)
        from automations.actions.registry import register_configured_actions
        from automations.engine.schedule import ensure_tick_schedule
        from automations.triggers.receivers import on_event_received
        from billing_events.signals import event_received

        register_configured_actions()
        event_received.connect(on_event_received, dispatch_uid="automations.on_event_received")
        post_migrate.connect(ensure_tick_schedule, sender=self, dispatch_uid="automations.tick_schedule")
