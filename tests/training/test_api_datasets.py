"""The datasets API: upload, list, read, delete, samples and the graph check, with the graphs' permissions."""

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from hostile_datasets import PETS_CSV, bomb, csv_with_columns, image_zip, npz, png, zip_of
from run_helpers import document
from smoke_fixtures import TINY

from graphs import services
from torchcanvas_site.bodylimit import body_cap
from training.models import Dataset

pytestmark = pytest.mark.django_db
CSV = PETS_CSV


@pytest.fixture(autouse=True)
def storage_dir(dataset_storage):
    return dataset_storage


def upload(client, data: bytes, kind: str, filename: str = "data.csv", **fields):
    body = {"file": SimpleUploadedFile(filename, data), "kind": kind, **fields}
    return client.post("/api/datasets/", body, format="multipart")


def stored_files(folder) -> list:
    return [path for path in folder.rglob("*") if path.is_file()]


def test_the_builtin_datasets_are_listed_for_everyone_and_read_only(api_client, alice_api):
    listed = api_client.get("/api/datasets/").json()["results"]
    assert {item["builtin"] for item in listed} == {"two-moons", "shapes-16"}
    moons = next(item for item in listed if item["builtin"] == "two-moons")
    assert moons["facts"]["samples"] == 600 and moons["owner"] is None
    detail = api_client.get(f"/api/datasets/{moons['id']}/").json()
    assert detail["rows"][0] and len(detail["rows"]) == 10 and detail["samples"] == []
    assert alice_api.delete(f"/api/datasets/{moons['id']}/").status_code == 403
    assert api_client.delete(f"/api/datasets/{moons['id']}/").status_code == 401


def test_image_samples_are_pngs(api_client):
    shapes = Dataset.objects.get(builtin="shapes-16")
    detail = api_client.get(f"/api/datasets/{shapes.pk}/").json()
    assert len(detail["samples"]) == 8
    response = api_client.get(detail["samples"][0])
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert response.content.startswith(b"\x89PNG")
    assert api_client.get(f"/api/datasets/{shapes.pk}/samples/400.png").status_code == 404


def test_uploading_a_csv_stores_it_with_its_facts(alice_api, storage_dir):
    response = upload(alice_api, CSV, "csv", name="Pets", input_columns="b, a", target_column="label")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["name"] == "Pets" and body["owner"] == "alice" and body["visibility"] == "private"
    assert body["facts"]["input_columns"] == ["b", "a"] and body["facts"]["classes"][0] == {"name": "cat", "count": 2}
    dataset = Dataset.objects.get(pk=body["id"])
    with dataset.open() as stream:
        assert stream.read() == CSV
    assert len(stored_files(storage_dir)) == 1


def test_uploading_arrays_and_images(alice_api):
    arrays = npz(x=np.ones((4, 3), np.float32), y=np.array([0, 1, 0, 1]))
    assert upload(alice_api, arrays, "arrays", "xy.npz").json()["facts"]["input_shape"] == [3]
    images = upload(alice_api, image_zip(), "images", "pics.zip").json()
    assert images["facts"]["input_shape"] == [1, 8, 8] and images["name"] == "pics.zip"


@pytest.mark.parametrize(
    "data, kind, message",
    [
        (b"a,b,y\n1,2,0\n1,x,1\n", "csv", "Row 3, column 'b': 'x' is not a number."),
        (csv_with_columns(10**6), "csv", "The CSV header has 1000000 columns; the limit is 10000."),
        (zip_of({"../../evil/1.png": png(), "b/1.png": png()}), "images", "points outside the archive"),
        (zip_of({"/tmp/evil.png": png(), "b/1.png": png()}), "images", "points outside the archive"),
        (zip_of({"a/1.png": png(), "b/x.png": b"GIF89a but not really"}), "images", "The file b/x.png is not an image"),
        (bomb(50), "images", "once uncompressed; the limit is 10000000 bytes"),
    ],
)
def test_hostile_uploads_are_refused_with_a_sentence_and_nothing_stored(
    alice_api, settings, storage_dir, data, kind, message
):
    settings.TORCHCANVAS_DATASETS = {**settings.TORCHCANVAS_DATASETS, "max_uncompressed_bytes": 10_000_000}
    response = upload(alice_api, data, kind)
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert not Dataset.objects.filter(builtin="").exists()
    assert stored_files(storage_dir) == []


