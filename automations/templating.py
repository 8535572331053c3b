"""The template engine for every string an action renders (SPEC section 7).

Sandboxed Jinja2; an undefined variable is an error, never an empty string. Only the roots a
template actually uses are resolved, so a template that never mentions ``invoice`` costs no
gateway read.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from django.utils.dateparse import parse_date, parse_datetime
from jinja2 import StrictUndefined, TemplateError, meta
from jinja2.sandbox import SandboxedEnvironment

from automations import clock, vault

CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "AUD": "A$", "CAD": "C$"}


class RenderError(Exception):
    """A template could not be rendered (syntax error, undefined variable, bad filter input)."""


def to_date(value: Any) -> date | datetime:
    """A date or datetime from a date, a datetime or an ISO 8601 string."""
    if isinstance(value, (date, datetime)):
        return value
    if isinstance(value, str):
        parsed = parse_datetime(value) if "T" in value or " " in value else parse_date(value)
        if parsed is not None:
            return parsed
    raise RenderError(f"{value!r} is not a date")


def money(value: Any, currency: str | None = None) -> str:
    """``1250`` with ``USD`` -> ``$1,250.00``; an unknown currency is written as its code."""
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError) as exc:
        raise RenderError(f"money: {value!r} is not an amount") from exc
    sign = "-" if amount < 0 else ""
    text = f"{abs(amount):,.2f}"
    if not currency:
        return f"{sign}{text}"
    symbol = CURRENCY_SYMBOLS.get(currency.upper())
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {currency.upper()}"


def format_date(value: Any, fmt: str = "%b %d, %Y") -> str:
    """A date (or ISO string) in ``fmt`` (strftime)."""
    return to_date(value).strftime(fmt)


def days_until(value: Any) -> int:
    """Whole days from today (the engine's clock, UTC) to ``value``; negative once it is past."""
    target = to_date(value)
    target_day = target.date() if isinstance(target, datetime) else target
    return (target_day - clock.now().date()).days


class MoneyAwareEnvironment(SandboxedEnvironment):
    """Arithmetic mixing money (Decimal) with a literal such as ``0.1`` works in Decimal instead of
    failing: ``{{ invoice.amount_due * 0.1 }}`` is ``125.000`` for 1250.00."""

    intercepted_binops = frozenset(["+", "-", "*", "/", "//", "%"])

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if isinstance(left, Decimal) and isinstance(right, float):
            right = Decimal(str(right))
        elif isinstance(right, Decimal) and isinstance(left, float):
            left = Decimal(str(left))
        return super().call_binop(context, operator, left, right)


def _environment(autoescape: bool) -> SandboxedEnvironment:
    env = MoneyAwareEnvironment(undefined=StrictUndefined, autoescape=autoescape, keep_trailing_newline=True)
    env.filters.update({"money": money, "date": format_date, "days_until": days_until})
    return env


TEXT_ENV = _environment(autoescape=False)
HTML_ENV = _environment(autoescape=True)


@lru_cache(maxsize=2048)
def _compile(source: str, html: bool):
    env = HTML_ENV if html else TEXT_ENV
    return env.from_string(source), frozenset(meta.find_undeclared_variables(env.parse(source)))


def is_template(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def template_syntax_error(source: str) -> str | None:
    """None when ``source`` is a valid template, else the syntax error with its line."""
    if not is_template(source):
        return None
    try:
        _compile(source, False)
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        return f"template syntax error{f' on line {line}' if line else ''}: {exc.message or exc}"
    return None


def referenced_roots(source: str) -> frozenset[str]:
    """The top-level variables a template reads (``{{ invoice.number }}`` -> ``{"invoice"}``)."""
    if not is_template(source):
        return frozenset()
    return _compile(source, False)[1]


def render(source: str, variables: Mapping[str, Any], *, html: bool = False) -> str:
    """Render ``source``; ``variables`` may be lazy: only the roots the template reads are looked up."""
    if not is_template(source):
        return source
    try:
        template, roots = _compile(source, html)
        values = {root: variables[root] for root in roots if root in variables}
        if "secrets" in roots:  # a reference renders as itself: values are resolved at the outbound call only
            values["secrets"] = vault.REFERENCES
        return template.render(values)
    except RenderError:
        raise
    except TemplateError as exc:
        raise RenderError(str(exc.message or exc)) from exc
    except (TypeError, ValueError, ArithmeticError, LookupError) as exc:
        raise RenderError(f"{type(exc).__name__}: {exc}") from exc


def render_value(value: Any, variables: Mapping[str, Any]) -> Any:
    """Render every string inside a JSON value (dicts and lists walked), leaving other types as they are."""
    if isinstance(value, str):
        return render(value, variables)
    if isinstance(value, list):
        return [render_value(item, variables) for item in value]
    if isinstance(value, dict):
        return {key: render_value(item, variables) for key, item in value.items()}
    return value
