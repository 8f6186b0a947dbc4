"""WebSocket routes of the graphs app, joined into ``torchcanvas_site.asgi``."""

from django.urls import path

from graphs import consumers

websocket_urlpatterns = [
    path("ws/versions/<int:version_id>/artifacts/", consumers.VersionArtifactsConsumer.as_asgi()),
]
