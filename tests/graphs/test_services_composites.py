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


def test_a_block_with_several_inputs_and_outputs_is_published(alice):
    two_in_two_out = {
        "params": [{"name": "c", "type": "int", "default": "$skip_channels"}],
        "nodes": [
            {"id": "x", "type": "Input"},
            {"id": "skip", "type": "Input"},
            {"id": "cat", "type": "Concat"},
            {"id": "conv", "type": "Conv2d", "params": {"out_channels": "$c", "kernel_size": 1}},
            {"id": "halves", "type": "Chunk", "params": {"chunks": 2}},
            {"id": "a", "type": "ReLU"},
            {"id": "b", "type": "Sigmoid"},
        ],
        "edges": [["x", "cat"], ["skip", "cat"], ["cat", "conv"], ["conv", "halves"], ["halves:0", "a"]]
        + [["halves:1", "b"]],
        "inputs": ["x", "skip"],
        "outputs": ["a", "b"],
    }
    assert services.publish_composite(alice, name="Fork", definition=two_in_two_out).number == 1
    two_in_two_out["params"][0]["default"] = "$c + 1"
    with pytest.raises(services.ServiceError, match="the default of `c` refers to itself"):
        services.publish_composite(alice, name="Fork", definition=two_in_two_out)


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


def bob_edits_a_shared_graph(alice, bob, team, block_id: int):
    """alice shares a graph using her library block ``block_id`` with the team, and bob saves an edit of it as
    his canvas loaded it (its blocks embedded): the graph, bob's version and the document he sent."""
    graph = services.create_graph(
        alice,
        name="Shared",
        document=image_graph({"MyConv": {"block": block_id, "version": 1}}),
        team=team,
        visibility="team",
    )
    document = copy.deepcopy(graph.head.document)
    document["nodes"][-1]["params"]["out_features"] = 5
    saved, created = services.save_version(graph, bob, document, base=1)
    assert created
    return graph, saved, document


def test_a_shared_graph_carrying_someone_elses_block_can_still_be_saved(alice, bob, team):
    version = services.publish_composite(alice, name="Private", definition=definition())
    graph, saved, document = bob_edits_a_shared_graph(alice, bob, team, version.block_id)
    assert saved.document["composites"]["MyConv"] == definition()
    assert saved.document["metadata"]["library"] == {"MyConv": {"block": version.block_id, "version": 1}}
    document["composites"]["MyConv"] = definition(9)  # but he cannot pass off another definition as hers:
    changed, _ = services.save_version(graph, bob, document, base=2)  # it becomes the graph's own block
    assert changed.document["composites"]["MyConv"] == definition(9) and "library" not in changed.document["metadata"]


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


# --- blocks that use other user blocks ----------------------------------------------------------


def stage(*inner_types: str) -> dict:
    """A block chaining one node of each of ``inner_types`` (user blocks), passing its width ``c`` on."""
    nodes = [{"id": "in", "type": "Input"}]
    nodes += [{"id": f"b{i}", "type": kind, "params": {"c": "$c"}} for i, kind in enumerate(inner_types)]
    ids = [node["id"] for node in nodes]
    return {
        "params": [{"name": "c", "type": "int", "default": 16, "min": 1}],
        "nodes": nodes,
        "edges": [list(pair) for pair in zip(ids, ids[1:])],
        "inputs": ["in"],
        "outputs": [ids[-1]],
    }


def test_a_block_using_another_user_block_is_published_with_its_definition(alice):
    version = services.publish_composite(
        alice, name="Stage", definition=stage("ResidualX", "ResidualX"), composites={"ResidualX": definition()}
    )
    version.refresh_from_db()
    assert (version.number, version.definition, version.composites) == (
        1,
        stage("ResidualX", "ResidualX"),
        {"ResidualX": definition()},
    )


def test_an_inner_block_may_be_used_through_another_one(alice):
    composites = {"Pair": stage("ResidualX", "ResidualX"), "ResidualX": definition()}
    version = services.publish_composite(alice, name="Stage", definition=stage("Pair", "Pair"), composites=composites)
    assert version.composites == composites


def test_without_its_inner_blocks_a_block_using_another_is_refused(alice):
    with pytest.raises(services.ServiceError, match="unknown node type") as caught:
        services.publish_composite(alice, name="Stage", definition=stage("ResidualX"))
    assert caught.value.diagnostics[0]["code"] == "UNKNOWN_TYPE"
    assert not CompositeBlock.objects.exists()


def test_an_inner_block_is_validated_with_the_block(alice):
    broken = definition()
    broken["nodes"][2]["type"] = "BatchNorm9d"
    with pytest.raises(services.ServiceError) as caught:
        services.publish_composite(alice, name="Stage", definition=stage("ResidualX"), composites={"ResidualX": broken})
    assert caught.value.message == (
        "The block cannot be published: inside block Stage at `b0`: inside block ResidualX at `bn`: "
        "unknown node type 'BatchNorm9d'; did you mean `BatchNorm2d`?"
    )


def test_an_inner_block_the_block_does_not_use_is_refused(alice):
    composites = {"ResidualX": definition(), "Spare": definition(5)}
    with pytest.raises(services.ServiceError) as caught:
        services.publish_composite(alice, name="Stage", definition=stage("ResidualX"), composites=composites)
    assert caught.value.message == "composites.Spare is not used by the block."


