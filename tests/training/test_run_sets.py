"""Ablation matrices and sweeps: variants, each checked like a single run, and quotas on the set as a whole
(nothing is queued unless all of it passes)."""

from __future__ import annotations

import pytest
from django.http import Http404
from run_helpers import RESIDUAL, document

from training.dispatch import RunRefused, queue_run
from training.models import Run, RunSet, Status, variant_document
from training.run_sets import ablation_variants, node_params, queue_set, sweep_variants, variant_label
from training.tasks import execute_run

pytestmark = pytest.mark.django_db

SMALL = {"steps": 3, "batch_size": 2}


def refused(*args, **kwargs) -> RunRefused:
    before = (Run.objects.count(), RunSet.objects.count())
    with pytest.raises(RunRefused) as caught:
        queue_set(*args, **kwargs)
    assert (Run.objects.count(), RunSet.objects.count()) == before, "a refused set queued something"
    return caught.value


def test_a_variant_disables_its_nodes_in_a_copy_of_the_document():
    base = document(RESIDUAL)
    changed = variant_document(base, {"disable": ["act"]})
    assert [n["id"] for n in changed["nodes"] if n.get("disabled")] == ["act"]
    assert not any(n.get("disabled") for n in base["nodes"])
    assert variant_document(base, {"lr": 0.1}) is base


def test_a_variant_sets_node_parameters_in_a_copy_of_the_document():
    changed = variant_document(RESIDUAL, {"params": {"fc1": {"out_features": 16}}})
    assert [n["params"] for n in changed["nodes"] if n["id"] == "fc1"] == [{"out_features": 16}]
    assert [n["params"] for n in RESIDUAL["nodes"] if n["id"] == "fc1"] == [{"out_features": 8}]


def test_variants_are_named_for_tables_and_curves():
    assert variant_label({"params": {"drop": {"p": 0.3}}}) == "drop.p = 0.3"
    assert variant_label({}) == "baseline"
    assert variant_label({"disable": ["conv2"]}) == "without conv2"
    assert variant_label({"lr": 0.01}) == "lr = 0.01"


def test_an_ablation_matrix_is_a_baseline_and_one_run_per_node():
    assert ablation_variants(RESIDUAL, ["act", "out"]) == [{}, {"disable": ["act"]}, {"disable": ["out"]}]
    assert ablation_variants(RESIDUAL, ["act"], baseline=False) == [{"disable": ["act"]}]


@pytest.mark.parametrize(
    ("nodes", "message"),
    [
        ([], "Choose the nodes to disable, one run each."),
        ("act", "Choose the nodes to disable, one run each."),
        (["nope"], "There is no node 'nope' in this version: choose among its nodes' ids."),
        ([{"id": "act"}], "There is no node {'id': 'act'} in this version: choose among its nodes' ids."),
        (["act", "act"], "act is listed twice: give each node once."),
        (["inp"], "inp is an Input: it cannot be disabled."),
        (["x"] * 101, "101 nodes are listed; a set has at most 8 runs."),
    ],
)
def test_bad_node_lists_are_refused_with_a_sentence(nodes, message):
    with pytest.raises(RunRefused) as caught:
        ablation_variants(RESIDUAL, nodes)
    assert caught.value.message == message


def test_a_node_already_disabled_cannot_be_ablated():
    disabled = variant_document(RESIDUAL, {"disable": ["act"]})
    with pytest.raises(RunRefused, match="act is already disabled in this version: every run would skip it."):
        ablation_variants(disabled, ["act"])


