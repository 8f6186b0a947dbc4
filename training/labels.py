"""A run's name and tags: checked like a graph's (:func:`graphs.services.clean_text`, ``clean_tags``) and
stored in the same tag vocabulary (:class:`graphs.models.Tag`), so a tag means one thing across the site.

A run queued without a name is named ``"<graph> v<n> #<id>"``; clearing the name later gives it that
name again, so every list has something to show and ``?q=`` finds every run by its graph's name too.
"""

from __future__ import annotations

from typing import Any

from graphs.services import ServiceError, clean_tags, clean_text, tags_named
from training.models import Run

MAX_NAME = 120


def clean_name(value: Any) -> str:
    """A trimmed run name (blank: the default), or :class:`ServiceError` saying what is wrong with it."""
    return clean_text(value, field="name", max_length=MAX_NAME)


def default_name(run: Run) -> str:
    return f"{run.version.graph.name} v{run.version.number} #{run.pk}"[:MAX_NAME]


def parse_tags_text(text: str) -> list[str]:
    """``"baseline, lr-sweep"`` (a form's text box) → the cleaned tags."""
    if not isinstance(text, str):
        raise ServiceError("tags: expected text.")
    return clean_tags(part for part in text.split(",") if part.strip())


def set_labels(run: Run, *, name: str | None = None, tags: list[str] | None = None) -> Run:
    """Store a cleaned ``name`` (blank: the default) and/or ``tags`` (replacing the old ones); None leaves
    that one as it is."""
    if name is not None:
        run.name = name or default_name(run)
        Run.objects.filter(pk=run.pk).update(name=run.name)
    if tags is not None:
        run.tags.set(tags_named(tags))
    return run


def tag_names(run: Run) -> list[str]:
    """The run's tags, sorted (from the prefetched tags when the query fetched them)."""
    return sorted(tag.name for tag in run.tags.all())
