from django.apps import AppConfig


class GraphsConfig(AppConfig):
    """Graphs, their versions, teams and sharing, plus the engine's HTTP API."""

    name = "graphs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_delete

        from graphs.artifacts import delete_file_with_row
        from graphs.models import ExportArtifact

        # A graph deleted takes its versions' artifacts along (a cascade): their files go too.
        post_delete.connect(delete_file_with_row, sender=ExportArtifact, dispatch_uid="artifact-files")
