"""The card networks' retry limits: at most so many charges of one card (or of one card for one
amount) in any rolling period, counted across every automation. Pure functions of the charges
already made; ``automations.card_retries.ledger`` keeps those.

The defaults come from the networks' public rules for merchant-initiated retries after a decline:
Visa allows 15 retries of one card for one amount in 30 days (its 2025 rules allow 20 for
merchant-initiated retries, counted apart from the customer's own: a host may raise the figure);
Mastercard allows 10 retries of one card in 24 hours and 35 in 30 days. Any other network gets
the stricter of the two. ``AUTOMATIONS["RETRY_LIMITS"]`` replaces them, network by network.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from automations.durations import format_delta, parse as parse_duration
from billing_events.errors import InvalidInput

CARD, CARD_AND_AMOUNT = "card", "card_and_amount"
OTHER = "other"

DEFAULT_RETRY_LIMITS: dict[str, list[dict[str, Any]]] = {
    "visa": [{"attempts": 15, "within": "30d", "per": CARD_AND_AMOUNT}],
    "mastercard": [{"attempts": 10, "within": "24h", "per": CARD}, {"attempts": 35, "within": "30d", "per": CARD}],
    OTHER: [{"attempts": 10, "within": "24h", "per": CARD}, {"attempts": 15, "within": "30d", "per": CARD}],
}

NETWORK_LABELS = {"visa": "Visa", "mastercard": "Mastercard", "amex": "American Express", "discover": "Discover",
                  "jcb": "JCB", "unionpay": "UnionPay", "diners": "Diners Club"}


def network_label(network: str) -> str:
    return NETWORK_LABELS.get(network, network.title() if network else "The card's network")


def in_words(period: timedelta) -> str:
    """``24 hours``, ``30 days``: a period as the networks' rules say it."""
    seconds = int(period.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0 and seconds >= size and not (unit == "day" and seconds == 86400):
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return format_delta(period)


@dataclass(frozen=True)
class Limit:
    """At most ``attempts`` charges of one card (``per`` card) or of one card for one amount
    (``per`` card and amount) in any ``within``."""

    network: str
    attempts: int
    within: timedelta
    per: str = CARD

    @property
    def text(self) -> str:
        """``Mastercard allows 10 retries in 24 hours``."""
        if self.network == ADVICE_NETWORK:
            return "the card's network asked not to charge this card again before then"
        amount = " for one amount" if self.per == CARD_AND_AMOUNT else ""
        return f"{network_label(self.network)} allows {self.attempts} retries{amount} in {in_words(self.within)}"


ADVICE_NETWORK = "network advice"
#: Not a limit but a decline's advice from the network ("retry after 24 hours"): held like one.
ADVICE = Limit(ADVICE_NETWORK, 0, timedelta(0))


@dataclass(frozen=True)
class OverLimit:
    """A charge beyond ``limit``: the card may be charged again at ``until``."""

    limit: Limit
    until: datetime
    made: int  # charges the limit counts in the period before this one

    def reason(self) -> str:
        return self.limit.text if self.limit is ADVICE else f"{self.limit.text}; {self.made} made"


@dataclass(frozen=True)
class Attempt:
    """A charge already made of the card: its amount and moment."""

    amount: Decimal
    at: datetime


def limits_for(network: str, setting: dict[str, list[dict[str, Any]]]) -> list[Limit]:
    """The limits a charge on ``network`` obeys: the setting's entry for it, else its ``other``."""
    configs = setting.get(network) if network in setting else setting.get(OTHER, [])
    name = network if network in setting else (network or OTHER)
    return [Limit(name, config["attempts"], parse_duration(config["within"]), config.get("per", CARD))
            for config in configs or []]


def check(limits: Iterable[Limit], made: Iterable[Attempt], amount: Decimal, now: datetime) -> OverLimit | None:
    """The limit a charge of ``amount`` at ``now`` would break, given the card's charges already
    ``made``; None when it may go. Of several, the one that frees the card last, so one wait
    clears them all."""
    made = list(made)
    found: list[OverLimit] = []
    for limit in limits:
        # "later" than now too: another worker's clock may run a little ahead of this one
        times = sorted(attempt.at for attempt in made if attempt.at > now - limit.within
                       and (limit.per == CARD or attempt.amount == amount))
        if len(times) >= limit.attempts:
            # The card may be charged once the oldest of the last `attempts` ages out of the period.
            found.append(OverLimit(limit, times[-limit.attempts] + limit.within, len(times)))
    return max(found, key=lambda over: over.until) if found else None


def longest_period(limits: Iterable[Limit]) -> timedelta:
    return max((limit.within for limit in limits), default=timedelta(0))


def setting_errors(value: Any, name: str = "RETRY_LIMITS") -> list[dict[str, str]]:
    """What is wrong with a ``RETRY_LIMITS`` setting, as ``{"field", "message"}``."""
    if not isinstance(value, dict):
        return [{"field": name, "message": "must be a dict of network -> list of limits"}]
    problems = []
    for network, configs in value.items():
        where = f"{name}.{network}"
        if not isinstance(network, str) or not network:
            problems.append({"field": name, "message": f"{network!r} is not a network name"})
            continue
        if not isinstance(configs, list):
            problems.append({"field": where, "message": "must be a list of limits"})
            continue
        for index, config in enumerate(configs):
            problems.extend(_limit_errors(config, f"{where}[{index}]"))
    return problems


def _limit_errors(config: Any, where: str) -> list[dict[str, str]]:
    if not isinstance(config, dict):
        return [{"field": where, "message": 'must be a dict such as {"attempts": 10, "within": "24h"}'}]
    problems = []
    unknown = sorted(set(config) - {"attempts", "within", "per"})
    if unknown:
        problems.append({"field": where, "message": f"has unknown keys {', '.join(unknown)}"})
    attempts = config.get("attempts")
    if not isinstance(attempts, int) or isinstance(attempts, bool) or attempts < 1:
        problems.append({"field": f"{where}.attempts", "message": f"must be a positive whole number, not {attempts!r}"})
    try:
        if parse_duration(config.get("within"), field=f"{where}.within") <= timedelta(0):
            raise InvalidInput("must be longer than nothing")
    except InvalidInput as exc:
        problems.append({"field": f"{where}.within", "message": str(exc)})
    if config.get("per", CARD) not in (CARD, CARD_AND_AMOUNT):
        problems.append({"field": f"{where}.per", "message": f"must be {CARD!r} or {CARD_AND_AMOUNT!r}"})
    return problems
