"""The API's JSON parser: DRF's, with limits that turn hostile bodies into a 400.

Python's json module recurses once per nesting level, so ``[[[[…]]]]`` a few thousand deep is a
RecursionError (a 500) before any view runs; a NUL character inside a string reaches
PostgreSQL, which refuses it (another 500). The body is therefore read up to a size limit, its
nesting is measured without recursion before it is parsed, and strings (keys included) may not
hold NUL. Each refusal is a ParseError: 400 with a message saying what to change.
"""

from __future__ import annotations

import codecs
import re
from typing import Any

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.settings import api_settings
from rest_framework.utils import json

# A JSON string literal (with its escapes); whatever brackets it holds are not nesting.
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


def json_depth(text: str) -> int:
    """How deeply arrays and objects nest in a JSON text (0 for a scalar), without recursing."""
    depth = deepest = 0
    for bracket in _BRACKET.findall(_STRING.sub('""', text)):
        if bracket in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def has_nul(data: Any) -> bool:
    """True if any string in a parsed JSON document (object keys too) holds a NUL character."""
    pending = [data]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        text = self._read(stream, parser_context or {})
        limit = settings.API_JSON_MAX_DEPTH
        if json_depth(text) > limit:
            raise ParseError(f"JSON parse error - the body nests deeper than {limit} levels.")
        try:
            data = json.loads(
                text, parse_constant=json.strict_constant if api_settings.STRICT_JSON else None
            )
        except (ValueError, RecursionError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        if has_nul(data):
            raise ParseError("JSON parse error - text may not contain NUL (\\u0000) characters.")
        return data

    def _read(self, stream, parser_context: dict) -> str:
        limit = settings.API_JSON_MAX_BYTES
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise ParseError(f"JSON parse error - the body is larger than {limit:,} bytes.")
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            return codecs.decode(raw, encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
