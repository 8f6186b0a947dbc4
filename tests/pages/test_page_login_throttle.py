"""Guessing passwords: the log-in page, the admin's log-in and the token endpoint share one count of failed
log-ins per client address and per username; sign-ups are limited per client address."""

import time

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_hashing")]

PASSWORD = "correct-horse-battery-staple"
REFUSED = "Too many failed log-ins from your address or for this username: log-ins are paused."


@pytest.fixture
def fay(django_user_model):
    return django_user_model.objects.create_user("fay", password=PASSWORD, is_staff=True, is_superuser=True)


def guess(client: Client, url: str, username: str, password: str):
    return client.post(url, {"username": username, "password": password})


@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/"])
def test_sixty_wrong_passwords_are_stopped_and_then_the_right_one_is_refused_too(client, fay, url):
    codes = [guess(client, url, "fay", f"guess-{i}").status_code for i in range(60)]
    assert codes[:10] == [200] * 10  # the form again, "didn't match"
    assert codes[10:] == [429] * 50

    response = guess(client, url, "fay", PASSWORD)
    html = response.content.decode()
    assert response.status_code == 429
    assert REFUSED in html and "Try again in 15 minutes." in html
    assert 'name="password"' in html  # the form, to try again later
    assert int(response["Retry-After"]) in range(890, 901)
    assert "_auth_user_id" not in client.session


def test_the_limit_per_username_holds_whatever_the_address(client, fay):
    for i in range(10):
        guess(Client(REMOTE_ADDR=f"198.51.100.{i}"), "/accounts/login/", "fay", f"guess-{i}")
    assert guess(Client(REMOTE_ADDR="203.0.113.1"), "/accounts/login/", "fay", PASSWORD).status_code == 429


def test_the_limit_per_address_holds_whatever_the_username(client, fay):
    codes = [guess(client, "/accounts/login/", f"user{i}", "guess").status_code for i in range(31)]
    assert codes[:30] == [200] * 30 and codes[30] == 429
    assert guess(client, "/accounts/login/", "fay", PASSWORD).status_code == 429
    # Someone else, elsewhere, logs in as usual.
    assert guess(Client(REMOTE_ADDR="203.0.113.1"), "/accounts/login/", "fay", PASSWORD).status_code == 302


def test_failures_leave_the_window_and_log_ins_work_again(client, fay, settings):
    settings.TORCHCANVAS_LOGIN_FAILURES = {"window_s": 1, "per_address": 3, "per_username": 3}
    for i in range(3):
        guess(client, "/accounts/login/", "fay", f"guess-{i}")
    assert guess(client, "/accounts/login/", "fay", PASSWORD).status_code == 429
    time.sleep(1.1)
    response = guess(client, "/accounts/login/", "fay", PASSWORD)
    assert response.status_code == 302 and response.url == "/dashboard/"


def test_the_token_endpoint_counts_with_the_log_in_pages(client, api_client, fay):
    for i in range(10):
        guess(client, "/accounts/login/", "fay", f"guess-{i}")
    response = api_client.post("/api/auth/token/", {"username": "fay", "password": PASSWORD}, format="json")
    assert response.status_code == 429
    assert response.json()["detail"].startswith("Request was throttled.")
    assert int(response["Retry-After"]) > 800


def test_failures_on_the_token_endpoint_close_the_log_in_page(client, api_client, fay):
    for i in range(10):
        api_client.post("/api/auth/token/", {"username": "fay", "password": f"guess-{i}"}, format="json")
    assert guess(client, "/accounts/login/", "fay", PASSWORD).status_code == 429


def test_a_sign_up_flood_is_stopped(client):
    def sign_up(i):
        return client.post("/accounts/signup/", {"username": f"bot{i}", "password1": PASSWORD, "password2": PASSWORD})

    codes = []
    for i in range(15):
        codes.append(sign_up(i).status_code)
        client.logout()
    assert codes[:10] == [302] * 10 and codes[10:] == [429] * 5
    response = sign_up(99)
    html = response.content.decode()
    assert "Too many sign-ups from your address: try again in 60 minutes." in html
    assert 'value="bot99"' in html and 'name="password1"' in html
    assert int(response["Retry-After"]) > 3000
    assert get_user_model().objects.count() == 10
