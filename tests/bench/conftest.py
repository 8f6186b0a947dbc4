"""Fixtures of the benchmarks that start the real stack (daphne, a Celery worker, PostgreSQL, Redis): those of
the stack tests, from ``tests/stack/stack_helpers.py`` (a folder without a package, so put on the path here)."""

import sys
from pathlib import Path

STACK_TESTS = str(Path(__file__).resolve().parents[1] / "stack")
if STACK_TESTS not in sys.path:
    sys.path.insert(0, STACK_TESTS)

from stack_helpers import (  # noqa: E402, F401 - fixtures and a hook, found by name
    module_processes,
    postgres_server,
    processes,
    pytest_runtest_makereport,
    shared_redis,
)

# The browser benchmark (test_bench_canvas_load) reuses the browser tests' site and Chromium fixtures, from
# ``tests/e2e/e2e_helpers.py`` (also a folder without a package).
E2E_TESTS = str(Path(__file__).resolve().parents[1] / "e2e")
if E2E_TESTS not in sys.path:
    sys.path.insert(0, E2E_TESTS)

from e2e_helpers import browser, login, site  # noqa: E402, F401 - fixtures, found by name
