"""The worker task that runs a stored backtest, keeping its progress readable while it runs."""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from automations import clock
from automations.backtest import events
from automations.backtest.replay import replay
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


def run_backtest(backtest_id: int, page_size: int | None = None) -> None:
    """Run backtest ``backtest_id`` if it is still queued (a second delivery of the task finds it taken)."""
    started_at = clock.now()
    if not Backtest.objects.filter(pk=backtest_id, status=BacktestStatus.QUEUED).update(
            status=BacktestStatus.RUNNING, started_at=started_at):
        return
    backtest = Backtest.objects.get(pk=backtest_id)

    def progress(done: int, total: int) -> None:
        Backtest.objects.filter(pk=backtest_id).update(events_done=done, events_total=total)

    try:
        counts = replay(backtest.definition, backtest.period_start, backtest.period_end,
                        automation_id=backtest.automation_id, version=backtest.version_number, progress=progress,
                        page_size=page_size or events.PAGE_SIZE)
    except Exception as exc:  # the operator reads why on the backtest; the worker carries on
        logger.exception("backtest %s failed", backtest_id)
        Backtest.objects.filter(pk=backtest_id).update(status=BacktestStatus.FAILED, error=str(exc)[:2000],
                                                       finished_at=clock.now())
        return
    finished_at = clock.now()
    result = {**header(backtest), "billing_data": "current", "billing_data_as_of": started_at.isoformat(),
              "note": BILLING_DATA_NOTE, **counts}
    Backtest.objects.filter(pk=backtest_id).update(status=BacktestStatus.SUCCEEDED, result=result,
                                                   finished_at=finished_at)

