"""graphs.services: creating graphs, saving versions, conflicts, restore, fork, update and delete."""

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from platform_helpers import edited

from graphs import services
from graphs.models import Activity, Graph, GraphVersion


def test_it_creates_a_graph_with_version_one(alice, graph, demo_graph):
    head = graph.head
    assert head.number == 1 and head.parent is None and head.author == alice
    assert head.document == demo_graph
    assert head.message == "Created"
    assert (head.valid, head.error_count, head.warning_count) == (True, 0, 0)
    assert sorted(graph.tags.values_list("name", flat=True)) == ["audio", "gru"]
    assert Activity.objects.filter(graph=graph, verb="created").count() == 1


def test_the_summary_records_the_parameter_total_when_shapes_are_known(alice, graph, demo_graph):
    document = edited(demo_graph, 18)
    document["nodes"][0]["params"]["shape"] = [9, 256]
    version, _ = services.save_version(graph, alice, document, base=1)
    assert (version.valid, version.params_total) == (True, 79762)
    assert graph.versions.get(number=1).params_total is None  # v1 had no input shape: lazy layers, no total


def test_it_saves_the_next_version_and_moves_the_head(alice, graph, demo_graph):
    version, created = services.save_version(graph, alice, edited(demo_graph, 10), base=1, message="ten classes")
    assert created
    assert (version.number, version.parent.number, version.message) == (2, 1, "ten classes")
    graph.refresh_from_db()
    assert graph.head == version
    assert Activity.objects.filter(graph=graph, verb="saved").count() == 1


def test_it_creates_nothing_when_the_document_is_identical_to_the_head(alice, graph, demo_graph):
    version, created = services.save_version(graph, alice, demo_graph, base=1)
    assert not created and version.number == 1
    assert GraphVersion.objects.filter(graph=graph).count() == 1


def test_an_identical_save_from_a_stale_base_is_not_a_conflict(alice, graph, demo_graph):
    services.save_version(graph, alice, edited(demo_graph, 10), base=1)
    version, created = services.save_version(graph, alice, edited(demo_graph, 10), base=1)
    assert (version.number, created) == (2, False)


def test_a_save_from_a_stale_base_raises_with_the_head_and_the_diff(alice, bob, team_graph, demo_graph):
    services.save_version(team_graph, alice, edited(demo_graph, 10), base=1)
    with pytest.raises(services.StaleVersion) as caught:
        services.save_version(team_graph, bob, edited(demo_graph, 12), base=1)
    assert caught.value.head.number == 2
    assert caught.value.diff["nodes"]["changed"] == {"fc": {"params": {"out_features": {"old": 18, "new": 10}}}}
    assert str(caught.value) == "Version 1 is no longer the head: v2 was saved since. Nothing was saved."
    assert GraphVersion.objects.filter(graph=team_graph).count() == 2


def test_a_base_newer_than_the_head_is_refused(alice, graph, demo_graph):
    with pytest.raises(services.ServiceError, match="^base: version 7 does not exist; the head is version 1.$"):
        services.save_version(graph, alice, edited(demo_graph), base=7)


def test_a_graph_with_validation_errors_is_saved_with_its_summary(alice, graph, demo_graph):
    broken = edited(demo_graph)
    broken["edges"].remove(["relu", "perm"])  # the GRU now has no input: errors, but still a graph
    broken["nodes"][1]["params"]["kernel_size"] = "3x3"
    version, created = services.save_version(graph, alice, broken, base=1)
    assert created and not version.valid
    assert version.error_count >= 1


def test_a_document_the_engine_cannot_parse_is_refused_with_diagnostics(alice, graph):
    with pytest.raises(services.ServiceError) as caught:
        services.save_version(graph, alice, {"nodes": "many"}, base=1)
    assert caught.value.message.startswith("The graph cannot be saved: nodes: expected list of nodes")
    assert caught.value.diagnostics[0]["code"] == "PARSE"
    assert GraphVersion.objects.filter(graph=graph).count() == 1


def test_a_document_over_the_node_limit_is_refused(alice, graph, demo_graph, settings):
    settings.TORCHCANVAS_LIMITS = {**settings.TORCHCANVAS_LIMITS, "max_nodes": 3}
    with pytest.raises(services.ServiceError, match="6 nodes exceed the limit of 3") as caught:
        services.save_version(graph, alice, edited(demo_graph), base=1)
    assert caught.value.diagnostics[0]["code"] == "LIMIT"


