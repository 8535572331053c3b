"""App config so the demo project can ship its own management commands (``manage.py demo``)."""
from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "config"
    label = "demo"
    verbose_name = "Demo project"
