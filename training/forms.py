"""The run form: a smoke training's config, with the defaults of :mod:`training.config`.

The form checks types and ranges so the browser can point at a field; the config rules and the caps
(steps, batch size, parameters, concurrent runs) are the dispatcher's to enforce, and its sentence is
shown above the form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django import forms
from django.core.validators import MaxValueValidator
from django.utils.html import escape

from codegen.recipe import check_training
from codegen.spec import lookup
from graphs.services import MAX_TAGS, ServiceError
from training import labels
from training.config import DATASET_DEFAULTS, DEFAULTS, MAX_INPUT_RANK, MAX_LR, MAX_SEED, MAX_VAL_FRACTION, Caps
from training.labels import MAX_NAME
from training.models import Dataset

OPTIMIZERS = [("adam", "Adam"), ("adamw", "AdamW"), ("sgd", "SGD")]
LOSSES = [
    ("auto", "Auto (from the output)"),
    ("cross_entropy", "Cross-entropy"),
    ("mse", "MSE"),
    ("l1", "L1"),
]
DEVICES = [("auto", "Auto (GPU if there is one)"), ("cpu", "CPU"), ("cuda", "CUDA GPU")]
PRECISIONS = [("fp32", "fp32"), ("bf16", "bf16 (mixed, GPU)"), ("fp16", "fp16 (mixed, GPU)")]
DATA_MODES = [("fixed", "One fixed batch (the loss should fall)"), ("random", "A fresh random batch each step")]

STOP_METRICS = [
    ("val_loss", "Validation loss"),
    ("val_accuracy", "Validation accuracy (classification)"),
    ("val_mae", "Validation MAE (regression)"),
]

# The config keys the form sets, in the order a run's page lists them.
CONFIG_FIELDS = ("batch_size", "steps", "epochs", "optimizer", "lr", "loss", "data", "device", "precision", "seed")
# What a run on a dataset adds (its page lists them after the others).
DATASET_FIELDS = ("dataset", "val_fraction", "early_stop_metric", "early_stop_patience", "init_from_run")


class RunLabelsForm(forms.Form):
    """A run's name and tags (checked by :mod:`training.labels`, the API's rules)."""

    name = forms.CharField(
        required=False,
        max_length=MAX_NAME,
        help_text="Optional; default: graph, version and run number.",
        widget=forms.TextInput(attrs={"placeholder": "baseline, lr 3e-4…"}),
    )
    tags = forms.CharField(
        required=False,
        max_length=MAX_TAGS * 41,
        help_text="Comma-separated, e.g. baseline, sweep",
    )

    def clean_name(self) -> str:
        return _checked(labels.clean_name, self.cleaned_data["name"])

    def clean_tags(self) -> list[str]:
        return _checked(labels.parse_tags_text, self.cleaned_data["tags"])


def _checked(clean, value):
    try:
        return clean(value)
    except ServiceError as exc:
        raise forms.ValidationError(str(exc)) from exc


class RunConfigForm(RunLabelsForm):
    batch_size = forms.IntegerField(min_value=1, initial=DEFAULTS["batch_size"])
    steps = forms.IntegerField(min_value=1, initial=DEFAULTS["steps"], help_text="per epoch (with a dataset: one pass)")
    optimizer = forms.ChoiceField(choices=OPTIMIZERS, initial=DEFAULTS["optimizer"])
    lr = forms.FloatField(
        label="Learning rate",
        min_value=1e-12,
        max_value=MAX_LR,
        initial=DEFAULTS["lr"],
        widget=forms.NumberInput(attrs={"step": "any"}),
    )
    epochs = forms.IntegerField(min_value=1, initial=DEFAULTS["epochs"])
    loss = forms.ChoiceField(choices=LOSSES, initial=DEFAULTS["loss"])
    data = forms.ChoiceField(
        choices=DATA_MODES,
        initial=DEFAULTS["data"],
        help_text="Learning one batch by heart shows that gradients reach every layer.",
    )
    device = forms.ChoiceField(choices=DEVICES, initial=DEFAULTS["device"])
    precision = forms.ChoiceField(
        choices=PRECISIONS, initial=DEFAULTS["precision"], help_text="Mixed precision runs on a GPU only."
    )
    seed = forms.IntegerField(min_value=0, max_value=MAX_SEED, initial=DEFAULTS["seed"])
    dataset = forms.ModelChoiceField(
        queryset=None,
        required=False,
        empty_label="None: generated batches (smoke run)",
        help_text="Train on real data: one pass over its training split per epoch, validated after each.",
    )
    val_fraction = forms.FloatField(
        label="Validation share",
        required=False,
        min_value=0,
        max_value=MAX_VAL_FRACTION,
        initial=DATASET_DEFAULTS["val_fraction"],
        widget=forms.NumberInput(attrs={"step": "0.05"}),
        help_text="Held out (seeded, stratified by class) and evaluated after every epoch; 0: none.",
    )
    early_stop_metric = forms.ChoiceField(
        label="Early stop on", choices=STOP_METRICS, initial=DATASET_DEFAULTS["early_stop_metric"], required=False
    )
    early_stop_patience = forms.IntegerField(
        label="Patience (epochs)",
        required=False,
        min_value=0,
        max_value=1000,
        initial=DATASET_DEFAULTS["early_stop_patience"],
        help_text="Stop after this many epochs without improvement; 0: train every epoch.",
    )
    init_from_run = forms.IntegerField(
        label="Start from the weights of run",
        min_value=1,
        required=False,
        widget=forms.NumberInput(attrs={"placeholder": "run id"}),
    )

    def __init__(
        self,
        *args,
        caps: Caps | None = None,
        open_inputs: list[str] | tuple = (),
        datasets=None,
        recipe: DocumentRecipe | None = None,
        **kwargs,
    ):
        """``open_inputs``: the graph's inputs without a shape; the run needs their sizes. ``datasets``: the
        ones the user may train on. ``recipe``: what the document itself says about training (its optimizer
        and loss replace the form's)."""
        super().__init__(*args, **kwargs)
        recipe = recipe or DocumentRecipe()
        # Help texts are shown as HTML: node ids are the user's text, so they are escaped here.
        if recipe.optimizer:
            for name in ("optimizer", "lr"):
                self.fields[name].disabled = True
                self.fields[name].help_text = escape(f"The graph's own: {recipe.optimizer} (its training settings).")
        if recipe.losses:
            self.fields["loss"].disabled = True
            self.fields["loss"].help_text = escape(f"The graph's own loss: {', '.join(recipe.losses)}.")
        self.fields["dataset"].queryset = datasets if datasets is not None else Dataset.objects.none()
        caps = caps or Caps()
        for name, high in (("batch_size", caps.max_batch_size), ("steps", caps.max_steps), ("epochs", caps.max_steps)):
            field = self.fields[name]
            field.max_value = high
            field.validators.append(MaxValueValidator(high))
            field.widget.attrs["max"] = high
        self.shape_fields = {}
        for index, input_id in enumerate(open_inputs):
            name = f"shape_{index}"
            self.fields[name] = forms.CharField(
                label=f"Shape of {input_id}",
                max_length=100,
                required=False,  # a dataset gives it; else clean() asks for it
                help_text="sizes without the batch, e.g. 9, 256 or 3, 32, 32 (with a dataset: its samples' shape)",
                widget=forms.TextInput(attrs={"placeholder": "3, 32, 32", "inputmode": "numeric"}),
            )
            self.shape_fields[name] = input_id
        # Shown first; the rest sit under "More options".
        self.main_fields = ("name", "tags", "dataset", "batch_size", "steps", "optimizer", "lr", *self.shape_fields)
        self.more_fields = [name for name in self.fields if name not in self.main_fields]

    def clean(self):
        cleaned = super().clean()
        for name, input_id in list(self.shape_fields.items()):
            if not cleaned.get(name):
                if cleaned.get("dataset") is None and name not in self.errors:
                    self.add_error(
                        name, f"Give the sizes of {input_id}, or choose a dataset (its samples' shape is used)."
                    )
                cleaned.pop(name, None)
                continue
            if name in cleaned:
                try:
                    cleaned[name] = parse_shape(cleaned[name])
                except ValueError as exc:
                    self.add_error(name, str(exc))
        return cleaned

    def config(self) -> dict:
        """The cleaned values as a run config (call after ``is_valid()``)."""
        config = {name: self.cleaned_data[name] for name in CONFIG_FIELDS}
        dataset = self.cleaned_data.get("dataset")
        if dataset is not None:
            given = {name: self.cleaned_data.get(name) for name in DATASET_DEFAULTS}
            config.update(dataset=dataset.pk, **{k: v for k, v in given.items() if v not in (None, "")})
        if self.cleaned_data.get("init_from_run"):
            config["init_from_run"] = self.cleaned_data["init_from_run"]
        shapes = {
            input_id: self.cleaned_data[name]
            for name, input_id in self.shape_fields.items()
            if self.cleaned_data.get(name)
        }
        if shapes:
            config["input_shapes"] = shapes
        return config


def parse_shape(text: str) -> list[int]:
    """``"3, 32, 32"`` (or ``3x32x32``, ``[3, 32, 32]``) → ``[3, 32, 32]``."""
    parts = [p for p in re.split(r"[\s,x×*()\[\]]+", text.strip().lower()) if p]
    if not parts or not all(p.isdigit() for p in parts):
        raise ValueError("Give whole sizes separated by commas, such as 3, 32, 32.")
    sizes = [int(p) for p in parts]
    if len(sizes) > MAX_INPUT_RANK or min(sizes) < 1:
        raise ValueError(f"Give 1 to {MAX_INPUT_RANK} sizes, each at least 1.")
    return sizes


def open_inputs(document: dict) -> list[str]:
    """The document's inputs whose Input node has no shape (their sizes must come with the run)."""
    nodes = {n.get("id"): n for n in document.get("nodes", []) if isinstance(n, dict)}
    missing = []
    for input_id in document.get("inputs", []):
        params = (nodes.get(input_id) or {}).get("params") or {}
        if not params.get("shape"):
            missing.append(input_id)
    return missing


@dataclass(frozen=True)
class DocumentRecipe:
    """What a graph document says about training, read without validating it: runs use these as written."""

    optimizer: str | None = None  # "SGD (lr 0.05, momentum 0.9)"
    losses: tuple[str, ...] = ()  # its loss nodes

    @classmethod
    def of(cls, document: dict) -> DocumentRecipe:
        training = document.get("training")
        checked, _ = check_training(training if isinstance(training, dict) else {})
        nodes = [n for n in document.get("nodes", []) if isinstance(n, dict) and isinstance(n.get("type"), str)]
        losses = tuple(str(n.get("id")) for n in nodes if (spec := lookup(n["type"])) and spec.category == "loss")
        return cls(checked.describe(), losses)


def run_form(user, version, data=None, initial=None) -> RunConfigForm:
    """The run form of ``version`` for ``user``: the caps in force, the inputs left open, their datasets."""
    from django.conf import settings

    from graphs.permissions import visible_datasets

    authenticated = getattr(user, "is_authenticated", False)
    return RunConfigForm(
        data,
        initial=initial,
        caps=Caps.from_settings(settings.TORCHCANVAS_RUNS),
        open_inputs=open_inputs(version.document),
        datasets=visible_datasets(user) if authenticated else Dataset.objects.none(),
        recipe=DocumentRecipe.of(version.document),
    )
