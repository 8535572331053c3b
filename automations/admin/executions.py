"""Admin for executions: a list with automation, status, what the run is for and why it ended, and a
page that draws the run on its automation's flow (the run view) above its step log, in words (the
engine's keys stay in small code elements for engineers). Cancel takes a reason, one run at a time
from its page or several from the list. Executions are never deleted here: the step log is the
audit trail."""
from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator

from automations import run_words, services
from automations.actions import registry
from automations.admin.pages import breadcrumbs, page_config, strict
from automations.errors import StateConflict
from billing_events.errors import Refused
from automations.models import Execution
from automations.masking import mask_config
from automations.status import LIVE_STATUSES, ExecutionStatus
from automations.step_log import log_rows
from automations.steps.cursor import program_for
from automations.trigger_kinds import trigger_kinds

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

    title = "invoice or customer under way"
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

    @admin.display(description="for", ordering="correlation_value")
    def correlation(self, obj: Execution) -> str:
        """The invoice or customer the run is for (its correlation value), a link to its other runs."""
        if not obj.correlation_value:
            return "—"
        return format_html("<a href='?correlation_value={}' title='{}'>{}</a>", obj.correlation_value,
                           f"All runs for {obj.correlation_value}", obj.correlation_value)

    @admin.display(description="why it ended")
    def reason(self, obj: Execution) -> str:
        text = run_words.ended(obj, short=True) if obj.status not in LIVE_STATUSES else ""
        if not text:
            return "—"
        return format_html("<span title='{}'>{}</span>", text, Truncator(text).chars(90))

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
        """The status in words with its moment: until when a run waits, when it ended; a run that
        went on past a declined payment says so ("Completed, payment declined")."""
        label = run_words.status(obj)
        if obj.finished_at:
            return format_html("{}<br><small>{}</small>", label, _short_time(obj.finished_at))
        if obj.status == "waiting" and obj.wake_at:
            return format_html("{}<br><small>until {}</small>", label, _short_time(obj.wake_at))
        return label

    def trigger_label(self, obj: Execution) -> str:
        trigger = obj.trigger or {}
        if trigger.get("type") == "event":
            return f"{trigger.get('event_type')} ({trigger.get('event_id')})"
        if trigger.get("type") == "manual":
            return f"started by hand by {trigger.get('user') or 'a script'}"
        if trigger.get("type") == "schedule":
            return f"on schedule, {trigger.get('slot', '')}".strip(", ")
        kind = trigger_kinds.get(trigger.get("type"))
        return kind.label if kind else str(trigger.get("type") or "—")

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
        definition = execution.version.snapshot or {}
        event_url = (reverse("admin:billing_events_event_change", args=[execution.event_id])
                     if execution.event_id else "")
        context = {
            **self.admin_site.each_context(request), "opts": self.model._meta, "original": execution,
            "title": f"Execution #{execution.pk} of {execution.automation}",
            "status_label": run_words.status(execution), "reason_label": run_words.reason(execution),
            "status_class": ("declined" if execution.status == ExecutionStatus.SUCCEEDED and run_words.not_moved(execution)
                             else execution.status),
            "correlation_key": definition.get("correlation_key", ""), "event_url": event_url,
            "trigger_label": self.trigger_label(execution), "rows": [
                {**row, "input": _json(_masked_input(row["run"])) if row["run"] else None,
                 "output": _json(row["run"].output) if row["run"] else None,
                 "step": _step_label(row["run"], program_for(execution.version).steps) if row["run"] else None}
                for row in log_rows(execution)],
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

    @admin.action(description="Cancel selected running or waiting executions…", permissions=["cancel"])
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet) -> TemplateResponse | None:
        """Asks for the reason first (a page listing the runs), then cancels them with it."""
        live = list(queryset.filter(status__in=LIVE_STATUSES).select_related("automation", "version"))
        form = CancelForm(request.POST if "confirm" in request.POST else None)
        if not live:
            self.message_user(request, "None of the selected executions is running or waiting: nothing to cancel.",
                              level=messages.WARNING)
            return None
        if form.is_bound and form.is_valid():
            canceled = sum(services.cancel_by(execution, request.user, where=services.IN_THE_ADMIN,
                                              reason=form.cleaned_data["reason"]) for execution in live)
            self.message_user(request, f"{canceled} execution(s) canceled: {form.cleaned_data['reason']}")
            return None
        context = {
            **self.admin_site.each_context(request), "opts": self.model._meta, "form": form,
            "title": f"Cancel {len(live)} execution{'s' if len(live) != 1 else ''}?",
            "runs": [(execution, run_words.status(execution)) for execution in live],
            "selected": [execution.pk for execution in queryset], "action": "cancel_selected",
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            **breadcrumbs(("Executions", reverse("admin:automations_execution_changelist")), ("Cancel", None)),
        }
        return TemplateResponse(request, "admin/automations/execution/cancel_selected.html", context)

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
        except Refused as exc:
            return JsonResponse({"errors": exc.errors}, status=exc.status_code)
        return JsonResponse({"id": execution.pk, "status": execution.status, "status_reason": execution.status_reason})

    def cancel_view(self, request: HttpRequest, pk: int) -> JsonResponse:
        def cancel(execution: Execution, body: dict[str, Any]) -> None:
            if not services.cancel_by(execution, request.user, where=services.IN_THE_ADMIN,
                                      reason=body.get("reason", "")):
                raise StateConflict(f"the execution has already ended ({execution.get_status_display().lower()})",
                                    field="status")
        return self._button(request, pk, cancel)

    def resume_now_view(self, request: HttpRequest, pk: int) -> JsonResponse:
        return self._button(request, pk, lambda execution, body: services.resume_now(
            execution, request.user, where=services.IN_THE_ADMIN))


class CancelForm(forms.Form):
    reason = forms.CharField(
        label="Reason (recorded with your name)", max_length=services.CANCEL_REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        error_messages={"required": "Say why these runs are canceled: the reason is recorded with your name."})


def _step_label(run: Any, steps: dict[str, Any]) -> dict[str, str]:
    """A log row's step as a person reads it: its name (or key) and what kind of step it is."""
    step = steps.get(run.step_key) or {}
    action = registry.get(run.action) if run.action else None
    kind = (action.label or action.key) if action else STEP_TYPE_LABELS.get(run.step_type, run.step_type.capitalize())
    return {"name": step.get("name") or "", "kind": kind, "key": run.action or run.step_type}


#: What each kind of step is called on the run page (an action step is called by its action's label).
STEP_TYPE_LABELS = {"delay": "Delay", "branch": "Branch", "loop": "Loop", "stop": "Stop", "wait_for": "Wait for an event",
                    "approval": "Approval"}
