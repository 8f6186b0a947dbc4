"""Fail, re-queue or re-send the runs whose worker vanished or whose message was lost."""

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from graphs.artifacts import fail_silent_builds
from training.sweeper import fail_orphaned_embedded_runs, sweep


class Command(BaseCommand):
    help = (
        "Sweep unfinished runs: a running run without a recent heartbeat is re-queued or failed, a queued run "
        "is sent again or failed after the queue timeout. Celery beat does this every minute; run it from cron "
        "when there is no beat."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--server-start",
            action="store_true",
            help="Also fail every unfinished embedded run: use it just before starting the server in embedded "
            "mode (`make run` does), when no server process can still be executing them.",
        )

    def handle(self, *args, server_start: bool, **options):
        if server_start and settings.TORCHCANVAS_RUN_MODE == "embedded":
            orphans = fail_orphaned_embedded_runs(timezone.now())
            if orphans:
                self.stdout.write(f"Failed {len(orphans)} embedded run(s) left by a previous server.")
            builds = fail_silent_builds(server_start=True)
            if builds:
                self.stdout.write(f"Failed {len(builds)} export build(s) left by a previous server.")
        report = sweep()
        self.stdout.write(f"Swept runs: {report}.")
