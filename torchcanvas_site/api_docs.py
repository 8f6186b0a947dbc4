"""The API documentation pages, served under the Content-Security-Policy and without third-party requests.

Swagger UI is drf-spectacular's split view (its start-up script is a separate same-origin file). Redoc's
bundle (from drf-spectacular-sidecar) always shows a logo from ``cdn.redoc.ly``; it is served here with that
URL replaced by an inline image, and the page starts Redoc from ``static/js/redoc_init.js``.
"""

from __future__ import annotations

from functools import cache

from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_GET
from drf_spectacular.settings import spectacular_settings
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularRedocView

REDOC_BUNDLE = "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"
REDOC_CDN_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
# The site's ◆ mark, inline: no request at all.
LOGO = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Cpath d='M8 0l8 8-8 8-8-8z' fill='%23ee4c2c'/%3E%3C/svg%3E"
# Redoc's search index runs in a Web Worker made from a blob, and its styles (styled-components) are
# <style> elements it writes at run time; this page alone allows both.
REDOC_POLICY = {"worker-src": ("'self'", "blob:"), "style-src": ("'unsafe-inline'",)}


class RedocView(SpectacularRedocView):
    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        response.data["redoc_standalone"] = reverse("api-redoc-bundle")
        response.data["redoc_settings"] = spectacular_settings.REDOC_UI_SETTINGS or {}
        response.csp_extra = REDOC_POLICY
        return response


@cache
def _redoc_bundle() -> bytes:
    source = finders.find(REDOC_BUNDLE)
    with open(source, encoding="utf-8") as bundle:
        return bundle.read().replace(REDOC_CDN_LOGO, LOGO).encode()


@require_GET
def redoc_bundle(request: HttpRequest) -> HttpResponse:
    """Redoc's standalone bundle, its CDN logo replaced by an inline one."""
    response = HttpResponse(_redoc_bundle(), content_type="application/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=86400"
    return response
