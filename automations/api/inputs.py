"""What clients send besides definitions: strict serializers that refuse unknown fields and JSON of
the wrong type (DRF would otherwise read ``"5"`` as 5 and 5 as ``"5"``)."""
from __future__ import annotations

from typing import Any

from django.core.validators import RegexValidator
from rest_framework import serializers


class StrictCharField(serializers.CharField):
    """Text, and only text, taken as it is (not trimmed: limits apply to what was sent)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer, not a string of digits nor a boolean."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictSerializer(serializers.Serializer):
    """An input object whose unknown fields are errors rather than silently ignored."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["is not a known field"] for name in unknown})
        return super().to_internal_value(data)


class TestIn(StrictSerializer):
    """``POST automations/{id}/test/``: both fields optional."""

    data = serializers.DictField(required=False, help_text="The run's data (default: the trigger's sample payload).")
    version = StrictIntegerField(required=False, min_value=1,
                                 help_text="The version to test (default: the draft, else the active version).")


class RunIn(StrictSerializer):
    """``POST automations/{id}/run/``."""

    data = serializers.DictField(required=False, help_text="The run's data, read like an event's data.")


class EventIn(StrictSerializer):
    """The event envelope: ``type`` and ``data`` are validated against the catalogue, as by emit()."""

    id = StrictCharField(max_length=255, required=False,
                         help_text="The idempotency key: the same id twice is stored once.")
    type = StrictCharField(max_length=100)
    occurred_at = serializers.DateTimeField(required=False)
    data = serializers.DictField()


class SecretUpdateIn(StrictSerializer):
    """``PUT secrets/{name}/`` (a new value) and ``PATCH`` (value, description or both)."""

    description = StrictCharField(max_length=500, required=False, allow_blank=True)
    value = StrictCharField(max_length=10000, write_only=True, help_text="Write-only: never returned.")


class SecretIn(SecretUpdateIn):
    """``POST secrets/``: a new named secret."""

    name = StrictCharField(max_length=100, validators=[RegexValidator(
        r"^[A-Za-z_][A-Za-z0-9_]*$", "letters, digits and _, not starting with a digit")],
        help_text="Referenced as {{ secrets.NAME }}.")
