"""Watched words: moderators add and remove them; the spam controls read them (cached)."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from apps.accounts.models import User
from apps.core.exceptions import Conflict, NotFound, ValidationFailed
from apps.moderation import audit
from apps.moderation.models import WatchedWord, WatchedWordAction
from apps.moderation.services.rules import A, require_moderator
from apps.moderation.word_matching import invalidate_watched_words


@transaction.atomic
def watched_word_add(*, actor: User, word: str, action: str) -> WatchedWord:
    require_moderator(actor)
    word = " ".join(word.split()).lower()
    if not word or word.replace("*", "") == "":
        raise ValidationFailed("A watched word needs letters.", details={"word": ["Enter a word or phrase."]})
    if action not in WatchedWordAction.values:
        raise ValidationFailed(
            "Unknown action.", details={"action": [f"One of {', '.join(WatchedWordAction.values)}."]}
        )
    if WatchedWord.objects.filter(word__iexact=word).exists():
        raise Conflict("That word is already watched.")
    try:
        with transaction.atomic():
            ww = WatchedWord.objects.create(word=word, action=action, created_by=actor)
    except IntegrityError:
        raise Conflict("That word is already watched.") from None
    audit.record(
        actor=actor,
        action=A.WATCHED_WORD,
        target_type="user",
        target_id=actor.pk,
        after={"word": word, "action": action},
    )
    transaction.on_commit(invalidate_watched_words)
    return ww


@transaction.atomic
def watched_word_remove(*, actor: User, word_id: int) -> None:
    require_moderator(actor)
    ww = WatchedWord.objects.filter(pk=word_id).first()
    if ww is None:
        raise NotFound()
    audit.record(
        actor=actor,
        action=A.WATCHED_WORD,
        target_type="user",
        target_id=actor.pk,
        before={"word": ww.word, "action": ww.action},
    )
    ww.delete()
    transaction.on_commit(invalidate_watched_words)
