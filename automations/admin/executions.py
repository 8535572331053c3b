"""Admin for executions: a list with automation, status, correlation value and reason, and a page
that draws the run on its automation's flow (the run view) above its step log. Executions are
never deleted here: the step log is the audit trail."""
from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator

from automations import services
from automations.actions import registry
from automations.admin.pages import breadcrumbs, page_config, strict
from automations.errors import StateConflict
from billing_events.errors import InvalidInput
from automations.models import Execution
from automations.secrets import mask_config
from automations.status import LIVE_STATUSES
from automations.step_log import log_rows

REASONS = {
    "exit": ("Ended by an exit event", {"status_reason__startswith": "exit_on:"}),
    "stop": ("Ended at a stop step", {"status_reason__startswith": "stopped at step"}),
    "person": ("Canceled by a person", {"status": "canceled", "status_reason__startswith": "canceled"}),
    "error": ("Failed with an error", {"status": "failed"}),
}


class ReasonFilter(admin.SimpleListFilter):
    title = "reason"
    parameter_name = "reason"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(key, label) for key, (label, _) in REASONS.items()]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in REASONS:
            return queryset.filter(**REASONS[self.value()][1])
        return queryset


class CorrelationFilter(admin.SimpleListFilter):
    """The correlation values of the runs still live (the customers and invoices under way)."""

    title = "correlation value"
    parameter_name = "correlation_value"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        values = (Execution.objects.filter(status__in=LIVE_STATUSES).exclude(correlation_value="")
                  .order_by("correlation_value").values_list("correlation_value", flat=True).distinct()[:30])
        return [(value, value) for value in values]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(correlation_value=self.value()) if self.value() else queryset


def _short_time(moment: Any) -> str:
    return timezone.localtime(moment).strftime("%b %d %H:%M") if moment else "—"


def _masked_input(run: Any) -> Any:
    """A step's logged input with its secrets masked (again: rows logged by older versions)."""
    if not isinstance(run.input, dict):
        return run.input
    action = registry.get(run.action)
    return mask_config(run.input, action.secret_fields if action else ())


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, indent=2, sort_keys=True, default=str)


def pretty_json(value: Any) -> str:
    return format_html("<pre class='ab-pre'>{}</pre>", json.dumps(value, indent=2, sort_keys=True, default=str))


