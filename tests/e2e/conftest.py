"""Fixtures of the browser tests; they live in ``e2e_helpers`` (importable, unlike a conftest)."""

from e2e_helpers import any_site, browser, celery_site, login, production_site, shot, site  # noqa: F401 - fixtures, found by name
