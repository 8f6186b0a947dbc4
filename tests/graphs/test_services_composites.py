"""graphs.services: publishing composite blocks, and graphs that use them by name and version."""

import copy

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

import codegen
from graphs import services
from graphs.models import CompositeBlock

CONV_BN_RELU = {
    "doc": "Conv, BatchNorm, ReLU.",
    "params": [{"name": "c", "type": "int", "default": 16, "min": 1}],
    "nodes": [
        {"id": "in", "type": "Input"},
        {"id": "conv", "type": "Conv2d", "params": {"out_channels": "$c", "kernel_size": 3, "padding": 1}},
        {"id": "bn", "type": "BatchNorm2d"},
        {"id": "act", "type": "ReLU"},
    ],
    "edges": [["in", "conv"], ["conv", "bn"], ["bn", "act"]],
    "inputs": ["in"],
    "outputs": ["act"],
}


def definition(kernel: int = 3) -> dict:
    block = copy.deepcopy(CONV_BN_RELU)
    block["nodes"][1]["params"]["kernel_size"] = kernel
    block["nodes"][1]["params"]["padding"] = kernel // 2
    return block


def image_graph(library: dict) -> dict:
    return {
        "version": "0.2",
        "metadata": {"library": library},
        "nodes": [
            {"id": "img", "type": "Input", "params": {"shape": [3, 32, 32]}},
            {"id": "stem", "type": "MyConv", "params": {"c": 8}},
            {"id": "pool", "type": "AdaptiveAvgPool2d", "params": {"output_size": 1}},
            {"id": "flat", "type": "Flatten"},
            {"id": "head", "type": "Linear", "params": {"out_features": 10}},
        ],
        "edges": [["img", "stem"], ["stem", "pool"], ["pool", "flat"], ["flat", "head"]],
        "inputs": ["img"],
        "outputs": ["head"],
    }


def test_publishing_creates_a_block_with_version_one(alice):
    version = services.publish_composite(alice, name="ConvBNReLU", definition=definition(), description="Basic.")
    block = version.block
    assert (block.name, block.owner, block.team, block.library) == ("ConvBNReLU", alice, None, "user:alice")
    assert (version.number, block.head, block.description) == (1, version, "Basic.")


def test_publishing_again_adds_the_next_version(alice):
    services.publish_composite(alice, name="ConvBNReLU", definition=definition(3))
    second = services.publish_composite(alice, name="ConvBNReLU", definition=definition(5), message="5x5")
    assert (second.number, second.message) == (2, "5x5")
    assert CompositeBlock.objects.count() == 1


def test_publishing_the_same_definition_creates_nothing(alice):
    first = services.publish_composite(alice, name="ConvBNReLU", definition=definition())
    again, created = services.publish_composite_version(alice, name="ConvBNReLU", definition=definition())
    assert again == first and not created


def test_team_editors_publish_to_the_team_library(bob, team):
    version = services.publish_composite(bob, name="TeamBlock", definition=definition(), team=team)
    assert version.block.library == "team:vision-lab" and version.block.owner is None


def test_team_viewers_and_outsiders_cannot_publish(alice, bob, charlie, team):
    services.set_role(team, alice, bob, "viewer")
    with pytest.raises(PermissionDenied):
        services.publish_composite(bob, name="TeamBlock", definition=definition(), team=team)
    with pytest.raises(Http404):
        services.publish_composite(charlie, name="TeamBlock", definition=definition(), team=team)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("lowercase", "name: a block name is an ASCII identifier starting with a capital letter, e.g. ConvBNReLU."),
        ("SEBlock", "name: SEBlock is a built-in node type; choose another name."),
        ("Conv2d", "name: Conv2d is a built-in node type; choose another name."),
    ],
)
def test_block_names_are_checked(alice, name, message):
    with pytest.raises(services.ServiceError) as caught:
        services.publish_composite(alice, name=name, definition=definition())
    assert caught.value.message == message


def test_a_definition_with_an_unknown_node_type_is_refused(alice):
    broken = definition()
    broken["nodes"][2]["type"] = "BatchNorm9d"
    with pytest.raises(services.ServiceError, match="^The block cannot be published: inside block Broken") as caught:
        services.publish_composite(alice, name="Broken", definition=broken)
    assert caught.value.diagnostics[0]["code"] == "UNKNOWN_TYPE"
    assert not CompositeBlock.objects.exists()


def test_a_definition_that_is_not_a_block_is_refused(alice):
    with pytest.raises(services.ServiceError, match="unknown field") as caught:
        services.publish_composite(alice, name="Odd", definition={"nodez": []})
    assert caught.value.diagnostics[0]["code"] == "PARSE"


def test_a_block_whose_sizes_depend_on_its_input_is_accepted(alice):
    needs_shape = {
        "params": [{"name": "h", "type": "int", "default": 32}],
        "nodes": [{"id": "in", "type": "Input"}, {"id": "gru", "type": "GRUBlock", "params": {"hidden_size": "$h"}}],
        "edges": [["in", "gru"]],
        "inputs": ["in"],
        "outputs": ["gru"],
    }
    assert services.publish_composite(alice, name="Recurrent", definition=needs_shape).number == 1


