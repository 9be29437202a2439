from django.core.management.base import BaseCommand

from apps.wallet import services
from apps.wallet.clients.solana_rpc import get_client
from apps.wallet.models import WalletConnection
from apps.wallet.tasks import refresh_due_batch


class Command(BaseCommand):
    help = "Refresh wallet balances and holder tiers: the due batch (default), every wallet (--all), or one account."

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="every verified wallet, not only the due ones")
        parser.add_argument("--user", type=int, help="only this account id")
        parser.add_argument("--limit", type=int, default=None, help="batch size for the due batch")

    def handle(self, *args, **options):
        if options["user"]:
            status = services.user_balances_refresh(user_id=options["user"], use_cache=False)
            self.stdout.write(f"user {options['user']}: tier {status.tier}, total {status.total_amount}")
            return
        if options["all"]:
            user_ids = list(
                WalletConnection.objects.filter(verified=True).values_list("user_id", flat=True).distinct().order_by()
            )
            with get_client() as client:
                for user_id in user_ids:
                    services.user_balances_refresh(user_id=user_id, client=client, use_cache=False)
            self.stdout.write(self.style.SUCCESS(f"refreshed {len(user_ids)} accounts"))
            return
        result = refresh_due_batch(limit=options["limit"])
        self.stdout.write(
            self.style.SUCCESS(f"refreshed {result['refreshed']} of {result['claimed']} due accounts; {result}")
        )
