"""docker-compose.yml, checked without Docker: it parses, has the services the README promises, and its
environment is one the settings accept (every variable is read by the settings, and a process started
with it comes up in celery mode against the compose's PostgreSQL and Redis)."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = ("web", "worker-gpu", "worker-cpu", "beat")
# ${NAME:-default} and ${NAME:?message}: what compose substitutes when NAME is unset.
SUBSTITUTION = re.compile(r"\$\{([A-Z_]+)(?::-([^}]*)|:\?[^}]*)?\}")


def resolved(value: str, **given: str) -> str:
    return SUBSTITUTION.sub(lambda m: given.get(m.group(1), m.group(2) or ""), str(value))


def environment(service: str, **given: str) -> dict[str, str]:
    return {key: resolved(value, **given) for key, value in SERVICES[service]["environment"].items()}


def settings_variables() -> set[str]:
    """Every variable ``torchcanvas_site/settings.py`` reads with the env helpers."""
    source = (ROOT / "torchcanvas_site" / "settings.py").read_text()
    return set(re.findall(r'env_[a-z]+\(\s*"([A-Z_][A-Z0-9_]*)"', source))


def test_it_has_the_services_of_the_two_ways_to_run():
    assert set(SERVICES) == {"postgres", "redis", "web", "worker-gpu", "worker-cpu", "beat"}


# Read by the web server itself, not the settings: uvicorn's number of processes.
SERVER_VARIABLES = {"WEB_CONCURRENCY"}


def test_every_variable_it_sets_is_one_the_settings_read():
    known = settings_variables() | SERVER_VARIABLES
    assert {"REDIS_URL", "TORCHCANVAS_RUN_MODE", "TORCHCANVAS_GPU_MEMORY_FRACTION"} <= known
    for service in APP_SERVICES:
        unknown = set(SERVICES[service]["environment"]) - known
        assert not unknown, f"{service} sets {sorted(unknown)}, which the settings never read"


def test_the_app_services_share_the_database_and_redis_of_the_compose():
    postgres = SERVICES["postgres"]["environment"]
    for service in APP_SERVICES:
        env = environment(service)
        database = urlsplit(env["DATABASE_URL"])
        assert database.scheme == "postgres" and database.hostname == "postgres" and database.port == 5432
        assert database.username == postgres["POSTGRES_USER"] and database.path == f"/{postgres['POSTGRES_DB']}"
        assert database.password == resolved(postgres["POSTGRES_PASSWORD"])
        redis = urlsplit(env["REDIS_URL"])
        assert redis.scheme == "redis" and redis.hostname == "redis" and redis.port == 6379
        assert env["TORCHCANVAS_RUN_MODE"] == "celery"
        assert {"postgres", "redis"} <= set(SERVICES[service]["depends_on"])


@pytest.mark.parametrize(
    "variable, volume",
    [
        ("TORCHCANVAS_ARTIFACT_DIR", "artifacts"),
        ("TORCHCANVAS_DATASET_DIR", "datasets"),
        ("TORCHCANVAS_CHECKPOINT_DIR", "checkpoints"),
    ],
)
def test_the_workers_and_the_web_server_share_exports_datasets_and_checkpoints(variable, volume):
    """Built exports: written by workers, served by web. Datasets: stored by web, trained on by workers.
    Checkpoints: written by one worker, resumed from by any other, weights served by web."""
    for service in ("web", "worker-gpu", "worker-cpu"):
        folder = environment(service)[variable]
        mounts = {mount.split(":")[1]: mount.split(":")[0] for mount in SERVICES[service]["volumes"]}
        assert mounts.get(folder) == volume, f"{service} does not keep {folder} on the shared volume"
    assert volume in COMPOSE["volumes"]
    # The image makes the folder, so that the volume starts owned by the user the processes run as.
    assert f"var/{volume}" in (ROOT / "Dockerfile").read_text()


def test_the_workers_listen_on_the_queues_the_dispatcher_routes_to():
    gpu = SERVICES["worker-gpu"]["command"].split()
    cpu = SERVICES["worker-cpu"]["command"].split()
    assert gpu[:4] == ["celery", "-A", "torchcanvas_site", "worker"] and gpu[gpu.index("-Q") + 1] == "gpu"
    assert cpu[:4] == ["celery", "-A", "torchcanvas_site", "worker"] and cpu[cpu.index("-Q") + 1] == "cpu"
    assert gpu[gpu.index("--concurrency") + 1] == "1"  # one run at a time on a GPU
    assert SERVICES["beat"]["command"].split()[:4] == ["celery", "-A", "torchcanvas_site", "beat"]
    assert "exec uvicorn torchcanvas_site.asgi:application --host 0.0.0.0 --port 8000" in SERVICES["web"]["command"]
    assert int(environment("web")["WEB_CONCURRENCY"]) > 1  # several processes, joined by the Redis channel layer
    assert "manage.py migrate" in SERVICES["web"]["command"]


def test_the_gpu_worker_reserves_an_nvidia_gpu_and_a_share_of_its_memory():
    devices = SERVICES["worker-gpu"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia" and devices[0]["capabilities"] == ["gpu"]
    fraction = float(environment("worker-gpu")["TORCHCANVAS_GPU_MEMORY_FRACTION"])
    assert 0 < fraction <= 1
    assert "cu" in resolved(SERVICES["worker-gpu"]["build"]["args"]["TORCH_INDEX_URL"])
    assert SERVICES["web"]["build"]["args"]["TORCH_INDEX_URL"].endswith("/whl/cpu")


def test_redis_persists_queued_messages():
    assert "--appendonly" in SERVICES["redis"]["command"]


@pytest.mark.parametrize("service", ["web", "worker-gpu"])
def test_the_settings_accept_its_environment(service):
    env = environment(service, SECRET_KEY=secrets.token_urlsafe(50))
    clean = {key: value for key, value in os.environ.items() if key not in settings_variables()}
    clean.update(env, DJANGO_SETTINGS_MODULE="torchcanvas_site.settings")
    code = (
        "import json; from django.conf import settings as s; print(json.dumps([s.TORCHCANVAS_RUN_MODE, "
        "s.CELERY_BROKER_URL, s.CHANNEL_LAYERS['default']['BACKEND'], s.DATABASES['default']['HOST'], "
        "s.TORCHCANVAS_RUNS['gpu_memory_fraction'], s.DEBUG]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    mode, broker, layer, database_host, fraction, debug = json.loads(result.stdout)
    assert (mode, broker, database_host, debug) == ("celery", "redis://redis:6379/0", "postgres", False)
    assert layer == "channels_redis.core.RedisChannelLayer"
    assert fraction == (0.9 if service == "worker-gpu" else None)


def test_the_dockerfile_installs_the_lock_with_a_choice_of_torch_build():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "-c constraints.txt" in dockerfile and "ARG TORCH_INDEX_URL=" in dockerfile
    assert "torchcanvas_site.asgi:application" in dockerfile
