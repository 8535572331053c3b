"""What the Stripe gateway sent under each operation key, and what Stripe answered.

The row is written before the request goes out and completed with the result, so a repeat with the
same key returns the first result without calling Stripe, and ``find_operation`` can settle an
attempt a crashed worker left between the two: it sends the same request again with the same
Idempotency-Key (Stripe answers with the first result) or, past Stripe's window, looks it up.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction

from billing_events import clock
from billing_events.models import GatewayOperation

KIND_PREFIX = "stripe."
SENT, DONE = "sent", "done"


def as_json(value: Any) -> Any:
    """``value`` as it is stored (Decimals and datetimes as strings): a repeat answers the same."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


@dataclass(frozen=True)
class Entry:
    kind: str
    state: str
    args: dict[str, Any]
    result: dict[str, Any] | None
    sent_at: datetime


def entry(key: str) -> Entry | None:
    row = GatewayOperation.objects.filter(key=key, kind__startswith=KIND_PREFIX).first()
    if row is None:
        return None
    data = row.result or {}
    sent_at = datetime.fromisoformat(data["sent_at"]) if data.get("sent_at") else row.created_at
    return Entry(row.kind.removeprefix(KIND_PREFIX), data.get("state", SENT), data.get("args") or {},
                 data.get("result"), sent_at)


def begin(key: str, kind: str, args: dict[str, Any]) -> Entry | None:
    """Note that the operation is about to be sent; the entry already there for ``key`` if any."""
    found = entry(key)
    if found is not None:
        return found
    try:
        with transaction.atomic():
            GatewayOperation.objects.create(key=key, kind=KIND_PREFIX + kind,
                                            result={"state": SENT, "args": as_json(args),
                                                    "sent_at": clock.now().isoformat()})
    except IntegrityError:  # another worker began it at the same moment: Stripe's key keeps it once
        return entry(key)
    return None


def finish(key: str, result: dict[str, Any]) -> dict[str, Any]:
    """Record Stripe's answer under ``key``; the result as every later call returns it."""
    stored = as_json(result)
    row = GatewayOperation.objects.get(key=key)
    row.result = {**row.result, "state": DONE, "result": stored}
    row.save(update_fields=["result"])
    return stored
