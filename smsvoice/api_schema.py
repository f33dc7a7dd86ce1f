"""The API's OpenAPI schema, told the truth about errors.

drf-spectacular documents what a view returns when it succeeds; our views also answer 403
(not staff of an organization, or an API key without the scope), 401 (an API key that cannot
be used), 429 (an API key over its rate), 400 (a body, a filter or a query parameter that
cannot be used: ``{"detail": …}`` or DRF's ``{"field": ["message"]}``) and 404 (an id of no
row in the organization, a page past the end). ``AutoSchema`` adds those answers to every
operation they can come from, unless the view documents them itself;
``tests/smsvoice/test_api_fuzz.py`` holds the schema to the behaviour.
"""

from __future__ import annotations

from drf_spectacular import openapi

DETAIL = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
# {"detail": "..."} from our own refusals, or DRF's field errors: {"text": ["..."]}, nested for
# a nested serializer ({"selection": {"ids": ["..."]}}).
BAD_REQUEST = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "additionalProperties": {"anyOf": [{"type": "array"}, {"type": "object"}]},
}
_ANSWERS = {
    "400": ("The request cannot be used; the answer says why.", BAD_REQUEST),
    "401": ("The API key is unknown, malformed, revoked, or its maker left.", DETAIL),
    "403": (
        "Not logged in as staff of an organization, or the API key lacks the scope.",
        DETAIL,
    ),
    "404": ("No such row in your organization, or no such page.", DETAIL),
    "429": ("This API key made too many requests this minute; see Retry-After.", DETAIL),
}


class AutoSchema(openapi.AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code in self._error_codes():
            if code not in responses:
                description, schema = _ANSWERS[code]
                responses[code] = {
                    "description": description,
                    "content": {"application/json": {"schema": schema}},
                }
        return responses

    def _error_codes(self) -> list[str]:
        codes = ["401", "403", "429"]  # 401 and 429: API keys (smsvoice.api_keys)
        paged = bool(self._get_pagination_parameters())
        has_query = bool(self._get_filter_parameters()) or paged
        if self.method in ("POST", "PUT", "PATCH") or has_query:
            codes.append("400")
        if "{" in self.path or paged:
            codes.append("404")
        return codes
