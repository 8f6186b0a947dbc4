"""Shared fixtures: the three personas (alice owns, bob collaborates, charlie must see nothing) and clients."""

import copy

import pytest
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from rest_framework.test import APIClient

# A test that requests one of these fixtures (directly or through another fixture) touches the database.
DB_FIXTURES = {"db", "transactional_db", "django_db_reset_sequences", "django_db_serialized_rollback", "live_server"}

DEMO_GRAPH = {
    "version": "0.2",
    "nodes": [
        {"id": "inp", "type": "Input", "params": {}},
        {"id": "conv", "type": "Conv1d", "params": {"out_channels": 64, "kernel_size": 5, "padding": "same"}},
        {"id": "relu", "type": "ReLU", "params": {}},
        {"id": "perm", "type": "Permute_BCT_to_BTH", "params": {}},
        {"id": "gru", "type": "GRUBlock", "params": {"hidden_size": 128, "out": "last"}},
        {"id": "fc", "type": "Linear", "params": {"out_features": 18}},
    ],
    "edges": [["inp", "conv"], ["conv", "relu"], ["relu", "perm"], ["perm", "gru"], ["gru", "fc"]],
    "inputs": ["inp"],
    "outputs": ["fc"],
}


def pytest_addoption(parser):
    parser.addoption(
        "--db-only",
        action="store_true",
        help="Run only the tests that touch the database (used by `make test` for its PostgreSQL pass).",
    )


def pytest_collection_modifyitems(config, items):
    if not config.getoption("--db-only"):
        return
    selected, deselected = [], []
    for item in items:
        uses_db = item.get_closest_marker("django_db") is not None or DB_FIXTURES & set(item.fixturenames)
        (selected if uses_db else deselected).append(item)
    config.hook.pytest_deselected(items=deselected)
    items[:] = selected


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory):
    """On SQLite, test in a database file (in this run's temporary folder) instead of pytest-django's
    shared-cache memory database, like the site itself does.

    Threads in the concurrency tests each open their own connection; a shared-cache memory database
    answers their competing transactions with "database table is locked" at once, where a file waits
    for the lock (``timeout`` in settings) as production does.
    """
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        database.setdefault("TEST", {})["NAME"] = str(tmp_path_factory.mktemp("sqlite") / "test.sqlite3")


def _forget_throttle_counters():
    # Throttle counters live in the cache. Only ever clear a process-local one, never a shared Redis.
    cache = caches["default"]
    if isinstance(cache, LocMemCache):
        cache.clear()


@pytest.fixture(autouse=True)
def _fresh_throttle_counters():
    """Every test starts with no throttle counters."""
    _forget_throttle_counters()


@pytest.fixture
def reset_throttles():
    """A callable that forgets throttle counters, for tests that send hundreds of requests."""
    return _forget_throttle_counters


@pytest.fixture
def demo_graph() -> dict:
    """The seed's 1D demo: Input → Conv1d → ReLU → Permute → GRU → Linear(18). A fresh copy per test."""
    return copy.deepcopy(DEMO_GRAPH)


def _persona(django_user_model, name):
    # No password: hashing one costs a third of a second; tests log in with force_login/force_authenticate.
    return django_user_model.objects.create_user(username=name, email=f"{name}@example.com", password=None)


@pytest.fixture
def alice(django_user_model):
    return _persona(django_user_model, "alice")


@pytest.fixture
def bob(django_user_model):
    return _persona(django_user_model, "bob")


@pytest.fixture
def charlie(django_user_model):
    return _persona(django_user_model, "charlie")


@pytest.fixture
def api_client() -> APIClient:
    """An anonymous API client."""
    return APIClient()


def _client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def alice_api(alice) -> APIClient:
    return _client_for(alice)


@pytest.fixture
def bob_api(bob) -> APIClient:
    return _client_for(bob)


@pytest.fixture
def charlie_api(charlie) -> APIClient:
    return _client_for(charlie)


def _storage_of_this_test(model, folder, monkeypatch, fields=("file",)):
    """``model``'s file ``fields`` store into ``folder`` for this test (a field's storage is resolved once, at
    import, so overriding ``settings.STORAGES`` would not reach it)."""
    from django.core.files.storage import FileSystemStorage

    storage = FileSystemStorage(location=str(folder))
    for name in fields:
        monkeypatch.setattr(model._meta.get_field(name), "storage", storage)
    return folder


@pytest.fixture
def dataset_storage(tmp_path, monkeypatch):
    """Uploaded datasets go to a folder of this test."""
    from training.models import Dataset

    return _storage_of_this_test(Dataset, tmp_path / "datasets", monkeypatch)


@pytest.fixture
def artifact_storage(tmp_path, monkeypatch):
    """Built exports go to a folder of this test."""
    from graphs.models import ExportArtifact

    return _storage_of_this_test(ExportArtifact, tmp_path / "artifacts", monkeypatch)


@pytest.fixture
def checkpoint_storage(tmp_path, monkeypatch):
    """Runs' checkpoints and weights go to a folder of this test."""
    from training.models import Run

    return _storage_of_this_test(Run, tmp_path / "checkpoints", monkeypatch, fields=("checkpoint", "weights"))