def test_a_graph_referencing_a_block_embeds_that_version(alice):
    version = services.publish_composite(alice, name="ConvBNReLU", definition=definition())
    graph = services.create_graph(
        alice, name="Uses it", document=image_graph({"MyConv": {"block": version.block_id, "version": 1}})
    )
    stored = graph.head.document
    assert stored["composites"]["MyConv"] == definition()
    assert stored["metadata"]["library"] == {"MyConv": {"block": version.block_id, "version": 1}}
    assert graph.head.valid


def test_a_reference_without_a_version_pins_the_current_head(alice):
    services.publish_composite(alice, name="ConvBNReLU", definition=definition(3))
    head = services.publish_composite(alice, name="ConvBNReLU", definition=definition(5))
    graph = services.create_graph(alice, name="Latest", document=image_graph({"MyConv": {"block": head.block_id}}))
    assert graph.head.document["metadata"]["library"]["MyConv"] == {"block": head.block_id, "version": 2}


def test_an_old_graph_version_renders_exactly_as_it_did_after_the_block_changes(alice, bob, team):
    v1 = services.publish_composite(alice, name="ConvBNReLU", definition=definition(3), team=team)
    graph = services.create_graph(
        bob, name="Pinned", document=image_graph({"MyConv": {"block": v1.block_id, "version": 1}}), team=team
    )
    before = codegen.generate(graph.head.document, name="pinned", layout="file")
    services.publish_composite(bob, name="ConvBNReLU", definition=definition(7), team=team)
    old = graph.versions.get(number=1)
    assert codegen.generate(old.document, name="pinned", layout="file") == before
    upgraded, _ = services.save_version(
        graph, bob, image_graph({"MyConv": {"block": v1.block_id, "version": 2}}), base=1
    )
    assert upgraded.document["composites"]["MyConv"]["nodes"][1]["params"]["kernel_size"] == 7


def test_a_block_you_cannot_see_is_refused(alice, charlie):
    version = services.publish_composite(alice, name="Secret", definition=definition())
    with pytest.raises(services.ServiceError) as caught:
        services.create_graph(charlie, name="Nope", document=image_graph({"MyConv": {"block": version.block_id}}))
    assert caught.value.message == (
        f"metadata.library.MyConv: block {version.block_id} version head does not exist or is not shared with you."
    )


def test_a_shared_graph_carrying_someone_elses_block_can_still_be_saved(alice, bob, team):
    version = services.publish_composite(alice, name="Private", definition=definition())
    graph = services.create_graph(
        alice,
        name="Shared",
        document=image_graph({"MyConv": {"block": version.block_id, "version": 1}}),
        team=team,
        visibility="team",
    )
    document = copy.deepcopy(graph.head.document)  # what bob's canvas loaded: the block is embedded
    document["nodes"][-1]["params"]["out_features"] = 5
    saved, created = services.save_version(graph, bob, document, base=1)
    assert created and saved.document["composites"]["MyConv"] == definition()
    document["composites"]["MyConv"] = definition(9)  # but he cannot pass off another definition as hers
    with pytest.raises(services.ServiceError, match="is not shared with you"):
        services.save_version(graph, bob, document, base=2)


def test_a_graph_using_a_deleted_block_keeps_its_copy_and_can_still_be_saved(alice):
    version = services.publish_composite(alice, name="ConvBNReLU", definition=definition())
    graph = services.create_graph(
        alice, name="Uses it", document=image_graph({"MyConv": {"block": version.block_id, "version": 1}})
    )
    services.delete_composite(version.block, alice)
    document = copy.deepcopy(graph.head.document)  # what the canvas still holds: reference and embedded copy
    document["nodes"][-1]["params"]["out_features"] = 5
    saved, created = services.save_version(graph, alice, document, base=1)
    assert created and saved.valid
    assert saved.document["composites"]["MyConv"] == definition()
    assert "library" not in saved.document["metadata"]  # the block is the graph's own now
    del document["composites"]
    with pytest.raises(services.ServiceError, match="does not exist or is not shared with you"):
        services.save_version(graph, alice, document, base=2)


@pytest.mark.parametrize(
    ("library", "message"),
    [
        ([], 'metadata.library: expected an object like {"MyBlock": {"block": 12, "version": 3}}.'),
        (
            {"lower": {"block": 1}},
            "metadata.library.lower: block names are ASCII identifiers starting with a capital letter.",
        ),
        ({"MyConv": {"block": "1"}}, "metadata.library.MyConv: block and version must be positive integers."),
        (
            {"MyConv": {"block": 1, "extra": 2}},
            'metadata.library.MyConv: expected {"block": <id>, "version": <number>}.',
        ),
    ],
)
def test_malformed_library_references_are_refused(alice, library, message):
    with pytest.raises(services.ServiceError) as caught:
        services.create_graph(alice, name="Bad", document=image_graph(library))
    assert caught.value.message == message


def test_built_in_blocks_are_listed(alice):
    names = [block["type"] for block in services.builtin_blocks()]
    assert {"SEBlock", "ResidualBlock", "VGGBlock"} <= set(names)
