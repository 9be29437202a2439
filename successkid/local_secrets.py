"""Random secrets for a machine without configured ones (`make run`): created on first use with
`secrets.token_urlsafe`, kept in `var/` with the rest of the local data (mode 0600), and read back
on later runs, so sessions and tokens survive a restart. Never a key written in the repository:
anyone could mint tokens for an instance signed with one. Production sets its own (and refuses
to start without SECRET_KEY)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def local_secret(name: str, *, directory: Path) -> str:
    path = directory / name
    try:
        value = path.read_text().strip()
        if value:
            return value
    except FileNotFoundError:
        pass
    value = secrets.token_urlsafe(50)
    # O_EXCL: when two processes start at once, one writes and the other reads what it wrote.
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip() or value
    except OSError:  # a read-only image (production sets SECRET_KEY): random for this process only
        return value
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value
