from django.apps import AppConfig


class TrainingConfig(AppConfig):
    """Training runs: dispatch to Celery, the runner, checkpoints, datasets and live progress over WebSockets."""

    name = "training"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_delete

        from training.checkpoints import delete_files_with_row
        from training.models import Run

        post_delete.connect(delete_files_with_row, sender=Run, dispatch_uid="run-checkpoint-files")
