"""Who may see a run: whoever may view its version's graph (decided by :mod:`graphs.permissions`).

Pages and WebSocket consumers ask here, so a run is never visible where its graph is not.
"""

from __future__ import annotations

from django.db.models import QuerySet

from graphs.permissions import graph_access, visible_graphs
from training.models import Run, RunSet


def visible_runs(user) -> QuerySet[Run]:
    """Every run on a graph ``user`` may read (anonymous users: none, runs need an account)."""
    if not getattr(user, "is_authenticated", False):
        return Run.objects.none()
    return Run.objects.filter(version__graph__in=visible_graphs(user))


def visible_run(user, run_id: int) -> Run | None:
    """The run with its version, graph and author, or ``None`` when it does not exist or is hidden."""
    if not getattr(user, "is_authenticated", False):
        return None
    run = Run.objects.select_related("version", "version__graph", "user").filter(pk=run_id).first()
    if run is None or not graph_access(user, run.version.graph):
        return None
    return run


def visible_sets(user) -> QuerySet[RunSet]:
    """Every set of runs on a graph ``user`` may read, like :func:`visible_runs`."""
    if not getattr(user, "is_authenticated", False):
        return RunSet.objects.none()
    return RunSet.objects.filter(version__graph__in=visible_graphs(user))


def may_cancel(user, run: Run | RunSet) -> bool:
    """The person who queued the run (or set), or an admin of its graph."""
    if not getattr(user, "is_authenticated", False):
        return False
    return run.user_id == user.pk or graph_access(user, run.version.graph).admin
