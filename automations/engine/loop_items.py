"""Where runs keep their loops' items (``Run.keep_items``): test mode in memory, the worker in a
:class:`~automations.models.LoopItems` row, written once when the loop is entered (or fetches a
collection's page) and read back once per pass, never per item."""
from __future__ import annotations

from typing import Any

from automations.models import Execution, LoopItems
from automations.steps.cursor import Frame, item_refs


class MemoryItems:
    """Loop items by reference, in memory: test mode's only copy of them. Only the lists the cursor
    still runs over are held, so memory follows the loops under way, not every loop entered."""

    def __init__(self) -> None:
        self.lists: dict[Any, list[Any]] = {}
        self._last_ref = 0

    def keep(self, cursor: list[Frame], step_key: str, items: list[Any], *, index: str, offset: int) -> Any:
        self._last_ref += 1
        return self._hold(cursor, self._last_ref, items)

    def get(self, ref: Any) -> list[Any]:
        return self.lists[ref]

    def _hold(self, cursor: list[Frame], ref: Any, items: list[Any]) -> Any:
        in_use = item_refs(cursor)
        self.lists = {held: value for held, value in self.lists.items() if held in in_use}
        self.lists[ref] = items
        return ref


class StoredItems(MemoryItems):
    """A worker's pass over an execution: each list is a row of the execution's, held in memory for
    the rest of the pass once written or read."""

    def __init__(self, execution: Execution) -> None:
        super().__init__()
        self.execution = execution

    def keep(self, cursor: list[Frame], step_key: str, items: list[Any], *, index: str, offset: int) -> Any:
        row = LoopItems.objects.create(execution=self.execution, step_key=step_key, loop_index=index,
                                       offset=offset, items=items)
        return self._hold(cursor, row.pk, items)

    def get(self, ref: Any) -> list[Any]:
        if ref not in self.lists:
            self.lists[ref] = LoopItems.objects.values_list("items", flat=True).get(pk=ref)
        return self.lists[ref]
