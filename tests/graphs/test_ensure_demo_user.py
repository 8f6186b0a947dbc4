"""`manage.py ensure_demo_user`, run by `make run`."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command


@pytest.fixture
def fast_hashing_in_debug(settings):
    settings.DEBUG = True  # pytest-django turns DEBUG off; the command is meant for development sites
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_it_creates_the_demo_account(db, fast_hashing_in_debug, capsys):
    call_command("ensure_demo_user")
    assert get_user_model().objects.get(username="demo").check_password("demo")
    assert capsys.readouterr().out == "Demo account created: demo / demo\n"


def test_it_is_idempotent(db, fast_hashing_in_debug, capsys):
    call_command("ensure_demo_user")
    call_command("ensure_demo_user")
    assert get_user_model().objects.filter(username="demo").count() == 1
    assert capsys.readouterr().out.splitlines()[-1] == "Demo account ready: demo / demo"


def test_it_restores_a_changed_password(db, fast_hashing_in_debug):
    call_command("ensure_demo_user")
    user = get_user_model().objects.get(username="demo")
    user.set_password("something-else")
    user.save()
    call_command("ensure_demo_user")
    user.refresh_from_db()
    assert user.check_password("demo")


def test_it_refuses_to_run_with_debug_off(db, settings):
    settings.DEBUG = False
    with pytest.raises(
        CommandError, match="^Refusing to create a demo account with DEBUG off; pass --force if you mean it.$"
    ):
        call_command("ensure_demo_user")
    assert not get_user_model().objects.filter(username="demo").exists()
