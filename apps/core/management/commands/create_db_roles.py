"""Create the application's database role and grant it what it needs on this database.

Idempotent; run as the owner (DATABASE_URL's user) after `migrate`. Roles are cluster-wide, so this
never drops or renames one: it creates the role if it is missing, makes sure it is not privileged
(NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE), sets its password when DATABASE_APP_PASSWORD is
given, and grants, on this database only: CONNECT, USAGE on the schema, DML on every table,
sequence use, and the same by default on tables and sequences the owner creates later.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from psycopg import sql


class Command(BaseCommand):
    help = "Create (idempotently) the non-owner application role for row-level security and grant it DML."

    def add_arguments(self, parser):
        parser.add_argument("--role", default=None, help="role name (default: DATABASE_APP_USER)")
        parser.add_argument("--database", default="default")

    def handle(self, *args, role=None, database="default", **options):
        role = role or settings.DATABASE_APP_USER
        if not role:
            raise CommandError("Set DATABASE_APP_USER (or pass --role): the role the application connects as.")
        connection = connections[database]
        connection.ensure_connection()
        self._prepare_celery_tables()
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user, current_database()")
            owner, dbname = cursor.fetchone()
            if owner == role:
                raise CommandError(
                    f"Connected as {role!r}, the application role itself: run this as the owner "
                    "(DATABASE_AS_OWNER=1, DATABASE_URL's user)."
                )
            password = getattr(settings, "DATABASE_APP_PASSWORD", "")
            ident = sql.Identifier(role)
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
            if cursor.fetchone() is None:
                # Another process may create it at the same moment (shared server): tolerate that.
                cursor.execute(
                    sql.SQL(
                        "DO $$ BEGIN CREATE ROLE {} LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$"
                    ).format(ident)
                )
                self.stdout.write(f"created role {role}")
            cursor.execute(
                sql.SQL("ALTER ROLE {} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION").format(
                    ident
                )
            )
            if password:
                cursor.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(ident, sql.Literal(password)))
            statements = [
                sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(sql.Identifier(dbname), ident),
                sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(ident),
                sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}").format(ident),
                sql.SQL("GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {}").format(ident),
                sql.SQL("GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO {}").format(ident),
                sql.SQL(
                    "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA public "
                    "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {}"
                ).format(sql.Identifier(owner), ident),
                sql.SQL(
                    "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {}"
                ).format(sql.Identifier(owner), ident),
            ]
            for statement in statements:
                cursor.execute(statement)
            # Tables the application must be able to TRUNCATE? None: it only deletes rows.
            cursor.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = %s", [role])
            superuser, bypass = cursor.fetchone()
        if superuser or bypass:  # ALTER ROLE above makes this impossible; checked anyway
            raise CommandError(f"role {role} is privileged (superuser={superuser}, bypassrls={bypass})")
        self.stdout.write(f"role {role}: DML granted on database {dbname} (owner {owner})")

    def _prepare_celery_tables(self) -> None:
        """Without Redis, Celery keeps its broker queue and results in tables it creates on first
        use; the application role may not create tables, so the owner makes them here (and the
        grants below cover them)."""
        if not (settings.CELERY_BROKER_URL.startswith("sqla+") or settings.CELERY_RESULT_BACKEND.startswith("db+")):
            return
        from celery import current_app as app

        if settings.CELERY_BROKER_URL.startswith("sqla+"):
            with app.connection_for_write() as conn:
                conn.default_channel._open()  # creates kombu's tables
        if settings.CELERY_RESULT_BACKEND.startswith("db+"):
            app.backend.ResultSession().close()
