"""The loop step: runs its ``steps`` lane once per item of a list, or of a billing collection
read page by page through the gateway (``{"collection": "invoices", "where": ...}``).

The items are resolved once, when the loop is entered (a collection: once per page), and kept by
the run (``Run.keep_items``): the loop runs over the list as it was then, even if billing data
changes meanwhile. The loop's frame in the cursor holds only their reference and positions."""
from __future__ import annotations

import re

from django.db import models
from simple_history.models import HistoricalRecords

from automations import conditions
from automations.conditions import MISSING, ConditionError, evaluate
from automations.conf import app_settings
from automations.models.steps import Step
from automations.scope import to_json
from automations.status import StepRunStatus
from automations.steps.base import Next, Run, StepFailed, StepJSON, StepKind
from automations.steps.cursor import item_count, loop_index, step_done
from automations.steps.registry import register_step_type
from automations.variables import ROOTS

IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,49}$")
COLLECTIONS = ("customers", "invoices", "subscriptions")
MAX_LOOP_ITEMS = 10000
PAGE_SIZE = 200
PAGES_PER_REFILL = 10


@register_step_type
class LoopStep(StepKind, Step):
    type_name = "loop"
    fields = ("over", "as", "max_items")
    lanes = ("steps",)
    kept_lanes = ("steps",)
    type_label = "Loop"
    type_description = "Run steps for each item of a list or each record of a collection."
    type_icon = "loop"
    type_order = 50
    lane_labels = {"steps": "Loop body"}
    starts_with = {"over": {"collection": "customers"}, "as": "customer"}
    starts_with_data = (("invoice", {"over": "invoice.line_items", "as": "item"}),)
    card_summary = ("for each {as} in {over}",)
    lane_variable = ("as", "item")

    over = models.JSONField(help_text="A path such as invoice.line_items, or {collection, where}.")
    item_name = models.CharField(max_length=50, default="item")
    max_items = models.PositiveIntegerField(null=True, blank=True)
    history = HistoricalRecords()

    @classmethod
    def validate(cls, validator, step, path, loop_vars, canonical):
        over = step.get("over")
        if isinstance(over, str) and over.strip():
            if over.split(".")[0] not in (*ROOTS, *loop_vars):
                validator.error(f"{path}.over", f"unknown variable {over.split('.')[0]!r}")
        elif isinstance(over, dict):
            if over.get("collection") not in COLLECTIONS:
                validator.error(f"{path}.over.collection", f"must be one of {', '.join(COLLECTIONS)}")
            for field in sorted(set(over) - {"collection", "where"}):
                validator.error(f"{path}.over.{field}", "is not a field of a collection")
            if over.get("where") is not None:
                singular = str(over.get("collection", ""))[:-1]
                validator.errors += conditions.validate(over["where"], f"{path}.over.where",
                                                        extra_roots=(*loop_vars, singular))
        else:
            validator.error(f"{path}.over",
                            "is required: a list field such as invoice.line_items, or {\"collection\": ...}")
        canonical["over"] = over
        name = step.get("as", "item")
        if not isinstance(name, str) or not IDENTIFIER.match(name):
            validator.error(f"{path}.as", f"{name!r} must be a lowercase identifier such as item")
            name = "item"
        canonical["as"] = name
        if "max_items" in step:
            value = step["max_items"]
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_LOOP_ITEMS:
                validator.error(f"{path}.max_items", f"must be a whole number from 1 to {MAX_LOOP_ITEMS}")
            canonical["max_items"] = value
        steps = step.get("steps")
        if not isinstance(steps, list) or not steps:
            validator.error(f"{path}.steps", "a loop needs a non-empty list of steps")
            steps = []
        canonical["steps"] = validator.step_list(steps, f"{path}.steps", (*loop_vars, name))
        return canonical

    @classmethod
    def check_references(cls, checker, step, path, shadowed):
        over = step.get("over")
        if isinstance(over, str):
            checker.needed(f"{path}.over", over, shadowed)
        elif isinstance(over, dict):
            singular = str(over.get("collection", ""))[:-1]
            checker.condition(over.get("where"), f"{path}.over.where", shadowed - {singular})
        name = step.get("as", "item")
        # A collection's record named after its entity (customers as customer) is that entity.
        is_entity = isinstance(over, dict) and name == str(over.get("collection", ""))[:-1]
        return shadowed - {name} if is_entity else shadowed | {name}

    @classmethod
    def lane_guards(cls, step, lane):
        from automations.definition.guards import condition_guards  # definition reads the step registry

        over, name = step.get("over"), step.get("as", "item")
        if isinstance(over, dict) and name == str(over.get("collection", ""))[:-1]:
            # each item is the entity itself, and passed the loop's where
            return frozenset({name}) | condition_guards(over.get("where"))
        return frozenset()

    @classmethod
    def schema_defs(cls, kit):
        return {"LoopStep": kit.object({
            "key": kit.step_key, "type": {"const": "loop"}, "name": {"type": "string"},
            "over": {"anyOf": [{"type": "string", "pattern": kit.field_path},
                               kit.object({"collection": {"enum": list(COLLECTIONS)},
                                           "where": kit.nullable(kit.ref("Condition"))}, ("collection",))]},
            "as": {"type": "string", "pattern": r"^[a-z_][a-z0-9_]{0,49}$"},
            "max_items": {"type": "integer", "minimum": 1, "maximum": MAX_LOOP_ITEMS},
            "steps": {**kit.steps, "minItems": 1}}, ("type", "over", "steps"))}

    @classmethod
    def row_values(cls, step):
        return {"over": step["over"], "item_name": step.get("as", "item"), "max_items": step.get("max_items")}

    def definition_fields(self):
        data: StepJSON = {"over": self.over, "as": self.item_name}
        if self.max_items is not None:
            data["max_items"] = self.max_items
        return data

    @classmethod
    def reach(cls, run: Run, step: StepJSON) -> Next:
        # the loop's own position and attempt, before it enters its first item
        index, attempt = loop_index(run.cursor), run.cursor[-1].get("attempt", 1)
        count, truncated = enter_loop(run, step)
        run.log(step, StepRunStatus.SUCCEEDED, output={"items": count, "truncated": truncated}, index=index,
                attempt=attempt)
        return Next()

    @classmethod
    def refill(cls, run: Run, step: StepJSON) -> None:
        refill_page(run, step)


