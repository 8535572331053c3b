"""The errors a user can act on, shared by both apps: one hierarchy, each kind with the HTTP
status the API answers it with (``automations.errors`` adds the conflicts with current state)."""
from __future__ import annotations


class Refused(Exception):
    """A request refused; ``errors`` lists ``{"field": ..., "message": ...}`` for each reason.

    ``field`` is a dotted path such as ``data.invoice.amount_due`` or ``steps.gentle.config.to``
    so the admin, the builder and the API can show each message beside its field.
    """

    #: What the API answers it with.
    status_code = 400

    def __init__(self, errors: list[dict[str, str]] | str, field: str = "") -> None:
        if isinstance(errors, str):
            errors = [{"field": field, "message": errors}]
        self.errors = errors
        super().__init__("; ".join(self.format(error) for error in errors))

    @staticmethod
    def format(error: dict[str, str]) -> str:
        return f"{error['field']}: {error['message']}" if error.get("field") else error["message"]

    def as_dict(self) -> dict[str, list[str]]:
        """Messages grouped by field, the shape DRF and Django forms use."""
        grouped: dict[str, list[str]] = {}
        for error in self.errors:
            grouped.setdefault(error.get("field") or "non_field_errors", []).append(error["message"])
        return grouped


class InvalidInput(Refused, ValueError):
    """Input that is wrong in itself (a field missing, of the wrong kind, out of range): a 400."""
