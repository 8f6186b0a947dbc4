"""Training on a dataset through the platform, and uploading a large CSV.

1. Epoch time: a run on an uploaded dataset (NPZ, 65,536 samples of 32 features, 4 classes; an MLP
   32→256→256→4 at batch 64, Adam, 20 % validation) executed by the worker's own task
   (:func:`training.tasks.execute`: the generated package, the one loop, progress and epoch events in the
   database, a checkpoint after every epoch) against, as the baseline in the same run, the same loop written
   by hand (the same generated ``build_model()``, the same tensors, split and batch order; forward, loss,
   backward, step, and a validation pass per epoch). The median epoch after the first; rounds alternate so
   both see the same machine drift. Target (issue 14): ratio ≤ 1.10.
2. Upload and parse of a 100 MB CSV through the datasets API (multipart body, validation, storage),
   against NumPy's ``loadtxt`` of the same bytes in the same run.

One CPU thread, fixed seeds. No timing is asserted: the numbers and ratios go to the report.
"""

from __future__ import annotations

import io
import statistics
import time

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from rest_framework.test import APIClient

from codegen import fit, loader
from training import runner, tasks
from training.config import parse_config
from training.dispatch import queue_run
from training.models import Dataset, RunEvent, Status

from .report import machine, publish

pytestmark = [pytest.mark.bench, pytest.mark.django_db]

SAMPLES, FEATURES, CLASSES = 65_536, 32, 4
EPOCHS, BATCH, ROUNDS = 4, 64, 3
CSV_BYTES = 100_000_000

MLP = {
    "version": "0.2",
    "nodes": [
        {"id": "inp", "type": "Input", "params": {"shape": [FEATURES]}},
        {"id": "fc1", "type": "Linear", "params": {"out_features": 256}},
        {"id": "act1", "type": "ReLU", "params": {}},
        {"id": "fc2", "type": "Linear", "params": {"out_features": 256}},
        {"id": "act2", "type": "ReLU", "params": {}},
        {"id": "out", "type": "Linear", "params": {"out_features": CLASSES}},
    ],
    "edges": [["inp", "fc1"], ["fc1", "act1"], ["act1", "fc2"], ["fc2", "act2"], ["act2", "out"]],
    "inputs": ["inp"],
    "outputs": ["out"],
}
CONFIG = {"batch_size": BATCH, "epochs": EPOCHS, "optimizer": "adam", "lr": 1e-3, "device": "cpu", "seed": 0}


def arrays() -> tuple[np.ndarray, np.ndarray]:
    """Four Gaussian clusters in 32 dimensions: learnable, so the loss moves as in a real run."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, CLASSES, SAMPLES)
    centres = rng.normal(0, 2, (CLASSES, FEATURES))
    return (centres[y] + rng.normal(0, 1, (SAMPLES, FEATURES))).astype(np.float32), y


def upload_npz(user) -> Dataset:
    from training.dataset_service import create_dataset

    x, y = arrays()
    buffer = io.BytesIO()
    np.savez(buffer, x=x, y=y)
    buffer.seek(0)
    buffer.name = "clusters.npz"
    return create_dataset(user, buffer, kind="arrays", name="Clusters")


def platform_epochs(version, user, dataset) -> tuple[list[float], dict]:
    """One run through the worker's task; the seconds between consecutive epoch events (epochs 2…N)."""
    run = queue_run(version, user, {**CONFIG, "dataset": dataset.pk})
    assert tasks.execute(run.pk) == Status.SUCCEEDED
    run.refresh_from_db()
    stamps = list(RunEvent.objects.filter(run=run, kind="epoch").order_by("seq").values_list("created_at", flat=True))
    return [(b - a).total_seconds() for a, b in zip(stamps, stamps[1:])], run.metrics


def hand_epochs(package, data: fit.ArrayData) -> list[float]:
    """The loop a user writes: seeded order per epoch, forward, cross-entropy, backward, Adam; validation."""
    torch.manual_seed(0)
    model = package.build_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=CONFIG["lr"])
    steps = data.steps_per_epoch(BATCH)
    times = []
    for epoch in range(1, EPOCHS + 1):
        begin = time.perf_counter()
        model.train()
        for index in range(steps):
            x, y = data.batch(epoch, index, BATCH, seed=0)
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss.item()  # the loss is read every step, as the platform's loop reads it
        model.eval()
        correct = total = 0.0
        with torch.no_grad():
            for x, y in data.val_batches(BATCH):
                out = model(x)
                total += F.cross_entropy(out, y).item() * len(y)
                correct += (out.argmax(1) == y).sum().item()
        times.append(time.perf_counter() - begin)
    return times[1:]


def measure_epochs(user, dataset_storage, checkpoint_storage) -> dict:
    from graphs import services

    graph = services.create_graph(user, name="Clusters MLP", document=MLP)
    dataset = upload_npz(user)
    x, y = arrays()
    data = runner.array_data(x, y, dataset.facts, parse_config({**CONFIG, "dataset": dataset.pk}))
    platform, hand, metrics = [], [], {}
    with loader.generated_package(MLP) as package:
        for _ in range(ROUNDS):
            epochs, metrics = platform_epochs(graph.head, user, dataset)
            platform.extend(epochs)
            hand.extend(hand_epochs(package, data))
    run_s, loop_s = statistics.median(platform), statistics.median(hand)
    return {
        "run_s": run_s,
        "loop_s": loop_s,
        "ratio": run_s / loop_s,
        "metrics": metrics,
        "steps": data.steps_per_epoch(BATCH),
    }