@admin.register(Execution)
class ExecutionAdmin(admin.ModelAdmin):
    list_display = ("id", "automation_version", "status_when", "correlation", "reason", "trigger_short", "started")
    list_display_links = ("id",)
    list_filter = ("status", "automation", CorrelationFilter, ReasonFilter, ("started_at", admin.DateFieldListFilter))
    search_fields = ("=id", "correlation_value", "event__id", "automation__name")
    list_select_related = ("automation", "version")
    date_hierarchy = "started_at"
    actions = ["cancel_selected"]

    class Media:
        css = {"all": ["automations/admin.css"]}

    @admin.display(description="automation", ordering="automation__name")
    def automation_version(self, obj: Execution) -> str:
        return f"{obj.automation} v{obj.version.number}"

    @admin.display(description="correlation", ordering="correlation_value")
    def correlation(self, obj: Execution) -> str:
        if not obj.correlation_value:
            return "—"
        return format_html("<a href='?correlation_value={}'>{}</a>", obj.correlation_value, obj.correlation_value)

    @admin.display(description="reason")
    def reason(self, obj: Execution) -> str:
        text = obj.status_reason or obj.error
        if not text:
            return "—"
        # "exit_on: invoice.paid (evt_…) for inv_1" reads "exit: invoice.paid"; the whole text on hover.
        short = f"exit: {text.split()[1]}" if text.startswith("exit_on:") and len(text.split()) > 1 else text
        return format_html("<span title='{}'>{}</span>", text, Truncator(short).chars(40))

    @admin.display(description="trigger")
    def trigger_short(self, obj: Execution) -> str:
        """The event type (its id on hover), the slot, or who ran it: short enough for the list."""
        trigger = obj.trigger or {}
        if trigger.get("type") == "event":
            return format_html("<span title='{}'>{}</span>", trigger.get("event_id"), trigger.get("event_type"))
        return self.trigger_label(obj)

    @admin.display(description="started", ordering="started_at")
    def started(self, obj: Execution) -> str:
        return _short_time(obj.started_at)

    @admin.display(description="status", ordering="status")
    def status_when(self, obj: Execution) -> str:
        """The status with its moment: until when a run waits, when it ended."""
        if obj.finished_at:
            return format_html("{}<br><small>{}</small>", obj.get_status_display(), _short_time(obj.finished_at))
        if obj.status == "waiting" and obj.wake_at:
            return format_html("{}<br><small>until {}</small>", obj.get_status_display(), _short_time(obj.wake_at))
        return obj.get_status_display()

    def trigger_label(self, obj: Execution) -> str:
        trigger = obj.trigger or {}
        if trigger.get("type") == "event":
            return f"{trigger.get('event_type')} ({trigger.get('event_id')})"
        if trigger.get("type") == "manual":
            return f"manual by {trigger.get('user') or 'system'}"
        return f"{trigger.get('type')} {trigger.get('slot', '')}".strip()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the step log is the audit trail

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict | None = None) -> HttpResponse:
        execution = get_object_or_404(Execution.objects.select_related("automation", "version", "event"), pk=object_id)
        if not self.has_view_permission(request, execution):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request), "opts": self.model._meta, "original": execution,
            "title": f"Execution #{execution.pk} of {execution.automation}",
            "trigger_label": self.trigger_label(execution), "rows": [
                {**row, "input": _json(_masked_input(row["run"])) if row["run"] else None,
                 "output": _json(row["run"].output) if row["run"] else None} for row in log_rows(execution)],
            "raw": [("trigger", pretty_json(execution.trigger)), ("data", pretty_json(execution.data)),
                    ("step outputs", pretty_json(execution.outputs)), ("cursor", pretty_json(execution.cursor))],
            "config": page_config(request, executionId=execution.pk, automationId=execution.automation_id,
                                  actions={name: reverse(f"admin:automations_execution_{name}", args=[execution.pk])
                                           for name in ("cancel", "resume_now")}),
            **breadcrumbs(("Executions", reverse("admin:automations_execution_changelist")), (f"#{execution.pk}", None)),
        }
        return strict(TemplateResponse(request, "admin/automations/execution/run.html", context))

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("automations.change_execution")

    @admin.action(description="Cancel selected running or waiting executions", permissions=["cancel"])
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        canceled = sum(services.cancel_by(execution, request.user, where=services.IN_THE_ADMIN)
                       for execution in queryset.filter(status__in=LIVE_STATUSES))
        self.message_user(request, f"{canceled} execution(s) canceled.")

    # -- the run view's buttons: done here, so the recorded reason says "in the admin" ---------------

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/cancel/", view(self.cancel_view), name="automations_execution_cancel"),
            path("<int:pk>/resume-now/", view(self.resume_now_view), name="automations_execution_resume_now"),
        ] + super().get_urls()

    def _button(self, request: HttpRequest, pk: int, press: Any) -> JsonResponse:
        """A POST from the run view (its CSRF token in X-CSRFToken, a JSON object as its body):
        ``press(execution, body)`` as the user, answered as the API answers (the execution's status,
        or a 409 saying why not)."""
        if request.method != "POST":
            return JsonResponse({"errors": [{"field": "", "message": "use POST"}]}, status=405)
        if not self.has_cancel_permission(request):
            raise PermissionDenied
        execution = get_object_or_404(Execution, pk=pk)
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return JsonResponse({"errors": [{"field": "", "message": "must be a JSON object"}]}, status=400)
        try:
            press(execution, body)
        except InvalidInput as exc:
            return JsonResponse({"errors": exc.errors}, status=409 if isinstance(exc, StateConflict) else 400)
        return JsonResponse({"id": execution.pk, "status": execution.status, "status_reason": execution.status_reason})

    def cancel_view(self, request: HttpRequest, pk: int) -> JsonResponse:
        def cancel(execution: Execution, body: dict[str, Any]) -> None:
            reason = body.get("reason", "")
            if not isinstance(reason, str) or len(reason) > 400:
                raise InvalidInput("must be text of at most 400 characters", field="reason")
            if not services.cancel_by(execution, request.user, where=services.IN_THE_ADMIN, reason=reason):
                raise StateConflict(f"the execution has already ended ({execution.status})", field="status")
        return self._button(request, pk, cancel)

    def resume_now_view(self, request: HttpRequest, pk: int) -> JsonResponse:
        return self._button(request, pk, lambda execution, body: services.resume_now(
            execution, request.user, where=services.IN_THE_ADMIN))
