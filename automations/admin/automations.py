"""Admin for automations: the list (with pause/resume and the builder), the builder page, "Add
automation" (blank or from a library template in the builder, unsaved until saved there, or from
pasted JSON), versions, and the History page listing draft revisions with their changes and Restore."""
from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.http import url_has_allowed_host_and_scheme

from automations import library, services
from automations.admin.pages import breadcrumbs, page_config, strict
from automations.admin.usage import CallsHostFilter, used_by
from automations.definition import index, validate_definition
from automations.models import Automation, EmailTemplate, ReferenceKind, Secret
from automations.outcomes.figures import recent_recovered, with_recent_figures
from automations.templating import money
from automations.overlaps import same_event_warnings
from automations.revisions import list_revisions, restore_note
from automations.secrets import mask_definition, unmask_definition
from automations.status import LIVE_STATUSES
from automations.trigger_kinds import trigger_kinds
from billing_events.errors import InvalidInput, Refused


class DefinitionField(forms.JSONField):
    """The definition as JSON: a parse error is one clear message, not followed by others."""

    default_error_messages = {"invalid": "This is not valid JSON: %(error)s."}

    def prepare_value(self, value: Any) -> Any:
        return "" if value is None else super().prepare_value(value)

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str) and value.strip():
            try:
                json.loads(value)
            except json.JSONDecodeError as exc:
                raise forms.ValidationError(self.error_messages["invalid"], code="invalid",
                                            params={"error": f"{exc.msg} (line {exc.lineno}, column {exc.colno})"})
        return super().to_python(value)


class AutomationForm(forms.ModelForm):
    """The JSON view of an automation's definition (the builder page is the usual editor)."""

    definition = DefinitionField(
        required=True, widget=forms.Textarea(attrs={"rows": 30, "cols": 110, "class": "ab-json-field"}),
        help_text="The canonical definition JSON (the API's). Saved as the draft version; activate it to put it live.",
    )

    class Meta:
        model = Automation
        fields: list[str] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["definition"] = mask_definition(services.current_definition(self.instance))

    def clean_definition(self) -> dict[str, Any]:
        definition = self.cleaned_data["definition"]
        # Secrets shown masked come back masked: the stored value is kept only where it may be.
        current = services.current_definition(self.instance) if self.instance.pk else None
        try:
            return validate_definition(unmask_definition(definition, current))
        except Refused as exc:
            raise forms.ValidationError([InvalidInput.format(error) for error in exc.errors]) from exc


