"""Logging pieces the settings' LOGGING refers to.

Django's ``django.request`` logger reports every 4xx with the exception attached, so each 403
(a guardian opening a staff page, a coach opening Settings) printed a full traceback. A refused
request is not a fault of ours: one line says which path and why. 5xx keep their traceback.
"""

from __future__ import annotations

import logging


class ClientErrorsOnOneLine(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", 500) < 500:
            record.exc_info = None
            record.exc_text = None
        return True
