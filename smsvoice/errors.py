"""Input that cannot be used, as one exception class, and how the API answers it.

Code below a view (a selector, a service) that finds the request's data unusable raises
``BadInput`` (or a subclass, like the selection's ``SelectionError``) with a message for the
person who sent it. Every API view then answers 400 ``{"detail": message}`` through
``exception_handler``, whichever caller forgot to catch it, instead of a 500.
"""

from __future__ import annotations

from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class BadInput(ValueError):
    """The request's data cannot be used; str() says why, in words for its sender."""


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, BadInput):
        return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)
