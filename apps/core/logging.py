import logging

from apps.core.request_context import current_request_id


class RequestIDFilter(logging.Filter):
    """Puts the current request id on every log record (`-` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id() or "-"
        return True
