"""ASGI entry point: Django for HTTP, Channels for WebSockets (served by daphne, also under runserver)."""

import os
import sys

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "torchcanvas_site.settings")
# Set up Django (apps, settings) before anything below imports models.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from graphs.routing import websocket_urlpatterns as graphs_routes  # noqa: E402
from torchcanvas_site.bodylimit import BodyLimitMiddleware, install_daphne_guard  # noqa: E402
from training.routing import websocket_urlpatterns as training_routes  # noqa: E402

# Under daphne (its CLI and runserver import its server before the application), bodies are spooled by
# Twisted before the application sees them: cap them there too.
if "daphne.server" in sys.modules:
    install_daphne_guard()

# The apps' WebSocket routes: /ws/runs/<id>/ (one run's events), /ws/runs/ (the user's runs) and
# /ws/versions/<id>/artifacts/ (the builds of a version's exports).
websocket_urlpatterns = [*training_routes, *graphs_routes]

application = ProtocolTypeRouter(
    {
        # Refuses bodies over the cap before Django spools them (uvicorn streams bodies to us).
        "http": BodyLimitMiddleware(django_asgi_app),
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
