"""The worker task that runs a stored backtest, keeping its progress readable while it runs."""
from __future__ import annotations

import logging
import time
from typing import Any

from automations import clock
from automations.backtest import events
from automations.backtest.replay import Job
from automations.conf import app_settings
from automations.engine.queueing import BACKTEST, enqueue
from automations.models import Backtest
from automations.status import BacktestStatus

logger = logging.getLogger("automations")

BILLING_DATA_NOTE = ("Steps read customers, invoices, payments and credits as they are now, not as they were "
                     "when each event occurred; nothing was sent, charged or written.")


def header(backtest: Backtest) -> dict[str, Any]:
    """What a result is about: the automation, the version or draft, the period."""
    return {"automation": backtest.automation_id, "name": backtest.definition.get("name", ""),
            "version": backtest.version_number, "version_state": backtest.version_state,
            "draft": backtest.version_state == "draft",
            "period": {"from": backtest.period_start.isoformat(), "to": backtest.period_end.isoformat()},
            "trigger_event": (backtest.definition.get("trigger") or {}).get("event", "")}


def run_backtest(backtest_id: int, chunk: int = 0, page_size: int | None = None, queue: bool = True) -> bool:
    """Run backtest ``backtest_id`` for one time budget (``TIME_BUDGET_SECONDS``): from the start
    if it is still queued, else from the checkpoint chunk ``chunk`` left. Past the budget the
    checkpoint is saved and the next chunk queued (``queue=False``: the caller runs it). A second
    delivery of a task finds its chunk taken and does nothing. Returns whether the backtest ended."""
    claimed = Backtest.objects.filter(pk=backtest_id, status=BacktestStatus.QUEUED if chunk == 0 else
                                      BacktestStatus.RUNNING, chunk=chunk)
    if not claimed.update(status=BacktestStatus.RUNNING, chunk=chunk + 1,
                          **({"started_at": clock.now()} if chunk == 0 else {})):
        return False
    backtest = Backtest.objects.get(pk=backtest_id)

    def progress(done: int, total: int) -> None:
        Backtest.objects.filter(pk=backtest_id).update(events_done=done, events_total=total)

    try:
        job = Job(backtest.definition, backtest.period_start, backtest.period_end,
                  automation_id=backtest.automation_id, version=backtest.version_number,
                  checkpoint=backtest.checkpoint)
        counts = job.run(page_size=page_size or events.PAGE_SIZE, progress=progress,
                         deadline=time.monotonic() + app_settings.TIME_BUDGET_SECONDS)
    except Exception as exc:  # the operator reads why on the backtest; the worker carries on
        logger.exception("backtest %s failed", backtest_id)
        Backtest.objects.filter(pk=backtest_id).update(status=BacktestStatus.FAILED, error=str(exc)[:2000],
                                                       checkpoint=None, finished_at=clock.now())
        return True
    if counts is None:
        Backtest.objects.filter(pk=backtest_id).update(checkpoint=job.checkpoint())
        if queue:
            enqueue(BACKTEST, backtest_id, chunk + 1)
        return False
    result = {**header(backtest), "billing_data": "current", "billing_data_as_of": backtest.started_at.isoformat(),
              "note": BILLING_DATA_NOTE, **counts}
    Backtest.objects.filter(pk=backtest_id).update(status=BacktestStatus.SUCCEEDED, result=result, checkpoint=None,
                                                   finished_at=clock.now())
    return True


def run_to_end(backtest_id: int) -> None:
    """Run a queued backtest here, chunk after chunk, until it ends (the command's way)."""
    chunk = 0
    while not run_backtest(backtest_id, chunk, queue=False):
        chunk += 1
        if not Backtest.objects.filter(pk=backtest_id, status=BacktestStatus.RUNNING, chunk=chunk).exists():
            return  # someone else has it
