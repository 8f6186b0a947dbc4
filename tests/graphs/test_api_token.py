"""POST /api/auth/token/: scripts trade a username and password for a token."""

import pytest


@pytest.fixture
def fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_a_token_for_good_credentials_works_on_the_api(api_client, django_user_model, fast_hashing, graph):
    user = django_user_model.objects.get(username="alice")
    user.set_password("s3cret-pass")
    user.save()
    response = api_client.post("/api/auth/token/", {"username": "alice", "password": "s3cret-pass"}, format="json")
    assert response.status_code == 200
    token = response.json()["token"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api_client.get(f"/api/graphs/{graph.pk}/").status_code == 200


def test_bad_credentials_are_a_400(api_client, alice, fast_hashing):
    response = api_client.post("/api/auth/token/", {"username": "alice", "password": "wrong"}, format="json")
    assert response.status_code == 400
    assert response.json()["detail"] == "Unable to log in with provided credentials."


def test_password_guessing_is_throttled(api_client, alice, fast_hashing):
    alice.set_password("s3cret-pass")
    alice.save()
    codes = [
        api_client.post("/api/auth/token/", {"username": "alice", "password": f"guess{i}"}, format="json").status_code
        for i in range(12)
    ]
    assert codes[:10] == [400] * 10 and codes[10:] == [429] * 2  # failed log-ins for this username
    right = api_client.post("/api/auth/token/", {"username": "alice", "password": "s3cret-pass"}, format="json")
    assert right.status_code == 429 and "token" not in right.json()


def test_attempts_are_throttled_per_client_whatever_the_username(api_client, db, fast_hashing):
    codes = [
        api_client.post("/api/auth/token/", {"username": f"user{i}", "password": "guess"}, format="json").status_code
        for i in range(25)
    ]
    assert codes[:20] == [400] * 20 and codes[20:] == [429] * 5  # TORCHCANVAS_THROTTLE_AUTH: 20/min
