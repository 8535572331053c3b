"""The event's admin page, as the automations app extends it: which runs the event started (links to
them), which it ended (``exit_on``), and for every automation listening for its type that started
no run, why not — paused, the trigger's setting, the entry conditions, the reentry rule (what the
dispatcher recorded), activated after the event, or only a draft listening.

``billing_events`` keeps its own Event admin (it never imports this app); this one replaces it
when both apps are installed."""
from __future__ import annotations

from dataclasses import dataclass, field
from django.contrib import admin
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse

from automations import run_words
from automations.models import Automation, AutomationVersion, Execution, SkippedStart, SkipReason
from automations.status import ExecutionStatus, VersionState
from billing_events.admin import EventAdmin as InboxEventAdmin
from billing_events.models import Event

#: The definition's own words for each reason a run did not start, shown small for engineers.
REASON_KEYS = {SkipReason.PAUSED: "is_paused", SkipReason.TRIGGER: "trigger", SkipReason.CONDITIONS: "conditions",
               SkipReason.LIVE_RUN: "reentry: skip_if_running", SkipReason.RAN_ONCE: "reentry: once"}


@dataclass
class Listener:
    """One automation as the event's page shows it: the runs the event started or ended, or why none."""

    automation: Automation
    started: list[Execution] = field(default_factory=list)
    ended: list[Execution] = field(default_factory=list)
    reason: str = ""  # why no run started, as a heading ("The entry conditions were not met")
    detail: str = ""  # and in particular ("invoice.amount_due greater than 0 (it is 0.00)")
    key: str = ""  # the definition's word for it, for engineers
    blocking: Execution | None = None

    @property
    def url(self) -> str:
        return reverse("admin:automations_automation_builder", args=[self.automation.pk])


def execution_url(execution: Execution) -> str:
    return reverse("admin:automations_execution_change", args=[execution.pk])


def listeners(event: Event) -> list[Listener]:
    """Every automation the event concerns: those it started or ended runs of, those that recorded
    why they did not start, and those listening for its type now without a record."""
    found: dict[int, Listener] = {}

    def of(automation: Automation) -> Listener:
        return found.setdefault(automation.pk, Listener(automation))

    for execution in Execution.objects.filter(event=event).select_related("automation", "version"):
        of(execution.automation).started.append(execution)
    for execution in ended_by(event):
        of(execution.automation).ended.append(execution)
    for skip in SkippedStart.objects.filter(event=event).select_related("automation", "blocking"):
        listener = of(skip.automation)
        if not listener.started:
            listener.reason, listener.detail = skip.get_reason_display(), skip.detail
            listener.key, listener.blocking = REASON_KEYS.get(skip.reason, skip.reason), skip.blocking
    listening = Automation.objects.filter(trigger_event=event.type, active_version__isnull=False).select_related(
        "active_version")
    for automation in listening:
        listener = of(automation)
        if listener.started or listener.reason:
            continue
        activated = automation.active_version.activated_at
        if event.dispatched_at is None:
            listener.reason = "Not handled yet: the event waits for a worker"
        elif activated and activated > event.dispatched_at:
            listener.reason = "Activated after this event was handled"
            listener.detail = f"version {automation.active_version.number} became active at {activated:%Y-%m-%d %H:%M} UTC"
        else:
            listener.reason = "No record of why"
            listener.detail = "the event was handled before the reasons were recorded"
    drafts = (AutomationVersion.objects.filter(state=VersionState.DRAFT, trigger__event=event.type)
              .exclude(automation__trigger_event=event.type).select_related("automation"))
    for draft in drafts:
        listener = of(draft.automation)
        if not listener.started and not listener.reason:
            listener.reason = "Only its draft listens for this event"
            listener.detail = (f"version {draft.number} is a draft, and a draft starts no runs: activate it to start "
                               "runs from events like this one")
            listener.key = "draft"
    return sorted(found.values(), key=lambda item: (not item.started, item.automation.name.lower()))


def ended_by(event: Event) -> list[Execution]:
    """The runs the event ended through their ``exit_on``: canceled while it was handled, with the
    reason naming it (found through the index of finished runs, not a scan of every run)."""
    if event.dispatched_at is None:
        return []
    return list(Execution.objects.filter(
        Q(status_reason__startswith=f"exit_on: {event.type} ({event.id})"), status=ExecutionStatus.CANCELED,
        finished_at__gte=event.received_at, finished_at__lte=event.dispatched_at,
    ).select_related("automation", "version"))


class EventAdmin(InboxEventAdmin):
    readonly_fields = (*InboxEventAdmin.readonly_fields, "automations")
    fieldsets = [InboxEventAdmin.fieldsets[0], ("What it started", {"fields": ("automations",)}),
                 *InboxEventAdmin.fieldsets[1:]]

    class Media:
        css = {"all": ["automations/admin.css"]}

    @admin.display(description="automations")
    def automations(self, event: Event) -> str:
        found = listeners(event)
        return render_to_string("admin/automations/event_runs.html", {
            "event": event, "listeners": [
                {"item": item, "started": [(run, execution_url(run), run_words.status(run)) for run in item.started],
                 "ended": [(run, execution_url(run)) for run in item.ended],
                 "blocking_url": execution_url(item.blocking) if item.blocking else ""} for item in found]})


admin.site.unregister(Event)
admin.site.register(Event, EventAdmin)
