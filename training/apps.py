from django.apps import AppConfig


class TrainingConfig(AppConfig):
    """Smoke training runs: dispatch to Celery, the runner and live progress over WebSockets."""

    name = "training"
    default_auto_field = "django.db.models.BigAutoField"
