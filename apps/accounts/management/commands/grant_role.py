from django.core.management.base import BaseCommand, CommandError

from apps.accounts import services
from apps.accounts.models import Role, User


class Command(BaseCommand):
    help = "Give a user a role (user, moderator, admin). Written to the role history and audit log."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("role", choices=Role.values)
        parser.add_argument("--reason", default="granted with manage.py grant_role")

    def handle(self, *args, username: str, role: str, reason: str, **options):
        user = User.objects.filter(username__iexact=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        old = user.role
        user = services.role_assign(user=user, role=role, by=None, reason=reason)
        if old == role:
            self.stdout.write(f"{user.username} already has the role {role}.")
        else:
            self.stdout.write(self.style.SUCCESS(f"{user.username}: {old} -> {role}"))
