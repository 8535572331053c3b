"""How a run reads to a person: its status, why it ended or where it stands, who did what to it,
and the money its steps did not move although the run went on. The engine records reasons in a
compact form ("exit_on: invoice.paid (evt_1) for inv_1", "stopped at step paid"); the run page, the
run list and the API's ``ending`` say them in words from here."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from automations.money import MONEY_ACTIONS
from automations.status import ExecutionStatus, Where
from automations.steps.cursor import program_for

EXIT = re.compile(r"^exit_on: (?P<type>\S+) \((?P<event>.*?)\) for (?P<value>.*)$")
STOPPED = "stopped at step "


def capital(text: str) -> str:
    return text[:1].upper() + text[1:]


@dataclass(frozen=True)
class NotMoved:
    """A money step that failed for good while its run went on (``on_failure: continue`` or its
    fallback), and why: "Your card was declined (card_declined)"."""

    step_key: str
    declined: bool
    why: str
    code: str = ""

    @property
    def text(self) -> str:
        return f"step {self.step_key} was {'declined' if self.declined else 'not done'}: {self.why}"

    @property
    def short(self) -> str:
        return f"step {self.step_key} was declined ({self.code})" if self.code else f"step {self.step_key} failed"


def failure(output: Any, error: str) -> tuple[bool, str]:
    """Whether a failed attempt was a decline, and why it failed in words: the processor's
    message and its code for a decline ("Your card was declined (card_declined)"), else the error."""
    output = output if isinstance(output, dict) else {}
    code = output.get("decline_code")
    if code:
        message = str(output.get("decline_message") or "").strip().rstrip(".")
        return True, f"{message} ({code})" if message else str(code)
    return False, error or "no error was recorded"


def not_moved(execution: Any) -> list[NotMoved]:
    """The money steps of ``execution`` whose last attempt failed while the run went on (read from
    its step outputs, which keep a failed step's output with ``status: failed``)."""
    outputs = execution.outputs or {}
    if not outputs:
        return []
    steps = program_for(execution.version).steps
    found = []
    for key, output in outputs.items():
        step = steps.get(key) or {}
        if step.get("type") != "action" or step.get("action") not in MONEY_ACTIONS:
            continue
        if not isinstance(output, dict) or output.get("status") != "failed":
            continue
        if execution.status == ExecutionStatus.FAILED and execution.error.startswith(f"step {key}:"):
            continue  # the run failed there: not a step it went on past
        found.append(NotMoved(key, *failure(output, str(output.get("error") or "")), code=output.get("decline_code") or ""))
    return found


def canceled_by(execution: Any) -> str:
    """ "Canceled by alice in the admin: customer paid by bank transfer", or "" when no person
    canceled the run."""
    if not execution.canceled_in:
        return ""
    who = execution.canceled_by.get_username() if execution.canceled_by_id else _who_from(execution.status_reason)
    return f"Canceled by {who} {Where(execution.canceled_in).label}: {execution.cancel_reason}"


def _who_from(reason: str) -> str:
    # the recorded words keep the name when the user has since been deleted
    match = re.match(r"^canceled by (\S+)", reason or "")
    return match.group(1) if match else "someone"


def reason(execution: Any) -> str:
    """Why the run ended (or what was last done to it), in words; "" when there is nothing to say."""
    person = canceled_by(execution)
    if person:
        return person
    text = execution.status_reason or ""
    exit_event = EXIT.match(text)
    if exit_event:
        return (f"Ended when {exit_event['type']} arrived for {exit_event['value']} "
                f"(event {exit_event['event']})")
    if text.startswith(STOPPED):
        return f"Stopped at step {text.removeprefix(STOPPED)}"
    if execution.status == ExecutionStatus.FAILED and execution.error:
        return failed_at(execution.error)
    return capital(text)


def failed_at(error: str) -> str:
    """ "step retry: payment declined: card_declined" as "Failed at step retry: payment declined: …"."""
    match = re.match(r"^step (\S+): (.*)$", error, re.DOTALL)
    if match:
        return f"Failed at step {match[1]}: {match[2]}"
    if error.startswith("conditions: "):
        return f"Failed: its entry conditions could not be checked: {error.removeprefix('conditions: ')}"
    return f"Failed: {error}"


def ended(execution: Any, *, short: bool = False) -> str:
    """How a finished run ended, in one sentence: "Completed all its steps, but step retry was
    declined: …, and the run went on without it", "Stopped at step recovered", "Canceled by …",
    "Failed at step …"; ``short`` (a list) names a decline by its code only."""
    if execution.status == ExecutionStatus.SUCCEEDED:
        text = reason(execution) if (execution.status_reason or "").startswith(STOPPED) else "Completed all its steps"
        missed = not_moved(execution)
        if missed:
            said = [item.short if short else item.text for item in missed]
            text += f", but {_and(said)}" + ("" if short else ", and the run went on without it")
        return text
    if execution.status == ExecutionStatus.CANCELED:
        return reason(execution) or "Canceled"
    if execution.status == ExecutionStatus.FAILED:
        return reason(execution) or "Failed"
    return capital(execution.get_status_display())


def status(execution: Any) -> str:
    """The run's status for a list: "Completed", "Completed, payment declined", "Waiting", …"""
    label = execution.get_status_display()
    missed = not_moved(execution) if execution.status == ExecutionStatus.SUCCEEDED else []
    if missed:
        return f"{label}, {'payment declined' if any(item.declined for item in missed) else 'money not moved'}"
    return label


def _and(items: list[str]) -> str:
    return " and ".join(items) if len(items) < 3 else f"{', '.join(items[:-1])} and {items[-1]}"