@pytest.mark.parametrize(
    ("param", "values", "message"),
    [
        ("device", ["cpu", "cuda"], "A sweep varies one of lr, batch_size, steps, epochs, optimizer, seed, loss, "
         "data, precision, or a node's parameter as <node id>.<parameter> such as drop.p; got 'device', which "
         "this version does not have."),
        ("act.p", [0.1, 0.2], "A sweep varies one of lr, batch_size, steps, epochs, optimizer, seed, loss, "
         "data, precision, or a node's parameter as <node id>.<parameter> such as drop.p; got 'act.p', which "
         "this version does not have."),
        ("inp.shape", [[4], [8]], "A sweep varies one of lr, batch_size, steps, epochs, optimizer, seed, loss, "
         "data, precision, or a node's parameter as <node id>.<parameter> such as drop.p; got 'inp.shape', which "
         "this version does not have."),
        ("lr", [0.1], "Give at least two values of lr to sweep over."),
        ("lr", "0.1,0.2", "Give at least two values of lr to sweep over."),
        ("lr", [0.1, [0.2]], "Each value of lr is a number or a word, such as 0.01 or adam; got [0.2]."),
        ("seed", [1, True], "Each value of seed is a number or a word, such as 0.01 or adam; got True."),
        ("optimizer", ["adam", "x" * 41], "Each value of optimizer is a number or a word, such as 0.01 or adam; "
         f"got '{'x' * 41}'."),
        ("seed", list(range(101)), "101 values are listed; a set has at most 8 runs."),
    ],
)  # fmt: skip
def test_bad_sweeps_are_refused_with_a_sentence(param, values, message):
    with pytest.raises(RunRefused) as caught:
        sweep_variants(RESIDUAL, param, values)
    assert caught.value.message == message


def test_an_ablation_matrix_of_four_runs_is_queued_with_the_default_allowances(residual, alice):
    run_set = queue_set(residual.head, alice, "ablation", nodes=["act", "out", "fc1"], config=SMALL, name="Abl")
    runs = list(run_set.runs.order_by("pk"))
    assert [run.variant for run in runs] == [{}, {"disable": ["act"]}, {"disable": ["out"]}, {"disable": ["fc1"]}]
    assert [run.name for run in runs] == [
        "Abl · baseline",
        "Abl · without act",
        "Abl · without out",
        "Abl · without fc1",
    ]
    assert all(run.status == Status.QUEUED and run.config["steps"] == 3 for run in runs)
    assert run_set.kind == "ablation" and run_set.axis == "disable one of act, out, fc1"
    assert [n["id"] for n in runs[1].document()["nodes"] if n.get("disabled")] == ["act"]
    assert runs[0].document() == residual.head.document
    # A set's runs have their own allowance: single runs may still be queued (2 by default).
    queue_run(residual.head, alice, SMALL)
    queue_run(residual.head, alice, SMALL)


def test_a_default_name_says_what_the_set_is(residual, alice):
    run_set = queue_set(residual.head, alice, "sweep", param="lr", values=[0.1, 0.01], config=SMALL)
    assert run_set.name == "Sweep of Residual v1"
    assert [run.name for run in run_set.runs.order_by("pk")] == [
        "Sweep of Residual v1 · lr = 0.1",
        "Sweep of Residual v1 · lr = 0.01",
    ]


def test_a_node_whose_removal_breaks_the_graph_refuses_the_set(residual, alice):
    error = refused(residual.head, alice, "ablation", nodes=["act", "wide"], config=SMALL)
    assert error.status_code == 400
    assert error.message.startswith("Disabling wide breaks the graph: Add needs each axis equal or 1")


def test_a_sweep_varies_one_field_with_values_as_the_runs_use_them(residual, alice):
    run_set = queue_set(residual.head, alice, "sweep", param="optimizer", values=["Adam", "SGD"], config=SMALL)
    runs = list(run_set.runs.order_by("pk"))
    assert [run.variant for run in runs] == [{"optimizer": "adam"}, {"optimizer": "sgd"}]
    assert [run.config["optimizer"] for run in runs] == ["adam", "sgd"]
    assert run_set.axis == "optimizer over Adam, SGD"


@pytest.mark.parametrize(
    ("param", "values", "message"),
    [
        ("lr", [0.01, 1e-2], "lr = 0.01 is listed twice: give each value once."),
        ("optimizer", ["adam", "ADAM"], "optimizer = adam is listed twice: give each value once."),
        ("lr", [0.1, 50], "lr must be above 0 and at most 10 (got 50)."),
        ("batch_size", [2, "big"], "batch_size: expected a whole number, got 'big'."),
    ],
)
def test_each_value_is_checked_like_a_run_config(residual, alice, param, values, message):
    assert refused(residual.head, alice, "sweep", param=param, values=values, config=SMALL).message == message


