from django.contrib.postgres.operations import (
    BtreeGinExtension,
    CITextExtension,
    TrigramExtension,
    UnaccentExtension,
)
from django.db import migrations


class Migration(migrations.Migration):
    """PostgreSQL extensions the project uses (full-text search, trigram suggestions, GIN)."""

    initial = True
    dependencies: list = []

    operations = [TrigramExtension(), UnaccentExtension(), CITextExtension(), BtreeGinExtension()]
