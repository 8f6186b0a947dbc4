"""graphs.services: importing graph files and starting from templates."""

import json

import pytest

from graphs import services
from graphs.models import Graph


def test_a_seed_format_file_imports_as_a_new_graph(alice, demo_graph):
    demo_graph["metadata"] = {"name": "hybrid_cmi", "description": "1D demo", "tags": ["Demo", "audio"]}
    graph = services.import_graph(alice, json.dumps(demo_graph).encode())
    assert (graph.name, graph.description, graph.owner) == ("hybrid_cmi", "1D demo", alice)
    assert sorted(graph.tags.values_list("name", flat=True)) == ["audio", "demo"]
    assert graph.head.document == demo_graph and graph.head.message == "Imported"


def test_the_name_given_wins_over_the_files(alice, demo_graph):
    assert services.import_graph(alice, json.dumps(demo_graph), name="Mine").name == "Mine"


def test_a_file_without_a_name_gets_one(alice, demo_graph):
    assert services.import_graph(alice, demo_graph).name == "Imported graph"


def test_odd_tags_in_a_file_do_not_block_its_import(alice, demo_graph):
    demo_graph["metadata"] = {"tags": ["fine", "not/fine"]}
    graph = services.import_graph(alice, demo_graph)
    assert graph.tags.count() == 0


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"nodes": [', "The file cannot be read: invalid JSON at line 1, column 12: Expecting value."),
        (b"\xff\xfe", "The file is not UTF-8 text."),
        (b"[1, 2]", "The file must hold one JSON object: a graph with version, nodes, edges, inputs, outputs."),
        (b'{"nodes": 3}', "The graph cannot be saved: nodes: expected list of nodes, got int"),
    ],
)
def test_bad_files_are_refused_and_nothing_is_created(alice, raw, message):
    with pytest.raises(services.ServiceError) as caught:
        services.import_graph(alice, raw)
    assert caught.value.message == message
    assert not Graph.objects.exists()


@pytest.mark.parametrize(
    "source",
    [
        "import torch\nfrom torch import nn\n\nclass Net(nn.Module):\n    pass\n",
        '"""My model."""\nfrom my_pkg.layers import Block\n',
        "# a model\ndef build_model(depth=18):\n    return None\n",
    ],
)
def test_python_source_is_refused_with_the_command_that_turns_it_into_a_graph(alice, source):
    with pytest.raises(services.ServiceError) as caught:
        services.import_graph(alice, source.encode())
    assert caught.value.message == services.PYTHON_UPLOAD
    assert "python -m codegen import" in caught.value.message
    assert not Graph.objects.exists()


def test_a_file_over_the_size_limit_is_refused(alice, settings):
    settings.TORCHCANVAS_LIMITS = {**settings.TORCHCANVAS_LIMITS, "max_body_bytes": 1024}
    with pytest.raises(services.ServiceError, match="^The file is 2000 bytes; the limit is 1024 bytes.$"):
        services.import_graph(alice, b" " * 2000)


def test_a_template_becomes_a_graph(alice):
    graph = services.graph_from_template(alice, "resnet18")
    assert graph.name == "ResNet18"
    assert graph.head.valid and graph.head.params_total == 11_689_512
    assert graph.head.message == "From the resnet18 template"


def test_an_unknown_template_is_refused_with_the_known_ones(alice):
    with pytest.raises(
        services.ServiceError, match=r"^Unknown template 'nope'; available templates: (\w+, )*hybridcmi, "
    ):
        services.graph_from_template(alice, "nope")


def test_a_graph_with_import_placeholders_is_saved_as_an_invalid_version(alice, demo_graph):
    conv = next(n for n in demo_graph["nodes"] if n["type"] != "Input")
    placeholder = {
        "id": "erf",
        "type": "NotImported",
        "params": {"op": "function `torch.erf`", "reason": "no node type does this", "shape": [9, 256]},
    }
    source = next(e[0] for e in demo_graph["edges"] if e[1] == conv["id"])
    demo_graph["nodes"].append(placeholder)
    demo_graph["edges"] = [
        [*e[:1], "erf", *e[2:]] if e[1] == conv["id"] and e[0] == source else e for e in demo_graph["edges"]
    ] + [["erf", conv["id"]]]
    graph = services.import_graph(alice, demo_graph)
    assert graph.head.valid is False and graph.head.error_count == 1
    assert graph.head.document["nodes"][-1] == placeholder
