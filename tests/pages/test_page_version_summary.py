"""The version page's model summary: totals, a collapsible per-node table and the Markdown/CSV downloads."""

import pytest

from codegen.templates import load_template
from graphs import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def resnet(alice):
    return services.create_graph(alice, name="My ResNet", document=load_template("resnet18"))


def test_the_version_page_shows_the_totals_and_the_per_node_table(alice_client, resnet):
    html = alice_client.get(f"/graphs/{resnet.pk}/versions/1/").content.decode()
    assert '<section class="panel" id="model-summary">' in html
    assert "<dd>11.7M <span" in html and "(11.7M trainable, 0 frozen)" in html  # ResNet-18's 11,689,512
    assert "<dd>3.63G <span" in html and "(1.81G MACs, batch 1)" in html
    assert "per sample (fp32)" in html
    assert "<summary>Per node (" in html
    assert '<th scope="row" style="padding-left: calc(0.5rem + 0rem)"><code>conv1</code></th>' in html
    assert "<td>(B, 64, 112, 112)</td>" in html


def test_it_links_the_markdown_and_csv_downloads(alice_client, resnet):
    html = alice_client.get(f"/graphs/{resnet.pk}/versions/1/").content.decode()
    for fmt in ("md", "csv"):
        url = f"/graphs/{resnet.pk}/versions/1/download/{fmt}/"
        assert f'href="{url}"' in html
        assert alice_client.get(url).status_code == 200


def test_a_user_blocks_nodes_are_indented_under_it(alice_client, alice):
    document = load_template("resnet18")
    graph = services.create_graph(alice, name="Blocks", document=_with_user_block(document))
    html = alice_client.get(f"/graphs/{graph.pk}/versions/1/").content.decode()
    assert (
        '<th scope="row" style="padding-left: calc(0.5rem + 1rem)"><span class="muted" aria-hidden="true">↳ </span><code>inner</code></th>'
        in html
    )


def test_without_input_shapes_it_says_what_would_count_the_flops(alice_client, private_graph):
    html = alice_client.get(f"/graphs/{private_graph.pk}/versions/1/").content.decode()
    assert "give the Input nodes a shape to count every FLOP" in html


def test_a_version_with_errors_has_no_summary(alice_client, alice, demo_graph):
    broken = {**demo_graph, "nodes": [*demo_graph["nodes"][:-1], {"id": "fc", "type": "Linaer", "params": {}}]}
    graph = services.create_graph(alice, name="Broken", document=broken)
    html = alice_client.get(f"/graphs/{graph.pk}/versions/1/").content.decode()
    assert "model-summary" not in html


def _with_user_block(document: dict) -> dict:
    """``document`` with a user block (one ReLU called ``inner``) between its last pooling and its head."""
    document["composites"] = {
        "Act": {
            "nodes": [{"id": "x", "type": "Input"}, {"id": "inner", "type": "ReLU"}],
            "edges": [["x", "inner"]],
            "inputs": ["x"],
            "outputs": ["inner"],
        }
    }
    head = document["outputs"][0]
    source = next(e for e in document["edges"] if e[1] == head)
    document["nodes"].append({"id": "act", "type": "Act", "params": {}})
    document["edges"] = [e for e in document["edges"] if e is not source] + [[source[0], "act"], ["act", head]]
    return document
