"""The variables a step sees, resolved lazily and fresh through the gateway.

``invoice.status`` read after a 3-day delay is the invoice's status now: entity roots are read
through the billing gateway the first time a step uses them (once per step), merged over the
trigger's snapshot so fields the billing system does not keep still resolve.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from automations.conditions import MISSING
from billing_events.card_links import card_update_link
from billing_events.gateway import BillingGateway, get_gateway


def _id_of(data: dict[str, Any], root: str, *fallbacks: tuple[str, str]) -> str | None:
    entity = data.get(root)
    if isinstance(entity, dict) and entity.get("id"):
        return str(entity["id"])
    for other_root, id_field in fallbacks:
        other = data.get(other_root)
        if isinstance(other, dict) and other.get(id_field):
            return str(other[id_field])
    return None


def with_card_update_link(customer: Any) -> Any:
    """The customer with the link to update their card, where there is one to give."""
    link = card_update_link(str(customer["id"])) if isinstance(customer, dict) and customer.get("id") else None
    return {**customer, "card_update_url": link} if link else customer


def to_json(value: Any) -> Any:
    """``value`` with Decimals, dates and other non-JSON types turned into JSON values."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


class Scope(Mapping):
    """A lazy mapping of variable roots to values, cached for the life of the scope (one step).

    What the gateway answered (customer, invoice, ...) is kept in ``billing``, which a run may share
    between its steps: the worker reads billing data once per pass, and again after an action that
    changed it."""

    def __init__(self, *, data: dict[str, Any], fixed: dict[str, Any], loop_vars: dict[str, Any],
                 gateway: BillingGateway | None = None, billing: dict[str, Any] | None = None) -> None:
        self.data = data
        self.gateway = gateway or get_gateway()
        self._fixed = fixed
        self._loop_vars = loop_vars
        self._billing = billing if billing is not None else {}
        self._cache: dict[str, Any] = {}
        self._loaders: dict[str, Callable[[], Any]] = {
            "customer": lambda: with_card_update_link(self._entity(
                "customer", self.gateway.get_customer, ("invoice", "customer_id"), ("payment", "customer_id"),
                ("subscription", "customer_id"))),
            "invoice": lambda: self._entity("invoice", self.gateway.get_invoice, ("payment", "invoice_id")),
            "subscription": lambda: self._entity("subscription", self.gateway.get_subscription,
                                                 ("invoice", "subscription_id")),
            "payment": lambda: self._entity("payment", self.gateway.get_payment),
            "credits": lambda: self._per_customer("credits", lambda cid: self.gateway.get_credits(cid)),
            "usage": lambda: self._per_customer(
                "usage", lambda cid: self.gateway.get_usage(cid, (self.data.get("usage") or {}).get("metric"))),
        }

    def with_variable(self, name: str, value: Any) -> Scope:
        """A scope that also has ``name`` (a loop variable), sharing this one's other values."""
        scope = Scope(data=self.data, fixed=self._fixed, loop_vars={**self._loop_vars, name: value},
                      gateway=self.gateway, billing=self._billing)
        return scope

    def _entity(self, root: str, read: Callable[[str], dict | None], *fallbacks: tuple[str, str]) -> Any:
        snapshot = self.data.get(root)
        entity_id = _id_of(self.data, root, *fallbacks)
        fresh = read(entity_id) if entity_id else None
        if fresh is None:
            return snapshot if snapshot is not None else MISSING
        return {**snapshot, **fresh} if isinstance(snapshot, dict) else fresh

    def _per_customer(self, root: str, read: Callable[[str], dict | None]) -> Any:
        customer = self["customer"] if "customer" in self else None
        fresh = read(str(customer["id"])) if isinstance(customer, dict) and customer.get("id") else None
        snapshot = self.data.get(root)
        if fresh is None:
            return snapshot if snapshot is not None else MISSING
        return {**snapshot, **fresh} if isinstance(snapshot, dict) else fresh

    def _load(self, root: str) -> Any:
        if root in self._loop_vars:
            return self._loop_vars[root]
        if root in self._fixed:
            return self._fixed[root]
        loader = self._loaders.get(root)
        if loader is None:
            return MISSING
        if root in ("credits", "usage") and "customer" in self._loop_vars:
            return loader()  # the loop's customer: not the run's, so not kept for later steps
        if root not in self._billing:
            self._billing[root] = loader()
        return self._billing[root]

    def __getitem__(self, root: str) -> Any:
        if root not in self._cache:
            self._cache[root] = self._load(root)
        value = self._cache[root]
        if value is MISSING:
            raise KeyError(root)
        return value

    def __contains__(self, root: object) -> bool:
        try:
            self[root]  # type: ignore[index]
        except KeyError:
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        return iter([*self._loop_vars, *self._fixed, *self._loaders])

    def __len__(self) -> int:
        return len(list(iter(self)))

    def resolve(self, path: str) -> Any:
        """The value at a dotted path (``invoice.status``, ``items.0.amount``), or ``MISSING``."""
        root, *rest = path.split(".")
        try:
            value = self[root]
        except KeyError:
            return MISSING
        for part in rest:
            if isinstance(value, Mapping):
                value = value.get(part, MISSING)
            elif isinstance(value, list) and part.lstrip("-").isdigit() and -len(value) <= int(part) < len(value):
                value = value[int(part)]
            else:
                return MISSING
            if value is MISSING:
                return MISSING
        return value


@dataclass
class UnstoredRun:
    """The parts of an execution that variables come from, for a run with no row (entry
    conditions before the execution exists, test mode)."""

    automation_id: int | None
    trigger: dict[str, Any]
    data: dict[str, Any]
    started_at: datetime
    outputs: dict[str, Any] = field(default_factory=dict)
    pk: None = None


def build_scope(execution: Any, *, now: datetime, loop_vars: dict[str, Any] | None = None,
                billing: dict[str, Any] | None = None) -> Scope:
    """The variables of a step of ``execution`` (an Execution, or an :class:`UnstoredRun`);
    ``billing`` keeps what the gateway answered across the steps of a run (see :class:`Scope`)."""
    trigger = execution.trigger or {}
    fixed = {
        "event": {"id": trigger.get("event_id"), "type": trigger.get("event_type", trigger.get("type")),
                  "occurred_at": trigger.get("occurred_at"), "data": execution.data},
        "automation": {"id": execution.automation_id, "name": trigger.get("automation_name", ""),
                       "version": trigger.get("version")},
        "execution": {"id": execution.pk, "started_at": execution.started_at},
        "steps": {key: {"output": output} for key, output in (execution.outputs or {}).items()},
        "trigger": trigger,
        "now": now,
    }
    if trigger.get("slot"):
        fixed["schedule"] = {"slot": trigger["slot"]}
    return Scope(data=execution.data or {}, fixed=fixed, loop_vars=loop_vars or {}, billing=billing)
