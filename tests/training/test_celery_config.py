"""Celery's configuration, and the run settings that fail loudly on bad values."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from torchcanvas_site.celery import app
from torchcanvas_site.env import env_float

ROOT = Path(__file__).resolve().parents[2]


def django_process(code: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k != "REDIS_URL" and not k.startswith("TORCHCANVAS_")}
    clean.update(env, DJANGO_SETTINGS_MODULE="torchcanvas_site.settings")
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120
    )


def test_tasks_are_acknowledged_late_and_redelivered_when_a_worker_is_lost():
    conf = app.conf
    assert conf.task_acks_late is True and conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_default_queue == "cpu" and conf.task_ignore_result is True


def test_redis_redelivers_only_after_the_hard_time_limit(settings):
    conf = app.conf
    run_limit = settings.TORCHCANVAS_RUNS["time_limit_s"]
    assert run_limit < conf.task_soft_time_limit < conf.task_time_limit
    assert conf.broker_transport_options["visibility_timeout"] > conf.task_time_limit


def test_the_run_mode_follows_redis_url():
    code = "from django.conf import settings as s; print(s.TORCHCANVAS_RUN_MODE, s.CELERY_BROKER_URL)"
    assert django_process(code).stdout.split() == ["embedded", "None"]
    with_redis = django_process(code, REDIS_URL="redis://127.0.0.1:6379/0")
    assert with_redis.stdout.split() == ["celery", "redis://127.0.0.1:6379/0"]
    pinned = django_process(code, REDIS_URL="redis://127.0.0.1:6379/0", TORCHCANVAS_RUN_MODE="embedded")
    assert pinned.stdout.split()[0] == "embedded"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TORCHCANVAS_RUN_MODE": "celery"}, "TORCHCANVAS_RUN_MODE=celery needs REDIS_URL"),
        ({"TORCHCANVAS_GPU_MEMORY_FRACTION": "1.5"}, "TORCHCANVAS_GPU_MEMORY_FRACTION must be between 0.01 and 1"),
        (
            {"TORCHCANVAS_RUN_HEARTBEAT_INTERVAL": "60"},
            "TORCHCANVAS_RUN_HEARTBEAT_TIMEOUT must be at least three heartbeat intervals",
        ),
        ({"TORCHCANVAS_RUN_MAX_STEPS": "0"}, "TORCHCANVAS_RUN_MAX_STEPS must be at least 1; got 0."),
    ],
)
def test_bad_run_settings_stop_the_process_with_a_sentence(env, message):
    result = django_process("import django; django.setup()", **env)
    assert result.returncode != 0 and message in result.stderr


def test_env_float_reads_a_bounded_number():
    assert env_float("F", None, environ={}) is None
    assert env_float("F", None, minimum=0.01, maximum=1, environ={"F": " 0.5 "}) == 0.5
    with pytest.raises(ImproperlyConfigured, match="F must be a number; got 'half'."):
        env_float("F", None, environ={"F": "half"})
    with pytest.raises(ImproperlyConfigured, match="F must be between 0.01 and 1; got 'nan'."):
        env_float("F", None, minimum=0.01, maximum=1, environ={"F": "nan"})
