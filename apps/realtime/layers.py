"""The channel layer used without Redis: channels-postgres (LISTEN/NOTIFY), with one fix.

channels-postgres removes a channel from a group through the Django ORM on a database alias
named `channels_postgres`, while everything else goes through its own psycopg pool. We have one
database, so that one statement goes through the pool too.
"""

from __future__ import annotations

from channels_postgres.core import PostgresChannelLayer as _PostgresChannelLayer
from channels_postgres.db import GROUP_CHANNEL_TABLE, DatabaseLayer
from psycopg import sql


class _PooledDatabaseLayer(DatabaseLayer):
    async def delete_channel_group(self, group_key: str, channel: str) -> None:
        statement = sql.SQL("DELETE FROM {table} WHERE group_key = %s AND channel = %s").format(
            table=sql.Identifier(GROUP_CHANNEL_TABLE)
        )
        pool = await self.get_db_pool(db_params=self.db_params)
        async with pool.connection() as conn:
            await conn.execute(statement, (group_key, channel))


class PostgresChannelLayer(_PostgresChannelLayer):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.django_db = _PooledDatabaseLayer(
            self.django_db.psycopg_options, self.db_params, logger=self.django_db.logger
        )
