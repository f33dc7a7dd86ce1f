"""The API's OpenAPI schema, told the truth about errors.

drf-spectacular documents what a view returns when it succeeds; our views also answer 403
(not staff of an organization), 400 (a body, a filter or a query parameter that cannot be
used: ``{"detail": …}`` or DRF's ``{"field": ["message"]}``) and 404 (an id of no row in the
organization, a page past the end). ``AutoSchema`` adds those answers to every operation they
can come from, unless the view documents them itself; ``tests/smsvoice/test_api_fuzz.py``
holds the schema to the behaviour.
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
    "403": ("Not logged in as staff of an organization.", DETAIL),
    "404": ("No such row in your organization, or no such page.", DETAIL),
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
        codes = ["403"]
        paged = bool(self._get_pagination_parameters())
        has_query = bool(self._get_filter_parameters()) or paged
        if self.method in ("POST", "PUT", "PATCH") or has_query:
            codes.append("400")
        if "{" in self.path or paged:
            codes.append("404")
        return codes
