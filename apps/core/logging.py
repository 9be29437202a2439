import logging

from apps.core.request_context import current_request_id


class RequestIDFilter(logging.Filter):
    """Puts the current request id on a record (`-` outside a request). Kept for handlers that
    receive records made before the factory was installed."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id() or "-"
        return True


def install_request_id_record_factory() -> None:
    """Every log record made while a request is handled carries its id, for every handler."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "_adds_request_id", False):
        return

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        record.request_id = current_request_id() or "-"
        return record

    factory._adds_request_id = True
    logging.setLogRecordFactory(factory)
