"""The base of every input object: unknown fields are errors (the schema says so too)."""
from __future__ import annotations

from typing import Any

from rest_framework import serializers


class StrictSerializer(serializers.Serializer):
    """An input object whose unknown fields are errors rather than silently ignored."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["is not a known field"] for name in unknown})
        return super().to_internal_value(data)
