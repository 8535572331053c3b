"""The contract of an action: a config schema, ``run()`` returning an output, classified errors."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

from automations.masking import is_url, mask_config
from automations.errors import ActionError  # noqa: F401  (part of the action API)
from automations.holds import Held
from automations.templating import render_value, template_fields


#: The port a URL without one goes to.
DEFAULT_PORTS = {"http": 80, "https": 443}


def outputs(*names: str) -> dict[str, Any]:
    """An output schema listing the fields an action returns (what ``steps.<key>.output`` holds)."""
    return {"type": "object", "properties": {name: {} for name in names}}


@dataclass
class ActionContext:
    """What an action is given besides its rendered config."""

    execution_id: int | None
    step_key: str
    loop_index: str
    attempt: int
    variables: Mapping[str, Any]
    now: datetime
    #: ``<execution>:<step key>:<loop index>``: the same for every attempt of this step, so whatever
    #: the action calls can recognise a repeat and act once.
    idempotency_key: str
    #: True when the action runs in its step's transaction (see ``Action.is_local``): whatever it
    #: writes commits with the step's log row and the cursor move, or not at all.
    inline: bool = False
    #: Set with ``inline`` (a worker's run): where a record the action created goes, instead of its
    #: history row being written at once, so that its history row is written with the step's log
    #: rows when the step's transaction commits, one statement for all of them; None elsewhere.
    history_on_commit: list[Any] | None = None
    #: In test mode and backtests: what the test run has done so far, by kind, for actions whose
    #: rules count what came before (the card charges a test made); None in a worker's run.
    rehearsal: dict[str, list[Any]] | None = None
    #: The automation whose run this is (None in a test of an unsaved definition).
    automation_id: int | None = None

    def entity_id(self, root: str, *, required: bool = True) -> str:
        """The id of the run's ``customer``, ``invoice``, ... (a loop variable of that name wins);
        an ActionError when ``required`` and there is none, else ``""``."""
        try:
            entity = self.variables[root]
        except KeyError:
            entity = None
        entity_id = str(entity.get("id") or "") if isinstance(entity, dict) else ""
        if required and not entity_id:
            raise ActionError(f"this run has no {root} to act on (no {root}.id in its data)")
        return entity_id


@dataclass(frozen=True)
class Effect:
    """What an action that succeeded changed in billing data, for test mode to apply to what the
    run's later steps read (it writes nothing): fields by root (``invoice``, ``customer``), and the
    event types the change emits (which ``exit_on`` may list)."""

    changes: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: tuple[str, ...] = ()


class Action:
    """Base class of actions. Subclasses set ``key``, ``family``, ``config_schema`` and ``run()``."""

    key: ClassVar[str] = ""
    family: ClassVar[str] = "custom"
    label: ClassVar[str] = ""
    description: ClassVar[str] = ""
    #: The message channel (``email``, ``sms``, ``slack``) of an action that messages a person: its
    #: config takes a ``send_window`` and its messages count toward frequency caps
    #: (``automations.messaging``). Empty for every other action.
    channel: ClassVar[str] = ""
    #: JSON Schema of the step's ``config`` (validated on save).
    config_schema: ClassVar[dict[str, Any]] = {"type": "object"}
    #: Config fields that are not templates (keys, ids): left as written.
    literal_fields: ClassVar[tuple[str, ...]] = ()
    #: Config fields that are templates the action renders itself, in its own way (an email's
    #: HTML body with escaping): left as written by ``render()``, so each is rendered exactly once.
    #: Rendering a field twice would run template syntax found in the data it was filled with.
    self_rendered_fields: ClassVar[tuple[str, ...]] = ()
    #: Config fields that hold secrets: masked wherever a config is shown (``automations.secrets``).
    secret_fields: ClassVar[tuple[str, ...]] = ()
    #: JSON Schema of the output later steps read as ``steps.<key>.output`` (the builder's
    #: variable picker lists its properties).
    output_schema: ClassVar[dict[str, Any]] = {"type": "object"}
    #: Its whole effect is a write in this database: it then runs in its step's transaction,
    #: exactly once without recovery (``is_local``). An ActionError it raises commits with what it
    #: wrote (a decline's failed payment), so it rolls back itself, in an atomic block, whatever a
    #: failure must not leave; any other exception rolls the whole attempt back.
    local: ClassVar[bool] = False
    #: It changes billing data: later steps of the same pass read that data again.
    changes_billing_data: ClassVar[bool] = False
    #: What a test scenario may choose for one attempt at this action, with the words an operator
    #: reads (``scripted()`` answers each).
    scenario_outcomes: ClassVar[dict[str, str]] = {
        "succeeds": "Succeeds", "fails_temporarily": "Fails for now (retried if the policy allows)",
        "fails": "Fails for good"}

    def is_local(self) -> bool:
        """Whether this action runs in its step's transaction (one commit for the step, no
        intent/result pair, nothing to recover); an action with an outside effect never does."""
        return self.local

    def render(self, config: dict[str, Any], variables: Mapping[str, Any]) -> dict[str, Any]:
        """``config`` with its template fields rendered (``literal_fields`` and
        ``self_rendered_fields`` left as written); raises ``automations.templating.RenderError``."""
        kept = (*self.literal_fields, *self.self_rendered_fields)
        return {name: value if name in kept else render_value(value, variables) for name, value in config.items()}

    def templates(self, config: dict[str, Any]) -> dict[str, str]:
        """Every template the action renders for ``config``, by where it is written
        (``config.subject``); test mode warns about variables in them that render empty."""
        found = template_fields({name: value for name, value in config.items() if name not in self.literal_fields},
                                "config")
        return dict(sorted(found.items()))  # the same order whatever order the database keeps keys in

    def redact(self, config: dict[str, Any]) -> dict[str, Any]:
        """``config`` as it may be shown (step log, test mode): secrets masked by ``automations.secrets``."""
        return mask_config(config, self.secret_fields)

    def destination(self, config: dict[str, Any]) -> str:
        """The origin this config sends to (scheme, host and port of the first URL among its
        fields: ``https://hooks.example:443``), ``""`` if none: a masked secret written back is kept
        only while this is unchanged — another port of the same host is another server."""
        for value in config.values():
            if is_url(value):
                parts = urlsplit(value.strip())
                try:
                    port = parts.port
                except ValueError:  # not a port number: the URL is refused by validation anyway
                    port = None
                scheme = parts.scheme.lower()
                return f"{scheme}://{(parts.hostname or '').lower()}:{port or DEFAULT_PORTS.get(scheme, '')}"
        return ""

    def email_templates(self, config: dict[str, Any]) -> tuple[str, ...]:
        """The keys of the stored email templates this config sends (none for most actions): what
        deleting a template is checked against, through the index of the steps (``StepReference``)."""
        return ()

    def published_schema(self) -> dict[str, Any] | None:
        """The config's JSON Schema as the definition schema publishes it: ``config_schema`` plus what
        ``validate_config`` checks where JSON Schema can say it; None when the action cannot be used
        in this installation."""
        return self.config_schema

    def validate_config(self, config: dict[str, Any]) -> list[dict[str, str]]:
        """Problems the schema cannot express, as ``{"field": "config.x", "message": ...}``."""
        return []

    def admit(self, config: dict[str, Any], context: ActionContext) -> Held | None:
        """Whether the step may be attempted now, asked before every attempt (by a worker's run, and
        by test mode with ``context.rehearsal`` set, which must write nothing): None to go on, a
        :class:`~automations.holds.Held` to wait (the attempt is not spent), or an ActionError when
        it may not be attempted at all (a rule forbids it; the step fails as with any error). A
        worker's call may reserve what the attempt will use under ``context.idempotency_key``."""
        return None

    def run(self, config: dict[str, Any], context: ActionContext) -> dict[str, Any]:
        """Do the action with the rendered ``config``; return a JSON-able output or raise ActionError."""
        raise NotImplementedError(".run() must be overridden.")

    def recover(self, context: ActionContext) -> dict[str, Any] | None:
        """After a worker died mid-attempt: the output of the attempt if it is known to have taken
        effect (looked up by ``context.idempotency_key``), an ActionError if it took effect and
        failed (a recorded decline), else None to perform the action again."""
        return None

    def predict(self, config: dict[str, Any], context: ActionContext) -> dict[str, Any]:
        """What ``run()`` would answer, without doing anything (test mode, backtests): the same kind
        of answer, an output (saying what would be done) or an ``ActionError`` with its retryable
        flag and the output a failure carries, so that the retry policy, the fallback lane and
        ``on_failure`` treat a test as they treat a run."""
        return {"would_run": self.key, "config": self.redact(config)}

    def effect(self, output: dict[str, Any], context: ActionContext) -> Effect:
        """How billing data reads after this action answered ``output`` (test mode): a live run's
        later steps read the data the action changed, and a test of them must too."""
        return Effect()

    def scripted(self, outcome: str, config: dict[str, Any], context: ActionContext) -> dict[str, Any]:
        """The answer to an attempt whose outcome a test scenario chose (a key of
        ``scenario_outcomes``), given or raised as ``run()`` would give or raise it."""
        if outcome == "fails":
            raise ActionError("failed, as the test scenario says", retryable=False)
        if outcome == "fails_temporarily":
            raise ActionError("failed with an error that can pass (as the test scenario says)", retryable=True)
        return self.predict(config, context)
