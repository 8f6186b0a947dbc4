"""Who is asking, and how often: the client address and every throttle of the site.

- :func:`client_ip` is the one answer to "which address is this request from": ``X-Forwarded-For`` only
  counts when the connection comes from a configured proxy (``TORCHCANVAS_TRUSTED_PROXIES``).
- The API's throttles (DRF's, keyed by that address) and the counters of failed log-ins, sign-ups and
  HTML pages all keep their counts in the default cache (Redis in production, shared by every process).

Rates live in ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]``, failed log-in limits in
``TORCHCANVAS_LOGIN_FAILURES``; both come from the environment (the README's configuration table).
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import time
from functools import lru_cache, wraps

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from rest_framework.settings import api_settings
from rest_framework.throttling import (
    AnonRateThrottle,
    BaseThrottle,
    ScopedRateThrottle,
    SimpleRateThrottle,
    UserRateThrottle,
)

# --- the client address -----------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _networks(trusted: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(network) for network in trusted)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def client_ip(request) -> str:
    """The address a request comes from.

    ``REMOTE_ADDR``, unless that is a trusted proxy: then ``X-Forwarded-For`` is read from the right (each
    proxy appends the address it was connected from) and the first address that is not itself a trusted
    proxy is the client. Entries left of it were written by the client and prove nothing.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    trusted = _networks(tuple(settings.TORCHCANVAS_TRUSTED_PROXIES))

    def is_trusted(address) -> bool:
        return address is not None and any(address in network for network in trusted)

    if not is_trusted(_address(remote)):
        return remote
    client = remote
    for entry in reversed(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")):
        address = _address(entry)
        if address is None:  # garbage from the last trusted hop: that hop is the best we know
            return client
        client = str(address)
        if not is_trusted(address):
            return client
    return client


def retry_sentence(seconds: float) -> str:
    """``"in 40 seconds"``, ``"in 1 minute"``, ``"in 15 minutes"``: when to try again."""
    seconds = max(1, math.ceil(seconds))
    if seconds < 90:
        return f"in {seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"in {minutes} minutes"


# --- rate throttles (DRF's, keyed by client_ip) ------------------------------------------------------------


class _SiteRates:
    """DRF throttles, keyed by :func:`client_ip`, reading their rate from the current settings (DRF's
    classes read theirs once, at import, which tests that lower a limit never reach)."""

    def get_ident(self, request) -> str:
        return client_ip(request)

    def get_rate(self) -> str:
        try:
            return api_settings.DEFAULT_THROTTLE_RATES[self.scope]
        except KeyError:
            raise ImproperlyConfigured(f"No throttle rate for the scope {self.scope!r}.") from None


class AnonThrottle(_SiteRates, AnonRateThrottle):
    """API requests without a user, per client address."""


class UserThrottle(_SiteRates, UserRateThrottle):
    """API requests per user (per client address when anonymous)."""


class ScopedThrottle(_SiteRates, ScopedRateThrottle):
    """A view's own ``throttle_scope`` (``auth``: POST /api/auth/token/), per user or client address."""


class _RequestCounter(_SiteRates, SimpleRateThrottle):
    """Requests of one scope per user (logged in) or client address; used by the pages, not DRF views."""

    def __init__(self, scope: str):
        self.scope = scope
        super().__init__()

    def get_cache_key(self, request, view) -> str:
        user = getattr(request, "user", None)
        ident = f"user-{user.pk}" if user is not None and user.is_authenticated else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def wait_for(self, request) -> float | None:
        """Count ``request``; the seconds to wait when it is over the rate, else None."""
        return None if self.allow_request(request, None) else (self.wait() or 1)


# --- failed log-ins -------------------------------------------------------------------------------------


class LoginFailures:
    """Failed log-ins per client address and per username, in a sliding window (``TORCHCANVAS_LOGIN_FAILURES``).

    Every way to log in goes through :func:`django.contrib.auth.authenticate`, whose ``user_login_failed``
    signal counts here (see ``apps.py``); each way asks :meth:`wait` first and refuses while it answers.
    Refused attempts are not counted, so a limit lifts on its own once old failures leave the window.
    """

    def _limits(self, request, username: str | None) -> list[tuple[str, int]]:
        options = settings.TORCHCANVAS_LOGIN_FAILURES
        limits = [(f"login-failures:address:{client_ip(request)}", options["per_address"])]
        if username:
            digest = hashlib.sha256(username.casefold().encode()).hexdigest()[:32]
            limits.append((f"login-failures:username:{digest}", options["per_username"]))
        return limits

    def _recent(self, key: str, now: float) -> list[float]:
        window = settings.TORCHCANVAS_LOGIN_FAILURES["window_s"]
        return [moment for moment in cache.get(key, []) if moment > now - window]

    def wait(self, request, username: str | None) -> float | None:
        """Seconds until a log-in from this address for ``username`` may be tried again; None: now."""
        now = time.time()
        window = settings.TORCHCANVAS_LOGIN_FAILURES["window_s"]
        waits = []
        for key, limit in self._limits(request, username):
            recent = sorted(self._recent(key, now), reverse=True)
            if len(recent) >= limit:
                waits.append(recent[limit - 1] + window - now)  # when that many failures are no longer recent
        return max(waits) if waits else None

    def record(self, request, username: str | None) -> None:
        now = time.time()
        window = settings.TORCHCANVAS_LOGIN_FAILURES["window_s"]
        for key, limit in self._limits(request, username):
            recent = self._recent(key, now)[-(limit * 2) :]  # enough to know; bounded whatever the flood
            cache.set(key, [*recent, now], window)


login_failures = LoginFailures()


def login_refusal(wait: float) -> str:
    return (
        "Too many failed log-ins from your address or for this username: log-ins are paused. "
        f"Try again {retry_sentence(wait)}."
    )


class _ThrottledLogin:
    """Checks the failed log-in limits before the password, so the right one is refused too while limited."""

    retry_after: float | None = None

    def clean(self):
        self.retry_after = login_failures.wait(self.request, self.cleaned_data.get("username"))
        if self.retry_after:
            raise ValidationError(login_refusal(self.retry_after), code="throttled")
        return super().clean()


class LoginForm(_ThrottledLogin, AuthenticationForm):
    """The log-in page's form."""


class AdminLoginForm(_ThrottledLogin, AdminAuthenticationForm):
    """The admin's log-in form."""


def throttled_login(view):
    """Answer 429 with ``Retry-After`` when the view's log-in form was refused by the limits."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = view(request, *args, **kwargs)
        form = (getattr(response, "context_data", None) or {}).get("form")
        retry_after = getattr(form, "retry_after", None)
        if retry_after:
            response.status_code = 429
            response["Retry-After"] = str(math.ceil(retry_after))
        return response

    return wrapper


class LoginFailureThrottle(BaseThrottle):
    """The failed log-in limits on POST /api/auth/token/, the same counters as the log-in pages."""

    def allow_request(self, request, view) -> bool:
        data = request.data
        username = data.get("username") if hasattr(data, "get") else None
        self.retry_after = login_failures.wait(request, username if isinstance(username, str) else None)
        return not self.retry_after

    def wait(self) -> float | None:
        return self.retry_after


# --- sign-up and pages ------------------------------------------------------------------------------------


def signup_wait(request: HttpRequest) -> float | None:
    """Count a sign-up post from this client address; the seconds to wait when over ``signup``'s rate."""
    return _RequestCounter("signup").wait_for(request)


class PageThrottleMiddleware:
    """HTML pages (and their htmx partials) per client address, or per user when logged in: 429 past the
    ``page_anon`` / ``page_user`` rates. Not counted: the API (DRF throttles it) and static files."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.exempt = ("/api/", settings.STATIC_URL)  # Django makes STATIC_URL absolute ("/static/")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(self.exempt):
            scope = "page_user" if request.user.is_authenticated else "page_anon"
            wait = _RequestCounter(scope).wait_for(request)
            if wait:
                response = TemplateResponse(
                    request,
                    "429.html",
                    {"retry": retry_sentence(wait)},
                    status=429,
                    headers={"Retry-After": str(math.ceil(wait))},
                )
                return response.render()
        return self.get_response(request)
