"""Named secrets: values held outside definitions, encrypted at rest, referenced from a step's
config as ``{{ secrets.NAME }}`` and resolved only when an outbound call is made.

A name is defined in ``AUTOMATIONS["SECRETS"]`` (a dict in settings, which wins) or as an
:class:`automations.models.Secret` row, whose value is encrypted at rest (``automations.encryption``).

Templates render a reference as the reference itself, so step logs, test mode and previews show
``{{ secrets.NAME }}``, never the value.
"""
from __future__ import annotations

import re
from typing import Any

from automations.conf import app_settings
from automations.errors import ActionError
from automations.models.secret import Secret

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
REFERENCE = re.compile(r"\{\{\s*secrets\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
#: A whole string that is one reference, as a JSON Schema pattern.
REFERENCE_PATTERN = r"^\{\{\s*secrets\.[A-Za-z_][A-Za-z0-9_]*\s*\}\}$"

Errors = list[dict[str, str]]


class SecretReference:
    """What ``{{ secrets.NAME }}`` evaluates to in a template: it renders as the reference itself."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __str__(self) -> str:
        return "{{ secrets.%s }}" % self.name


class SecretReferences:
    """The ``secrets`` template variable."""

    def __getattr__(self, name: str) -> SecretReference:
        if name.startswith("_"):
            raise AttributeError(name)
        return SecretReference(name)

    def __getitem__(self, name: str) -> SecretReference:
        return SecretReference(str(name))


REFERENCES = SecretReferences()


def is_reference(value: Any) -> bool:
    """Whether ``value`` is exactly one ``{{ secrets.NAME }}`` reference."""
    return isinstance(value, str) and REFERENCE.fullmatch(value.strip()) is not None


def referenced_names(value: Any) -> set[str]:
    """Every secret name referenced in the strings of a JSON value."""
    if isinstance(value, str):
        return set(REFERENCE.findall(value))
    if isinstance(value, dict):
        return set().union(*(referenced_names(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(referenced_names(item) for item in value))
    return set()


def defined_names() -> set[str]:
    """The names a definition may reference: from settings and from the Secret table."""
    return set(app_settings.SECRETS) | set(Secret.objects.values_list("name", flat=True))


def reference_errors(value: Any, path: str) -> Errors:
    """An error, naming the field, for each reference to a secret that is not defined."""
    if not referenced_names(value):
        return []
    known = defined_names()
    errors: Errors = []

    def walk(item: Any, where: str) -> None:
        if isinstance(item, str):
            errors.extend({"field": where, "message": f"no secret named {name!r}; define it first (secrets/ in the "
                                                      f"API or the admin, or AUTOMATIONS['SECRETS'])"}
                          for name in sorted(set(REFERENCE.findall(item)) - known))
        elif isinstance(item, dict):
            for key, child in item.items():
                walk(child, f"{where}.{key}")
        elif isinstance(item, list):
            for index, child in enumerate(item):
                walk(child, f"{where}[{index}]")

    walk(value, path)
    return errors


def lookup(name: str) -> str:
    """The value of secret ``name``; a non-retryable ActionError when it is not defined."""
    if name in app_settings.SECRETS:
        return str(app_settings.SECRETS[name])
    secret = Secret.objects.filter(name=name).first()
    if secret is None:
        raise ActionError(f"no secret named {name!r} (it was deleted after the step was saved?)")
    return secret.reveal()


def resolve(text: str) -> str:
    """``text`` with each ``{{ secrets.NAME }}`` replaced by its value: call it only for the outbound call itself."""
    return REFERENCE.sub(lambda match: lookup(match[1]), text)
