"""What a person does to one run, from its page or through the API: cancel it (saying why),
resume it now, retry it from its failed step, or start a new run from its data — each with what it
will do said in words beforehand (the money it moves, the messages it sends), so the page can ask
before a click moves money. ``automations.services`` offers these with its other operations."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Max

from automations import clock, money
from automations.actions import ActionContext, ActionError, registry
from automations.engine import transitions, wait_kinds
from automations.correlation import correlation_value
from automations.engine.queueing import RESUME_EXECUTION, enqueue
from automations.errors import StateConflict
from automations.models import Automation, Execution, StepRun
from automations.outcomes.fold import uncount_end
from automations.scope import build_scope
from automations.status import LIVE_STATUSES, ExecutionStatus, Reentry, TriggerType, Where
from automations.steps.cursor import Program, locate, loop_index
from automations.templating import RenderError
from billing_events.errors import InvalidInput


def _user(user: Any) -> Any:
    return user if getattr(user, "pk", None) else None


@dataclass
class PendingWait:
    """What a waiting execution waits for, as "Resume now" sees it."""

    kind: str  # delay, retry, wait_for, approval, held_message, or "" when it does not wait
    text: str  # what resuming now does, or why it may not
    refusal: str = ""
    #: The money the run moves once resumed, until it next waits ("Charges INV-… 1,250.00 USD").
    effects: list[str] = field(default_factory=list)
    #: The confirmation's question and its button, in this wait's words ("Skip the wait at step
    #: wait_3d?", "Skip the wait and go on now"): a wait skipped is not a step retried.
    title: str = ""
    action: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"allowed": not self.refusal, "kind": self.kind, "text": self.refusal or self.text,
                "effects": self.effects, "title": self.title, "action": self.action}


def resumability(execution: Execution) -> PendingWait:
    """Whether "Resume now" may end ``execution``'s wait, what it then does, and what it moves:
    in the words of the kind of wait it is in (``engine.wait_kinds``)."""
    waiting = wait_kinds.current(execution)
    if waiting is None:
        return PendingWait("", "", refusal=("only a waiting execution can be resumed now; "
                                            f"this one is {execution.get_status_display().lower()}"))
    planned = f"{execution.wake_at:%Y-%m-%d %H:%M} UTC" if execution.wake_at else ""
    return _RESUMING[waiting.kind.name](execution, waiting, planned)


def _resume_approval(execution: Execution, waiting: wait_kinds.Waiting, planned: str) -> PendingWait:
    return PendingWait("approval", "", refusal=(
        f"the run waits for a decision at step {waiting.state.get('step')}: approve or reject it; resuming now "
        "would decide for the approvers (its timeout decision is only taken at its timeout)"))


def _resume_events(execution: Execution, waiting: wait_kinds.Waiting, planned: str) -> PendingWait:
    step = waiting.state.get("step")
    waited = " or ".join(waiting.state.get("events") or ["its events"])
    return PendingWait(
        "wait_for", f"the wait at step {step} for {waited} ends now as if it had timed out"
        f"{f' (it would time out at {planned})' if planned else ''}, and the run takes its timed-out way",
        effects=money.ahead(execution, after_current=True, outputs={step: {"timed_out": True}}),
        title=f"Stop waiting for {waited} at step {step}?", action="Stop waiting and go on now")


#: What holds a step back, by the hold's reason (``automations.holds.Held``).
_HELD_BY = {"send_window": "the message of step {step} is held by its send window",
            "frequency_cap": "the message of step {step} is held by a frequency cap",
            "retry_limit": "the payment of step {step} is held by the card networks' retry limits"}


def _resume_held(execution: Execution, waiting: wait_kinds.Waiting, planned: str) -> PendingWait:
    output = waiting.latest.output if waiting.latest is not None and isinstance(waiting.latest.output, dict) else {}
    held = _HELD_BY.get(output.get("deferred"), "step {step} is held back").format(step=waiting.step["key"])
    # The hold's own words say until when and why; without them, the wake-up says until when.
    why = f" ({output['reason']})" if output.get("reason") else f" until {planned}" if planned else ""
    return PendingWait("held_message", "", refusal=f"{held}{why}; resuming now would only hold it again")


def _resume_retry(execution: Execution, waiting: wait_kinds.Waiting, planned: str) -> PendingWait:
    step, attempt = waiting.step["key"], waiting.latest.attempt
    return PendingWait(
        "retry", f"step {step} failed at its attempt {attempt} and would try again"
        f"{f' at {planned}' if planned else ''}: its attempt {attempt + 1} runs now instead",
        effects=money.ahead(execution), title=f"Retry step {step} now?", action=f"Retry step {step} now")


def _resume_delay(execution: Execution, waiting: wait_kinds.Waiting, planned: str) -> PendingWait:
    step, latest, cursor = waiting.step, waiting.latest, execution.cursor or []
    instead = f" (instead of at {planned})" if planned else ""
    if step is not None:
        first = not execution.step_runs.filter(step_key=step["key"], loop_index=loop_index(cursor)).exists()
        goes_on = f"the run goes on now at step {step['key']}" + (", which has not run yet" if first else "")
    else:
        goes_on = "the run goes on now to its end"
    if latest is not None and latest.step_type == "delay":
        return PendingWait("delay", f"the delay at step {latest.step_key} is skipped: {goes_on}{instead}",
                           effects=money.ahead(execution), title=f"Skip the wait at step {latest.step_key}?",
                           action="Skip the wait and go on now")
    return PendingWait("delay", f"the wait is skipped: {goes_on}{instead}", effects=money.ahead(execution),
                       title="Skip the wait?", action="Skip the wait and go on now")


#: What "Resume now" does, by the kind of wait (every kind ``engine.wait_kinds`` has).
_RESUMING = {"approval": _resume_approval, "events": _resume_events, "held": _resume_held,
             "retry": _resume_retry, "delay": _resume_delay}


@transaction.atomic
def retry_execution(execution: Execution) -> Execution:
    """Run a failed execution again from the step that failed (its next attempt)."""
    execution = Execution.objects.select_for_update().get(pk=execution.pk)
    if execution.status != ExecutionStatus.FAILED:
        raise StateConflict(f"only a failed execution can be retried; this one is {execution.status}",
                           field="status")
    cursor = execution.cursor
    position = locate(Program(execution.version.snapshot), [dict(frame) for frame in cursor])
    if position.step is None:
        raise StateConflict("the execution has no failed step to retry (it failed before its first step)",
                           field="status")
    refused = _refusal(execution, position.step)
    if refused:
        raise StateConflict(f"not retried: {refused}", field="status")
    attempts = StepRun.objects.filter(execution=execution, step_key=position.step["key"],
                                      loop_index=loop_index(cursor)).aggregate(n=Max("attempt"))["n"] or 0
    cursor[-1]["attempt"] = attempts + 1
    uncount_end(execution)  # its new end is counted when it comes
    token = transitions.retry_failed(execution.pk, cursor)
    if token is None:
        raise StateConflict("the execution changed meanwhile; reload it", field="status")
    enqueue(RESUME_EXECUTION, execution.pk, token)
    execution.refresh_from_db()
    return execution


def retry_refusal(execution: Execution) -> str | None:
    """Why "Retry from the failed step" would be refused by the failed step's own rules (a card the
    issuer declined for good is not charged again), in words; None when it may be retried."""
    if execution.status != ExecutionStatus.FAILED or not execution.cursor:
        return None
    position = locate(Program(execution.version.snapshot), [dict(frame) for frame in execution.cursor])
    return _refusal(execution, position.step) if position.step is not None else None


def _refusal(execution: Execution, step: dict[str, Any]) -> str | None:
    """Whether the action of ``step`` would refuse its next attempt now: asked as test mode asks
    (``Action.admit`` with a rehearsal, which writes nothing)."""
    action = registry.get(step.get("action", "")) if step.get("type") == "action" else None
    if action is None:
        return None
    scope = build_scope(execution, now=clock.now())
    try:
        config = action.render(step.get("config", {}), scope)
        action.admit(config, ActionContext(
            execution_id=execution.pk, step_key=step["key"], loop_index=loop_index(execution.cursor), attempt=1,
            variables=scope, now=clock.now(), idempotency_key=f"{execution.pk}:{step['key']}:retry", rehearsal={},
            automation_id=execution.automation_id))
    except ActionError as exc:
        return (exc.output or {}).get("reason") or str(exc)
    except RenderError:
        return None  # the attempt itself will say what is wrong
    return None


def cancel_execution(execution: Execution, reason: str = "canceled by an operator") -> bool:
    """Cancel a running or waiting execution; False if it had already ended."""
    canceled = transitions.cancel(execution.pk, reason)
    execution.refresh_from_db()
    return canceled


#: Where a person pressed a button, as the recorded reason says it ("in the admin").
IN_THE_ADMIN, THROUGH_THE_API = Where.ADMIN, Where.API
#: The longest cancel reason kept (the recorded status reason holds it with who and where).
CANCEL_REASON_MAX = 400


def _who(user: Any) -> str:
    return getattr(user, "get_username", lambda: "")() or "someone"


@transaction.atomic
def cancel_by(execution: Execution, user: Any, *, where: str, reason: str) -> bool:
    """Cancel as a person, who must say why: the run records who (``canceled_by``), where
    (``IN_THE_ADMIN``, ``THROUGH_THE_API``) and why, and its status reason says it in words,
    "canceled by ops in the admin: customer called". False if it had already ended (checked
    first: a reason is no use then); InvalidInput naming ``reason`` when it is empty or too long."""
    locked = Execution.objects.select_for_update().get(pk=execution.pk)
    if locked.status not in LIVE_STATUSES:
        execution.refresh_from_db()
        return False
    if not isinstance(reason, str):
        raise InvalidInput("must be text", field="reason")
    reason = " ".join(reason.split())
    if not reason:
        raise InvalidInput("say why the run is canceled: the reason is recorded with your name", field="reason")
    if len(reason) > CANCEL_REASON_MAX:
        raise InvalidInput(f"must be at most {CANCEL_REASON_MAX} characters (it has {len(reason)})", field="reason")
    text = f"canceled by {_who(user)} {Where(where).label}: {reason}"
    if not transitions.cancel(locked.pk, text):
        execution.refresh_from_db()
        return False
    Execution.objects.filter(pk=locked.pk).update(canceled_by=_user(user), canceled_in=where, cancel_reason=reason)
    execution.refresh_from_db()
    return True


def resume_now(execution: Execution, user: Any = None, *, where: str = THROUGH_THE_API) -> Execution:
    """End a waiting execution's pending wait now: the run goes on from where it is, in this same
    execution (nothing already done runs again). A delay ends, a retry wait makes its next attempt
    now, a wait_for times out now; an approval and a message held by its send window or a
    frequency cap are refused (see ``resumability``). StateConflict when it cannot be resumed."""
    with transaction.atomic():
        locked = Execution.objects.select_for_update().select_related("version").get(pk=execution.pk)
        wait = resumability(locked)
        if wait.refusal:
            raise StateConflict(wait.refusal, field="status")
        fields: dict[str, Any] = {}
        if wait.kind == "wait_for":
            cursor = locked.cursor
            cursor[-1]["wait"]["until"] = clock.now().isoformat()  # the wait's timeout is now
            fields["cursor"] = cursor
        reason = f"resumed now by {_who(user)} {Where(where).label}: {wait.text}"
        if not transitions.wake_now(locked.pk, locked.wait_token, reason=reason, **fields):
            raise StateConflict("the execution changed meanwhile; reload it", field="status")
        enqueue(RESUME_EXECUTION, locked.pk, locked.wait_token)  # the wake-up's own token: claimed once
    execution.refresh_from_db()
    return execution


@dataclass
class NewRun:
    """What "Start a new run" from a run does: a run of the active version on the run's data."""

    version: int
    text: str  # what it does, in one sentence, or why it may not
    refusal: str = ""
    #: The money it may move, as a list says it ("Charges INV-… 1,250.00 USD again").
    effects: list[str] = field(default_factory=list)
    #: The messages it may send, counted by kind ("3 emails").
    messages: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"allowed": not self.refusal, "version": self.version, "text": self.refusal or self.text,
                "effects": self.effects, "messages": self.messages}