def test_a_set_may_have_at_most_the_runs_allowed(residual, alice, settings):
    settings.TORCHCANVAS_RUNS["max_set_runs"] = 3
    error = refused(residual.head, alice, "ablation", nodes=["act", "out", "fc1"], config=SMALL)
    assert error.message == "This set has 4 runs; a set may have at most 3."
    queue_set(residual.head, alice, "ablation", nodes=["act", "out", "fc1"], baseline=False, config=SMALL)


def test_the_steps_of_a_set_are_capped_together(residual, alice, settings):
    settings.TORCHCANVAS_RUNS["max_set_steps"] = 100
    error = refused(residual.head, alice, "sweep", param="steps", values=[30, 40, 50])
    assert error.message == (
        "This set's runs train 120 steps together; a set may train at most 100: fewer runs or fewer steps per run."
    )


def test_a_user_has_one_set_queued_or_running_at_a_time(residual, alice, bob):
    first = queue_set(residual.head, alice, "sweep", param="seed", values=[1, 2], config=SMALL)
    error = refused(residual.head, alice, "sweep", param="seed", values=[3, 4], config=SMALL)
    assert error.status_code == 429
    assert error.message == (
        "You already have 1 set of runs queued or running, the most allowed: wait for it to finish, or cancel its runs."
    )
    queue_set(residual.head, bob, "sweep", param="seed", values=[3, 4], config=SMALL)  # per user
    first.runs.update(status=Status.SUCCEEDED)
    queue_set(residual.head, alice, "sweep", param="seed", values=[3, 4], config=SMALL)


def test_bad_kinds_configs_and_outsiders_are_refused(residual, private_graph, alice, charlie):
    assert refused(residual.head, alice, "matrix", nodes=["act"]).message == (
        "kind must be ablation or sweep (got 'matrix')."
    )
    assert refused(residual.head, alice, "sweep", param="lr", values=[1, 2], config=[1]).message == (
        'config: expected an object such as {"steps": 30, "batch_size": 8}.'
    )
    with pytest.raises(Http404):
        queue_set(private_graph.head, charlie, "sweep", param="lr", values=[0.1, 0.2])


def test_the_worker_trains_each_run_s_variant(residual, alice):
    run_set = queue_set(residual.head, alice, "ablation", nodes=["fc1"], config=SMALL)
    baseline, ablated = run_set.runs.order_by("pk")
    for run in (baseline, ablated):
        assert execute_run(run.pk) == "succeeded"
        run.refresh_from_db()
    # Disabled, fc1's 8 × 8 + 8 parameters are gone (the Add adds wide's output to itself).
    assert baseline.params_total - ablated.params_total == 72


def test_the_sweepable_node_parameters_are_those_of_the_nodes_specs():
    assert "fc1.out_features" in node_params(RESIDUAL) and "out.bias" in node_params(RESIDUAL)
    assert not [p for p in node_params(RESIDUAL) if p.startswith(("inp.", "act.p"))]


def test_a_sweep_over_a_node_parameter(residual, alice):
    run_set = queue_set(residual.head, alice, "sweep", param="out.out_features", values=[5, 7], config=SMALL)
    five, seven = run_set.runs.order_by("pk")
    assert five.variant == {"params": {"out": {"out_features": 5}}} and five.name.endswith("out.out_features = 5")
    assert [n["params"] for n in seven.document()["nodes"] if n["id"] == "out"] == [{"out_features": 7}]
    assert run_set.axis == "out.out_features over 5, 7"
    assert execute_run(seven.pk) == "succeeded"
    seven.refresh_from_db()
    assert seven.params_total == 4 * 8 + 8 + 8 * 8 + 8 + 8 * 7 + 7  # the worker trained the variant


def test_a_node_parameter_value_that_breaks_the_graph_refuses_the_set(residual, alice):
    # A wider fc1 no longer matches wide's 8 features at the Add.
    error = refused(residual.head, alice, "sweep", param="fc1.out_features", values=[8, 16], config=SMALL)
    assert error.message.startswith("fc1.out_features = 16 breaks the graph: Add needs each axis equal or 1")
    error = refused(residual.head, alice, "sweep", param="out.out_features", values=[5, 0], config=SMALL)
    assert error.message.startswith("out.out_features = 0 breaks the graph: ")
    error = refused(residual.head, alice, "sweep", param="out.out_features", values=[5, 5.0], config=SMALL)
    assert error.message == "out.out_features = 5.0 is listed twice: give each value once."
