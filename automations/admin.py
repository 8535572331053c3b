"""Admin for automations, executions (with their step log), email templates and tasks.

Editing goes through ``automations.services``, the same functions the API and the builder use, so
the admin validates definitions exactly as they do.
"""
from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from simple_history.admin import SimpleHistoryAdmin

from automations import library, services
from automations.actions import registry
from automations.models import Automation, EmailTemplate, Execution, Secret, StepRun, Task
from automations.secrets import mask_config, mask_definition, unmask_definition
from automations.status import LIVE_STATUSES
from billing_events.conf import app_settings
from billing_events.errors import InvalidInput


def pretty_json(value: Any) -> str:
    return format_html("<pre style='white-space:pre-wrap;margin:0'>{}</pre>",
                       json.dumps(value, indent=2, sort_keys=True, default=str))


class AutomationForm(forms.ModelForm):
    template = forms.ChoiceField(
        required=False, label="Start from template",
        help_text="Leave the definition empty to start from a pre-built template.",
    )
    definition = forms.JSONField(
        required=False, widget=forms.Textarea(attrs={"rows": 30, "cols": 110, "style": "font-family:monospace"}),
        help_text="The canonical definition JSON. Saving edits the draft version; activate it to put it live.",
    )

    class Meta:
        model = Automation
        fields: list[str] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["template"].choices = [("", "---")] + [
            (key, library.get_template(key)["title"]) for key in library.template_keys()]
        if self.instance.pk:
            del self.fields["template"]
            self.fields["definition"].required = True
            self.initial["definition"] = mask_definition(services.current_definition(self.instance))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        definition, template = cleaned.get("definition"), cleaned.get("template")
        if not definition and not template:
            raise forms.ValidationError("Give a definition or choose a template.")
        if definition:
            from automations.definition import validate_definition

            current = services.current_definition(self.instance) if self.instance.pk else None
            try:
                cleaned["definition"] = validate_definition(unmask_definition(definition, current))
            except InvalidInput as exc:
                self.add_error("definition", [InvalidInput.format(error) for error in exc.errors])
        return cleaned


