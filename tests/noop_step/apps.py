from django.apps import AppConfig


class NoopStepConfig(AppConfig):
    """A step type from outside automations: a host's, here a test's (tests/automations/steps)."""

    name = "tests.noop_step"
    label = "noop_step"
    default_auto_field = "django.db.models.BigAutoField"
