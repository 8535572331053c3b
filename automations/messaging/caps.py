"""Frequency caps: at most ``max`` messages of some channels to one customer in any rolling
``period``, counted across all automations. Pure functions of the messages already sent."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from automations.durations import parse as parse_duration

CHANNELS = ("email", "sms", "slack")
DELAY, SKIP = "delay", "skip"


@dataclass(frozen=True)
class Cap:
    """At most ``max`` messages of ``channels`` per customer in any ``period``; a message over it
    is delayed to when it fits again, or skipped (``on_cap``)."""

    channels: frozenset[str]
    max: int
    period: timedelta
    on_cap: str = DELAY
    text: str = ""  # how the definition or setting wrote it, for the step log

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Cap:
        """The cap of a validated ``frequency_caps`` entry (``channels`` defaults to all three)."""
        channels = frozenset(config.get("channels") or CHANNELS)
        on_cap = config.get("on_cap", DELAY)
        text = f"{config['max']} per {config['period']} ({', '.join(sorted(channels))})"
        return cls(channels, config["max"], parse_duration(config["period"]), on_cap, text)


@dataclass(frozen=True)
class Capped:
    """A message over a cap: skip it, or wait until ``until`` (when it fits under that cap)."""

    cap: Cap
    until: datetime
    sent: int  # messages of the cap's channels in the period before this one

    @property
    def skip(self) -> bool:
        return self.cap.on_cap == SKIP

    def reason(self) -> str:
        return f"{self.sent} message(s) of {self.cap.text} already sent to this customer"


def check(caps: Iterable[Cap], channel: str, sent: Iterable[tuple[str, datetime]], now: datetime) -> Capped | None:
    """The cap that holds back a ``channel`` message at ``now``, given the ``(channel, sent_at)``
    of the messages already sent to the customer; None when it may go.

    A cap that skips wins over one that delays (the message would never go); among delaying
    caps, the one that frees the message last, so a single wait clears them all.
    """
    sent = list(sent)
    found: list[Capped] = []
    for cap in caps:
        if channel not in cap.channels:
            continue
        # "later" than now too: another worker's clock may run a little ahead of this one
        times = sorted(at for kind, at in sent if kind in cap.channels and at > now - cap.period)
        if len(times) >= cap.max:
            # The message fits once the oldest of the last `max` ages out of the period.
            found.append(Capped(cap, times[-cap.max] + cap.period, len(times)))
    if not found:
        return None
    skipping = [capped for capped in found if capped.skip]
    if skipping:
        return skipping[0]
    return max(found, key=lambda capped: capped.until)


def caps_for(definition: dict[str, Any], default: list[dict[str, Any]]) -> list[Cap]:
    """The caps a run of ``definition`` obeys: its ``frequency_caps`` when it has them (an empty
    list exempts it), else the ``FREQUENCY_CAPS`` setting."""
    configs = definition["frequency_caps"] if "frequency_caps" in definition else default
    return [Cap.from_config(config) for config in configs or []]


def longest_period(caps: Iterable[Cap]) -> timedelta:
    return max((cap.period for cap in caps), default=timedelta(0))
