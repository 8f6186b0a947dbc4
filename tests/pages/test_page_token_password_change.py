"""A new password revokes the API token, whichever way it was changed; nothing else about a user does."""

import pytest
from django.contrib.auth.hashers import make_password
from django.test import Client
from rest_framework.authtoken.models import Token

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_hashing")]

OLD, NEW = "correct-horse-battery-staple", "another-long-passphrase"
NO_TOKEN = "You have no API token."


@pytest.fixture
def gus(django_user_model):
    user = django_user_model.objects.create_user("gus", password=OLD, is_staff=True, is_superuser=True)
    Token.objects.create(user=user)
    return user


@pytest.fixture
def gus_client(gus) -> Client:
    client = Client()
    client.force_login(gus)
    return client


def test_changing_the_password_on_its_page_revokes_the_token(gus, gus_client, api_client):
    key = Token.objects.get(user=gus).key
    response = gus_client.post(
        "/accounts/password/", {"old_password": OLD, "new_password1": NEW, "new_password2": NEW}, follow=True
    )
    assert "Password changed" in response.content.decode()
    assert not Token.objects.filter(user=gus).exists()
    assert NO_TOKEN in gus_client.get("/accounts/token/").content.decode()  # still logged in, no token
    refused = api_client.get("/api/graphs/", headers={"Authorization": f"Token {key}"})
    assert refused.status_code == 401


def test_an_admin_setting_the_password_revokes_the_token(gus, gus_client):
    response = gus_client.post(f"/admin/auth/user/{gus.pk}/password/", {"password1": NEW, "password2": NEW})
    assert response.status_code == 302
    assert not Token.objects.filter(user=gus).exists()


def test_set_password_and_save_revokes_the_token(gus):
    gus.set_password(NEW)
    gus.save(update_fields=["password"])
    assert not Token.objects.filter(user=gus).exists()


def test_an_unusable_password_revokes_the_token(gus):
    gus.set_unusable_password()
    gus.save()
    assert not Token.objects.filter(user=gus).exists()


def test_other_changes_and_log_ins_keep_the_token(gus, client):
    gus.email = "gus@example.com"
    gus.save()
    assert client.post("/accounts/login/", {"username": "gus", "password": OLD}).status_code == 302  # last_login
    assert Token.objects.filter(user=gus).exists()


def test_a_stronger_hash_of_the_same_password_at_log_in_keeps_the_token(gus, client, settings):
    # Django re-hashes a password at log-in when the preferred hasher changes: the password stays the same.
    type(gus).objects.filter(pk=gus.pk).update(password=make_password(OLD))  # MD5, as set up
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    assert client.post("/accounts/login/", {"username": "gus", "password": OLD}).status_code == 302
    gus.refresh_from_db()
    assert gus.password.startswith("pbkdf2_sha256$")  # re-hashed
    assert Token.objects.filter(user=gus).exists()
