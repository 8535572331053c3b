"""The templates library: pre-built automations stored as data files of canonical definitions."""
from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.db import transaction
from automations.models import EmailTemplate
from automations.services import create_automation

LIBRARY_DIR = Path(__file__).parent


@lru_cache(maxsize=None)
def _load(key: str) -> dict[str, Any]:
    path = LIBRARY_DIR / f"{key}.json"
    if not path.is_file():
        raise KeyError(key)
    return json.loads(path.read_text(encoding="utf-8"))


def template_keys() -> list[str]:
    return sorted(path.stem for path in LIBRARY_DIR.glob("*.json"))


def get_template(key: str) -> dict[str, Any]:
    """A library entry: key, title, description, definition, email_templates (a fresh copy)."""
    return json.loads(json.dumps(_load(key)))


@transaction.atomic
def install_email_templates(key: str) -> list[str]:
    """Create the entry's email templates that do not exist yet (existing ones are left as edited)."""
    created = []
    for template in get_template(key)["email_templates"]:
        _, was_created = EmailTemplate.objects.get_or_create(key=template["key"], defaults=template)
        if was_created:
            created.append(template["key"])
    return created


@contextmanager
def email_templates_lent(key: str | None) -> Iterator[None]:
    """While the block runs, the email templates of library entry ``key`` exist as if installed
    (those already there stay as edited), so that a definition taken from the entry is checked and
    tested before anything is saved; nothing is kept: the block's writes are rolled back. Without
    a ``key``, nothing is lent."""
    if key is None:
        yield
        return
    with transaction.atomic():
        install_email_templates(key)
        try:
            yield
        finally:
            transaction.set_rollback(True)


@transaction.atomic
def instantiate(key: str, user: Any = None, definition: dict[str, Any] | None = None):
    """A new draft automation from a library entry: its ``definition`` (the entry's, or the one
    the operator made of it), with the entry's missing email templates created in the same
    transaction, so a definition refused leaves nothing behind."""
    install_email_templates(key)
    return create_automation(get_template(key)["definition"] if definition is None else definition, user=user)
