"""App config of automations: loads the step types, fills the action registry and connects to
billing events."""
from __future__ import annotations

from importlib import import_module

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AutomationsConfig(AppConfig):
    name = "automations"
    verbose_name = "Automations"
    default_auto_field = "django.db.models.BigAutoField"

    def import_models(self) -> None:
        super().import_models()
        # Each step type's model lives in its own module of automations.steps, above the models
        # layer; they are models of this app all the same, so they load with the others.
        import_module("automations.steps")

    def ready(self) -> None:
        # Imported once the app registry is ready: these modules use models, which an app's
        # module may not import while the registry is being filled.
        from simple_history.signals import pre_create_historical_record

        from automations import checks  # noqa: F401  (registers the system checks)
        from automations.actions.configured import register_configured_actions
        from automations.engine.tick_schedule import ensure_tick_schedule
        from automations.history import cache_history_managers, stamp_with_the_apps_clock
        from automations.models import AutomationVersion
        from automations.secrets import mask_history_record
        from automations.steps.action import ActionStep
        from automations.triggers.receivers import DISPATCH_WITH_EVENT, dispatch_row, on_event_received
        from billing_events.outbox import write_with_events
        from billing_events.signals import event_received

        register_configured_actions()
        cache_history_managers()
        for model in (ActionStep, AutomationVersion):  # history rows never hold a secret
            pre_create_historical_record.connect(mask_history_record, sender=model.history.model,
                                                 dispatch_uid=f"automations.mask_history.{model.__name__}")
        pre_create_historical_record.connect(stamp_with_the_apps_clock, dispatch_uid="automations.stamp_history")
        write_with_events(DISPATCH_WITH_EVENT, dispatch_row)
        event_received.connect(on_event_received, dispatch_uid="automations.on_event_received")
        post_migrate.connect(ensure_tick_schedule, sender=self, dispatch_uid="automations.tick_schedule")
