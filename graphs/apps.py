from django.apps import AppConfig


class GraphsConfig(AppConfig):
    """Graphs, their versions, teams and sharing, plus the engine's HTTP API."""

    name = "graphs"
    default_auto_field = "django.db.models.BigAutoField"
