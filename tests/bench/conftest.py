"""Fixtures of the benchmarks that start the real stack (daphne, a Celery worker, PostgreSQL, Redis): those of
the stack tests, from ``tests/stack/stack_helpers.py`` (on the path through pyproject.toml's ``pythonpath``)."""

# The browser benchmark (test_bench_canvas_load) reuses the browser tests' site and Chromium fixtures, from
# ``tests/e2e/e2e_helpers.py``.
from e2e_helpers import browser, login, site  # noqa: E402, F401 - fixtures, found by name
from stack_helpers import (  # noqa: F401 - fixtures and a hook, found by name
    module_processes,
    postgres_server,
    processes,
    pytest_runtest_makereport,
    shared_redis,
)