def test_an_upload_over_the_dataset_cap_is_refused_from_its_declared_length(alice_api, settings):
    settings.TORCHCANVAS_DATASETS = {**settings.TORCHCANVAS_DATASETS, "max_upload_bytes": 4096}
    response = upload(alice_api, b"a,y\n" + b"1,0\n" * 40_000, "csv")
    assert response.status_code == 413
    assert not Dataset.objects.filter(builtin="").exists()


def test_the_dataset_routes_have_their_own_body_cap(settings):
    settings.TORCHCANVAS_DATASETS = {**settings.TORCHCANVAS_DATASETS, "max_upload_bytes": 100_000_000}
    general = settings.TORCHCANVAS_LIMITS["max_body_bytes"]
    multipart = "multipart/form-data; boundary=x"
    assert body_cap(multipart, "/api/datasets/") == body_cap(multipart, "/datasets/") == 100_000_000 + 65536
    assert body_cap(multipart, "/api/graphs/import/") == general + 65536
    assert body_cap("application/json", "/api/datasets/") == general  # only uploads get the larger cap
    assert body_cap(multipart, "/api/datasets/1/") == general + 65536


def test_ten_gigabytes_declared_are_refused_before_the_body_is_read(settings):
    """The ASGI layer answers 413 from the Content-Length header alone."""
    import asyncio

    from torchcanvas_site.bodylimit import BodyLimitMiddleware

    async def app(scope, receive, send):  # pragma: no cover - must not be reached
        raise AssertionError("the application was called")

    sent = []

    async def send(message):
        sent.append(message)

    async def receive():  # pragma: no cover - nothing is read
        raise AssertionError("the body was read")

    scope = {
        "type": "http",
        "path": "/api/datasets/",
        "headers": [(b"content-type", b"multipart/form-data; boundary=x"), (b"content-length", b"10000000000")],
    }
    asyncio.run(BodyLimitMiddleware(app)(scope, receive, send))
    assert sent[0]["status"] == 413


def test_permissions_follow_the_graphs_rules(alice, alice_api, bob_api, charlie_api, api_client, lab):
    private = upload(alice_api, CSV, "csv").json()
    shared = upload(alice_api, CSV, "csv", team=lab.slug, visibility="team").json()
    assert charlie_api.get(f"/api/datasets/{private['id']}/").status_code == 404
    assert charlie_api.get(f"/api/datasets/{shared['id']}/").status_code == 404
    assert api_client.get(f"/api/datasets/{private['id']}/").status_code == 404
    assert bob_api.get(f"/api/datasets/{shared['id']}/").status_code == 200  # a viewer of the team
    assert bob_api.get(f"/api/datasets/{private['id']}/").status_code == 404
    assert bob_api.delete(f"/api/datasets/{shared['id']}/").status_code == 403
    ids = {item["id"] for item in charlie_api.get("/api/datasets/").json()["results"]}
    assert private["id"] not in ids and shared["id"] not in ids
    assert upload(api_client, CSV, "csv").status_code == 401
    assert upload(bob_api, CSV, "csv", team=lab.slug, visibility="team").status_code == 403  # viewers cannot add
    assert alice_api.delete(f"/api/datasets/{private['id']}/").status_code == 204
    assert not Dataset.objects.filter(pk=private["id"]).exists()


def test_deleting_removes_the_stored_file(alice_api, storage_dir):
    created = upload(alice_api, CSV, "csv").json()
    assert len(stored_files(storage_dir)) == 1
    alice_api.delete(f"/api/datasets/{created['id']}/")
    assert stored_files(storage_dir) == []


def test_the_check_says_how_to_fix_the_input_shape(alice, alice_api, charlie_api):
    graph = services.create_graph(alice, name="Tiny", document=document(TINY))
    moons = Dataset.objects.get(builtin="two-moons")
    answer = alice_api.get(f"/api/datasets/{moons.pk}/check/", {"graph": graph.pk}).json()
    assert answer["ok"] is False
    assert answer["diagnostic"]["code"] == "DATASET" and answer["diagnostic"]["node"] == "inp"
    assert answer["diagnostic"]["suggestion"] == {"action": "set_param", "node": "inp", "param": "shape", "value": [2]}
    fixed = document(TINY)
    fixed["nodes"][0]["params"]["shape"] = [2]
    services.save_version(graph, alice, fixed, base=1, message="Two features")
    assert alice_api.get(f"/api/datasets/{moons.pk}/check/", {"graph": graph.pk}).json() == {
        "ok": True,
        "diagnostic": None,
    }
    assert alice_api.get(f"/api/datasets/{moons.pk}/check/", {"graph": graph.pk, "version": 1}).json()["ok"] is False
    assert charlie_api.get(f"/api/datasets/{moons.pk}/check/", {"graph": graph.pk}).status_code == 404
    assert alice_api.get(f"/api/datasets/{moons.pk}/check/").status_code == 400


