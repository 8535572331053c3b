"""Record actions: internal tasks, customer updates and tags (through the gateway), CRM sync."""
from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from automations.actions.base import Action, ActionContext, ActionError, outputs
from automations.actions.gateway import GatewayAction
from automations.conf import app_settings
from automations.durations import DURATION
from automations.durations import parse as parse_duration
from automations.models import Task
from automations.providers import get_provider
from automations.scope import to_json
from billing_events.errors import InvalidInput
from billing_events.gateway import get_gateway
from billing_events.gateway.operations import CUSTOMER_FIELDS


class CreateTask(Action):
    key = "create_task"
    family = "records"
    label = "Create task"
    description = "Create an internal task for the team, linked to the customer and invoice."
    config_schema = {
        "type": "object",
        "required": ["title"],
        "properties": {
            "title": {"type": "string", "minLength": 1, "description": "What to do."},
            "description": {"type": "string", "description": "Details for the person doing it."},
            "assignee": {"type": "string", "description": "Who does it (a name or a team)."},
            "due_in": {"type": "string", "description": "Due this long after the step runs, such as 2d."},
            "priority": {"enum": ["low", "normal", "high", "urgent"], "description": "Default: normal."},
        },
        "additionalProperties": False,
    }
    output_schema = outputs("task_id", "title", "assignee", "due_at")
    literal_fields = ("due_in", "priority")
    local = True

    def published_schema(self) -> dict[str, Any]:
        properties = self.config_schema["properties"]
        return {**self.config_schema, "properties": {**properties, "due_in": {"type": "string", "pattern": DURATION}}}

    def validate_config(self, config: dict[str, Any]) -> list[dict[str, str]]:
        if "due_in" in config:
            try:
                parse_duration(config["due_in"], field="config.due_in")
            except InvalidInput as exc:
                return exc.errors
        return []

    def _values(self, config: dict[str, Any], context: ActionContext) -> dict[str, Any]:
        due_at = context.now + parse_duration(config["due_in"]) if config.get("due_in") else None
        return {
            "title": config["title"][:300],
            "description": config.get("description", ""),
            "assignee": config.get("assignee", ""),
            "priority": config.get("priority", "normal"),
            "due_at": due_at,
            "customer_id": context.entity_id("customer", required=False),
            "invoice_id": context.entity_id("invoice", required=False),
        }

    def run(self, config: dict[str, Any], context: ActionContext) -> dict[str, Any]:
        values = self._values(config, context)
        if context.inline:  # committed with its step or not at all: no earlier attempt to look for
            # A database error here is left to rise: it rolls the whole attempt back (the engine
            # then fails the step, retryable), where an ActionError would commit with the step.
            task = Task(idempotency_key=context.idempotency_key, execution_id=context.execution_id, **values)
            task.skip_history_when_saving = True  # written with the step's log rows (see ActionContext)
            task.save(force_insert=True)
            del task.skip_history_when_saving
            context.history_on_commit.append(task)
            return self._output(task)
        try:
            # Look, then create, without get_or_create's savepoint: only the worker holding this
            # attempt's step run (unique) runs it, so no one else creates the key meanwhile; if
            # that ever failed, the unique key refuses the second task and the step is retried.
            with transaction.atomic():
                task = Task.objects.filter(idempotency_key=context.idempotency_key).first() or Task.objects.create(
                    idempotency_key=context.idempotency_key, execution_id=context.execution_id, **values)
        except IntegrityError as exc:
            raise ActionError(f"could not create the task: {exc}", retryable=True) from exc
        return self._output(task)

    def recover(self, context: ActionContext) -> dict[str, Any] | None:
        task = Task.objects.filter(idempotency_key=context.idempotency_key).first()
        return self._output(task) if task else None

    def predict(self, config: dict[str, Any], context: ActionContext) -> dict[str, Any]:
        values = self._values(config, context)
        values["due_at"] = values["due_at"].isoformat() if values["due_at"] else None
        return {"would_create_task": values}

    @staticmethod
    def _output(task) -> dict[str, Any]:
        return {"task_id": task.pk, "title": task.title, "assignee": task.assignee,
                "due_at": task.due_at.isoformat() if task.due_at else None}


