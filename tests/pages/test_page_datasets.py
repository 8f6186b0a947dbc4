"""The dataset pages: the list with its upload form, a dataset's preview, samples, delete, and who sees what."""

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from hostile_datasets import PETS_CSV, image_zip, npz, png, zip_of

from training.models import Dataset

pytestmark = pytest.mark.django_db
CSV = PETS_CSV


@pytest.fixture(autouse=True)
def storage_dir(dataset_storage):
    return dataset_storage


def post_upload(client, data: bytes, kind: str, filename: str = "pets.csv", **fields):
    form = {"file": SimpleUploadedFile(filename, data), "kind": kind, "visibility": "private", **fields}
    return client.post("/datasets/", form)


def test_the_list_shows_the_builtin_datasets_to_everyone(client):
    page = client.get("/datasets/").content.decode()
    assert "Two moons" in page and "Shapes 16×16" in page and "built-in" in page
    assert "Log in</a> to upload" in page


def test_the_nav_links_to_the_datasets(alice_client):
    assert 'href="/datasets/"' in alice_client.get("/").content.decode()


def test_an_uploaded_csv_gets_a_preview_page(alice_client):
    response = post_upload(alice_client, CSV, "csv", name="Pets")
    dataset = Dataset.objects.get(name="Pets")
    assert response.status_code == 302 and response["Location"] == f"/datasets/{dataset.pk}/"
    page = alice_client.get(response["Location"]).content.decode()
    assert "Class balance" in page and "<td>cat</td>" in page and "First rows" in page
    assert '<progress max="2" value="1"' in page


def test_an_image_dataset_previews_its_samples(alice_client):
    post_upload(alice_client, image_zip(), "images", "pics.zip", name="Pics")
    dataset = Dataset.objects.get(name="Pics")
    page = alice_client.get(f"/datasets/{dataset.pk}/").content.decode()
    assert f'src="/datasets/{dataset.pk}/samples/0.png"' in page
    sample = alice_client.get(f"/datasets/{dataset.pk}/samples/0.png")
    assert sample.status_code == 200 and sample["Content-Type"] == "image/png"
    assert alice_client.get(f"/datasets/{dataset.pk}/samples/99.png").status_code == 404


def test_a_refused_upload_says_why_next_to_the_form(alice_client, storage_dir):
    response = post_upload(alice_client, zip_of({"../x/1.png": png(), "b/1.png": png()}), "images", "evil.zip")
    assert response.status_code == 400
    assert "points outside the archive" in response.content.decode()
    assert not Dataset.objects.filter(builtin="").exists()
    assert not any(path.is_file() for path in storage_dir.rglob("*"))


def test_outsiders_get_404_and_viewers_cannot_delete(alice_client, bob_client, charlie_client, team, client):
    post_upload(alice_client, CSV, "csv", name="Shared", team=team.pk, visibility="team")
    dataset = Dataset.objects.get(name="Shared")
    assert charlie_client.get(f"/datasets/{dataset.pk}/").status_code == 404
    assert client.get(f"/datasets/{dataset.pk}/").status_code == 404
    assert "Shared" not in charlie_client.get("/datasets/").content.decode()
    assert bob_client.get(f"/datasets/{dataset.pk}/").status_code == 200
    assert bob_client.post(f"/datasets/{dataset.pk}/delete/").status_code == 403  # an editor, not an admin
    assert client.post("/datasets/", {"kind": "csv"}).status_code == 302  # to the login page
    assert alice_client.post(f"/datasets/{dataset.pk}/delete/").status_code == 302
    assert not Dataset.objects.filter(pk=dataset.pk).exists()


def test_a_team_dataset_needs_its_team(alice_client):
    response = post_upload(alice_client, CSV, "csv", visibility="team")
    assert response.status_code == 400
    assert "Pick the team that shares this dataset" in response.content.decode()


def test_a_regression_arrays_dataset_shows_its_facts_without_classes(alice_client):
    arrays = npz(x=np.ones((5, 2, 3), np.float32), y=np.linspace(0, 1, 5))
    response = post_upload(alice_client, arrays, "arrays", "xy.npz", name="Curve")
    page = alice_client.get(response["Location"]).content.decode()
    assert "<code>[2, 3]</code>" in page and "regression" in page and "Class balance" not in page
