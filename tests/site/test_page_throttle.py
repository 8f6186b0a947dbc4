"""HTML pages are throttled per client address (anonymous) or per user (logged in): 429 with a short page."""

import pytest
from django.test import Client


@pytest.fixture
def low_page_rates(settings):
    rest = settings.REST_FRAMEWORK
    rates = {**rest["DEFAULT_THROTTLE_RATES"], "page_anon": "5/min", "page_user": "8/min", "anon": "1000/min"}
    settings.REST_FRAMEWORK = {**rest, "DEFAULT_THROTTLE_RATES": rates}


@pytest.mark.django_db
def test_an_anonymous_flood_of_pages_gets_429_with_a_page_saying_when(client, low_page_rates):
    codes = [client.get("/").status_code for _ in range(5)]
    response = client.get("/accounts/login/")
    html = response.content.decode()
    assert codes == [200] * 5
    assert response.status_code == 429 and int(response["Retry-After"]) in range(1, 61)
    assert "Too many requests" in html and "Try again in " in html
    # Another address is not affected; a forged X-Forwarded-For does not make one.
    assert Client(REMOTE_ADDR="198.51.100.7").get("/").status_code == 200
    assert client.get("/", HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 429


@pytest.mark.django_db
def test_a_logged_in_user_counts_per_user_at_the_user_rate(alice, bob, low_page_rates):
    alice_client, bob_client = Client(), Client()
    alice_client.force_login(alice)
    bob_client.force_login(bob)
    assert [alice_client.get("/dashboard/").status_code for _ in range(9)] == [200] * 8 + [429]
    assert bob_client.get("/dashboard/").status_code == 200  # same address, another user


@pytest.mark.django_db
def test_static_files_and_the_api_are_not_counted_as_pages(client, low_page_rates):
    for _ in range(6):
        assert client.get("/api/registry/").status_code == 200
        client.get("/static/css/app.css")  # WhiteNoise answers first where the file is collected
    assert [client.get("/").status_code for _ in range(5)] == [200] * 5
