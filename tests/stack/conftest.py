"""Fixtures of the stack tests; they live in ``stack_helpers`` (importable, unlike a conftest)."""

from stack_helpers import (  # noqa: F401 - fixtures and a hook, found by name
    make_stack,
    module_processes,
    postgres_server,
    private_redis,
    processes,
    pytest_runtest_makereport,
    shared_redis,
)