@pytest.mark.parametrize(
    ("composites", "message"),
    [
        (["ResidualX"], "composites: expected an object mapping block names to definitions."),
        (
            {"lower": definition()},
            "composites.lower: block names are ASCII identifiers starting with a capital letter.",
        ),
        ({"Conv2d": definition()}, "composites.Conv2d: Conv2d is a built-in node type; rename the inner block."),
        ({"Stage": definition()}, "composites.Stage: that is the name of the block itself; rename the inner block."),
        ({"ResidualX": 3}, "composites.ResidualX: expected an object with params, nodes, edges, inputs and outputs."),
        (
            {"ResidualX": {**definition(), "doc": "nul\x00"}},
            "composites.ResidualX: a text value contains a NUL character.",
        ),
    ],
)
def test_malformed_inner_blocks_are_refused(alice, composites, message):
    with pytest.raises(services.ServiceError) as caught:
        services.publish_composite(alice, name="Stage", definition=stage("ResidualX"), composites=composites)
    assert caught.value.message == message


def test_an_inner_block_that_contains_the_block_is_refused(alice):
    with pytest.raises(services.ServiceError, match="block Stage contains itself: Stage → ResidualX → Stage$"):
        services.publish_composite(
            alice, name="Stage", definition=stage("ResidualX"), composites={"ResidualX": stage("Stage")}
        )


def test_inner_blocks_count_towards_the_engines_limits(alice, settings):
    settings.TORCHCANVAS_LIMITS = {**settings.TORCHCANVAS_LIMITS, "max_composites": 2}
    composites = {"Pair": stage("ResidualX", "ResidualX"), "ResidualX": definition()}
    with pytest.raises(services.ServiceError, match="3 composite blocks exceed the limit of 2") as caught:
        services.publish_composite(alice, name="Stage", definition=stage("Pair"), composites=composites)
    assert caught.value.diagnostics[0]["code"] == "LIMIT"


def test_republishing_without_inner_blocks_keeps_those_of_the_head_still_used(alice):
    composites = {"ResidualX": definition(), "Wide": definition(5)}
    services.publish_composite(alice, name="Stage", definition=stage("ResidualX", "Wide"), composites=composites)
    again, created = services.publish_composite_version(alice, name="Stage", definition=stage("ResidualX", "Wide"))
    assert (again.number, created) == (1, False)
    narrower = services.publish_composite(alice, name="Stage", definition=stage("ResidualX"), message="no Wide")
    assert (narrower.number, narrower.composites) == (2, {"ResidualX": definition()})


def test_a_block_without_inner_blocks_keeps_the_hash_of_its_definition(alice):
    version = services.publish_composite(alice, name="ConvBNReLU", definition=definition())
    assert version.content_hash == codegen.graph_hash(definition())


def test_changing_an_inner_block_alone_is_a_new_version(alice):
    first = services.publish_composite(
        alice, name="Stage", definition=stage("ResidualX"), composites={"ResidualX": definition()}
    )
    assert first.content_hash == codegen.graph_hash(
        {"definition": stage("ResidualX"), "composites": {"ResidualX": definition()}}
    )
    same, created = services.publish_composite_version(
        alice, name="Stage", definition=stage("ResidualX"), composites={"ResidualX": definition()}
    )
    assert same == first and not created
    second = services.publish_composite(
        alice, name="Stage", definition=stage("ResidualX"), composites={"ResidualX": definition(5)}
    )
    assert second.number == 2 and second.content_hash != first.content_hash


@pytest.fixture
def nested(alice):
    """alice's block Stage v1: two ResidualX, a user block it carries along."""
    return services.publish_composite(
        alice, name="Stage", definition=stage("ResidualX", "ResidualX"), composites={"ResidualX": definition()}
    )


def test_a_graph_using_a_nested_block_embeds_the_blocks_it_uses(alice, nested):
    graph = services.create_graph(
        alice, name="Nested", document=image_graph({"MyConv": {"block": nested.block_id, "version": 1}})
    )
    stored = graph.head.document
    assert stored["composites"] == {"MyConv": stage("ResidualX", "ResidualX"), "ResidualX": definition()}
    assert graph.head.valid
    source = codegen.generate(stored, name="nested", layout="file")["nested.py"]
    assert "class MyConv(nn.Module):" in source and "class ResidualX(nn.Module):" in source


def test_a_graph_with_its_own_different_block_of_an_inner_name_is_refused(alice, nested):
    document = image_graph({"MyConv": {"block": nested.block_id, "version": 1}})
    document["composites"] = {"ResidualX": definition(5)}
    with pytest.raises(services.ServiceError) as caught:
        services.create_graph(alice, name="Clash", document=document)
    assert caught.value.message == (
        "metadata.library.MyConv: the block uses its own ResidualX, which differs from this graph's ResidualX; "
        "rename this graph's ResidualX first."
    )
    document["composites"] = {"ResidualX": definition()}
    graph = services.create_graph(alice, name="Same", document=document)
    assert graph.head.document["composites"]["ResidualX"] == definition()


def test_a_reference_named_like_another_blocks_inner_block_is_refused(alice, nested):
    plain = services.publish_composite(alice, name="ConvBNReLU", definition=definition(7))
    document = image_graph(
        {"MyConv": {"block": nested.block_id, "version": 1}, "ResidualX": {"block": plain.block_id, "version": 1}}
    )
    with pytest.raises(services.ServiceError, match="^metadata.library.MyConv: the block uses its own ResidualX"):
        services.create_graph(alice, name="Clash", document=document)


def test_a_shared_graph_carrying_someone_elses_nested_block_keeps_a_changed_inner_block_as_its_own(
    alice, bob, team, nested
):
    graph, saved, document = bob_edits_a_shared_graph(alice, bob, team, nested.block_id)
    assert saved.document["composites"]["ResidualX"] == definition()
    document["composites"]["ResidualX"] = definition(9)  # nor can he pass off another inner block as hers
    changed, _ = services.save_version(graph, bob, document, base=2)
    assert (
        changed.document["composites"]["ResidualX"] == definition(9) and "library" not in changed.document["metadata"]
    )
