"""A file spool for event redeliveries the broker could not take.

`events.dispatch` hands a receiver that met a database outage to Celery (`core.redeliver_event`).
If the broker is unreachable at that moment too (Redis down with PostgreSQL), the redelivery is
written here instead: one JSON line per receiver run, fsynced, so it outlives the process. It goes
to Celery as soon as the broker takes it again:

- a thread in the process that wrote it retries every EVENTS_REDELIVERY_DELAY_SECONDS until its
  spool is empty;
- whatever a process left behind (it died first) is drained when a web process starts (the ASGI
  lifespan), when a Celery worker is ready, and by beat every minute (`core.drain_event_spool`).

Each process appends to its own file. A drainer claims a file by renaming it, so two drainers never
send the same line. A writer re-checks under its lock that the file it opened is still the named
file, so no line is appended to a file after it was claimed. What the broker still refuses is
written back. The spool is local to a machine: give every web and worker node a persistent
EVENTS_SPOOL_DIR.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
import time
import uuid
from pathlib import Path

from django.conf import settings

logger = logging.getLogger(__name__)

_thread_lock = threading.Lock()
_retry_thread: threading.Thread | None = None


def spool_dir() -> Path:
    return Path(settings.EVENTS_SPOOL_DIR)


def _pending_path() -> Path:
    return spool_dir() / f"pending-{os.getpid()}.jsonl"


def write(receiver_path: str, event_path: str, fields: dict) -> None:
    """Keep one redelivery on disk (raises OSError if even that is impossible)."""
    line = json.dumps({"receiver": receiver_path, "event": event_path, "fields": fields}) + "\n"
    spool_dir().mkdir(parents=True, exist_ok=True)
    with _thread_lock:
        while True:
            path = _pending_path()
            with open(path, "a", encoding="utf-8") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    if not path.exists() or os.stat(path).st_ino != os.fstat(handle.fileno()).st_ino:
                        continue  # claimed by a drainer between open and lock: write to a new file
                    handle.write(line)
                    handle.flush()
                    os.fsync(handle.fileno())
                    break
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)
    logger.warning("event redelivery spooled to %s (broker unreachable): %s", path, receiver_path)
    _start_retry_thread()


def pending() -> int:
    """Lines waiting in every spool file of this machine."""
    total = 0
    for path in spool_dir().glob("pending-*.jsonl"):
        try:
            total += sum(1 for _ in path.open(encoding="utf-8"))
        except FileNotFoundError:
            continue
    return total


def drain() -> tuple[int, int]:
    """Send every spooled redelivery to Celery. Returns (sent, still waiting)."""
    from apps.core.tasks import redeliver_event

    sent = kept = 0
    directory = spool_dir()
    if not directory.is_dir():
        return 0, 0
    for path in sorted(directory.glob("pending-*.jsonl")):
        claimed = directory / f"draining-{os.getpid()}-{uuid.uuid4().hex}.jsonl"
        try:
            os.rename(path, claimed)
        except FileNotFoundError:
            continue  # another drainer took it
        with open(claimed, encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # waits out a write that began before the rename
            lines = handle.readlines()
        for raw in lines:
            try:
                item = json.loads(raw)
            except ValueError:
                logger.error("event spool: unreadable line dropped from %s: %r", path.name, raw[:200])
                continue
            try:
                redeliver_event.apply_async(args=[item["receiver"], item["event"], item["fields"]])
                sent += 1
            except Exception:  # the broker is still away: keep it for the next round
                write(item["receiver"], item["event"], item["fields"])
                kept += 1
        claimed.unlink()
    if sent or kept:
        logger.warning("event spool drained: %d sent to Celery, %d still waiting", sent, kept)
    return sent, kept


def drain_quietly(where: str) -> None:
    """For start-up hooks: a spool problem must never stop a process from starting."""
    try:
        drain()
    except Exception:
        logger.warning("event spool: draining at %s failed; it will be retried", where, exc_info=True)


def _retry_until_empty() -> None:
    global _retry_thread
    while True:
        time.sleep(settings.EVENTS_REDELIVERY_DELAY_SECONDS)
        try:
            _sent, kept = drain()
        except Exception:
            logger.warning("event spool: drain failed; retrying", exc_info=True)
            continue
        with _thread_lock:
            if kept == 0 and not _pending_path().exists():
                _retry_thread = None
                return


def _start_retry_thread() -> None:
    global _retry_thread
    if not settings.EVENTS_SPOOL_RETRY_THREAD:
        return
    with _thread_lock:
        if _retry_thread is None:
            _retry_thread = threading.Thread(target=_retry_until_empty, name="event-spool-retry", daemon=True)
            _retry_thread.start()
