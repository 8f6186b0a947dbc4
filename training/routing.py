"""WebSocket routes of the training app, joined into ``torchcanvas_site.asgi``."""

from django.urls import path

from training import consumers

websocket_urlpatterns = [
    path("ws/runs/", consumers.UserRunsConsumer.as_asgi()),
    path("ws/runs/<int:run_id>/", consumers.RunConsumer.as_asgi()),
    path("ws/workers/", consumers.WorkersConsumer.as_asgi()),
]
