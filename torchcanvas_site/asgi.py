"""ASGI entry point: Django for HTTP, Channels for WebSockets (served by daphne, also under runserver)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "torchcanvas_site.settings")
# Set up Django (apps, settings) before anything below imports models.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from training.routing import websocket_urlpatterns as training_routes  # noqa: E402

# The apps' WebSocket routes: /ws/runs/<id>/ (one run's events) and /ws/runs/ (the user's runs).
websocket_urlpatterns = [*training_routes]

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
