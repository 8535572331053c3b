"""Why an event started no run of an automation listening for its type, in words: paused, its
trigger's setting, its entry conditions, or its reentry rule (a run for the same value under way,
or one already run). The dispatcher records each as a ``SkippedStart``; the event's admin page
shows them beside the runs the event started."""
from __future__ import annotations

from typing import Any

from automations import clock
from automations.conditions import UNARY, ConditionError, Outcome
from automations.correlation import correlation_value
from automations.engine.start import check_entry, entry_scope
from automations.models import Automation, AutomationVersion, Execution, SkippedStart, SkipReason
from automations.status import Reentry
from automations.steps.cursor import program_for
from billing_events.models import Event


def skipped(event: Event, automation: Automation, reason: str, detail: str,
            blocking: Execution | None = None) -> SkippedStart:
    """An unsaved record that ``event`` started no run of ``automation``, and why."""
    return SkippedStart(event=event, automation=automation, version=automation.active_version, reason=reason,
                        detail=detail, blocking=blocking, at=clock.now())


def paused(event: Event, automation: Automation) -> SkippedStart:
    return skipped(event, automation, SkipReason.PAUSED, "it starts no runs until it is resumed")


def trigger_mismatch(event: Event, automation: Automation, trigger: dict[str, Any]) -> SkippedStart:
    """The trigger's parameter (``days_before``, ``threshold_percent``) against the event's."""
    if "days_before" in trigger:
        detail = (f"it starts {trigger['days_before']} days before the end; this event is "
                  f"{event.data.get('days_before')} days before")
    else:
        percent = event.data.get("threshold_percent", (event.data.get("usage") or {}).get("percent"))
        detail = f"it starts at {trigger.get('threshold_percent')}% of the threshold; this event is at {percent}%"
    return skipped(event, automation, SkipReason.TRIGGER, detail)


def not_started(event: Event, automation: Automation, version: AutomationVersion,
                trigger: dict[str, Any]) -> SkippedStart | None:
    """Why ``start_if_entered`` started nothing for ``event``: the reentry rule (checked first: the
    conditions held if the start was refused by it), else the entry conditions, evaluated again to
    say which failed. None when an earlier dispatch of the event already started the run."""
    runs = Execution.objects.filter(automation=automation)
    if runs.filter(event=event).exists():
        return None
    definition = program_for(version).definition
    key = definition.get("correlation_key", "")
    value = correlation_value(key, event.data)
    what = key.split(".")[0] if key else ""
    reentry = definition.get("reentry", Reentry.ALLOW)
    if value and reentry == Reentry.SKIP_IF_RUNNING:
        live = runs.filter(live_key=value).first()
        if live is not None:
            return skipped(event, automation, SkipReason.LIVE_RUN,
                           f"run #{live.pk} for {what} {value} was still under way, and it runs one at a time "
                           f"per {what}", blocking=live)
    if value and reentry == Reentry.ONCE:
        earlier = runs.filter(once_key=value).first()
        if earlier is not None:
            return skipped(event, automation, SkipReason.RAN_ONCE,
                           f"it runs once per {what}, and run #{earlier.pk} already ran for {what} {value}",
                           blocking=earlier)
    try:
        outcome = check_entry(version, entry_scope(automation, trigger, event.data))
    except ConditionError as exc:  # a race: they failed to evaluate after all (a failed run says so)
        return skipped(event, automation, SkipReason.CONDITIONS, f"they could not be checked: {exc}")
    return skipped(event, automation, SkipReason.CONDITIONS, unmet(outcome))


def unmet(outcome: Outcome) -> str:
    """The comparisons that did not hold, in words: "invoice.amount_due greater than 0 (it is 0)"."""
    failed = [check for check in outcome.checks if not check["passed"]] or outcome.checks
    return "; ".join(
        f"{check['field']} {check['operator'].replace('_', ' ')}"
        f"{'' if check['operator'] in UNARY else ' ' + _shown(check['value'])} (it is {_shown(check['actual'])})"
        for check in failed) or "they did not hold"


def _shown(value: Any) -> str:
    return "not set" if value is None else str(value)