def enter_loop(run: Run, step: StepJSON) -> tuple[int, bool]:
    """Resolve the items, keep them, and enter the first (or move on if there are none). Returns
    the number of items the loop will run (for a collection: in its first page) and whether
    ``max_items`` cut the list short."""
    over = step["over"]
    if isinstance(over, dict):
        frame = {"owner": step["key"], "slot": "steps", "index": 0, "items_ref": None, "count": 0, "item": 0,
                 "offset": 0, "as": step.get("as", "item"), "page": "", "taken": 0}
        run.cursor.append(frame)
        if not refill_page(run, step):
            run.cursor.pop()
            step_done(run.cursor)
        return frame["count"], False
    items = run.scope().resolve(over)
    if items is MISSING:
        raise StepFailed(f"over: {over} is not set")
    if not isinstance(items, (list, tuple)):
        raise StepFailed(f"over: {over} is not a list (it is {type(items).__name__})")
    limit = step.get("max_items") or app_settings.LOOP_MAX_ITEMS
    kept = to_json(list(items[:limit]))
    if kept:
        ref = run.keep_items(step, kept, index=loop_index(run.cursor), offset=0)
        run.cursor.append({"owner": step["key"], "slot": "steps", "index": 0, "items_ref": ref, "count": len(kept),
                           "item": 0, "as": step.get("as", "item")})
    else:
        step_done(run.cursor)
    return len(kept), len(items) > limit


def refill_page(run: Run, step: StepJSON) -> bool:
    """Fetch the next matching records of a collection loop, keep them, and point its frame (the
    top one) at them.

    Pages are read from the gateway and filtered by ``where``; at most ``PAGES_PER_REFILL`` pages
    per call, so a scan over a large collection goes on across steps (and tasks) instead of
    holding a worker. Returns False when the loop has nothing left to run.
    """
    frame = run.cursor[-1]
    over = step["over"]
    singular = over["collection"][:-1]
    limit = step.get("max_items") or app_settings.LOOP_MAX_ITEMS
    frame["offset"] = frame.get("offset", 0) + item_count(frame)
    frame.pop("items", None)  # a frame stored with its items inline takes the new shape from here
    frame.update(items_ref=None, count=0, item=0, index=0)
    scope = run.scope()  # the frame has no current item now: its page is being fetched
    found: list = []
    for _ in range(PAGES_PER_REFILL):
        if frame["page"] is None or frame["taken"] >= limit:
            frame["page"] = None
            break
        records, next_page = scope.gateway.list_collection(over["collection"], after=frame["page"] or None,
                                                           limit=PAGE_SIZE)
        frame["page"] = next_page
        for record in records:
            if frame["taken"] >= limit:
                break
            where = over.get("where")
            try:
                matched = not where or evaluate(where, scope.with_variable(singular, record).resolve).passed
            except ConditionError as exc:
                raise StepFailed(f"over.where on {singular} {record.get('id')}: {exc}") from exc
            if matched:
                found.append(to_json(record))
                frame["taken"] += 1
        if found:
            break
    if found:
        frame["items_ref"] = run.keep_items(step, found, index=loop_index(run.cursor[:-1]), offset=frame["offset"])
        frame["count"] = len(found)
    return bool(found) or bool(frame["page"])
