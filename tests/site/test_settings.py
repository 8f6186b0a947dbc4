"""Settings come from the environment, and bad values stop the process with a sentence naming the variable."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from torchcanvas_site.env import env_bool, env_choice, env_int, env_list, env_networks, env_rate, env_str

ROOT = Path(__file__).resolve().parents[2]
# Variables the settings read: a subprocess starts from none of them, whatever the developer's shell holds.
SETTINGS_VARIABLES = {
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "DATABASE_CONN_MAX_AGE",
    "DATABASE_URL",
    "DEBUG",
    "LOG_LEVEL",
    "REDIS_URL",
    "SECRET_KEY",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_HSTS_SECONDS",
    "SECURE_SSL_REDIRECT",
    "STATIC_ROOT",
    "TRUST_X_FORWARDED_PROTO",
}


def production_env(**extra: str) -> dict[str, str]:
    return {
        "TORCHCANVAS_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "torchcanvas.example.com",
        **extra,
    }


def run_django(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES and not k.startswith("TORCHCANVAS_")}
    clean["DJANGO_SETTINGS_MODULE"] = "torchcanvas_site.settings"
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=120
    )


def settings_with(env: dict[str, str], *names: str) -> dict:
    """The named settings as a fresh process with ``env`` sees them."""
    code = (
        "import json; from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n, None) for n in {list(names)!r}}}, default=str))"
    )
    result = run_django(["-c", code], env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def settings_error(env: dict[str, str]) -> str:
    """The last line a fresh process prints when its settings refuse ``env``."""
    result = run_django(["-c", "from django.conf import settings; settings.DEBUG"], env)
    assert result.returncode != 0, "the settings accepted the environment"
    return result.stderr.strip().splitlines()[-1]


# --- the helpers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("1", True),
        ("TRUE", True),
        ("yes", True),
        ("on", True),
        ("0", False),
        ("False", False),
        ("no", False),
        ("off", False),
    ],
)
def test_env_bool_accepts_the_usual_spellings(raw, expected):
    assert env_bool("FLAG", not expected, environ={"FLAG": raw}) is expected


def test_env_bool_rejects_anything_else():
    with pytest.raises(
        ImproperlyConfigured, match=r"^FLAG must be one of true/false, 1/0, yes/no, on/off; got 'maybe'\.$"
    ):
        env_bool("FLAG", True, environ={"FLAG": "maybe"})


def test_a_blank_value_means_the_default():
    assert env_bool("FLAG", True, environ={"FLAG": "  "}) is True
    assert env_str("NAME", "fallback", environ={"NAME": ""}) == "fallback"
    assert env_int("COUNT", 7, environ={"COUNT": " "}) == 7


def test_env_int_reads_integers_with_underscores():
    assert env_int("COUNT", 1, environ={"COUNT": "2_000_000"}) == 2_000_000


def test_env_int_rejects_non_integers():
    with pytest.raises(ImproperlyConfigured, match=r"^COUNT must be an integer; got '12k'\.$"):
        env_int("COUNT", 1, environ={"COUNT": "12k"})


def test_env_int_rejects_values_below_the_minimum():
    with pytest.raises(ImproperlyConfigured, match=r"^COUNT must be at least 1; got 0\.$"):
        env_int("COUNT", 5, minimum=1, environ={"COUNT": "0"})


def test_env_list_splits_on_commas_and_drops_empty_items():
    assert env_list("HOSTS", environ={"HOSTS": " a.example, b.example ,,"}) == ["a.example", "b.example"]
    assert env_list("HOSTS", ["x"], environ={}) == ["x"]


def test_env_choice_rejects_unknown_values():
    with pytest.raises(ImproperlyConfigured, match=r"^MODE must be one of development, production; got 'prod'\.$"):
        env_choice("MODE", "development", {"development", "production"}, environ={"MODE": "prod"})


def test_env_rate_accepts_drf_rates_and_rejects_others():
    assert env_rate("RATE", "1/s", environ={"RATE": "100/Min"}) == "100/min"
    with pytest.raises(ImproperlyConfigured, match=r"^RATE must look like 600/min"):
        env_rate("RATE", "1/s", environ={"RATE": "100 per minute"})


def test_env_networks_reads_addresses_and_networks():
    assert env_networks("PROXIES", environ={"PROXIES": "10.0.0.5, 172.16.0.0/12,fd00::/8"}) == [
        "10.0.0.5/32",
        "172.16.0.0/12",
        "fd00::/8",
    ]
    assert env_networks("PROXIES", environ={}) == []


# --- the settings module -------------------------------------------------------------------------


def test_with_no_environment_it_is_a_development_site_on_sqlite_and_in_memory_channels():
    values = settings_with({}, "DEBUG", "DATABASES", "CHANNEL_LAYERS", "TORCHCANVAS_LIMITS")
    assert values["DEBUG"] is True
    assert values["DATABASES"]["default"]["ENGINE"] == "django.db.backends.sqlite3"
    assert values["DATABASES"]["default"]["NAME"] == str(ROOT / "var" / "db.sqlite3")
    assert values["CHANNEL_LAYERS"]["default"]["BACKEND"] == "channels.layers.InMemoryChannelLayer"
    assert values["TORCHCANVAS_LIMITS"] == {
        "max_nodes": 5000,
        "max_edges": 20000,
        "max_body_bytes": 2_000_000,
        "custom_modules": [],
    }


def test_redis_url_selects_the_redis_channel_layer_and_cache():
    values = settings_with({"REDIS_URL": "redis://127.0.0.1:6379/3"}, "CHANNEL_LAYERS", "CACHES")
    assert values["CHANNEL_LAYERS"]["default"] == {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": ["redis://127.0.0.1:6379/3"]},
    }
    assert values["CACHES"]["default"]["BACKEND"] == "torchcanvas_site.cache.FallbackRedisCache"


def test_database_url_selects_postgresql():
    values = settings_with({"DATABASE_URL": "postgres://tc:pw@db.internal:5433/canvas"}, "DATABASES")
    database = values["DATABASES"]["default"]
    assert (database["ENGINE"], database["HOST"], database["PORT"], database["NAME"]) == (
        "django.db.backends.postgresql",
        "db.internal",
        5433,
        "canvas",
    )


def test_engine_limits_come_from_the_environment():
    values = settings_with(
        {
            "TORCHCANVAS_MAX_NODES": "10",
            "TORCHCANVAS_MAX_EDGES": "20",
            "TORCHCANVAS_MAX_BODY_BYTES": "4096",
            "TORCHCANVAS_CUSTOM_MODULES": "my_pkg.layers.Gate, lab.*",
        },
        "TORCHCANVAS_LIMITS",
        "DATA_UPLOAD_MAX_MEMORY_SIZE",
    )
    assert values == {
        "TORCHCANVAS_LIMITS": {
            "max_nodes": 10,
            "max_edges": 20,
            "max_body_bytes": 4096,
            "custom_modules": ["my_pkg.layers.Gate", "lab.*"],
        },
        "DATA_UPLOAD_MAX_MEMORY_SIZE": 4096,
    }
    assert settings_with({}, "TORCHCANVAS_LIMITS")["TORCHCANVAS_LIMITS"]["custom_modules"] == []


@pytest.mark.parametrize(
    "env, message",
    [
        ({"DEBUG": "maybe"}, "DEBUG must be one of true/false, 1/0, yes/no, on/off; got 'maybe'."),
        ({"TORCHCANVAS_MAX_NODES": "lots"}, "TORCHCANVAS_MAX_NODES must be an integer; got 'lots'."),
        (
            {"REDIS_URL": "localhost:6379"},
            "REDIS_URL must start with redis://, rediss:// or unix://; got 'localhost:6379'.",
        ),
        (
            {"CSRF_TRUSTED_ORIGINS": "example.com"},
            "CSRF_TRUSTED_ORIGINS entries need a scheme (https://...); got 'example.com'.",
        ),
        (
            {"TORCHCANVAS_TRUSTED_PROXIES": "10.0.0.5, proxy.internal"},
            "TORCHCANVAS_TRUSTED_PROXIES must list IP addresses or networks (10.0.0.5, 172.16.0.0/12); "
            "got 'proxy.internal'.",
        ),
        ({"TORCHCANVAS_ENV": "staging"}, "TORCHCANVAS_ENV must be one of development, production; got 'staging'."),
        (
            {"TORCHCANVAS_CUSTOM_MODULES": "my_pkg.*, *"},
            "TORCHCANVAS_CUSTOM_MODULES: custom module pattern '*': \"*\" is not a dotted path of ASCII "
            "identifiers (package.module.ClassName).",
        ),
        ({"TORCHCANVAS_ENV": "production"}, "SECRET_KEY must be set in production (50+ random characters)."),
        (
            {"DEBUG": "false", "SECRET_KEY": secrets.token_urlsafe(50)},
            "ALLOWED_HOSTS must be set in production (comma-separated host names).",
        ),
        (production_env(DEBUG="true"), "DEBUG=true cannot be combined with TORCHCANVAS_ENV=production."),
    ],
)
def test_it_refuses_bad_configuration_with_a_sentence(env, message):
    assert settings_error(env) == f"django.core.exceptions.ImproperlyConfigured: {message}"


WEAK_KEY = (
    "SECRET_KEY is too weak for production: it needs 50+ characters, 5+ of them different, and no "
    "'django-insecure-' prefix (python3 -c 'import secrets; print(secrets.token_urlsafe(50))' makes one)."
)


@pytest.mark.parametrize(
    "key",
    [
        "x" * 60,  # long, but 1 distinct character
        "abcd" * 20,  # 4 distinct characters
        secrets.token_urlsafe(30),  # 40 characters
        "django-insecure-" + secrets.token_urlsafe(50),  # what startproject generates
    ],
    ids=["one-character", "four-characters", "short", "django-insecure"],
)
def test_production_refuses_a_weak_secret_key(key):
    assert settings_error(production_env(SECRET_KEY=key)) == f"django.core.exceptions.ImproperlyConfigured: {WEAK_KEY}"


def test_development_accepts_any_secret_key():
    assert settings_with({"SECRET_KEY": "dev"}, "SECRET_KEY") == {"SECRET_KEY": "dev"}


def test_it_refuses_a_database_url_it_cannot_use():
    assert settings_error({"DATABASE_URL": "mongodb://localhost/db"}).startswith(
        "django.core.exceptions.ImproperlyConfigured: DATABASE_URL is not a database URL Django can use:"
    )


def test_production_mode_passes_check_deploy_without_warnings():
    result = run_django(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_behind_a_tls_proxy_the_redirect_can_be_left_to_the_proxy():
    env = production_env(SECURE_SSL_REDIRECT="false", TRUST_X_FORWARDED_PROTO="true")
    result = run_django(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    values = settings_with(env, "SECURE_SSL_REDIRECT", "SECURE_PROXY_SSL_HEADER", "SESSION_COOKIE_SECURE")
    assert values == {
        "SECURE_SSL_REDIRECT": False,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        "SESSION_COOKIE_SECURE": True,
    }
