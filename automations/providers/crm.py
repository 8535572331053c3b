"""CRM providers: an HTTP provider that upserts records as JSON (idempotent by record id)."""
from __future__ import annotations

from typing import Any

from automations import outbound
from automations.actions.base import ActionError
from automations.conf import app_settings


class CRMProvider:
    """Base class: ``upsert()`` creates or replaces one record in the CRM."""

    def upsert(self, object_type: str, object_id: str, data: dict[str, Any], *,
               idempotency_key: str) -> dict[str, Any]:
        raise NotImplementedError(".upsert() must be overridden.")


class HTTPCRMProvider(CRMProvider):
    """``PUT {endpoint}/{object_type}s/{id}`` with the record as JSON: a PUT of the same record is
    the same upsert, so a repeat does no harm. ``token`` is sent as a Bearer token."""

    def __init__(self) -> None:
        options = app_settings.CRM_OPTIONS
        if not options.get("endpoint"):
            raise ActionError("AUTOMATIONS['CRM_OPTIONS'] has no endpoint")
        self.endpoint = options["endpoint"].rstrip("/")
        self.token = options.get("token", "")

    def upsert(self, object_type: str, object_id: str, data: dict[str, Any], *,
               idempotency_key: str) -> dict[str, Any]:
        headers = {"Idempotency-Key": idempotency_key}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        response = outbound.request("PUT", f"{self.endpoint}/{object_type}s/{object_id}", json=data,
                                    headers=headers)
        return {"object": object_type, "id": object_id, "status_code": response.status_code}
