"""The ``manual`` trigger kind: a run starts when someone asks for one (Run now, ``POST run/``),
with the data they give."""
from __future__ import annotations

from automations.trigger_kinds.base import TriggerKind
from automations.trigger_kinds.registry import register_trigger_kind


@register_trigger_kind
class ManualTrigger(TriggerKind):
    type_name = "manual"
    label = "By hand"
    description = ("Starts a run when someone asks for one: Run now on an execution page, or POST run/ with a "
                   "JSON context through the API; the run reads that context.")
    icon = "manual"
    order = 30
    card_summary = ("Started by hand (Run now, or the API)",)
    data = "given"
