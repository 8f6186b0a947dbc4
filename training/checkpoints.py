"""Where a run's checkpoints and weights live: ``storages["checkpoints"]``, one folder per run.

The worker writes a checkpoint (:class:`codegen.checkpoint.Checkpoint`) after every epoch, every
``TORCHCANVAS_RUN_CHECKPOINT_INTERVAL`` seconds inside long epochs, when the run pauses and when it ends;
the row points at the newest (``Run.checkpoint``, ``checkpoint_step``) and the one before is deleted once
the row says so. Any worker that takes the run next (resumed after a pause, or re-queued after its
worker was lost) starts from that checkpoint. When a run on a dataset pauses or ends, its weights are written
too (``Run.weights``, safetensors), for download and for starting other runs; an ended run (succeeded,
failed or cancelled) keeps its weights and drops its checkpoint. A smoke run keeps a checkpoint only while
paused (:func:`wanted`).
"""

from __future__ import annotations

import logging

from django.core.files.base import ContentFile
from django.db.models import Q
from django.http import HttpResponse

from codegen.checkpoint import WEIGHT_FORMATS, Checkpoint, CheckpointError, load_weights, weights_bytes
from graphs.artifacts import forget_file
from training.models import Run, Status

logger = logging.getLogger("torchcanvas.training")

WEIGHTS_ON = ("pause", "end")  # checkpoints after which the run's weights are (re)written


def wanted(run: Run, reason: str) -> bool:
    """Whether to keep a checkpoint taken for ``reason``: every one of a run on a dataset; a smoke run's (a
    few steps on generated batches, restarted when its worker is lost) only when it pauses."""
    return run.dataset_id is not None or reason == "pause"


def _storage():
    return Run._meta.get_field("checkpoint").storage


def store(run: Run, saved: Checkpoint, mine: Q) -> bool:
    """Write ``saved`` (and the weights, when pausing or ending) for ``run``, while the run is still this
    worker's; False (and nothing kept) when it no longer is."""
    storage = _storage()
    name = storage.save(f"runs/{run.pk}/step-{saved.step:07d}.pt", ContentFile(saved.to_bytes()))
    fields = {"checkpoint": name, "checkpoint_step": saved.step}
    weights = None
    if saved.reason in WEIGHTS_ON and run.dataset_id is not None:
        weights = storage.save(f"runs/{run.pk}/weights.safetensors", ContentFile(weights_bytes(saved.model)))
        fields["weights"] = weights
    if not Run.objects.filter(mine, pk=run.pk, status=Status.RUNNING).update(**fields):
        forget_file((storage, name))
        forget_file((storage, weights))
        return False
    for old, new in ((run.checkpoint.name, name), (run.weights.name, weights)):
        if new and old and old != new:
            forget_file((storage, old))
    run.checkpoint.name, run.checkpoint_step = name, saved.step
    if weights:
        run.weights.name = weights
    return True


def resume_point(run: Run) -> Checkpoint | None:
    """The checkpoint ``run`` continues from (None: it starts at step 0)."""
    if not run.checkpoint:
        return None
    from training.runner import RunFailed

    try:
        with run.checkpoint.open("rb") as stream:
            return Checkpoint.from_bytes(stream.read())
    except FileNotFoundError as exc:
        raise RunFailed(
            f"This run's checkpoint (step {run.checkpoint_step}) is missing from this worker's checkpoint storage: "
            "workers and the web server must share it (TORCHCANVAS_CHECKPOINT_DIR or TORCHCANVAS_CHECKPOINT_STORAGE)."
        ) from exc
    except (CheckpointError, OSError) as exc:
        raise RunFailed(f"This run's checkpoint (step {run.checkpoint_step}) cannot be read: {exc}") from exc


def read_weights(run: Run):
    """``run``'s trained weights as a state dict."""
    with run.weights.open("rb") as stream:
        return load_weights(stream.read())


class NoWeights(Exception):
    """A weights download that cannot be answered, with the sentence to say (a 404)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def weights_download(run: Run, fmt: str) -> HttpResponse:
    """``run``'s weights as an attachment: the stored safetensors as they are, or a ``.pt`` state dict."""
    if fmt not in WEIGHT_FORMATS:
        raise NoWeights(f"Weights come as {' or '.join(WEIGHT_FORMATS)}.")
    if not run.weights:
        raise NoWeights("This run has no weights yet: they are saved when a run on a dataset pauses or finishes.")
    try:
        with run.weights.open("rb") as stream:
            data = stream.read()
    except FileNotFoundError:
        raise NoWeights("This run's weights file is missing from the checkpoint storage.") from None
    if fmt == "pt":
        data = weights_bytes(load_weights(data), "pt")
    response = HttpResponse(data, content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="{weights_name(run, fmt)}"'
    return response


def weights_name(run: Run, fmt: str) -> str:
    """``cafe_net_v3_run12.safetensors``: the version's download name, then the run."""
    from codegen import package_name

    return f"{package_name(run.version.graph.name)}_v{run.version.number}_run{run.pk}.{fmt}"


def discard_checkpoint(run: Run) -> None:
    """Drop an ended run's checkpoint (its weights stay); :meth:`Run.transition` calls it on every end."""
    if run.checkpoint:
        name = run.checkpoint.name
        Run.objects.filter(pk=run.pk, checkpoint=name).update(checkpoint="", checkpoint_step=None)
        forget_file((_storage(), name))
        run.checkpoint.name = ""


def delete_files_with_row(sender, instance: Run, **kwargs) -> None:
    """A deleted run (or its graph) takes its checkpoint and weights along, once the deletion commits."""
    from django.db import transaction

    files = [(_storage(), instance.checkpoint.name), (_storage(), instance.weights.name)]
    transaction.on_commit(lambda: [forget_file(stored) for stored in files])