@pytest.mark.parametrize(
    ("label", "message"),
    [
        ("nul\x00byte", "The document: a text value contains a NUL character."),
        ("lone \ud800 surrogate", "The document: a text value contains an unpaired surrogate (not valid Unicode)."),
    ],
)
def test_text_the_database_cannot_store_is_refused(alice, graph, demo_graph, label, message):
    document = edited(demo_graph)
    document["nodes"][0]["label"] = label
    with pytest.raises(services.ServiceError, match=f"^{message}$".replace("(", r"\(").replace(")", r"\)")):
        services.save_version(graph, alice, document, base=1)


def test_deeply_nested_metadata_is_refused(alice, graph, demo_graph):
    document = edited(demo_graph)
    deep: dict = {}
    document["metadata"] = deep
    for _ in range(100):
        deep["x"] = {}
        deep = deep["x"]
    with pytest.raises(services.ServiceError, match="^The document nests more than 64 levels deep.$"):
        services.save_version(graph, alice, document, base=1)


def test_a_team_viewer_may_not_save(alice, bob, team, team_graph, demo_graph):
    services.set_role(team, alice, bob, "viewer")
    with pytest.raises(PermissionDenied, match="^You may view this graph but not save versions of it.$"):
        services.save_version(team_graph, bob, edited(demo_graph), base=1)


def test_an_outsider_cannot_even_learn_that_the_graph_exists(charlie, graph, demo_graph):
    with pytest.raises(Http404):
        services.save_version(graph, charlie, edited(demo_graph), base=1)


def test_a_public_graph_is_read_only_for_others(alice, bob, demo_graph):
    public = services.create_graph(alice, name="Open", document=demo_graph, visibility="public")
    with pytest.raises(PermissionDenied):
        services.save_version(public, bob, edited(demo_graph), base=1)


def test_restore_copies_an_old_version_as_the_new_head(alice, graph, demo_graph):
    services.save_version(graph, alice, edited(demo_graph, 10), base=1)
    restored, created = services.restore_version(graph, alice, 1)
    assert created
    assert (restored.number, restored.message, restored.parent.number) == (3, "Restored v1", 2)
    assert restored.document == demo_graph and restored.content_hash == graph.versions.get(number=1).content_hash
    graph.refresh_from_db()
    assert graph.head == restored


def test_restoring_the_head_creates_nothing(alice, graph):
    head, created = services.restore_version(graph, alice, 1)
    assert (head.number, created) == (1, False)
    assert graph.versions.count() == 1


def test_restoring_a_missing_version_is_a_404(alice, graph):
    with pytest.raises(Http404, match="^Version 9 does not exist.$"):
        services.restore_version(graph, alice, 9)


def test_a_fork_copies_a_version_and_remembers_where_it_came_from(alice, bob, demo_graph):
    public = services.create_graph(alice, name="Open", document=demo_graph, visibility="public", tags=["x"])
    services.save_version(public, alice, edited(demo_graph, 10), base=1)
    fork = services.fork_graph(public, bob, version=1)
    assert fork.owner == bob and fork.name == "Open (fork)" and fork.visibility == "private"
    assert fork.forked_from == public.versions.get(number=1)
    assert fork.head.number == 1 and fork.head.document == demo_graph
    assert fork.head.message == "Forked from Open v1"
    assert list(fork.tags.values_list("name", flat=True)) == ["x"]


def test_fork_names_never_stack_the_suffix_and_fit_the_name_field(alice, bob, demo_graph):
    public = services.create_graph(alice, name="Open (fork)", document=demo_graph, visibility="public")
    assert services.fork_graph(public, bob).name == "Open (fork)"
    assert services.fork_graph(public, bob).name == "Open (fork 2)"
    assert services.fork_name(public, bob) == "Open (fork 3)"
    long = services.create_graph(alice, name="L" * 120, document=demo_graph, visibility="public")
    services.fork_graph(long, bob)
    assert services.fork_name(long, bob) == "L" * 111 + " (fork 2)"


