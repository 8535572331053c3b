"""Request parsing that refuses what the database cannot store, as a 400 rather than a 500."""
from __future__ import annotations

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from billing_events.validation import contains_nul


class StrictJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):  # type: ignore[no-untyped-def]
        data = super().parse(stream, media_type, parser_context)
        if contains_nul(data):
            raise ParseError("JSON strings must not contain NUL (\\u0000) characters")
        return data
