"""manage.py search_rebuild: recomputes vectors in batches and the vocabulary."""

import pytest
from django.core.management import call_command

from apps.search.models import SearchTerm
from tests.rls_harness import owner_cursor
from tests.search.factories import CommentFactory, PostFactory

pytestmark = pytest.mark.django_db


# Transactional: wiping the vectors behind the triggers' back is DDL, which only the owner may do
# (the suite runs as the application role), on its own connection that sees committed rows only.
@pytest.mark.django_db(transaction=True)
def test_rebuild_restores_vectors_and_vocabulary(api_client):
    posts = [PostFactory(title=f"Lighthouse keeper {n}") for n in range(3)]
    comment = CommentFactory(post=posts[0], body="foghorn")
    with owner_cursor() as cursor:
        # As if the configuration had changed: vectors wiped behind the triggers' back.
        cursor.execute("ALTER TABLE posts DISABLE TRIGGER posts_search_vector")
        cursor.execute("UPDATE posts SET search_vector = NULL")
        cursor.execute("ALTER TABLE posts ENABLE TRIGGER posts_search_vector")
        cursor.execute("ALTER TABLE comments DISABLE TRIGGER comments_search_vector")
        cursor.execute("UPDATE comments SET search_vector = NULL")
        cursor.execute("ALTER TABLE comments ENABLE TRIGGER comments_search_vector")
    assert api_client.get("/api/search", {"q": "lighthouse"}).json()["data"] == []

    call_command("search_rebuild", batch=2)

    found = {row["id"] for row in api_client.get("/api/search", {"q": "lighthouse"}).json()["data"]}
    assert found == {p.id for p in posts}
    assert [r["id"] for r in api_client.get("/api/search", {"q": "foghorn", "type": "comment"}).json()["data"]] == [
        comment.id
    ]
    assert SearchTerm.objects.filter(word="lighthouse", ndoc=3).exists()


def test_demo_seeding_builds_the_vocabulary():
    import io

    from apps.core import seeding
    from apps.core.seeding import DemoContext

    PostFactory(title="Seashell collection")
    maker = dict(seeding.demo_makers())["search.vocabulary"]  # registered by SearchConfig.ready()
    out = io.StringIO()
    maker(DemoContext(size=1, progress=lambda it, **kw: it, stdout=out))
    assert SearchTerm.objects.filter(word="seashell").exists()
    assert "vocabulary" in out.getvalue()
