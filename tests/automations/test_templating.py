"""Templating: sandboxed Jinja2, undefined variables are errors, the documented filters."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from automations import clock
from automations.templating import RenderError, render, render_value, template_problem

VARS = {"invoice": {"amount_due": Decimal("1250"), "currency": "USD", "number": "INV-1",
                    "due_date": date(2026, 11, 30)},
        "customer": {"name": "Acme <Corp>"}}


def test_renders_variables_and_filters():
    text = render("{{ invoice.number }}: {{ invoice.amount_due | money(invoice.currency) }} due "
                  "{{ invoice.due_date | date('%d %b %Y') }}", VARS)
    assert text == "INV-1: $1,250.00 due 30 Nov 2026"


@pytest.mark.parametrize(("amount", "currency", "expected"), [
    ("1234.5", "EUR", "€1,234.50"), (-5, "USD", "-$5.00"), ("10", "CHF", "10.00 CHF"), ("0.005", None, "0.01")])
def test_money_filter(amount, currency, expected):
    assert render("{{ a | money(c) }}", {"a": amount, "c": currency}) == expected


def test_days_until_counts_from_the_engines_clock():
    now = clock.now()
    assert render("{{ d | days_until }}", {"d": (now + timedelta(days=10)).date()}) == "10"
    assert render("{{ d | days_until }}", {"d": "2026-11-15"}) == "-5"
    assert render("{{ d | days_until }}", {"d": datetime(2026, 11, 21, 23, tzinfo=timezone.utc)}) == "1"


def test_undefined_variable_is_an_error_not_an_empty_string():
    with pytest.raises(RenderError, match=r"^customer_name is not set \(this run has no customer_name\)$"):
        render("Hi {{ customer_name }}", VARS)
    with pytest.raises(RenderError, match=r"^customer.emial is not set \(customer has no field emial\)$"):
        render("{{ customer.emial }}", VARS)


def test_sandbox_refuses_unsafe_attribute_access():
    with pytest.raises(RenderError):
        render("{{ invoice.__class__.__mro__ }}", VARS)


def test_bad_filter_input_is_a_render_error():
    with pytest.raises(RenderError, match="not an amount"):
        render("{{ customer.name | money }}", VARS)
    with pytest.raises(RenderError, match="not a date"):
        render("{{ customer.name | date }}", VARS)


def test_html_rendering_escapes_values_text_does_not():
    assert render("<b>{{ customer.name }}</b>", VARS, html=True) == "<b>Acme &lt;Corp&gt;</b>"
    assert render("{{ customer.name }}", VARS) == "Acme <Corp>"


def test_only_the_roots_a_template_uses_are_resolved():
    class Lazy(dict):
        def __getitem__(self, key):
            if key == "invoice":
                raise AssertionError("invoice was read though the template never uses it")
            return super().__getitem__(key)

        def __contains__(self, key):
            return True

    assert render("Hi {{ customer.name }}", Lazy(customer={"name": "Ann"})) == "Hi Ann"


def test_syntax_errors_are_reported_with_their_line():
    assert "line 2" in template_problem("ok\n{{ broken ")
    assert template_problem("plain text") is None
    assert template_problem("{{ fine }}") is None


def test_render_value_walks_json():
    assert render_value({"a": ["{{ invoice.number }}", 3], "b": {"c": "x"}}, VARS) == {"a": ["INV-1", 3], "b": {"c": "x"}}


def test_money_arithmetic_with_float_literals_stays_decimal():
    assert render("{{ invoice.amount_due * 0.1 }}", VARS) == "125.0"  # Decimal("1250") * Decimal("0.1")
    assert render("{{ (invoice.amount_due - 0.5) | money('USD') }}", VARS) == "$1,249.50"