def csv_bytes(size: int) -> bytes:
    """A CSV of at least ``size`` bytes (and less than one block more): 16 numeric inputs and a class label per row."""
    rng = np.random.default_rng(1)
    header = ",".join(f"f{i}" for i in range(16)) + ",label\n"
    block = rng.normal(size=(10_000, 16)).round(5)
    labels = rng.integers(0, 3, 10_000)
    rows = "".join(",".join(f"{v:.5f}" for v in row) + f",c{label}\n" for row, label in zip(block, labels))
    repeats = max(1, -(-(size - len(header)) // len(rows)))  # at least size bytes
    return (header + rows * repeats).encode()


def measure_csv(user, settings, dataset_storage) -> dict:
    data = csv_bytes(CSV_BYTES)
    settings.TORCHCANVAS_DATASETS = {**settings.TORCHCANVAS_DATASETS, "max_upload_bytes": len(data) + 1_000_000}
    client = APIClient()
    client.force_authenticate(user)
    upload = io.BytesIO(data)
    upload.name = "big.csv"
    begin = time.perf_counter()
    response = client.post("/api/datasets/", {"file": upload, "kind": "csv", "name": "Big"}, format="multipart")
    upload_s = time.perf_counter() - begin
    assert response.status_code == 201, response.content[:300]
    rows = response.json()["facts"]["samples"]
    begin = time.perf_counter()
    np.loadtxt(io.StringIO(data.decode()), delimiter=",", skiprows=1, usecols=range(16), dtype=np.float32)
    loadtxt_s = time.perf_counter() - begin
    dataset = Dataset.objects.get(pk=response.json()["id"])
    begin = time.perf_counter()
    with dataset.open() as stream:
        from training.datasets import load_arrays

        x, _ = load_arrays(stream, dataset.facts)
    load_s = time.perf_counter() - begin
    assert x.shape == (rows, 16)
    return {"bytes": len(data), "rows": rows, "upload_s": upload_s, "loadtxt_s": loadtxt_s, "load_s": load_s}


def test_epoch_time_through_the_platform(alice, settings, dataset_storage, checkpoint_storage):
    settings.TORCHCANVAS_RUN_MODE = "embedded"
    settings.TORCHCANVAS_RUNS = {**settings.TORCHCANVAS_RUNS, "max_steps": 10_000}  # 4 epochs of 820 steps
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        epochs = measure_epochs(alice, dataset_storage, checkpoint_storage)
    finally:
        torch.set_num_threads(threads)
    accuracy = epochs["metrics"].get("val_accuracy", float("nan"))
    publish(
        "dataset-epochs",
        [
            "## Training on a dataset: epoch time (test_dataset_speed.py)",
            "",
            f"Machine: {machine()}.",
            "",
            f"Epoch time through the platform vs the same loop by hand ({SAMPLES:,} samples × {FEATURES}, {CLASSES} "
            f"classes, 20 % validation; MLP {FEATURES}→256→256→{CLASSES}, batch {BATCH}, Adam, one CPU thread; "
            f"{epochs['steps']} steps per epoch, {EPOCHS} epochs, {ROUNDS} rounds alternating; median epoch after "
            "the first):",
            "",
            "| | seconds per epoch |",
            "|---|---:|",
            f"| platform (the worker's task: events, validation, a checkpoint per epoch) | {epochs['run_s']:.3f} |",
            f"| hand-written loop (same model, data and order; validation) | {epochs['loop_s']:.3f} |",
            f"| **ratio** (target ≤ 1.10) | **{epochs['ratio']:.3f}** |",
            "",
            f"The platform's last run ended at validation accuracy {accuracy:.3f}.",
        ],
    )


def test_upload_and_parse_of_a_100_mb_csv(alice, settings, dataset_storage):
    upload = measure_csv(alice, settings, dataset_storage)
    publish(
        "dataset-csv",
        [
            "## Uploading a 100 MB CSV (test_dataset_speed.py)",
            "",
            f"Machine: {machine()}.",
            "",
            f"A {upload['bytes'] / 1e6:.0f} MB CSV ({upload['rows']:,} rows × 16 inputs + a class label) through "
            "`POST /api/datasets/` (multipart, validation, storage), and loaded for training:",
            "",
            "| | seconds |",
            "|---|---:|",
            f"| upload + validate + store (API) | {upload['upload_s']:.1f} |",
            f"| load for training (`load_arrays`, the worker's side) | {upload['load_s']:.1f} |",
            f"| baseline: `numpy.loadtxt` of the same bytes | {upload['loadtxt_s']:.1f} |",
            f"| ratio upload / loadtxt | {upload['upload_s'] / upload['loadtxt_s']:.2f} |",
        ],
    )
