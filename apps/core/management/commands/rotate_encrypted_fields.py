"""Rewrite every encrypted column with the newest key of FIELD_ENCRYPTION_KEYS.

Key rotation (apps.core.crypto): put the new key first in FIELD_ENCRYPTION_KEYS (keep the old one
after it), deploy, run this, then drop the old key. Values stored before encryption was turned on
are encrypted too. Each value is read through the field (any listed key decrypts it) and written
back (the first key encrypts it), one UPDATE per batch in its own transaction, as the system: the columns
may sit in private tables (row-level security).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction

from apps.core.crypto import encrypted_fields
from apps.core.rls import system_context


class Command(BaseCommand):
    help = "Re-encrypt every EncryptedTextField value with the newest FIELD_ENCRYPTION_KEYS key."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, batch_size: int = 500, **options):
        total = 0
        for model, column in encrypted_fields():
            rewritten = 0
            last_pk = None
            while True:
                with transaction.atomic(), system_context("rotate_encrypted_fields"):
                    rows = model._base_manager.order_by("pk")
                    if last_pk is not None:
                        rows = rows.filter(pk__gt=last_pk)
                    batch = list(rows.exclude(**{column: None}).only("pk", column)[:batch_size])
                    model._base_manager.bulk_update(batch, [column])  # one UPDATE a batch
                if not batch:
                    break
                rewritten += len(batch)
                last_pk = batch[-1].pk
            total += rewritten
            self.stdout.write(f"{model._meta.label}.{column}: {rewritten} rewritten")
        self.stdout.write(self.style.SUCCESS(f"{total} values now under the newest key"))
