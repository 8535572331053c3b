"""Request parsing that refuses, with a 400 rather than a 500, JSON the rest of the app cannot hold:
NUL characters (the database cannot store them) and nesting deeper than ``MAX_JSON_DEPTH``
(recursive code further on would overflow Python's stack)."""
from __future__ import annotations

import json

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from billing_events.validation import check_json, contains_nul

#: Levels of arrays and objects a body may nest before anything else reads it (what each part may
#: hold is narrower: ``BILLING_EVENTS["JSON_MAX_DEPTH"]`` for definitions and event data).
MAX_JSON_DEPTH = 100


def _number(text: str) -> int | float:
    """A JSON number with a fraction; ``54.0`` is the integer 54, as JSON Schema counts it."""
    value = float(text)
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


class StrictJSONParser(JSONParser):
    """Standard JSON (no NaN or Infinity) with no NUL characters, at most ``MAX_JSON_DEPTH`` levels of
    nesting, and whole numbers read as integers however they are written."""

    def parse(self, stream, media_type=None, parser_context=None):  # type: ignore[no-untyped-def]
        too_deep = ParseError(f"nests more than {MAX_JSON_DEPTH} levels of objects and arrays")
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            data = json.loads(stream.read().decode(encoding), parse_float=_number, parse_constant=_no_constant)
        except RecursionError:
            raise too_deep from None
        except ValueError as exc:  # UnicodeDecodeError included
            raise ParseError(f"JSON parse error - {exc}") from None
        check_json(data, "", max_depth=MAX_JSON_DEPTH)
        if contains_nul(data):
            raise ParseError("JSON strings must not contain NUL (\\u0000) characters")
        return data
