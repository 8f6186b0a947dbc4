"""The admin lists every platform model, searchable; versions are read-only there."""

import pytest
from django.contrib import admin

from graphs import models, services

MODELS = [
    models.Team,
    models.Membership,
    models.Invitation,
    models.Tag,
    models.Graph,
    models.GraphVersion,
    models.CompositeBlock,
    models.CompositeVersion,
    models.Activity,
]


@pytest.fixture
def staff_client(client, django_user_model, alice, demo_graph, team):
    services.create_graph(alice, name="Demo net", document=demo_graph, tags=["audio"], team=team)
    services.invite(team, alice, "viewer")
    services.publish_composite(
        alice,
        name="Tiny",
        definition={"nodes": [{"id": "i", "type": "Input"}], "edges": [], "inputs": ["i"], "outputs": ["i"]},
    )
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", None))
    return client


def test_every_model_is_registered():
    assert all(admin.site.is_registered(model) for model in MODELS)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_each_changelist_loads_and_searches(staff_client, model):
    url = f"/admin/graphs/{model._meta.model_name}/"
    assert staff_client.get(url).status_code == 200
    assert staff_client.get(url, {"q": "alice"}).status_code == 200


def test_versions_cannot_be_edited_in_the_admin(staff_client):
    version = models.GraphVersion.objects.get()
    response = staff_client.post(f"/admin/graphs/graphversion/{version.pk}/change/", {"message": "rewritten"})
    assert response.status_code == 403
    assert models.GraphVersion.objects.get().message == "Created"
