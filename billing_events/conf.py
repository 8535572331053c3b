"""The settings of billing_events, read lazily with defaults and reloaded when tests change them.

A host writes them into the same ``AUTOMATIONS`` dict as the automations settings (one dict for
both apps); this module knows only the keys billing_events reads — the gateway and the limits of
an event payload. ``automations.conf`` holds the others.
"""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

#: The dict both apps read their settings from.
SETTING = "AUTOMATIONS"
DEFAULTS: dict[str, Any] = {
    "BILLING_GATEWAY": "billing_events.gateway.reference.ReferenceGateway",
    # Event payloads (emit() and POST events/) are refused beyond this size as compact JSON, and
    # any JSON input (payloads, definitions) beyond this depth of nested objects and arrays.
    "EVENT_MAX_BYTES": 256 * 1024,
    "JSON_MAX_DEPTH": 32,
}
IMPORT_STRINGS = {"BILLING_GATEWAY"}


class AppSettings:
    """Attribute access to ``settings.AUTOMATIONS[...]`` with ``defaults``; dotted paths in
    ``import_strings`` imported."""

    def __init__(self, defaults: dict[str, Any], import_strings: set[str]) -> None:
        self.defaults = defaults
        self.import_strings = import_strings
        self._cache: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name not in self.defaults:
            raise AttributeError(f"Unknown {SETTING} setting: {name!r}")
        if name not in self._cache:
            value = getattr(settings, SETTING, {}).get(name, self.defaults[name])
            if name in self.import_strings and isinstance(value, str):
                try:
                    value = import_string(value)
                except ImportError as exc:
                    raise ImportError(f"{SETTING}[{name!r}] = {value!r} cannot be imported: {exc}") from exc
            self._cache[name] = value
        return self._cache[name]

    def reload(self) -> None:
        self._cache.clear()


app_settings = AppSettings(DEFAULTS, IMPORT_STRINGS)


def _reload(*, setting: str, **kwargs: Any) -> None:
    if setting == SETTING:
        app_settings.reload()


setting_changed.connect(_reload)