@admin.register(Automation)
class AutomationAdmin(SimpleHistoryAdmin):
    form = AutomationForm
    list_display = ("name", "status_badge", "trigger_summary", "active_version_number", "live_executions",
                    "next_run", "toggle")
    list_filter = ("is_paused", "trigger_type", "trigger_event")
    search_fields = ("name", "description")
    readonly_fields = ("name", "description", "status_badge", "active_version_number", "versions_table")
    change_form_template = "admin/automations/automation/change_form.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("active_version", "schedule_state").annotate(
            live=Count("executions", filter=Q(executions__status__in=LIVE_STATUSES)))

    def get_fieldsets(self, request: HttpRequest, obj: Any = None):
        if obj is None:
            return [(None, {"fields": ("template", "definition")})]
        return [(None, {"fields": ("name", "description", "status_badge", "active_version_number")}),
                ("Draft definition", {"fields": ("definition",)}),
                ("Versions", {"fields": ("versions_table",)})]

    @admin.display(description="versions")
    def versions_table(self, obj: Automation) -> str:
        rows = format_html_join(
            "", "<tr><td>v{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((v.number, v.state, v.created_by or "—", v.created_at.strftime("%Y-%m-%d %H:%M"),
              v.activated_at.strftime("%Y-%m-%d %H:%M") if v.activated_at else "—")
             for v in obj.versions.select_related("created_by").order_by("-number")),
        )
        return format_html("<table><tr><th>version</th><th>state</th><th>author</th><th>created</th>"
                           "<th>activated</th></tr>{}</table>", rows)

    @admin.display(description="status")
    def status_badge(self, obj: Automation) -> str:
        colours = {"active": "#1a7f37", "paused": "#9a6700", "draft": "#57606a"}
        return format_html("<b style='color:{}'>{}</b>", colours[obj.status], obj.status)

    @admin.display(description="trigger")
    def trigger_summary(self, obj: Automation) -> str:
        version = obj.active_version
        trigger = (version.snapshot or {}).get("trigger") if version else None
        if not trigger:
            return "—"
        if trigger["type"] == "event":
            return f"event {trigger['event']}"
        if trigger["type"] == "schedule":
            return f"schedule ({trigger['schedule'].get('kind')})"
        return "manual"

    @admin.display(description="next scheduled run")
    def next_run(self, obj: Automation) -> str:
        state = getattr(obj, "schedule_state", None)
        if state is None or state.next_at is None or obj.is_paused:
            return "—"
        return state.next_at.strftime("%Y-%m-%d %H:%M UTC")

    @admin.display(description="active version")
    def active_version_number(self, obj: Automation) -> str:
        return f"v{obj.active_version.number}" if obj.active_version else "—"

    @admin.display(description="running / waiting")
    def live_executions(self, obj: Automation) -> str:
        url = reverse("admin:automations_execution_changelist") + f"?automation__id__exact={obj.pk}"
        return format_html("<a href='{}'>{}</a>", url, getattr(obj, "live", 0))

    @admin.display(description="pause / resume")
    def toggle(self, obj: Automation) -> str:
        if obj.active_version_id is None:
            return "—"
        action = "resume" if obj.is_paused else "pause"
        url = reverse(f"admin:automations_automation_{action}", args=[obj.pk])
        # Submits the changelist's own form (and its CSRF token) to the pause/resume view.
        return format_html("<button type='submit' class='button' formaction='{}' name='toggle'>{}</button>",
                           url, action.title())

    def save_model(self, request: HttpRequest, obj: Automation, form: AutomationForm, change: bool) -> None:
        definition = form.cleaned_data.get("definition")
        if change:
            if definition != services.current_definition(obj):
                services.update_draft(obj, definition, user=request.user)
            return
        if definition:
            created = services.create_automation(definition, user=request.user)
        else:
            created = library.instantiate(form.cleaned_data["template"], user=request.user)
        obj.pk = created.pk
        obj.refresh_from_db()

    def get_urls(self):
        urls = [
            path("<int:pk>/activate/", self.admin_site.admin_view(self.activate_view),
                 name="automations_automation_activate"),
            path("<int:pk>/pause/", self.admin_site.admin_view(self.pause_view), name="automations_automation_pause"),
            path("<int:pk>/resume/", self.admin_site.admin_view(self.resume_view),
                 name="automations_automation_resume"),
        ]
        return urls + super().get_urls()

    def _post_only(self, request: HttpRequest, pk: int) -> Automation | None:
        automation = get_object_or_404(Automation, pk=pk)
        if request.method != "POST" or not self.has_change_permission(request, automation):
            self.message_user(request, "Not allowed.", messages.ERROR)
            return None
        return automation

    def _back(self, request: HttpRequest, automation: Automation) -> HttpResponseRedirect:
        default = reverse("admin:automations_automation_change", args=[automation.pk])
        target = request.META.get("HTTP_REFERER") or default
        return HttpResponseRedirect(target if url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}) else default)

    def activate_view(self, request: HttpRequest, pk: int) -> HttpResponseRedirect:
        automation = self._post_only(request, pk)
        if automation is not None:
            try:
                version = services.activate(automation, user=request.user)
            except InvalidInput as exc:
                self.message_user(request, f"Not activated: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"Version {version.number} is now active.", messages.SUCCESS)
        return self._back(request, automation or get_object_or_404(Automation, pk=pk))

    def pause_view(self, request: HttpRequest, pk: int) -> HttpResponseRedirect:
        automation = self._post_only(request, pk)
        if automation is not None:
            services.pause(automation)
            self.message_user(request, f"{automation} is paused: it starts no new executions.")
        return self._back(request, automation or get_object_or_404(Automation, pk=pk))

    def resume_view(self, request: HttpRequest, pk: int) -> HttpResponseRedirect:
        automation = self._post_only(request, pk)
        if automation is not None:
            services.resume(automation)
            self.message_user(request, f"{automation} is active again.")
        return self._back(request, automation or get_object_or_404(Automation, pk=pk))


class StepRunInline(admin.TabularInline):
    model = StepRun
    fields = ("step_key", "step_type", "action", "loop_index", "attempt", "status", "started_at", "finished_at",
              "input_json", "output_json", "error")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("started_at", "pk")

    @admin.display(description="input")
    def input_json(self, obj: StepRun) -> str:
        if not isinstance(obj.input, dict):
            return pretty_json(obj.input) if obj.input is not None else "—"
        action = registry.get(obj.action)  # masked when logged; again for rows logged by older versions
        return pretty_json(mask_config(obj.input, action.secret_fields if action else ()))

    @admin.display(description="output")
    def output_json(self, obj: StepRun) -> str:
        return pretty_json(obj.output) if obj.output is not None else "—"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Execution)
