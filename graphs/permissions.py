"""Who may do what with a graph, a team or a composite block: the one place that decides.

Pages, the API, downloads and (later) WebSocket consumers all ask here. List views use the
``visible_*`` querysets, so nothing leaks through lists, search, diff, fork or exports.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from graphs.models import CompositeBlock, Graph, Membership, Role, Team, Visibility


@dataclass(frozen=True)
class Access:
    view: bool = False
    edit: bool = False  # save versions, restore, rename
    admin: bool = False  # change visibility or team, delete

    def __bool__(self) -> bool:
        return self.view


NO_ACCESS = Access()
READ = Access(view=True)
WRITE = Access(view=True, edit=True)
FULL = Access(view=True, edit=True, admin=True)

_BY_ROLE = {Role.VIEWER: READ, Role.EDITOR: WRITE, Role.ADMIN: FULL}


def team_role(user, team: Team | int | None) -> str | None:
    """The user's role in ``team`` (a team or its id; ``None`` for outsiders and anonymous users)."""
    if team is None or not getattr(user, "is_authenticated", False):
        return None
    cache = getattr(user, "_team_roles", None)
    if cache is None:
        cache = dict(Membership.objects.filter(user=user).order_by().values_list("team_id", "role"))
        user._team_roles = cache  # one query per request, whatever the number of checks
    return cache.get(team if isinstance(team, int) else team.pk)


def forget_roles(user) -> None:
    """Drop the per-request role cache after a membership change."""
    if hasattr(user, "_team_roles"):
        del user._team_roles


def graph_access(user, graph: Graph) -> Access:
    """Owner: everything. Team graphs: by team role. Public graphs: read for everyone. Else nothing."""
    return _shared_access(user, graph)


def visible_graphs(user) -> QuerySet[Graph]:
    """Every graph ``user`` may read, as one query without joins that multiply rows."""
    return _visible(Graph.objects, user)


def dataset_access(user, dataset) -> Access:
    """Datasets are shared like graphs; a built-in one (no owner, public) is read-only for everyone."""
    return _shared_access(user, dataset)


def visible_datasets(user) -> QuerySet:
    from training.models import Dataset  # training depends on graphs, not the reverse

    return _visible(Dataset.objects, user)


def _shared_access(user, item) -> Access:
    """For anything with ``owner``, ``team`` and ``visibility`` (graphs, datasets)."""
    authenticated = getattr(user, "is_authenticated", False)
    if authenticated and item.owner_id == user.pk:
        return FULL
    if item.visibility != Visibility.PRIVATE and item.team_id is not None:
        role = team_role(user, item.team_id)  # the id: no query for the team row
        if role is not None:
            return _BY_ROLE[role]
    if item.visibility == Visibility.PUBLIC:
        return READ
    return NO_ACCESS


def _visible(objects, user) -> QuerySet:
    public = Q(visibility=Visibility.PUBLIC)
    if not getattr(user, "is_authenticated", False):
        return objects.filter(public)
    teams = Membership.objects.filter(user=user).values("team_id")
    shared = Q(visibility__in=[Visibility.TEAM, Visibility.PUBLIC], team_id__in=teams)
    return objects.filter(public | Q(owner=user) | shared)


def composite_access(user, block: CompositeBlock) -> Access:
    """Personal blocks: their owner. Team blocks: members read, editors and admins publish versions."""
    if not getattr(user, "is_authenticated", False):
        return NO_ACCESS
    if block.owner_id is not None:
        return FULL if block.owner_id == user.pk else NO_ACCESS
    role = team_role(user, block.team_id)
    return _BY_ROLE[role] if role is not None else NO_ACCESS


def visible_composites(user) -> QuerySet[CompositeBlock]:
    if not getattr(user, "is_authenticated", False):
        return CompositeBlock.objects.none()
    teams = Membership.objects.filter(user=user).values("team_id")
    return CompositeBlock.objects.filter(Q(owner=user) | Q(team_id__in=teams))


def visible_teams(user) -> QuerySet[Team]:
    """The teams ``user`` belongs to (a team is visible to its members only)."""
    if not getattr(user, "is_authenticated", False):
        return Team.objects.none()
    return Team.objects.filter(pk__in=Membership.objects.filter(user=user).values("team_id"))


def team_access(user, team: Team) -> Access:
    """Members see the team; admins manage members, roles and invitations."""
    role = team_role(user, team)
    return _BY_ROLE[role] if role is not None else NO_ACCESS