@admin.register(Automation)
class AutomationAdmin(admin.ModelAdmin):
    form = AutomationForm
    list_display = ("name", "status_badge", "trigger_summary", "live_executions", "last_30_days", "next_run",
                    "builder_link", "toggle")
    list_filter = ("is_paused", "trigger_type", "trigger_event", CallsHostFilter)
    search_fields = ("name", "description")
    readonly_fields = ("name", "description", "status_badge", "active_version_number", "versions_table",
                       "refers_to")
    change_form_template = "admin/automations/automation/change_form.html"

    class Media:
        css = {"all": ["automations/admin.css"]}

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return with_recent_figures(super().get_queryset(request).select_related("active_version", "schedule_state")
                                   .annotate(live=Count("executions", filter=Q(executions__status__in=LIVE_STATUSES))))

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        changelist = super().get_changelist_instance(request)
        page = list(changelist.result_list)  # evaluated once: the list's rows are these objects
        recovered = recent_recovered([automation.pk for automation in page])
        for automation in page:
            automation.recent_recovered = recovered.get(automation.pk, {})
        return changelist

    def get_fieldsets(self, request: HttpRequest, obj: Any = None):
        if obj is None:
            return [(None, {"fields": ("definition",)})]
        return [(None, {"fields": ("name", "description", "status_badge", "active_version_number")}),
                ("Definition (JSON)", {"fields": ("definition",), "classes": ("collapse",),
                                       "description": "Advanced: the builder edits the same definition."}),
                ("Versions", {"fields": ("versions_table", "refers_to")})]

    # -- list columns ----------------------------------------------------------------------------

    @admin.display(description="versions")
    def versions_table(self, obj: Automation) -> str:
        rows = format_html_join(
            "", "<tr><td>v{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((v.number, v.state, v.created_by or "—", v.created_at.strftime("%Y-%m-%d %H:%M"),
              v.activated_at.strftime("%Y-%m-%d %H:%M") if v.activated_at else "—",
              restore_note(v.restored_from) if v.restored_from else "")
             for v in obj.versions.select_related("created_by").order_by("-number")),
        )
        return format_html("<table><tr><th>version</th><th>state</th><th>author</th><th>created</th>"
                           "<th>activated</th><th>origin</th></tr>{}</table>", rows)

    @admin.display(description="uses")
    def refers_to(self, obj: Automation) -> str:
        """The email templates, secrets and hosts its draft and active versions use, each linked to
        its page (whose "Used by" names every automation that uses it too)."""
        found = index.referred_by(obj.pk)
        templates = dict(EmailTemplate.objects.filter(key__in=[key for key, _ in found.get(
            ReferenceKind.EMAIL_TEMPLATE, [])]).values_list("key", "pk"))
        secrets = dict(Secret.objects.filter(name__in=[name for name, _ in found.get(
            ReferenceKind.SECRET, [])]).values_list("name", "pk"))

        def page(kind: str, value: str) -> str:
            if kind == ReferenceKind.ORIGIN:
                return reverse("admin:automations_automation_hosts") + f"#host-{value}"
            pks = templates if kind == ReferenceKind.EMAIL_TEMPLATE else secrets
            name = "emailtemplate" if kind == ReferenceKind.EMAIL_TEMPLATE else "secret"
            return reverse(f"admin:automations_{name}_change", args=[pks[value]]) if value in pks else ""

        rows = []
        labels = {ReferenceKind.EMAIL_TEMPLATE: "email template", ReferenceKind.SECRET: "secret",
                  ReferenceKind.ORIGIN: "host"}
        for kind, label in labels.items():
            for value, versions in found.get(kind, []):
                url = page(kind, value)
                rows.append((label, format_html("<a href='{}'>{}</a>", url, value) if url else value,
                             ", ".join(versions)))
        if not rows:
            return "No email template, secret or outbound host."
        return format_html("<table><tr><th>what</th><th>name</th><th>versions</th></tr>{}</table>",
                           format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", rows))

    @admin.display(description="status")
    def status_badge(self, obj: Automation) -> str:
        version = f" v{obj.active_version.number}" if obj.active_version else ""
        return format_html("<b class='ab-status-badge ab-status-badge--{}'>{}</b>{}", obj.status, obj.status, version)

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
        kind = trigger_kinds.get(trigger["type"])
        return kind.label if kind else trigger["type"]

    @admin.display(description="next run")
    def next_run(self, obj: Automation) -> str:
        state = getattr(obj, "schedule_state", None)
        if state is None or state.next_at is None or obj.is_paused:
            return "—"
        return state.next_at.strftime("%Y-%m-%d %H:%M UTC")

    @admin.display(description="active version")
    def active_version_number(self, obj: Automation) -> str:
        return f"v{obj.active_version.number}" if obj.active_version else "—"

    @admin.display(description="live runs")
    def live_executions(self, obj: Automation) -> str:
        url = reverse("admin:automations_execution_changelist") + f"?automation__id__exact={obj.pk}"
        return format_html("<a href='{}'>{}</a>", url, getattr(obj, "live", 0))

    @admin.display(description="last 30 days")
    def last_30_days(self, obj: Automation) -> str:
        """Runs started in the last 30 days, for an automation with a goal (exit events) the share
        that reached it, and the money its runs recovered."""
        started = getattr(obj, "recent_started", 0)
        # Each on a line of its own: the list keeps its width (its last columns stay on screen at 1366 px).
        lines = [f"{started} run{'' if started == 1 else 's'}"]
        if obj.active_version and obj.active_version.exit_on and started:
            lines.append(f"{round(100 * getattr(obj, 'recent_goal', 0) / started)}% reached the goal")
        recovered = getattr(obj, "recent_recovered", {})
        if recovered:
            lines.append(" + ".join(money(total, currency) for currency, total in recovered.items()) + " recovered")
        return format_html_join(mark_safe("<br>"), "{}", ((line,) for line in lines))

    @admin.display(description="builder")
    def builder_link(self, obj: Automation) -> str:
        return format_html("<a href='{}'>Open builder</a>",
                           reverse("admin:automations_automation_builder", args=[obj.pk]))

    @admin.display(description="")
    def toggle(self, obj: Automation) -> str:
        if obj.active_version_id is None:
            return "—"
        action = "resume" if obj.is_paused else "pause"
        url = reverse(f"admin:automations_automation_{action}", args=[obj.pk])
        # Submits the changelist's own form (and its CSRF token) to the pause/resume view.
        return format_html("<button type='submit' class='button' formaction='{}' name='toggle'>{}</button>",
                           url, action.title())

    # -- saving the JSON form --------------------------------------------------------------------

    def save_model(self, request: HttpRequest, obj: Automation, form: AutomationForm, change: bool) -> None:
        definition = form.cleaned_data["definition"]
        if change:
            if definition != services.current_definition(obj):
                services.update_draft(obj, definition, user=request.user)
            return
        created = services.create_automation(definition, user=request.user)
        obj.pk = created.pk
        obj.refresh_from_db()

    def response_add(self, request: HttpRequest, obj: Automation, post_url_continue: str | None = None) -> HttpResponse:
        return HttpResponseRedirect(reverse("admin:automations_automation_builder", args=[obj.pk]))

    # -- pages -----------------------------------------------------------------------------------

    def get_urls(self):
        view = self.admin_site.admin_view
        urls = [
            path("<int:pk>/builder/", view(self.builder_view), name="automations_automation_builder"),
            path("add/builder/", view(self.new_builder_view), name="automations_automation_builder_new"),
            path("<int:pk>/activate/", view(self.activate_view), name="automations_automation_activate"),
            path("<int:pk>/pause/", view(self.pause_view), name="automations_automation_pause"),
            path("<int:pk>/resume/", view(self.resume_view), name="automations_automation_resume"),
            path("<int:pk>/revisions/<int:revision>/restore/", view(self.restore_revision_view),
                 name="automations_automation_restore_revision"),
            path("hosts/", view(self.hosts_view), name="automations_automation_hosts"),
        ]
        return urls + super().get_urls()

    def _builder(self, request: HttpRequest, automation: Automation | None,
                 template: dict[str, Any] | None = None) -> HttpResponse:
        crumbs = [("Automations", reverse("admin:automations_automation_changelist"))]
        if automation:
            crumbs.append((str(automation), reverse("admin:automations_automation_change", args=[automation.pk])))
        title = f"Builder: {automation}" if automation else (
            f"New automation from {template['title']}" if template else "New automation")
        context = {
            **self.admin_site.each_context(request), "opts": self.model._meta, "original": automation,
            "title": title,
            "config": page_config(request, automationId=automation.pk if automation else None, template=template),
            **breadcrumbs(*crumbs, ("Builder", None)),
        }
        if context["config"]["apiRoot"] is None:
            messages.error(request, "The builder reads and writes through the REST API: include "
                                    "automations.api.urls in your URLconf (see the README).")
        return strict(TemplateResponse(request, "admin/automations/automation/builder.html", context))

    def builder_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        automation = get_object_or_404(Automation, pk=pk)
        if not self.has_view_or_change_permission(request, automation):
            raise PermissionDenied
        return self._builder(request, automation)

    def new_builder_view(self, request: HttpRequest) -> HttpResponse:
        """A new automation in the builder: blank, or ``?template=<key>`` from the library, shown
        unsaved — nothing (not even its email templates) is created until the operator saves."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        key = request.GET.get("template")
        if key is None:
            return self._builder(request, None)
        if key not in library.template_keys():
            raise Http404(f"no template {key!r}")
        entry = library.get_template(key)
        return self._builder(request, None, template={
            "key": key, "title": entry["title"], "definition": entry["definition"],
            "emailTemplates": entry["email_templates"]})

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: dict | None = None) -> HttpResponse:
        """Start blank in the builder, from a library template, or (advanced) from pasted JSON."""
        templates = [{"key": key, **library.get_template(key)} for key in library.template_keys()]
        return super().add_view(request, form_url, {**(extra_context or {}), "library": templates})

    def history_view(self, request: HttpRequest, object_id: str, extra_context: dict | None = None) -> HttpResponse:
        """Draft revisions: every save, who made it and what changed, each restorable into the draft."""
        automation = get_object_or_404(Automation, pk=object_id)
        if not self.has_view_or_change_permission(request, automation):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request), "opts": self.model._meta, "original": automation,
            "title": f"Change history: {automation}", "revisions": list_revisions(automation),
            "can_restore": self.has_change_permission(request, automation),
            **breadcrumbs(("Automations", reverse("admin:automations_automation_changelist")),
                          (str(automation), reverse("admin:automations_automation_change", args=[automation.pk])),
                          ("History", None)),
        }
        return TemplateResponse(request, "admin/automations/automation/revisions.html", context)

    def hosts_view(self, request: HttpRequest) -> HttpResponse:
        """The hosts that draft and active versions call (webhooks, Slack, SMS, CRM), each with the
        automations and versions that call it."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request), "opts": self.model._meta, "title": "Outbound hosts",
            "hosts": [(host, used_by(index.uses(ReferenceKind.ORIGIN, host), values=True),
                       reverse("admin:automations_automation_changelist") + f"?calls={host}")
                      for host in index.hosts()],
            **breadcrumbs(("Automations", reverse("admin:automations_automation_changelist")),
                          ("Outbound hosts", None)),
        }
        return TemplateResponse(request, "admin/automations/automation/hosts.html", context)

    # -- POST-only operations --------------------------------------------------------------------

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
            except Refused as exc:
                self.message_user(request, f"Not activated: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"Version {version.number} is now active.", messages.SUCCESS)
                for warning in same_event_warnings(version.snapshot or {}, automation.pk):
                    self.message_user(request, warning["message"], messages.WARNING)
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

    def restore_revision_view(self, request: HttpRequest, pk: int, revision: int) -> HttpResponseRedirect:
        automation = self._post_only(request, pk)
        if automation is not None:
            try:
                services.restore_revision(automation, revision, user=request.user)
            except Refused as exc:
                self.message_user(request, f"Not restored: {exc}", messages.ERROR)
            else:
                self.message_user(request, "The revision is restored into the draft.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:automations_automation_history", args=[pk]))