def test_a_fork_defaults_to_the_head(alice, graph, demo_graph):
    services.save_version(graph, alice, edited(demo_graph, 10), base=1)
    fork = services.fork_graph(graph, alice, name="Mine again")
    assert fork.head.document == edited(demo_graph, 10) and fork.name == "Mine again"


def test_an_outsider_cannot_fork_a_private_graph(charlie, graph):
    with pytest.raises(Http404):
        services.fork_graph(graph, charlie)


def test_update_renames_and_retags_for_editors(alice, bob, team_graph):
    services.update_graph(team_graph, bob, name="  Renamed  ", tags=["Vision", "vision", "cnn"])
    team_graph.refresh_from_db()
    assert team_graph.name == "Renamed"
    assert sorted(team_graph.tags.values_list("name", flat=True)) == ["cnn", "vision"]


def test_only_the_owner_or_a_team_admin_changes_visibility(alice, bob, team_graph):
    with pytest.raises(PermissionDenied, match="^You may view this graph but not change its visibility or team.$"):
        services.update_graph(team_graph, bob, visibility="public")
    services.update_graph(team_graph, alice, visibility="public")
    assert Graph.objects.get(pk=team_graph.pk).visibility == "public"


def test_a_team_graph_needs_a_team(alice, graph):
    with pytest.raises(services.ServiceError, match="^visibility: a team graph needs a team.$"):
        services.update_graph(graph, alice, visibility="team")


def test_a_graph_moves_only_into_a_team_where_the_owner_may_edit(alice, bob, graph, team):
    services.set_role(team, alice, bob, "viewer")
    bobs = services.create_graph(bob, name="Bob's", document=graph.head.document)
    with pytest.raises(PermissionDenied):
        services.update_graph(bobs, bob, team=team, visibility="team")
    services.update_graph(graph, alice, team=team, visibility="team")
    assert Graph.objects.get(pk=graph.pk).team == team


def test_update_refuses_unknown_fields(alice, graph):
    with pytest.raises(services.ServiceError, match="^Unknown field\\(s\\): owner.$"):
        services.update_graph(graph, alice, owner=None)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "name: may not be blank."),
        ("x" * 121, "name: at most 120 characters (got 121)."),
        ("evil\u202etxt.exe", "name: contains the control character U+202E."),
        ("bell\x07", "name: contains the control character U+0007."),
        (7, "name: expected text."),
    ],
)
def test_hostile_names_are_refused(alice, demo_graph, name, message):
    with pytest.raises(services.ServiceError) as caught:
        services.create_graph(alice, name=name, document=demo_graph)
    assert caught.value.message == message
    assert not Graph.objects.exists()


def test_markup_in_names_is_kept_as_text(alice, demo_graph):
    graph = services.create_graph(alice, name="<script>alert(1)</script> 👩‍💻", document=demo_graph)
    assert graph.name == "<script>alert(1)</script> 👩‍💻"


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        (["ok", "no/slash"], "tags: 'no/slash' may use letters, digits, spaces and . + # - _ only."),
        ([f"t{i}" for i in range(11)], "tags: at most 10 tags (got 11)."),
        ("audio", "tags: expected a list of tag names."),
        (["x" * 41], "tags: at most 40 characters (got 41)."),
    ],
)
def test_bad_tags_are_refused(alice, demo_graph, tags, message):
    with pytest.raises(services.ServiceError) as caught:
        services.create_graph(alice, name="Tagged", document=demo_graph, tags=tags)
    assert caught.value.message == message


def test_delete_removes_the_graph_and_its_history(alice, graph, demo_graph):
    services.save_version(graph, alice, edited(demo_graph), base=1)
    services.delete_graph(graph, alice)
    assert not Graph.objects.exists() and not GraphVersion.objects.exists()


def test_deleting_a_forked_graph_keeps_the_fork(alice, bob, demo_graph):
    public = services.create_graph(alice, name="Open", document=demo_graph, visibility="public")
    fork = services.fork_graph(public, bob)
    services.delete_graph(public, alice)
    fork.refresh_from_db()
    assert fork.forked_from is None and fork.head.document == demo_graph


def test_a_team_editor_may_not_delete(bob, team_graph):
    with pytest.raises(PermissionDenied, match="^You may view this graph but not delete it.$"):
        services.delete_graph(team_graph, bob)
