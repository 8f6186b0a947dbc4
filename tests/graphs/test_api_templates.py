"""GET /api/templates/ and POST /api/graphs/from-template/."""

from graphs.models import Graph


def test_the_templates_are_listed_for_everyone(api_client):
    response = api_client.get("/api/templates/")
    assert response.status_code == 200
    by_name = {t["name"]: t for t in response.json()}
    assert {"vgg16", "resnet18", "hybridcmi"} <= by_name.keys()
    assert by_name["resnet18"]["title"] == "ResNet18" and by_name["resnet18"]["node_count"] > 10


def test_a_graph_starts_from_a_template(alice_api):
    response = alice_api.post("/api/graphs/from-template/", {"template": "hybridcmi", "name": "My CMI"})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["name"] == "My CMI" and body["head"]["valid"] is True
    assert body["head"]["message"] == "From the hybridcmi template"


def test_an_unknown_template_is_a_400(alice_api):
    response = alice_api.post("/api/graphs/from-template/", {"template": "../../etc/passwd"})
    assert response.status_code == 400
    assert response.json()["detail"].startswith("Unknown template '../../etc/passwd'; available templates: ")
    assert not Graph.objects.exists()