class UpdateCustomer(GatewayAction):
    key = "update_customer"
    family = "records"
    label = "Update customer"
    description = "Set customer fields and metadata keys through the billing gateway."
    config_schema = {
        "type": "object",
        "properties": {
            "fields": {"type": "object", "propertyNames": {"enum": list(CUSTOMER_FIELDS)},
                       "description": "Customer fields to set (null removes a value)."},
            "metadata": {"type": "object", "description": "Metadata keys to merge (null removes a key)."},
        },
        "minProperties": 1,
        "additionalProperties": False,
    }
    output_schema = outputs("customer_id", "updated", "metadata")
    local_when_shared = True

    def call(self, config: dict[str, Any], context: ActionContext) -> dict[str, Any]:
        return get_gateway().update_customer(
            context.entity_id("customer"), fields=config.get("fields", {}),
            metadata=config.get("metadata", {}), idempotency_key=self.operation_key(context))

    def predict(self, config: dict[str, Any], context: ActionContext) -> dict[str, Any]:
        return {"would_call_gateway": {"operation": "update_customer", "customer_id": context.entity_id("customer"),
                                       **config}}


class AddTag(GatewayAction):
    key = "add_tag"
    family = "records"
    label = "Add tag"
    description = "Add a tag to the customer."
    config_schema = {"type": "object", "required": ["tag"],
                     "properties": {"tag": {"type": "string", "minLength": 1, "maxLength": 100,
                                            "description": "The tag to add, such as at-risk."}},
                     "additionalProperties": False}
    output_schema = outputs("customer_id", "tag", "added", "tags")
    local_when_shared = True

    def call(self, config: dict[str, Any], context: ActionContext) -> dict[str, Any]:
        tag = config["tag"].strip()
        if not tag:
            raise ActionError("config.tag rendered to an empty tag")
        return get_gateway().add_tag(context.entity_id("customer"), tag, idempotency_key=self.operation_key(context))

    def predict(self, config: dict[str, Any], context: ActionContext) -> dict[str, Any]:
        return {"would_call_gateway": {"operation": "add_tag", "customer_id": context.entity_id("customer"),
                                       "tag": config["tag"]}}


class SyncToCRM(Action):
    key = "sync_to_crm"
    family = "records"
    label = "Sync to CRM"
    description = "Upsert the customer (or invoice, subscription) record in the CRM."
    config_schema = {
        "type": "object",
        "properties": {"object": {"enum": ["customer", "invoice", "subscription"],
                                  "description": "Which record to send (default: customer)."},
                       "fields": {"type": "array", "items": {"type": "string"}, "minItems": 1,
                                  "description": "Fields to send (default: all)."}},
        "additionalProperties": False,
    }
    output_schema = outputs("object", "id", "status_code")
    literal_fields = ("object", "fields")

    def published_schema(self) -> dict[str, Any] | None:
        return self.config_schema if app_settings.CRM_PROVIDER else None  # unusable without a CRM

    def validate_config(self, config: dict[str, Any]) -> list[dict[str, str]]:
        if not app_settings.CRM_PROVIDER:
            return [{"field": "config", "message": "no CRM is configured: set AUTOMATIONS['CRM_PROVIDER']"}]
        return []

    def _record(self, config: dict[str, Any], context: ActionContext) -> tuple[str, str, dict[str, Any]]:
        object_type = config.get("object", "customer")
        record = context.variables[object_type] if object_type in context.variables else None
        if not isinstance(record, dict) or not record.get("id"):
            raise ActionError(f"this run has no {object_type} to sync")
        fields = config.get("fields")
        data = {name: record.get(name) for name in fields} if fields else dict(record)
        data["id"] = record["id"]
        return object_type, str(record["id"]), to_json(data)

    def run(self, config: dict[str, Any], context: ActionContext) -> dict[str, Any]:
        provider = get_provider("CRM_PROVIDER")
        if provider is None:
            raise ActionError("no CRM is configured: set AUTOMATIONS['CRM_PROVIDER']")
        object_type, object_id, data = self._record(config, context)
        return provider.upsert(object_type, object_id, data, idempotency_key=context.idempotency_key)

    def predict(self, config: dict[str, Any], context: ActionContext) -> dict[str, Any]:
        object_type, object_id, data = self._record(config, context)
        return {"would_sync_to_crm": {"object": object_type, "id": object_id, "data": data}}
