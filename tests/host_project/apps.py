from django.apps import AppConfig


class HostBillingConfig(AppConfig):
    name = "tests.host_project"
    label = "host_billing"
    default_auto_field = "django.db.models.BigAutoField"
