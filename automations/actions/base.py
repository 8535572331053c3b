"""The contract of an action: a config schema, ``run()`` returning an output, classified errors."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar


SECRET_HEADER_WORDS = ("authorization", "token", "secret", "api-key", "apikey", "password", "signature", "cookie")
MASK = "********"


def redact(config: dict[str, Any], secret_fields: tuple[str, ...] = ()) -> dict[str, Any]:
    """A copy of ``config`` with ``secret_fields`` and credential-looking headers masked."""
    shown = dict(config)
    for name in secret_fields:
        if shown.get(name):
            shown[name] = MASK
    headers = shown.get("headers")
    if isinstance(headers, dict):
        shown["headers"] = {key: MASK if any(word in key.lower() for word in SECRET_HEADER_WORDS) else value
                            for key, value in headers.items()}
    return shown


class ActionError(Exception):
    """An action failed. ``retryable`` errors are tried again under the step's retry policy."""

    def __init__(self, message: str, *, retryable: bool = False, retry_after: float | None = None,
                 output: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.output = output


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


class Action:
    """Base class of actions. Subclasses set ``key``, ``family``, ``config_schema`` and ``run()``."""

    key: ClassVar[str] = ""
    family: ClassVar[str] = "custom"
    label: ClassVar[str] = ""
    description: ClassVar[str] = ""
    #: JSON Schema of the step's ``config`` (validated on save).
    config_schema: ClassVar[dict[str, Any]] = {"type": "object"}
    #: Config fields that are not templates (keys, ids): left as written.
    literal_fields: ClassVar[tuple[str, ...]] = ()
    #: Config fields that are templates the action renders itself, in its own way (an email's
    #: HTML body with escaping): left as written by ``render()``, so each is rendered exactly once.
    #: Rendering a field twice would run template syntax found in the data it was filled with.
    self_rendered_fields: ClassVar[tuple[str, ...]] = ()
    #: Config fields that hold secrets: masked wherever a config is shown (step log, test mode).
    secret_fields: ClassVar[tuple[str, ...]] = ()

    def render(self, config: dict[str, Any], variables: Mapping[str, Any]) -> dict[str, Any]:
        """``config`` with its template fields rendered (``literal_fields`` and
        ``self_rendered_fields`` left as written); raises ``automations.templating.RenderError``."""
        from automations.templating import render_value

        kept = (*self.literal_fields, *self.self_rendered_fields)
        return {name: value if name in kept else render_value(value, variables) for name, value in config.items()}

    def templates(self, config: dict[str, Any]) -> dict[str, str]:
        """Every template the action renders for ``config``, by where it is written
        (``config.subject``); test mode warns about variables in them that render empty."""
        from automations.templating import template_fields

        found = template_fields({name: value for name, value in config.items() if name not in self.literal_fields},
                                "config")
        return dict(sorted(found.items()))  # the same order whatever order the database keeps keys in

    def redact(self, config: dict[str, Any]) -> dict[str, Any]:
        """``config`` as it may be shown: secret fields and credential headers masked."""
        return redact(config, self.secret_fields)

    def validate_config(self, config: dict[str, Any]) -> list[dict[str, str]]:
        """Problems the schema cannot express, as ``{"field": "config.x", "message": ...}``."""
        return []

    def run(self, config: dict[str, Any], context: ActionContext) -> dict[str, Any]:
        """Do the action with the rendered ``config``; return a JSON-able output or raise ActionError."""
        raise NotImplementedError(".run() must be overridden.")

    def recover(self, context: ActionContext) -> dict[str, Any] | None:
        """After a worker died mid-attempt: the output of the attempt if it is known to have taken
        effect (looked up by ``context.idempotency_key``), else None to perform the action again."""
        return None

    def preview(self, config: dict[str, Any], context: ActionContext) -> dict[str, Any]:
        """What ``run()`` would do, without doing it (test mode)."""
        return {"would_run": self.key, "config": config}
