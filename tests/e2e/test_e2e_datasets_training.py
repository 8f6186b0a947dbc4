"""In a real browser: upload a CSV and an image-folder ZIP, train a drawn model on each with a validation split,
watch validation accuracy rise above chance live on the built-in two moons, pause, resume (with Celery: on
another worker), download the weights and load them into the generated package (issue 14's first done-when).

On the embedded mode and on PostgreSQL + Redis with separate Celery workers.
"""

from __future__ import annotations

import io
import re
import time

import numpy as np
import pytest
import torch
from dataset_models import MOONS_MLP, SHAPES_CNN, model
from e2e_helpers import api
from hostile_datasets import image_zip
from safetensors.torch import load_file

from codegen import loader
from training.datasets import builtin_file, load_arrays, parse_upload

pytestmark = pytest.mark.e2e

TERMINAL = ("Succeeded", "Failed", "Cancelled")


def rings_csv(samples: int = 200, seed: int = 1) -> bytes:
    """Points inside or outside a circle, labelled in words: a CSV whose target is not its last column."""
    rng = np.random.default_rng(seed)
    points = rng.uniform(-2, 2, size=(samples, 2))
    labels = np.where(np.hypot(points[:, 0], points[:, 1]) < 1.3, "inner", "outer")
    lines = ["kind,a,b"] + [f"{label},{a:.4f},{b:.4f}" for (a, b), label in zip(points, labels)]
    return ("\n".join(lines) + "\n").encode()


def upload(page, site, *, name: str, kind: str, filename: str, data: bytes, **columns: str) -> int:
    """Upload through the datasets page's form; returns the new dataset's id (from its preview page)."""
    page.goto(site.url("/datasets/"))
    form = page.locator("form[enctype='multipart/form-data']")
    form.locator("input[name=file]").set_input_files(
        {"name": filename, "mimeType": "application/octet-stream", "buffer": data}
    )
    form.locator("select[name=kind]").select_option(kind)
    form.locator("input[name=name]").fill(name)
    for field, value in columns.items():
        form.locator(f"input[name={field}]").fill(value)
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"/datasets/\d+/$"))
    assert name in page.locator("h1").inner_text()
    return int(re.search(r"/datasets/(\d+)/$", page.url).group(1))


def drawn(page, name: str, document: dict) -> int:
    created = api(page, "POST", "/api/graphs/", {"name": name, "document": model(document)})
    assert created["status"] == 201, created
    return created["json"]["id"]


def queue_on_dataset(page, site, graph_id: int, dataset_id: int, *, batch: int, epochs: int, lr: float) -> int:
    """Queue v1 of the graph from its version page's run form, on the dataset, with a 20 % validation share."""
    page.goto(site.url(f"/graphs/{graph_id}/versions/1/"))
    form = page.locator("form.run-form")
    form.locator("select[name=dataset]").select_option(str(dataset_id))
    form.locator("input[name=batch_size]").fill(str(batch))
    form.locator("input[name=lr]").fill(str(lr))
    form.locator("details.run-more summary").click()
    form.locator("input[name=epochs]").fill(str(epochs))
    form.get_by_label("Validation share").fill("0.2")
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"/runs/\d+/$"))
    return int(re.search(r"/runs/(\d+)/$", page.url).group(1))


def badge(page) -> str:
    return page.locator("[data-run-status]").inner_text().strip()


