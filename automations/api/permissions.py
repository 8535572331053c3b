"""Permissions: Django model permissions, with "view" needed to read, and named permissions for
the actions that are not plain creates, updates or deletes."""
from __future__ import annotations

from typing import Any

from rest_framework.permissions import DjangoModelPermissions, IsAuthenticated
from rest_framework.request import Request


class ModelPermissions(DjangoModelPermissions):
    """Like DRF's, but reading needs the model's view permission too, and a view's
    ``action_permissions`` (``{"activate": ["automations.change_automation"]}``) names what each of
    its extra actions needs instead of what the HTTP method would."""

    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
    }

    def has_permission(self, request: Request, view: Any) -> bool:
        required = getattr(view, "action_permissions", {}).get(getattr(view, "action", None))
        if required is None:
            return super().has_permission(request, view)
        user = request.user
        return bool(user and user.is_authenticated and user.has_perms(required))


class EventPermissions(ModelPermissions):
    """Sending an event needs ``billing_events.ingest_event``."""

    perms_map = {**ModelPermissions.perms_map, "POST": ["billing_events.ingest_event"]}


class NamedPermissions(IsAuthenticated):
    """A view whose ``required_permissions`` lists what a user needs (views without a model)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return super().has_permission(request, view) and request.user.has_perms(view.required_permissions)


class ApprovalPermissions(IsAuthenticated):
    """Approval requests: listed for a user who may view them or decide them; approving and
    rejecting need ``automations.decide_approval`` (and the step's own approvers' rule, checked
    on the request itself)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not super().has_permission(request, view):
            return False
        user = request.user
        if getattr(view, "action", None) in ("approve", "reject"):
            return user.has_perm("automations.decide_approval")
        return user.has_perm("automations.view_approvalrequest") or user.has_perm("automations.decide_approval")