def test_an_upload_over_the_general_body_cap_but_under_the_datasets_is_accepted(alice_api, settings):
    general = settings.TORCHCANVAS_LIMITS["max_body_bytes"]
    rows = general // 6
    data = b"a,y\n" + b"".join(b"%d.5,%d\n" % (i % 1000, i % 2) for i in range(rows))
    assert len(data) > general
    response = upload(alice_api, data, "csv", "big.csv")
    assert response.status_code == 201, response.json()
    assert response.json()["facts"]["samples"] == rows


def check_drawing(client, dataset_id: int, body):
    return client.post(f"/api/datasets/{dataset_id}/check/", body, format="json")


def test_the_check_of_an_unsaved_drawing_says_how_to_fix_it_and_passes_once_fixed(alice_api):
    moons = Dataset.objects.get(builtin="two-moons")
    drawing = document(TINY)
    answer = check_drawing(alice_api, moons.pk, {"document": drawing})
    assert answer.status_code == 200, answer.json()
    assert answer.json()["diagnostic"]["suggestion"] == {
        "action": "set_param",
        "node": "inp",
        "param": "shape",
        "value": [2],
    }
    drawing["nodes"][0]["params"]["shape"] = [2]
    assert check_drawing(alice_api, moons.pk, {"document": drawing}).json() == {"ok": True, "diagnostic": None}


def test_the_drawing_check_refuses_what_is_not_a_graph_in_one_sentence(alice_api):
    moons = Dataset.objects.get(builtin="two-moons")
    url = f"/api/datasets/{moons.pk}/check/"
    for body, status in [
        ({"document": [1, 2]}, 400),
        ({}, 400),
        ({"document": document(TINY), "graph": 1}, 400),
        ({"document": {"nodes": "many"}}, 400),
        ({"document": {**document(TINY), "nodes": [{"id": "inp\x00", "type": "Input"}]}}, 400),
    ]:
        response = check_drawing(alice_api, moons.pk, body)
        assert response.status_code == status, (body, response.json())
    assert "detail" in check_drawing(alice_api, moons.pk, {"document": {"nodes": "many"}}).json()
    response = alice_api.post(url, "{not json", content_type="application/json")
    assert response.status_code == 400


def test_the_drawing_check_is_capped_like_other_documents(alice_api, settings):
    settings.TORCHCANVAS_LIMITS = {**settings.TORCHCANVAS_LIMITS, "max_nodes": 3}
    moons = Dataset.objects.get(builtin="two-moons")
    drawing = document(TINY)
    drawing["nodes"] += [{"id": f"r{i}", "type": "ReLU"} for i in range(5)]
    response = check_drawing(alice_api, moons.pk, {"document": drawing})
    assert response.status_code == 400 and response.json()["diagnostics"][0]["code"] == "LIMIT"
    settings.TORCHCANVAS_LIMITS = {**settings.TORCHCANVAS_LIMITS, "max_body_bytes": 2048}
    drawing = {**document(TINY), "metadata": {"notes": "x" * 4096}}
    assert check_drawing(alice_api, moons.pk, {"document": drawing}).status_code == 413


def test_the_drawing_check_needs_a_login_and_a_dataset_you_may_see(alice_api, charlie_api, api_client):
    private = upload(alice_api, CSV, "csv").json()
    body = {"document": document(TINY)}
    assert check_drawing(charlie_api, private["id"], body).status_code == 404
    assert check_drawing(api_client, private["id"], body).status_code in (401, 403)
    moons = Dataset.objects.get(builtin="two-moons")
    assert check_drawing(api_client, moons.pk, body).status_code in (401, 403)
    assert check_drawing(alice_api, private["id"], body).status_code == 200
