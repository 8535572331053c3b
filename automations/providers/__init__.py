"""Pluggable providers behind actions (SMS, CRM), each chosen by a setting."""
from __future__ import annotations

from typing import Any

from automations.conf import app_settings


def get_provider(setting: str) -> Any:
    """An instance of the provider class named by ``AUTOMATIONS[setting]`` (None when unset)."""
    provider_class = getattr(app_settings, setting)
    return provider_class() if provider_class else None
