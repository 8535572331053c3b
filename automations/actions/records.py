"""Record actions: internal tasks (more record actions join this module)."""
from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from automations.actions.base import Action, ActionContext, ActionError
from automations.durations import parse as parse_duration
from billing_events.errors import InvalidInput


def _entity_id(context: ActionContext, root: str) -> str:
    try:
        value = context.variables[root]
    except (KeyError, LookupError):
        return ""
    return str(value.get("id", "")) if isinstance(value, dict) else ""


class CreateTask(Action):
    key = "create_task"
    family = "records"
    label = "Create task"
    description = "Create an internal task for the team, linked to the customer and invoice."
    config_schema = {
        "type": "object",
        "required": ["title"],
        "properties": {
            "title": {"type": "string", "minLength": 1},
            "description": {"type": "string"},
            "assignee": {"type": "string"},
            "due_in": {"type": "string"},
            "priority": {"enum": ["low", "normal", "high", "urgent"]},
        },
        "additionalProperties": False,
    }
    literal_fields = ("due_in", "priority")

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
            "customer_id": _entity_id(context, "customer"),
            "invoice_id": _entity_id(context, "invoice"),
        }

    def run(self, config: dict[str, Any], context: ActionContext) -> dict[str, Any]:
        from automations.models import Task

        values = self._values(config, context)
        try:
            with transaction.atomic():
                task, _ = Task.objects.get_or_create(
                    idempotency_key=context.idempotency_key,
                    defaults={**values, "execution_id": context.execution_id},
                )
        except IntegrityError as exc:
            raise ActionError(f"could not create the task: {exc}", retryable=True) from exc
        return self._output(task)

    def recover(self, context: ActionContext) -> dict[str, Any] | None:
        from automations.models import Task

        task = Task.objects.filter(idempotency_key=context.idempotency_key).first()
        return self._output(task) if task else None

    def preview(self, config: dict[str, Any], context: ActionContext) -> dict[str, Any]:
        values = self._values(config, context)
        values["due_at"] = values["due_at"].isoformat() if values["due_at"] else None
        return {"would_create_task": values}

    @staticmethod
    def _output(task) -> dict[str, Any]:
        return {"task_id": task.pk, "title": task.title, "assignee": task.assignee,
                "due_at": task.due_at.isoformat() if task.due_at else None}