class ExecutionAdmin(admin.ModelAdmin):
    list_display = ("id", "automation", "version_label", "status", "trigger_label", "started_at", "wake_at",
                    "finished_at")
    list_filter = ("status", "automation", ("started_at", admin.DateFieldListFilter))
    search_fields = ("=id", "correlation_value", "event__id", "automation__name")
    list_select_related = ("automation", "version")
    date_hierarchy = "started_at"
    inlines = [StepRunInline]
    actions = ["cancel_selected"]
    fields = ("automation", "version_label", "status", "status_reason", "error", "trigger_label", "trigger_json",
              "data_json", "correlation_value", "started_at", "wake_at", "finished_at", "outputs_json", "cursor")
    readonly_fields = fields

    @admin.display(description="version")
    def version_label(self, obj: Execution) -> str:
        return f"v{obj.version.number}"

    @admin.display(description="trigger")
    def trigger_label(self, obj: Execution) -> str:
        trigger = obj.trigger or {}
        if trigger.get("type") == "event":
            return f"{trigger.get('event_type')} ({trigger.get('event_id')})"
        if trigger.get("type") == "manual":
            return f"manual by {trigger.get('user') or 'system'}"
        return f"{trigger.get('type')} {trigger.get('slot', '')}".strip()

    @admin.display(description="trigger details")
    def trigger_json(self, obj: Execution) -> str:
        return pretty_json(obj.trigger)

    @admin.display(description="data")
    def data_json(self, obj: Execution) -> str:
        return pretty_json(obj.data)

    @admin.display(description="step outputs")
    def outputs_json(self, obj: Execution) -> str:
        return pretty_json(obj.outputs)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Cancel selected running or waiting executions", permissions=["view"])
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        canceled = sum(services.cancel_execution(execution, f"canceled by {request.user.get_username()}")
                       for execution in queryset.filter(status__in=LIVE_STATUSES))
        self.message_user(request, f"{canceled} execution(s) canceled.")


@admin.register(EmailTemplate)
class EmailTemplateAdmin(SimpleHistoryAdmin):
    list_display = ("key", "name", "subject", "updated_at")
    search_fields = ("key", "name", "subject")


@admin.register(Task)
class TaskAdmin(SimpleHistoryAdmin):
    list_display = ("title", "assignee", "priority", "status", "due_at", "customer_id", "invoice_id", "execution")
    list_filter = ("status", "priority", "assignee")
    list_editable = ("status",)
    search_fields = ("title", "customer_id", "invoice_id")
    raw_id_fields = ("execution",)
    readonly_fields = ("idempotency_key", "created_at")


class SecretForm(forms.ModelForm):
    """The value is write-only: a password field that never shows what is stored."""

    value = forms.CharField(widget=forms.PasswordInput(render_value=False), required=False, strip=False,
                            help_text="Write-only. Leave empty to keep the stored value.")

    class Meta:
        model = Secret
        fields = ["name", "description"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not self.instance.pk and not cleaned.get("value"):
            self.add_error("value", "A new secret needs a value.")
        if cleaned.get("name") in app_settings.SECRETS:
            self.add_error("name", "This name is defined in AUTOMATIONS['SECRETS'], which wins over the table.")
        return cleaned


@admin.register(Secret)
class SecretAdmin(SimpleHistoryAdmin):
    form = SecretForm
    list_display = ("name", "description", "updated_at", "updated_by")
    search_fields = ("name", "description")
    readonly_fields = ("created_at", "updated_at", "created_by", "updated_by")

    def get_fields(self, request: HttpRequest, obj: Any = None):
        return ["name", "description", "value", *(self.readonly_fields if obj else [])]

    def save_model(self, request: HttpRequest, obj: Secret, form: SecretForm, change: bool) -> None:
        if form.cleaned_data.get("value"):
            obj.set_value(form.cleaned_data["value"])
        obj.updated_by = request.user
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