def _and(items: list[str]) -> str:
    return " and ".join(items) if len(items) < 3 else f"{', '.join(items[:-1])} and {items[-1]}"


def new_run(execution: Execution) -> NewRun | None:
    """What starting a new run of ``execution``'s automation with its data would do: the money its
    active version may move and the messages it may send, every way its branches may go, said
    "again" for the steps ``execution`` reached; or why it may not start (paused, its reentry rule).
    None when the automation has no active version."""
    automation: Automation = execution.automation
    version = automation.active_version
    if version is None:
        return None
    trigger = execution.trigger or {}
    source = (f"from the same event ({trigger.get('event_type')} {trigger.get('event_id')})"
              if trigger.get("type") == TriggerType.EVENT else "with this run's data")
    refusal = _new_run_refusal(automation, version, execution)
    if refusal:
        return NewRun(version.number, "", refusal=refusal)
    walked = money.whole_run(version, execution)
    counts = walked.message_counts()
    doing = [effect.may for effect in walked.effects] + ([f"send {_and(counts)}"] if counts else [])
    what = f"it may {_and(doing)}" if doing else "it moves no money and sends no messages"
    text = (f"This starts a new run of {automation.name} (version {version.number}) {source}: {what}. "
            f"It starts from the first step; run #{execution.pk} is not changed.")
    return NewRun(version.number, text, effects=[effect.text for effect in walked.effects], messages=counts)


def _new_run_refusal(automation: Automation, version: Any, execution: Execution) -> str:
    """Why a new run from ``execution``'s data would not start now, in words, or ""."""
    if automation.is_paused:
        return "the automation is paused: resume it to start a new run"
    definition = version.snapshot or {}
    key = definition.get("correlation_key", "")
    value = correlation_value(key, execution.data or {})
    what = key.split(".")[0] if key else ""
    runs = Execution.objects.filter(automation=automation)
    if value and definition.get("reentry") == Reentry.SKIP_IF_RUNNING:
        live = runs.filter(live_key=value).first()
        if live is not None:
            # On that run's own page, "run #2" would read as another run.
            which = "this run" if live.pk == execution.pk else f"run #{live.pk} for {what} {value}"
            return (f"{which} is still under way, and {automation.name} runs one at a "
                    f"time per {what}: a new run can start once it has ended")
    if value and definition.get("reentry") == Reentry.ONCE:
        earlier = runs.filter(once_key=value).first()
        if earlier is not None:
            if earlier.pk == execution.pk:
                return f"{automation.name} runs once per {what}, and it has already run for {what} {value} (this run)"
            return f"{automation.name} runs once per {what}, and run #{earlier.pk} already ran for {what} {value}"
    return ""
