"""Runs in the admin: listed, searchable, with their events, and read-only."""

import pytest
from django.contrib import admin

from training.models import Run, RunSet, Status

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", None))
    return client


def test_runs_are_listed_searchable_and_read_only(staff_client, make_run):
    from training.events import publish_event

    run = make_run(Status.FAILED, error="loss became NaN at step 12")
    publish_event(run, "error", {"message": run.error})
    assert admin.site.is_registered(Run)
    assert staff_client.get("/admin/training/run/", {"q": "NaN"}).status_code == 200
    page = staff_client.get(f"/admin/training/run/{run.pk}/change/")
    assert page.status_code == 200 and "loss became NaN at step 12" in page.content.decode()
    response = staff_client.post(f"/admin/training/run/{run.pk}/change/", {"status": "succeeded"})
    assert response.status_code == 403
    assert Run.objects.get(pk=run.pk).status == Status.FAILED


def test_run_sets_are_listed_searchable_and_read_only(staff_client, residual, alice):
    from training.run_sets import queue_set

    run_set = queue_set(residual.head, alice, "sweep", param="seed", values=[1, 2], name="Seeds", config={"steps": 2})
    page = staff_client.get("/admin/training/runset/", {"q": "Seeds"})
    assert page.status_code == 200 and "seed over 1, 2" in page.content.decode()
    response = staff_client.post(f"/admin/training/runset/{run_set.pk}/change/", {"name": "Other"})
    assert response.status_code == 403
    assert RunSet.objects.get(pk=run_set.pk).name == "Seeds"
