"""Whose counter a request uses: X-Forwarded-For counts only when a configured proxy sent it."""

import pytest
from django.test import RequestFactory

from torchcanvas_site.throttling import client_ip

PROXY = "10.0.0.5"


def ip(remote: str, forwarded: str | None = None) -> str:
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return client_ip(RequestFactory().get("/", REMOTE_ADDR=remote, **extra))


def test_without_trusted_proxies_the_connecting_address_is_the_client():
    assert ip("198.51.100.7", "203.0.113.9") == "198.51.100.7"


def test_a_trusted_proxy_s_forwarded_address_is_the_client(settings):
    settings.TORCHCANVAS_TRUSTED_PROXIES = [f"{PROXY}/32"]
    assert ip(PROXY, "203.0.113.9") == "203.0.113.9"
    assert ip(PROXY) == PROXY  # nothing forwarded: the proxy itself
    assert ip("198.51.100.7", "203.0.113.9") == "198.51.100.7"  # not the proxy: the header is anyone's


def test_what_the_client_wrote_left_of_the_proxy_s_entry_is_ignored(settings):
    settings.TORCHCANVAS_TRUSTED_PROXIES = ["10.0.0.0/8"]
    # client-written "1.2.3.4", then what the outer proxy saw (203.0.113.9), then the inner proxy (10.0.0.7)
    assert ip(PROXY, "1.2.3.4, 203.0.113.9, 10.0.0.7") == "203.0.113.9"
    assert ip(PROXY, "10.0.0.9, 10.0.0.7") == "10.0.0.9"  # only proxies: the farthest one
    assert ip(PROXY, "203.0.113.9, not-an-address") == PROXY  # garbage from the proxy: stop at the proxy


def test_ipv6_proxies_and_clients(settings):
    settings.TORCHCANVAS_TRUSTED_PROXIES = ["fd00::/8"]
    assert ip("fd00::1", "2001:db8::42") == "2001:db8::42"


# --- the API's throttles use it ---------------------------------------------------------------------------


@pytest.fixture
def low_rates(settings):
    rest = settings.REST_FRAMEWORK
    settings.REST_FRAMEWORK = {**rest, "DEFAULT_THROTTLE_RATES": {**rest["DEFAULT_THROTTLE_RATES"], "anon": "5/min"}}


def registry_codes(api_client, forwarded_for) -> list[int]:
    return [api_client.get("/api/registry/", HTTP_X_FORWARDED_FOR=xff).status_code for xff in forwarded_for]


def test_a_new_forwarded_address_per_request_does_not_reset_the_anonymous_limit(api_client, low_rates):
    codes = registry_codes(api_client, [f"203.0.113.{i}" for i in range(8)])
    assert codes == [200] * 5 + [429] * 3


def test_a_trusted_proxy_s_clients_are_counted_apart(api_client, low_rates, settings):
    settings.TORCHCANVAS_TRUSTED_PROXIES = ["127.0.0.1/32"]  # the test client's REMOTE_ADDR
    assert registry_codes(api_client, [f"203.0.113.{i}" for i in range(8)]) == [200] * 8
    assert registry_codes(api_client, ["198.51.100.1"] * 6) == [200] * 5 + [429]


@pytest.mark.django_db
def test_a_new_forwarded_address_per_request_does_not_reset_the_token_endpoint_limit(api_client, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    codes = [
        api_client.post(
            "/api/auth/token/",
            {"username": f"user{i}", "password": "guess"},
            format="json",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{i}",
        ).status_code
        for i in range(22)
    ]
    assert codes == [400] * 20 + [429] * 2
