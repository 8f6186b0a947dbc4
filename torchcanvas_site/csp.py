"""Content-Security-Policy for every response (Django 5.2 has none built in).

The policy allows scripts, styles, fonts, images and connections from the site itself only; WebSockets to
the same host are named explicitly (older browsers do not let ``'self'`` cover ``ws:``/``wss:``). Style
*attributes* are allowed (React Flow, htmx and a few templates set them; they cannot run script), ``<style>``
elements are not, except with the response's nonce (``style_nonce``; the canvas hands it to CodeMirror). A view
widens the policy of one response by setting ``response.csp_extra`` (the Redoc page does).
``TORCHCANVAS_CSP_REPORT_ONLY=true`` sends the policy as ``Content-Security-Policy-Report-Only`` instead,
to try a change without breaking pages. See docs/decisions.md.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse

BASE_POLICY: dict[str, tuple[str, ...]] = {
    "default-src": ("'self'",),
    "script-src": ("'self'",),
    "style-src": ("'self'",),
    "style-src-attr": ("'unsafe-inline'",),
    "img-src": ("'self'", "data:"),
    "font-src": ("'self'",),
    "connect-src": ("'self'",),
    "object-src": ("'none'",),
    "base-uri": ("'self'",),
    "form-action": ("'self'",),
    "frame-ancestors": ("'none'",),
}


def header_name() -> str:
    return "Content-Security-Policy-Report-Only" if settings.CSP_REPORT_ONLY else "Content-Security-Policy"


def style_nonce(request: HttpRequest) -> str:
    """A nonce for ``<style>`` elements that this response's scripts write (CodeMirror); added to style-src."""
    if not hasattr(request, "csp_style_nonce"):
        request.csp_style_nonce = secrets.token_urlsafe(18)
    return request.csp_style_nonce


def policy_for(request: HttpRequest | None, extra: dict[str, tuple[str, ...]] | None = None) -> tuple[str, str]:
    """The header's name and value for ``request`` (its host gives the WebSocket source), widened by ``extra``."""
    policy = {name: list(sources) for name, sources in BASE_POLICY.items()}
    host = _host(request)
    if hasattr(request, "csp_style_nonce"):
        policy["style-src"].append(f"'nonce-{request.csp_style_nonce}'")
    if host:
        policy["connect-src"].append(("wss://" if request.is_secure() else "ws://") + host)
    for name, sources in (extra or {}).items():
        policy.setdefault(name, []).extend(s for s in sources if s not in policy[name])
    return header_name(), "; ".join(f"{name} {' '.join(sources)}" for name, sources in policy.items())


def _host(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    try:
        return request.get_host()
    except DisallowedHost:  # answered 400 already; 'self' alone is enough for that page
        return None


class ContentSecurityPolicyMiddleware:
    """Adds the policy to every response that does not carry one yet."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        name, value = policy_for(request, getattr(response, "csp_extra", None))
        if name not in response:
            response[name] = value
        return response
