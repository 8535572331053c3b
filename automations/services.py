"""The operations on automations and executions, shared by the admin, the API, the builder and hosts."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Count, Max

from automations import clock
from automations.actions import registry as actions
from automations.backtest.period import parse_bound
from automations.definition import validate_definition
from automations.definition import index
from automations.definition.index import index_version
from automations.definition.serialize import definition_of, save_definition
from automations.durations import parse as parse_duration
from automations.engine.queueing import BACKTEST, enqueue
from automations.engine.paths import explore
from automations.engine.simulation import simulate
from automations.engine.start import start_execution
from automations.errors import StateConflict
from automations.models import (Automation, AutomationVersion, Backtest, EmailTemplate, Execution, ExitRule,
                                ReferenceKind, WaitRule)
from automations.revisions import check_revision, restore_note, revision_definition, revision_restore_note
# what a person does to one run, offered here with the other operations
from automations.run_control import (  # noqa: F401
    CANCEL_REASON_MAX, IN_THE_ADMIN, THROUGH_THE_API, NewRun, PendingWait, cancel_by, cancel_execution, new_run,
    resumability, resume_now, retry_execution, retry_refusal)
from automations.secrets import unmask_definition
from automations.status import LIVE_STATUSES, TriggerType, VersionState
from automations.steps.cursor import Program
from automations.steps.lanes import walk
from automations.steps.split import VARIANTS as SPLIT_VARIANTS
from automations.steps.split import with_variant_kept
from automations.steps.wait_for import waited_event_types
from automations.triggers.schedule_rules import Schedule
from automations.triggers.schedule_slots import plan as plan_schedule
from billing_events.conf import app_settings as billing_settings
from billing_events.catalogue import get_event_type
from billing_events.errors import InvalidInput
from billing_events.validation import check_json


def _user(user: Any) -> Any:
    return user if getattr(user, "pk", None) else None


@transaction.atomic
def create_automation(definition: dict[str, Any], user: Any = None) -> Automation:
    """A new automation whose draft version 1 holds ``definition`` (validated)."""
    canonical = validate_definition(definition)
    automation = Automation.objects.create(name=canonical["name"], description=canonical.get("description", ""),
                                           created_by=_user(user))
    version = AutomationVersion(automation=automation, number=1, state=VersionState.DRAFT, created_by=_user(user))
    save_definition(version, canonical, user=_user(user))
    return automation


@transaction.atomic
def update_draft(automation: Automation, definition: dict[str, Any], user: Any = None,
                 revision: int | None = None, *, restored_from: int | None = None,
                 note: str = "") -> AutomationVersion:
    """Replace the draft's definition, creating the draft (next version number) if there is none.

    Given the draft ``revision`` the caller's definition is based on, a save made since refuses it
    (:class:`StaleRevision`, checked under the automation's row lock); without one the last save wins.
    ``restored_from`` (a version number) marks the draft as restored from that version; ``note``
    says in its history record what this save was (a restore).
    """
    canonical = validate_definition(definition)
    locked = Automation.objects.select_for_update().get(pk=automation.pk)
    check_revision(locked, revision, canonical)
    version = locked.versions.filter(state=VersionState.DRAFT).first()
    if version is None:
        number = (locked.versions.aggregate(n=Max("number"))["n"] or 0) + 1
        version = AutomationVersion(automation=locked, number=number, state=VersionState.DRAFT,
                                    created_by=_user(user))
    if restored_from is not None:
        version.restored_from = restored_from
    if note:
        version._change_reason = note  # django-simple-history's reason of the record this save writes
    save_definition(version, canonical, user=_user(user))
    locked.name, locked.description = canonical["name"], canonical.get("description", "")
    locked.save()
    automation.refresh_from_db()
    return version


def current_definition(automation: Automation) -> dict[str, Any] | None:
    """The draft's definition if there is one, else the active version's."""
    version = automation.draft_version or automation.active_version
    return definition_of(version) if version else None


@transaction.atomic
def activate(automation: Automation, user: Any = None, revision: int | None = None) -> AutomationVersion:
    """Make the draft the active version; the previously active one becomes inactive.

    Executions already under way keep running the version they started on. Given the draft
    ``revision`` the caller has seen, a draft saved since is not activated (:class:`StaleRevision`).
    """
    locked = Automation.objects.select_for_update().get(pk=automation.pk)
    check_revision(locked, revision)
    draft = locked.versions.filter(state=VersionState.DRAFT).first()
    if draft is None:
        raise StateConflict("there is no draft version to activate", field="version")
    # Validate again: an email template or a registered action may have gone since the draft was saved.
    snapshot = validate_definition(definition_of(draft))
    locked.versions.filter(state=VersionState.ACTIVE).update(state=VersionState.INACTIVE)
    draft.state, draft.snapshot, draft.activated_at = VersionState.ACTIVE, snapshot, clock.now()
    draft.save()
    index_version(draft, snapshot["steps"])  # what the frozen definition refers to, as it runs
    if snapshot.get("correlation_key"):  # without one, exit_on matches nothing
        ExitRule.objects.bulk_create(ExitRule(version=draft, event_type=event_type,
                                              correlation_key=snapshot["correlation_key"])
                                     for event_type in dict.fromkeys(snapshot.get("exit_on", [])))  # once each
        WaitRule.objects.bulk_create(WaitRule(version=draft, event_type=event_type,
                                              correlation_key=snapshot["correlation_key"])
                                     for event_type in waited_event_types(snapshot["steps"]))
    trigger = snapshot["trigger"]
    locked.active_version = draft
    locked.trigger_type = trigger["type"]
    locked.trigger_event = trigger.get("event", "") if trigger["type"] == TriggerType.EVENT else ""
    locked.save()
    plan_schedule(locked)
    automation.refresh_from_db()
    return draft


def pause(automation: Automation) -> None:
    """Stop starting new executions; executions under way carry on."""
    Automation.objects.filter(pk=automation.pk).update(is_paused=True)
    automation.is_paused = True


def resume(automation: Automation) -> None:
    """Start executions again for new triggers (nothing missed while paused is replayed: a
    schedule's next slot is the first one after now)."""
    Automation.objects.filter(pk=automation.pk).update(is_paused=False)
    automation.is_paused = False
    plan_schedule(automation)


def run_manual(automation: Automation, data: dict[str, Any] | None = None, user: Any = None) -> Execution | None:
    """Start an execution of the active version now, with ``data`` read like an event's data and
    the caller recorded. None when the automation's ``reentry`` rule allows no new run for this
    correlation value."""
    if data is not None and not isinstance(data, dict):
        raise InvalidInput("must be a JSON object", field="data")
    if data is not None:
        check_json(data, "data", max_bytes=billing_settings.EVENT_MAX_BYTES)  # read like an event's data
    version = automation.active_version
    if version is None:
        raise StateConflict("the automation has no active version; activate it first", field="automation")
    if automation.is_paused:
        raise StateConflict("the automation is paused", field="automation")
    caller = getattr(user, "get_username", lambda: "")() if user is not None else ""
    return start_execution(automation, version, trigger={"type": "manual", "user": caller}, data=data or {},
                           user=user)


def sample_data(definition: dict[str, Any]) -> dict[str, Any]:
    """The data a test run uses when none is given: the trigger event's sample payload."""
    trigger = definition.get("trigger") or {}
    event_type = get_event_type(trigger.get("event", "")) if trigger.get("type") == TriggerType.EVENT else None
    return event_type.sample_data() if event_type else {}


def test_run(automation: Automation | None, data: dict[str, Any] | None = None, version: int | None = None,
             definition: dict[str, Any] | None = None, billing_data: bool = True,
             events: list[dict[str, Any]] | None = None, decisions: dict[str, Any] | None = None,
             decision: str = "approved", outcomes: dict[str, list[Any]] | None = None,
             variants: dict[str, str] | None = None) -> dict[str, Any]:
    """Run the draft (or the active version, or version number ``version``, or an unsaved
    ``definition`` — validated first, as the builder sends what is on screen) on ``data``
    (default: the trigger's sample payload) in virtual time, with no side effects; returns the
    timeline. ``billing_data=False``: steps read ``data`` alone, not the billing system's current
    records (to try a case it does not have). ``events`` (``[{"type": "invoice.paid", "after": "2d"}]``)
    are what wait_for steps see; approval steps take ``decisions[step key]`` (``"rejected"``, or
    ``{"decision": "rejected", "after": "1d"}``: taken that long after the step asks), else
    ``decision``; ``outcomes`` (``{"retry": ["soft_decline", "pays"]}``) say how each attempt of an
    action step ends instead of what test mode predicts (an attempt may be ``{"outcome":
    "fails_temporarily", "retry_after": "1h"}``: the server asks to be tried again no sooner);
    ``variants`` (``{"experiment": "b"}``) choose a split step's variant instead of the one the
    data draws."""
    _check_test_events(events)
    _check_test_decisions(decisions)
    subject = _tested(automation, data, version, definition)
    _check_test_outcomes(outcomes, subject.definition)
    _check_test_variants(variants, subject.definition)
    return subject.run(billing_data=billing_data, events=events, decisions=decisions, decision=decision,
                       outcomes=outcomes, variants=variants)


def test_every_path(automation: Automation | None, data: dict[str, Any] | None = None, version: int | None = None,
                    definition: dict[str, Any] | None = None, billing_data: bool = True) -> dict[str, Any]:
    """Test what ``test_run`` would test over the scenarios that reach each way on of the
    definition (``automations.engine.paths``): each scenario that showed something new, with its
    ending, the ways it took and the messages it would send, and the ways no scenario reaches."""
    subject = _tested(automation, data, version, definition)
    found = explore(subject.definition, lambda scenario: subject.run(billing_data=billing_data, **scenario))
    return {"version": subject.version, **found}


@dataclass
class _Tested:
    """What a test runs: a validated definition, its data and the trigger it starts as."""

    definition: dict[str, Any]
    data: dict[str, Any]
    version: int | None
    automation_id: int | None

    def run(self, **options: Any) -> dict[str, Any]:
        trigger = {"type": "test", "event_type": (self.definition["trigger"] or {}).get("event"),
                   **_next_slot(self.definition["trigger"] or {})}
        return simulate(self.definition, self.data, automation_id=self.automation_id, trigger=trigger,
                        version=self.version, **options)


def _tested(automation: Automation | None, data: dict[str, Any] | None, version: int | None,
            definition: dict[str, Any] | None) -> _Tested:
    """The draft (or the active version, or version ``version``, or ``definition`` validated
    first) and ``data`` (default: the trigger's sample payload), checked as a test takes them."""
    if data is not None and not isinstance(data, dict):
        raise InvalidInput("must be a JSON object", field="data")
    if data is not None:
        check_json(data, "data", max_bytes=billing_settings.EVENT_MAX_BYTES)  # read like an event's data
    if definition is not None:
        chosen_number = None
        definition = validate_definition(definition)
    elif automation is None:
        raise InvalidInput("give a definition to test", field="definition")
    else:
        if version is not None:
            chosen = numbered_version(automation, version)
        else:
            chosen = automation.draft_version or automation.active_version
        definition, chosen_number = definition_of(chosen), chosen.number
    return _Tested(definition, sample_data(definition) if data is None else data, chosen_number,
                   automation.pk if automation else None)


TEST_DECISIONS = ("approved", "rejected", "timed_out")


def _check_test_events(events: list[dict[str, Any]] | None) -> None:
    """Simulated events must name a known type and a duration after the start."""
    for index, item in enumerate(events or []):
        if not isinstance(item, dict) or set(item) - {"type", "after", "data"}:
            raise InvalidInput('must be {"type": ..., "after": ..., "data": {...}}', field=f"events[{index}]")
        if not isinstance(item.get("data", {}), dict):
            raise InvalidInput("must be a JSON object", field=f"events[{index}].data")
        if not isinstance(item.get("type"), str) or get_event_type(item["type"]) is None:
            raise InvalidInput(f"unknown event type {item.get('type')!r}", field=f"events[{index}].type")
        parse_duration(item.get("after", "0s"), field=f"events[{index}].after")


def _check_test_decisions(decisions: dict[str, Any] | None) -> None:
    """Each decision is one of TEST_DECISIONS, at once or ``{"decision", "after"}`` (a duration)."""
    for key, chosen in (decisions or {}).items():
        where = f"decisions.{key}"
        if isinstance(chosen, dict):
            if set(chosen) - {"decision", "after"}:
                raise InvalidInput('must be a decision or {"decision": ..., "after": ...}', field=where)
            parse_duration(chosen.get("after", "0s"), field=f"{where}.after")
            where, chosen = f"{where}.decision", chosen.get("decision")
        if chosen not in TEST_DECISIONS:
            raise InvalidInput(f"{chosen!r} is not one of {', '.join(TEST_DECISIONS)}", field=where)


def _check_test_variants(variants: dict[str, str] | None, definition: dict[str, Any]) -> None:
    """Each chosen variant names a split step of the definition and one of its variants."""
    splits = {step.get("key") for step in walk(definition.get("steps") or []) if step.get("type") == "split"}
    for key, variant in (variants or {}).items():
        if key not in splits:
            raise StateConflict(f"the automation has no split step {key!r}", field=f"variants.{key}")
        if variant not in SPLIT_VARIANTS:
            raise InvalidInput(f"{variant!r} is not one of {', '.join(SPLIT_VARIANTS)}", field=f"variants.{key}")


def _check_test_outcomes(outcomes: dict[str, list[str]] | None, definition: dict[str, Any]) -> None:
    """Each scripted outcome must be one its action step's action knows: a step or an outcome the
    automation does not have conflicts with what it is (StateConflict)."""
    if outcomes is None:
        return
    if not isinstance(outcomes, dict):
        raise InvalidInput("must be an object of step keys", field="outcomes")
    steps = Program(definition).steps
    for key, chosen in outcomes.items():
        step = steps.get(key)
        action = actions.get(step["action"]) if step and step.get("type") == "action" else None
        if action is None:
            raise StateConflict(f"{key!r} is not an action step of this automation", field=f"outcomes.{key}")
        if not isinstance(chosen, list) or not chosen:
            raise InvalidInput("must be a list of outcomes, one per attempt", field=f"outcomes.{key}")
        for index, outcome in enumerate(chosen):
            where = f"outcomes.{key}[{index}]"
            if isinstance(outcome, dict):  # an outcome with the wait the server asks for
                if set(outcome) - {"outcome", "retry_after"} or "outcome" not in outcome:
                    raise InvalidInput('must be an outcome or {"outcome": ..., "retry_after": ...}', field=where)
                parse_duration(outcome.get("retry_after") or "0s", field=f"{where}.retry_after")
                where, outcome = f"{where}.outcome", outcome["outcome"]
            if outcome is not None and outcome not in action.scenario_outcomes:
                raise StateConflict(f"{outcome!r} is not an outcome of {action.key}; choose from "
                                   f"{', '.join(action.scenario_outcomes)}", field=where)


def start_backtest(automation: Automation, start: Any, end: Any, *, version: int | None = None, user: Any = None,
                   queue: bool = True) -> Backtest:
    """Queue a backtest of the draft (or the active version, or version number ``version``) over
    the stored events of its trigger type that occurred from ``start`` to before ``end`` (dates or
    date-times; a plain date as ``end`` counts its whole day). With ``queue=False`` the caller runs
    it (``automations.backtest.tasks.run_backtest``). InvalidInput names ``from`` or ``to`` when
    the period is not one; StateConflict names ``version`` when the
    automation has no such version or it cannot be backtested (its trigger is not an event)."""
    start, end = parse_bound(start, "from"), parse_bound(end, "to", end=True)
    if start > end:
        raise InvalidInput(f"must not be before from ({start.isoformat()})", field="to")
    if version is not None:
        chosen = numbered_version(automation, version)
    else:
        chosen = automation.draft_version or automation.active_version
        if chosen is None:
            raise StateConflict(f"automation {automation.pk} has no version", field="version")
    definition = definition_of(chosen)
    trigger_type = (definition.get("trigger") or {}).get("type")
    if trigger_type != TriggerType.EVENT:
        raise StateConflict(f"version {chosen.number} has a {trigger_type} trigger: a backtest replays stored "
                           "events, so only an event trigger can be backtested (test mode shows one run of it)",
                           field="version")
    backtest = Backtest.objects.create(automation=automation, version_number=chosen.number,
                                       version_state=chosen.state, definition=definition, period_start=start,
                                       period_end=end, created_by=_user(user))
    if queue:
        enqueue(BACKTEST, backtest.pk)
    return backtest


def _next_slot(trigger: dict[str, Any]) -> dict[str, str]:
    """For a schedule trigger, the slot a run started now would be for (holidays applied), so a
    test run's ``schedule.slot`` is the next real run's."""
    if trigger.get("type") != TriggerType.SCHEDULE:
        return {}
    slot = Schedule(trigger["schedule"]).next_after(clock.now())
    return {"slot": slot.at.isoformat(), "slot_key": slot.key}


def numbered_version(automation: Automation, number: int) -> AutomationVersion:
    """Version ``number`` of ``automation``; a StateConflict naming ``version`` when it has none
    (the one answer wherever a request names a version: a 409 in the API)."""
    version = automation.versions.filter(number=number).first()
    if version is None:
        raise StateConflict(f"automation {automation.pk} has no version {number}", field="version")
    return version


def restore_version(automation: Automation, number: int, user: Any = None,
                    revision: int | None = None) -> AutomationVersion:
    """Copy version ``number``'s definition into the draft (creating the draft if needed), which
    then says it was restored from that version; given the draft ``revision`` the caller has seen,
    refused if the draft was saved since."""
    version = numbered_version(automation, number)
    return update_draft(automation, definition_of(version), user=user, revision=revision,
                        restored_from=number, note=restore_note(number))


def restore_revision(automation: Automation, revision_id: int, user: Any = None,
                     revision: int | None = None) -> AutomationVersion:
    """Copy the definition saved in draft revision ``revision_id`` into the draft (history keeps
    secrets masked: a masked one is the stored value where the step still sends to the same host);
    given the draft ``revision`` the caller has seen, refused if the draft was saved since."""
    definition = unmask_definition(revision_definition(automation, revision_id), current_definition(automation))
    return update_draft(automation, definition, user=user, revision=revision,
                        note=revision_restore_note(automation, revision_id))


def keep_variant(automation: Automation, step_key: str, variant: str, user: Any = None,
                 revision: int | None = None) -> AutomationVersion:
    """The experiment decided: the draft (made from the active version if there is none) with the
    split step ``step_key`` replaced by the steps of its ``variant``, to review and activate."""
    if variant not in SPLIT_VARIANTS:
        raise InvalidInput(f"{variant!r} is not one of {', '.join(SPLIT_VARIANTS)}", field="variant")
    definition = current_definition(automation) or {}
    steps = with_variant_kept(definition.get("steps") or [], step_key, variant)
    if steps is None:
        raise StateConflict(f"the automation has no split step {step_key!r}", field="step")
    return update_draft(automation, {**definition, "steps": steps}, user=user, revision=revision,
                        note=f"Kept variant {variant.upper()} of the split {step_key}")


def live_executions(automation: Automation) -> dict[int, int]:
    """How many executions are running or waiting, by the version number they run on."""
    rows = (automation.executions.filter(status__in=LIVE_STATUSES).values("version__number")
            .annotate(n=Count("pk")).order_by("version__number"))
    return {row["version__number"]: row["n"] for row in rows}


def delete_automation(automation: Automation) -> None:
    """Delete an automation and its history; refused while executions are running or waiting."""
    live = automation.executions.filter(status__in=LIVE_STATUSES).count()
    if live:
        raise StateConflict(f"{live} execution(s) are still running or waiting; cancel them or pause the automation",
                           field="automation")
    automation.delete()


def versions_referencing_secret(name: str) -> list[str]:
    """The draft and active versions whose steps reference secret ``name`` (``"Dunning v2"``...),
    from the index of the steps."""
    return [f"{use.automation_name} v{use.number}" for use in index.uses(ReferenceKind.SECRET, name)]


def versions_sending_template(key: str) -> list[index.Use]:
    """The draft and active versions whose steps send email template ``key``, from the index."""
    return index.uses(ReferenceKind.EMAIL_TEMPLATE, key)


def delete_email_template(template: EmailTemplate) -> None:
    """Delete a stored email template; refused (naming the automations) while a draft or active
    version sends it."""
    users = versions_sending_template(template.key)
    if users:
        raise StateConflict(f"{index.named(users)} send(s) this template; change those steps first",
                            field="key")
    template.delete()
