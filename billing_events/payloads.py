"""Turning gateway records into the entities an event's ``data`` carries."""
from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder


def as_event_entity(record: dict[str, Any]) -> dict[str, Any]:
    """JSON values only, unset fields left out (as a billing system's event would)."""
    data = json.loads(json.dumps(record, cls=DjangoJSONEncoder))
    return {name: value for name, value in data.items() if value not in ("", None)}
