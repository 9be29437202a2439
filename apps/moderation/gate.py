"""Moderation's spam controls as the forum's content gate (apps.forum.hooks)."""

from apps.moderation import spam


class SpamControlGate:
    def check_post(self, author, title: str, body: str) -> spam.Verdict:
        return spam.check_new_post(author, title, body)

    def check_comment(self, author, body: str) -> spam.Verdict:
        return spam.check_new_comment(author, body)

    def check_post_edit(self, author, title: str, body: str) -> spam.Verdict:
        return spam.check_post_edit(author, title, body)

    def check_comment_edit(self, author, body: str) -> spam.Verdict:
        return spam.check_comment_edit(author, body)

    def after_create(self, verdict: spam.Verdict, target_type: str, target_id: int) -> None:
        spam.after_create(verdict, target_type, target_id)
