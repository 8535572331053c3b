"""Permissions: Django model permissions, with "view" needed to read and its own permission to
send events."""
from __future__ import annotations

from rest_framework.permissions import DjangoModelPermissions


class ModelPermissions(DjangoModelPermissions):
    """Like DRF's, but reading needs the model's view permission too."""

    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
    }


class EventPermissions(ModelPermissions):
    """Sending an event needs ``billing_events.ingest_event``."""

    perms_map = {**ModelPermissions.perms_map, "POST": ["billing_events.ingest_event"]}


class ReadOnlyOperation(ModelPermissions):
    """A POST that changes nothing (test mode, validation): the view permission is enough."""

    perms_map = {**ModelPermissions.perms_map, "POST": ["%(app_label)s.view_%(model_name)s"]}


class ChangeOperation(ModelPermissions):
    """A POST that changes an existing object (restore, activate, pause): the change permission."""

    perms_map = {**ModelPermissions.perms_map, "POST": ["%(app_label)s.change_%(model_name)s"]}
