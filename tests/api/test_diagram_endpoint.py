"""POST /api/diagram/: a figure of a drawing, saved or not (what the canvas downloads); errors stay JSON."""

import io
import json
import xml.etree.ElementTree as ET

import pytest
from PIL import Image

import codegen
from codegen.templates import load_template

URL = "/api/diagram/"


def post_json(client, payload):
    return client.post(URL, json.dumps(payload), content_type="application/json")


def test_an_svg_of_the_drawing_named_after_its_graph(api_client, demo_graph):
    response = post_json(api_client, {"graph": demo_graph, "format": "svg", "title": "Café net"})
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    assert response["Content-Disposition"] == 'attachment; filename="cafe_net.svg"'
    assert response.content.decode() == codegen.to_svg(demo_graph)
    assert ET.fromstring(response.content).tag.endswith("svg")


def test_a_png_and_a_mermaid_flowchart_too(api_client, demo_graph):
    png = post_json(api_client, {"graph": demo_graph, "format": "png"})
    assert png.status_code == 200 and png["Content-Disposition"] == 'attachment; filename="model.png"'
    assert Image.open(io.BytesIO(png.content)).format == "PNG"
    mermaid = post_json(api_client, {"graph": demo_graph, "format": "mermaid", "title": "Net"})
    assert mermaid.content.decode() == codegen.to_mermaid(demo_graph)


def test_blocks_open_on_request(api_client):
    resnet = load_template("resnet50")
    closed = post_json(api_client, {"graph": resnet, "format": "svg"}).content
    opened = post_json(api_client, {"graph": resnet, "format": "svg", "expand_blocks": True}).content
    assert len(opened) > len(closed) and opened.decode() == codegen.to_svg(resnet, expand_blocks=True)


def test_a_graph_with_errors_still_draws(api_client, demo_graph):
    demo_graph["nodes"][5]["type"] = "Linaer"
    assert post_json(api_client, {"graph": demo_graph, "format": "svg"}).status_code == 200


@pytest.mark.parametrize(
    ("payload", "detail"),
    [
        ({"graph": {"nodes": "many"}, "format": "svg"}, "The graph cannot be used"),
        ({"graph": {}, "format": "gif"}, 'format: "gif" is not a valid choice.'),
    ],
)
def test_bad_requests_say_what_is_wrong_in_json(api_client, payload, detail):
    response = post_json(api_client, payload)
    assert response.status_code == 400 and response["Content-Type"] == "application/json"
    assert response.json()["detail"].startswith(detail)


def test_a_figure_too_large_to_draw_is_a_400_that_says_so(api_client, demo_graph, monkeypatch):
    def too_large(*args, **kwargs):
        raise codegen.FigureTooLarge("the figure would have more than 10,000 boxes; draw the blocks collapsed")

    monkeypatch.setattr(codegen, "to_png", too_large)
    response = post_json(api_client, {"graph": demo_graph, "format": "png"})
    assert response.status_code == 400
    assert response.json() == {"detail": "the figure would have more than 10,000 boxes; draw the blocks collapsed"}
