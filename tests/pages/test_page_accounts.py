"""Sign up, log in (to the dashboard), change the password."""

import pytest
from django.contrib.auth import get_user_model

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_signing_up_logs_in_and_opens_the_dashboard(client):
    assert 'name="password2"' in client.get("/accounts/signup/").content.decode()
    response = client.post("/accounts/signup/", {"username": "dana", "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 302 and response.url == "/dashboard/"
    assert "Hello, dana" in client.get("/dashboard/").content.decode()


def test_signing_up_from_an_invitation_comes_back_to_it(client):
    next_url = "/invite/some-token/"
    response = client.post(
        "/accounts/signup/", {"username": "erin", "password1": PASSWORD, "password2": PASSWORD, "next": next_url}
    )
    assert response.url == next_url
    evil = client.post("/accounts/signup/", {"username": "x", "next": "https://evil.example/"})
    assert evil.status_code == 302 and evil.url == "/dashboard/"  # already logged in: home, never elsewhere


def test_sign_up_errors_are_shown_next_to_the_fields(client, alice):
    response = client.post("/accounts/signup/", {"username": "alice", "password1": "a", "password2": "b"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "A user with that username already exists." in html
    assert "The two password fields didn’t match." in html
    assert get_user_model().objects.count() == 1


def test_logging_in_opens_the_dashboard(client, django_user_model):
    django_user_model.objects.create_user("fay", password=PASSWORD)
    response = client.post("/accounts/login/", {"username": "fay", "password": PASSWORD})
    assert response.status_code == 302 and response.url == "/dashboard/"


def test_changing_the_password(client, django_user_model):
    user = django_user_model.objects.create_user("gus", password=PASSWORD)
    client.force_login(user)
    assert 'name="old_password"' in client.get("/accounts/password/").content.decode()
    wrong = client.post("/accounts/password/", {"old_password": "nope", "new_password1": "x", "new_password2": "x"})
    assert "Your old password was entered incorrectly." in wrong.content.decode()
    new = "another-long-passphrase"
    response = client.post(
        "/accounts/password/", {"old_password": PASSWORD, "new_password1": new, "new_password2": new}, follow=True
    )
    assert "Password changed" in response.content.decode()
    user.refresh_from_db()
    assert user.check_password(new)


def test_the_password_page_needs_a_login(client):
    assert client.get("/accounts/password/").status_code == 302


def test_the_header_sign_up_link_keeps_a_pending_invitation(client):
    login_page = client.get("/invite/some-token/", follow=True)
    assert login_page.request["PATH_INFO"] == "/accounts/login/"
    header = login_page.content.decode().split("</header>")[0]
    assert 'href="/accounts/signup/?next=%2Finvite%2Fsome-token%2F"' in header
    assert 'href="/accounts/login/?next=%2Finvite%2Fsome-token%2F"' in header
    outside = client.get("/accounts/login/?next=https://evil.example/").content.decode().split("</header>")[0]
    assert 'href="/accounts/signup/"' in outside and "evil" not in outside
