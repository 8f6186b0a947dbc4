"""Create (or repair) the demo account that `make run` advertises."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Make sure a demo account exists and logs in with the given password (default demo/demo)."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="demo")
        parser.add_argument("--password", default="demo")
        parser.add_argument(
            "--force", action="store_true", help="Allow this with DEBUG off (never do this on a public site)."
        )

    def handle(self, *args, username: str, password: str, force: bool, **options):
        if not settings.DEBUG and not force:
            raise CommandError("Refusing to create a demo account with DEBUG off; pass --force if you mean it.")
        user, created = get_user_model().objects.get_or_create(username=username)
        if created or not user.check_password(password):
            user.set_password(password)
            user.save(update_fields=["password"])
        state = "created" if created else "ready"
        self.stdout.write(f"Demo account {state}: {username} / {password}")
