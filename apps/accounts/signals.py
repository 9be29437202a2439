from django.db.models.signals import post_save
from django.dispatch import receiver

from apps.accounts.models import Profile, User


@receiver(post_save, sender=User, dispatch_uid="accounts.create_profile")
def create_profile(sender, instance: User, created: bool, raw: bool = False, **kwargs) -> None:
    # Every account has a profile from its first row, whichever way it was created (admin, shell).
    if created and not raw:
        Profile.objects.get_or_create(user=instance)
