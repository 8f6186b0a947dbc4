"""Site-wide pages (home, sign-up, the API token page) and the error views that keep ``/api/`` answering in JSON."""

import math

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, resolve_url
from django.template.response import TemplateResponse
from django.templatetags.static import static
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import defaults
from django.views.decorators.http import require_POST
from drf_spectacular.utils import extend_schema
from rest_framework.authtoken.models import Token
from rest_framework.decorators import api_view, permission_classes, throttle_classes
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny

from graphs.forms import SignUpForm
from torchcanvas_site.api import request_limit_error
from torchcanvas_site.htmx import go
from torchcanvas_site.throttling import retry_sentence, signup_wait


def home(request: HttpRequest) -> HttpResponse:
    return TemplateResponse(request, "home.html")


def favicon(request: HttpRequest) -> HttpResponse:
    """``/favicon.ico``, which browsers ask for whatever the page's ``<link rel="icon">`` says: the brand mark."""
    return redirect(static("favicon.svg"))  # not permanent: the hashed name changes with the file


def signup(request: HttpRequest) -> HttpResponse:
    """Create an account and log straight in; ``next`` (an invitation link, say) is honoured when it is local."""
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, require_https=request.is_secure()):
        next_url = ""
    if request.user.is_authenticated:
        return redirect(next_url or settings.LOGIN_REDIRECT_URL)
    wait = signup_wait(request) if request.method == "POST" else None
    if wait:  # the form comes back as typed, unchecked, with the sentence instead of its errors
        form = SignUpForm(initial={"username": request.POST.get("username", "")})
        refusal = f"Too many sign-ups from your address: try again {retry_sentence(wait)}."
        context = {"form": form, "next": next_url, "refusal": refusal}
        return TemplateResponse(
            request, "registration/signup.html", context, status=429, headers={"Retry-After": str(math.ceil(wait))}
        )
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect(next_url or resolve_url(settings.LOGIN_REDIRECT_URL))
    return TemplateResponse(request, "registration/signup.html", {"form": form, "next": next_url})


@login_required
def account_token(request: HttpRequest) -> HttpResponse:
    """The user's API token for scripts (``Authorization: Token <key>``), with a ready-to-run example."""
    token = Token.objects.filter(user=request.user).first()
    example_url = request.build_absolute_uri(reverse("api-graph-list"))
    return TemplateResponse(request, "registration/account_token.html", {"token": token, "example_url": example_url})


@login_required
@require_POST
def account_token_create(request: HttpRequest) -> HttpResponse:
    _, created = Token.objects.get_or_create(user=request.user)
    if created:
        messages.success(request, "Created your API token.")
    else:  # a second tab or a double click: never replace a key without asking
        messages.info(request, "You already have an API token; it is shown below.")
    return go(request, "account_token")


@login_required
@require_POST
def account_token_regenerate(request: HttpRequest) -> HttpResponse:
    with transaction.atomic():
        Token.objects.filter(user=request.user).delete()
        Token.objects.create(user=request.user)
    messages.success(request, "Regenerated your API token: the old key no longer works.")
    return go(request, "account_token")


@login_required
@require_POST
def account_token_revoke(request: HttpRequest) -> HttpResponse:
    Token.objects.filter(user=request.user).delete()
    messages.success(request, "Revoked your API token: scripts that use it are refused from now on.")
    return go(request, "account_token")


@extend_schema(exclude=True)
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
@permission_classes([AllowAny])
@throttle_classes([])
def api_not_found(request, path: str = ""):
    """Any unknown path under /api/: a JSON 404 (Django's own 404 page is HTML, and in DEBUG a debug page)."""
    raise NotFound(f"No API endpoint at {request.path}.")


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """400, or 413 for a body over the cap (Django reports both as a SuspiciousOperation)."""
    limit_error = request_limit_error(exception)
    if limit_error is not None:
        if _is_api(request):
            return JsonResponse({"detail": str(limit_error.detail)}, status=limit_error.status_code)
        page = TemplateResponse(request, "413.html", {"message": limit_error.detail}, status=limit_error.status_code)
        return page.render()
    if _is_api(request):
        return JsonResponse({"detail": "Bad request."}, status=400)
    return defaults.bad_request(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": "Internal server error."}, status=500)
    return defaults.server_error(request)