def wait_badge(page, until: tuple[str, ...], timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while (status := badge(page)) not in until:
        if time.monotonic() > deadline:
            pytest.fail(f"the run page never showed {until}; it shows {status!r}")
        time.sleep(0.1)
    return status


def shown_accuracy(page) -> float | None:
    """The live "Val accuracy" stat as a fraction (it reads "87.5 %"), None while it has no value."""
    match = re.fullmatch(r"([\d.]+) %", page.locator('[data-stat="val_accuracy"]').inner_text().strip())
    return float(match.group(1)) / 100 if match else None


def metric(page, label: str) -> str:
    return page.locator("#run-summary tr", has_text=label).locator("td").inner_text().strip()


def finished_with_validation(page, site, run_id: int) -> None:
    """The run page shows the run succeeded, with validation figures in its table and on its chart."""
    page.goto(site.url(f"/runs/{run_id}/"))
    assert wait_badge(page, TERMINAL) == "Succeeded", page.locator("#run-summary").inner_text()
    page.locator('#run-summary[data-status="succeeded"]').wait_for()
    assert "{#" not in page.locator("main").inner_text()  # no template comment leaks into the page
    for label in ("Validation loss", "Validation accuracy", "Epochs done"):
        assert metric(page, label) not in ("", "—"), f"{label}: {metric(page, label)!r}"
    page.wait_for_function("() => Number(document.querySelector('[data-loss-chart]').dataset.valPoints) >= 1")


def running_worker(page, run_id: int) -> str:
    """The host:pid of the worker training the run (the API names it while the run runs)."""
    deadline = time.monotonic() + 30
    while not (worker := api(page, "GET", f"/api/runs/{run_id}/")["json"]["worker"]):
        assert time.monotonic() < deadline, "the running run never named its worker"
        time.sleep(0.1)
    return worker


def test_datasets_train_with_validation_pause_resume_and_the_weights_load(login, any_site, shot, tmp_path):
    site = any_site
    celery = site.env.get("REDIS_URL") is not None
    alice = login("alice", on=site)

    # Two uploads through the form: a CSV whose target column is named, and a ZIP of class folders.
    rings = upload(alice, site, name="Rings", kind="csv", filename="rings.csv", data=rings_csv(), target_column="kind")
    assert "inner" in alice.locator("main").inner_text()  # the preview's rows and classes
    tiles = upload(
        alice,
        site,
        name="Tiles",
        kind="images",
        filename="tiles.zip",
        data=image_zip(per_class=15, classes=("w", "x", "y", "z")),
    )

    mlp = drawn(alice, "Moons MLP", MOONS_MLP)
    cnn = drawn(alice, "Tiles CNN", SHAPES_CNN)
    for graph_id, dataset_id, batch in ((mlp, rings, 16), (cnn, tiles, 8)):
        run_id = queue_on_dataset(alice, site, graph_id, dataset_id, batch=batch, epochs=3, lr=0.01)
        finished_with_validation(alice, site, run_id)

    # The built-in two moons, long enough to watch: validation accuracy climbs past chance while it trains.
    moons = next(d for d in api(alice, "GET", "/api/datasets/")["json"]["results"] if d["builtin"] == "two-moons")
    run_id = queue_on_dataset(alice, site, mlp, moons["id"], batch=8, epochs=60, lr=0.02)
    paused_by = running_worker(alice, run_id) if celery else None
    chart = alice.locator("[data-loss-chart]")
    alice.wait_for_function(
        "() => Number(document.querySelector('[data-loss-chart]').dataset.valPoints) >= 2"
        " && parseFloat(document.querySelector('[data-stat=val_accuracy]').textContent) > 50",
        timeout=60_000,
    )
    assert badge(alice) == "Running", "the run ended before it could be paused: train more epochs"
    accuracy, points = shown_accuracy(alice), int(chart.get_attribute("data-val-points"))
    assert accuracy > 0.5, accuracy
    alice.locator('#run-summary [data-action="pause"]').click()
    assert wait_badge(alice, ("Paused", *TERMINAL)) == "Paused"
    paused_at = int(alice.locator("#run-summary [data-paused-at]").get_attribute("data-paused-at"))
    assert paused_at > 0 and f"Paused at step {paused_at}" in alice.locator("#run-summary").inner_text()
    assert int(chart.get_attribute("data-val-points")) >= points  # the curve so far stays drawn

    if celery:  # the worker that paused it goes away; a fresh one must take the resumed run
        site.kill_worker()
        site.start_worker()
    alice.locator('#run-summary [data-action="resume"]').click()
    assert wait_badge(alice, TERMINAL, timeout=240) == "Succeeded"
    final = api(alice, "GET", f"/api/runs/{run_id}/")["json"]
    assert final["metrics"]["resumed_from_step"] == paused_at, final["metrics"]
    assert final["metrics"]["val_accuracy"] > 0.75, final["metrics"]
    if celery:
        assert final["worker"] and final["worker"] != paused_by, (paused_by, final["worker"])
    summary = alice.locator('#run-summary[data-status="succeeded"]')
    summary.wait_for()
    assert metric(alice, "Resumed from step") == str(paused_at)
    assert int(chart.get_attribute("data-val-points")) > points  # validated after the resume too
    if not celery:  # the README's (docs/screenshots/run-dataset.png)
        alice.evaluate("window.scrollTo(0, 0)")  # the click on Resume scrolled down to the summary
        alice.wait_for_timeout(300)  # the last chart frame
        shot(alice, "run-dataset")

    with alice.expect_download() as caught:
        summary.locator("[data-run-weights] a", has_text="safetensors").click()
    path = tmp_path / caught.value.suggested_filename
    caught.value.save_as(path)

    # The downloaded weights fit the generated package exactly and classify the two moons well.
    data = builtin_file("two-moons")
    x, y = load_arrays(io.BytesIO(data), parse_upload("csv", io.BytesIO(data)))
    with loader.generated_package(model(MOONS_MLP), {"inp": (2,)}) as package:
        net = package.build_model()
        net.load_state_dict(load_file(str(path)))  # strict: every key present and shaped alike
        with torch.no_grad():
            predicted = net.eval()(torch.from_numpy(x)).argmax(dim=1).numpy()
    assert (predicted == y).mean() > 0.75
