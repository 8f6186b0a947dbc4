"""The pages: dashboard, graphs and their versions, diff, teams and invitations, the block library, templates.

Views stay thin: look the object up, ask :mod:`graphs.permissions` what the user may do, call a
:mod:`graphs.services` function, render. An object the user may not see is a 404 (its existence is not
revealed); one they may see but not change is a 403. A :class:`~graphs.services.ServiceError` becomes
a message next to the form, never a 500. With ``request.htmx`` a view answers its ``_partial.html``.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from functools import lru_cache

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_http_methods, require_POST

import codegen
from codegen.exports import DEFAULT_OPSET, FORMAT_NAMES, FORMATS, MAX_OPSET, MIN_OPSET
from codegen.templates import list_templates, load_template
from graphs import artifacts, exports, services, version_diff
from graphs.forms import (
    ForkForm,
    GraphFilterForm,
    GraphSettingsForm,
    ImportForm,
    InviteForm,
    NewGraphForm,
    PublishCompositeForm,
    RenameForm,
    RestoreForm,
    RoleForm,
    TeamCreateForm,
    UseTemplateForm,
)
from graphs.models import (
    Activity,
    CompositeBlock,
    ExportArtifact,
    Graph,
    GraphVersion,
    Invitation,
    Membership,
    Role,
    Team,
)
from graphs.permissions import (
    NO_ACCESS,
    Access,
    composite_access,
    forget_roles,
    graph_access,
    team_access,
    visible_composites,
    visible_graphs,
)
from graphs.services import engine_limits
from torchcanvas_site.csp import style_nonce
from torchcanvas_site.htmx import go
from training.config import DATASET_DEFAULTS
from training.config import DEFAULTS as RUN_DEFAULTS
from training.dispatch import send_export

GRAPHS_PER_PAGE = 20
REPORT_CACHE_SECONDS = 24 * 3600
VERSIONS_PER_PAGE = 20
# The diff page lists at most this many items per kind of change and lines of the source diff; the API
# answers with everything.
DIFF_PAGE_ITEMS = 200
DIFF_PAGE_SOURCE_LINES = 2000
BLANK_DOCUMENT = {
    "version": "0.2",
    "nodes": [{"id": "input", "type": "Input", "params": {}, "ui": {"x": 0, "y": 0}}],
    "edges": [],
    "inputs": ["input"],
    "outputs": ["input"],
}


# --- helpers ---------------------------------------------------------------------------------------


def _render(request: HttpRequest, template: str, context: dict, *, partial: str | None = None, status: int = 200):
    """The full page, or its ``partial`` when htmx asks for a fragment (not when it restores history)."""
    wants_partial = partial and request.htmx and not request.htmx.history_restore_request
    response = TemplateResponse(request, partial if wants_partial else template, context, status=status)
    if partial:
        patch_vary_headers(response, ("HX-Request",))  # a cached fragment must never stand in for the page
    return response


def _graph(request: HttpRequest, pk: int, *, need: str = "view") -> tuple[Graph, Access]:
    graph = Graph.objects.select_related("owner", "team", "head", "head__author").filter(pk=pk).first()
    access = graph_access(request.user, graph) if graph is not None else NO_ACCESS
    if not access:
        raise Http404("There is no graph here, or it is not shared with you.")
    if need == "edit" and not access.edit:
        raise PermissionDenied("You can look at this graph but not change it.")
    if need == "admin" and not access.admin:
        raise PermissionDenied("Only the graph's owner or an admin of its team can do that.")
    return graph, access


def _version(graph: Graph, number: int) -> GraphVersion:
    return get_object_or_404(GraphVersion.objects.select_related("author"), graph=graph, number=number)


def _team(request: HttpRequest, slug: str, *, need: str = "view") -> tuple[Team, Access]:
    team = Team.objects.filter(slug=slug).first()
    access = team_access(request.user, team) if team is not None else NO_ACCESS
    if not access:
        raise Http404("There is no team here, or you are not in it.")
    if need == "admin" and not access.admin:
        raise PermissionDenied("Only the team's admins can do that.")
    return team, access


def _member(team: Team, user_id: int) -> Membership:
    return get_object_or_404(Membership.objects.select_related("user"), team=team, user_id=user_id)


def _report(version: GraphVersion, name: str, title: str = "") -> dict:
    """What a version page shows: validation now and, when the graph is valid, the single-file code.

    Versions are immutable, so the result is cached per content hash, module name and engine version.
    """
    key = f"page-report:{codegen.ENGINE_VERSION}:{version.content_hash}:{name}:{hashlib.sha256(title.encode()).hexdigest()}"
    report = cache.get(key)
    if report is None:
        report = _fresh_report(version.document, name, title)
        cache.set(key, report, REPORT_CACHE_SECONDS)
    return report


def _fresh_report(document: dict, name: str, title: str = "") -> dict:
    limits = engine_limits()
    checked = codegen.validate(document, limits=limits)
    result = checked.to_dict()
    validation = {
        key: result[key]
        for key in ("ok", "diagnostics", "error_count", "warning_count", "params_total", "memory_bytes")
    }
    code = None
    if validation["ok"]:
        try:
            code = codegen.generate(document, name=name, layout="file", limits=limits, title=title)
        except codegen.GraphError as exc:  # the renderer found something the validator did not
            validation["diagnostics"] += [d.to_dict() for d in exc.diagnostics]
            validation["error_count"] += len(exc.diagnostics)
            validation["ok"] = False
    return {
        "validation": validation,
        "code_path": next(iter(code)) if code else None,
        "code": next(iter(code.values())) if code else None,
        "summary": _summary_table(checked.summary()) if code else None,
    }


def _summary_table(summary: codegen.ModelSummary) -> dict:
    """The model summary as the version page shows it: formatted figures, each row with its nesting depth."""
    header, *lines, total = summary.table_rows()
    depths = [len(trail) for trail, _ in summary.flat_rows()]
    return {
        "header": header,
        "rows": [{"depth": depth, "cells": [cells[0].strip(), *cells[1:]]} for depth, cells in zip(depths, lines)],
        "totals": dict(zip(("params", "trainable", "frozen", "flops", "macs", "activations"), total[3:])),
        "flops_known": summary.flops is not None,
    }


def _visible_activity(user):
    """Activity on graphs the user may see, team events of their teams, and their own other events."""
    teams = Membership.objects.filter(user=user).values("team_id")
    return Activity.objects.filter(
        Q(graph__in=visible_graphs(user))
        | Q(graph__isnull=True, team_id__in=teams)
        | Q(graph__isnull=True, team__isnull=True, actor=user)
    ).select_related("actor", "graph", "team")


def _placement(form) -> dict:
    return {"team": form.cleaned_data.get("team"), "visibility": form.cleaned_data.get("visibility")}


# --- dashboard -------------------------------------------------------------------------------------


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    user = request.user
    # Counted over every membership, not just the user's (filtering on the same join would count one).
    my_team_ids = Membership.objects.filter(user=user).values("team_id")
    my_teams = Team.objects.filter(pk__in=my_team_ids).annotate(member_count=Count("memberships"))
    mine = Graph.objects.filter(owner=user).select_related("team", "head")
    team_graphs = (
        visible_graphs(user).filter(team_id__in=my_team_ids).exclude(owner=user).select_related("owner", "team", "head")
    )
    return TemplateResponse(
        request,
        "graphs/dashboard.html",
        {
            "my_graphs": mine[:8],
            "my_graph_count": mine.count(),
            "team_graphs": team_graphs[:8],
            "teams": my_teams,
            "activity": _visible_activity(user)[:15],
            "block_count": visible_composites(user).count(),
        },
    )


# --- graphs ----------------------------------------------------------------------------------------


def graph_list(request: HttpRequest) -> HttpResponse:
    form = GraphFilterForm(request.GET or None)
    graphs = visible_graphs(request.user).select_related("owner", "team", "head").prefetch_related("tags")
    scope = request.GET.get("scope", "")
    if request.user.is_authenticated:
        if scope == "mine":
            graphs = graphs.filter(owner=request.user)
        elif scope == "team":
            graphs = graphs.filter(team__in=Team.objects.filter(memberships__user=request.user)).exclude(
                owner=request.user
            )
        elif scope == "public":
            graphs = graphs.filter(visibility="public")
    filters = form.cleaned_data if form.is_valid() else {}
    if filters.get("q"):
        graphs = graphs.filter(Q(name__icontains=filters["q"]) | Q(description__icontains=filters["q"]))
    if filters.get("tag"):
        graphs = graphs.filter(tags__name=filters["tag"].strip().lower())
    if filters.get("owner"):
        graphs = graphs.filter(owner__username__iexact=filters["owner"].strip())
    if filters.get("team"):
        graphs = graphs.filter(Q(team__slug=filters["team"].strip()) | Q(team__name__iexact=filters["team"].strip()))
    page = Paginator(graphs, GRAPHS_PER_PAGE).get_page(request.GET.get("page"))
    context = {"form": form, "page": page, "scope": scope, "filtered": any(filters.values()) or bool(scope)}
    return _render(request, "graphs/graph_list.html", context, partial="graphs/_graph_results.html")


@login_required
def graph_new(request: HttpRequest) -> HttpResponse:
    form = NewGraphForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            graph = services.create_graph(
                request.user,
                name=form.cleaned_data["name"],
                document=json.loads(json.dumps(BLANK_DOCUMENT)),
                description=form.cleaned_data["description"],
                **_placement(form),
            )
        except services.ServiceError as exc:
            form.add_error(None, str(exc))
        else:
            # A blank graph is only a lone Input: the next thing to do is draw, so go straight to the canvas.
            messages.success(request, f"Created “{graph.name}”. Drag layers from the palette on the left.")
            return redirect("graph-canvas", graph.pk)
    return TemplateResponse(request, "graphs/graph_new.html", {"form": form, "templates": _gallery()[:4]})


@login_required
def graph_import(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            graph = services.import_graph(
                request.user,
                form.cleaned_data["raw"],
                name=form.cleaned_data["name"] or None,
                syntax=form.cleaned_data["syntax"],
                **_placement(form),
            )
        except services.ServiceError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Imported “{graph.name}” as version 1.")
            return redirect(graph)
    site = request.build_absolute_uri("/").rstrip("/")
    return TemplateResponse(request, "graphs/graph_import.html", {"form": form, "site": site})


def _version_page(request: HttpRequest, graph: Graph):
    versions = graph.versions.select_related("author").order_by("-number")
    return Paginator(versions, VERSIONS_PER_PAGE).get_page(request.GET.get("page"))


def graph_detail(request: HttpRequest, pk: int) -> HttpResponse:
    graph, access = _graph(request, pk)
    versions = _version_page(request, graph)
    if request.htmx and "page" in request.GET:
        return TemplateResponse(
            request, "graphs/_version_rows.html", {"graph": graph, "access": access, "versions": versions}
        )
    forked_from = None
    if graph.forked_from_id:
        origin = GraphVersion.objects.select_related("graph").filter(pk=graph.forked_from_id).first()
        if origin is not None and graph_access(request.user, origin.graph):
            forked_from = origin
    context = {
        "graph": graph,
        "access": access,
        "versions": versions,
        "tags": list(graph.tags.all()),
        "forked_from": forked_from,
        "fork_count": Graph.objects.filter(forked_from__graph=graph).count(),
        "module": codegen.package_name(graph.name),
        "activity": Activity.objects.filter(graph=graph).select_related("actor")[:8],
    }
    if graph.head is not None:
        context.update(_report(graph.head, codegen.package_name(graph.name), graph.name))
    return TemplateResponse(request, "graphs/graph_detail.html", context)


def graph_title(request: HttpRequest, pk: int) -> HttpResponse:
    graph, access = _graph(request, pk)
    if not request.htmx:
        return redirect(graph)
    return TemplateResponse(request, "graphs/_graph_title.html", {"graph": graph, "access": access})


@login_required
@require_http_methods(["GET", "POST"])
def graph_rename(request: HttpRequest, pk: int) -> HttpResponse:
    graph, access = _graph(request, pk, need="edit")
    form = RenameForm(request.POST or None, initial={"name": graph.name})
    if request.method == "POST" and form.is_valid():
        try:
            services.update_graph(graph, request.user, name=form.cleaned_data["name"])
        except services.ServiceError as exc:
            form.add_error("name", str(exc))
        else:
            graph.refresh_from_db()
            if request.htmx:
                return TemplateResponse(request, "graphs/_graph_title.html", {"graph": graph, "access": access})
            messages.success(request, f"Renamed to “{graph.name}”.")
            return redirect(graph)
    context = {"graph": graph, "access": access, "form": form}
    return _render(request, "graphs/graph_rename.html", context, partial="graphs/_rename_form.html")


@login_required
@require_http_methods(["GET", "POST"])
def graph_settings(request: HttpRequest, pk: int) -> HttpResponse:
    graph, access = _graph(request, pk, need="edit")
    initial = {
        "description": graph.description,
        "tags": ", ".join(tag.name for tag in graph.tags.all()),
        "visibility": graph.visibility,
        "team": graph.team,
    }
    form = GraphSettingsForm(request.POST or None, initial=initial, user=request.user, admin=access.admin)
    if graph.team is not None and "team" in form.fields:
        # The current team stays selectable even for an admin who is only a viewer there.
        form.fields["team"].queryset = (form.fields["team"].queryset | Team.objects.filter(pk=graph.team_id)).distinct()
    if request.method == "POST" and form.is_valid():
        try:
            services.update_graph(graph, request.user, **form.cleaned_data)
        except services.ServiceError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Settings saved.")
            return redirect(graph)
    return TemplateResponse(request, "graphs/graph_settings.html", {"graph": graph, "access": access, "form": form})


@login_required
@require_POST
def graph_delete(request: HttpRequest, pk: int) -> HttpResponse:
    graph, _ = _graph(request, pk, need="admin")
    name = graph.name
    try:
        services.delete_graph(graph, request.user)
    except services.ServiceError as exc:
        messages.error(request, str(exc))
        return go(request, graph)
    messages.success(request, f"Deleted “{name}” and its history.")
    return go(request, "graph-list")


@login_required
@require_http_methods(["GET", "POST"])
def graph_fork(request: HttpRequest, pk: int) -> HttpResponse:
    """A page to choose the fork's name, version, visibility and team; posting it forks."""
    graph, _ = _graph(request, pk)
    head = graph.head.number if graph.head_id else None
    initial = {"name": services.fork_name(graph, request.user), "version": request.GET.get("version") or head}
    form = ForkForm(request.POST if request.method == "POST" else None, initial=initial, user=request.user)
    if request.method == "POST" and form.is_valid():
        number = form.cleaned_data["version"]
        if number is not None:
            _version(graph, number)  # a 404 for a version that does not exist
        placement = _placement(form)
        placement["visibility"] = placement["visibility"] or "private"
        try:
            fork = services.fork_graph(
                graph, request.user, version=number, name=form.cleaned_data["name"] or None, **placement
            )
        except services.ServiceError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Forked into your graphs as “{fork.name}”.")
            return redirect(fork)
    versions = graph.versions.order_by("-number").values_list("number", flat=True)
    context = {"graph": graph, "form": form, "versions": versions}
    return TemplateResponse(request, "graphs/graph_fork.html", context)


def graph_version(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    graph, access = _graph(request, pk)
    version = _version(graph, number)
    context = {
        "graph": graph,
        "access": access,
        "version": version,
        "is_head": version.pk == graph.head_id,
        "previous": graph.versions.filter(number__lt=number)
        .order_by("-number")
        .values_list("number", flat=True)
        .first(),
        "next": graph.versions.filter(number__gt=number).order_by("number").values_list("number", flat=True).first(),
        "document": version.document,
        "node_count": len(version.document.get("nodes", [])),
        "edge_count": len(version.document.get("edges", [])),
        "has_blocks": _has_blocks(version.document),
    }
    context.update(_report(version, codegen.package_name(graph.name), graph.name))
    context.update(_artifacts_context(graph, version))
    return TemplateResponse(request, "graphs/graph_version.html", context)


@login_required
@require_POST
def graph_restore(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    graph, _ = _graph(request, pk, need="edit")
    version = _version(graph, number)
    form = RestoreForm(request.POST)
    message = form.cleaned_data["message"] if form.is_valid() else ""
    try:
        restored, created = services.restore_version(graph, request.user, version.number, message=message)
    except services.ServiceError as exc:
        messages.error(request, str(exc))
        return redirect(graph)
    if not created:
        messages.info(request, f"Version {version.number} has the same content as the current version; nothing to do.")
    else:
        messages.success(request, f"Restored version {version.number} as version {restored.number}.")
    return redirect(graph)


def graph_download(request: HttpRequest, pk: int, number: int, fmt: str) -> HttpResponse:
    graph, _ = _graph(request, pk)
    version = _version(graph, number)
    if fmt not in exports.FORMATS:
        raise Http404("No such download format.")
    too_large = False
    options = exports.Options(expand_blocks=request.GET.get("expand_blocks") == "1")
    try:
        return exports.build_download(version, graph.name, fmt, options).response()
    except codegen.GraphError as exc:
        diagnostics = [d.to_dict() for d in exc.diagnostics]
    except codegen.FigureTooLarge as exc:
        diagnostics, too_large = [{"severity": "error", "code": "TOO_LARGE", "message": str(exc)}], True
    context = {"graph": graph, "version": version, "diagnostics": diagnostics, "too_large": too_large}
    return TemplateResponse(request, "graphs/export_error.html", context, status=400)


def _has_blocks(document: dict) -> bool:
    """Whether a figure of ``document`` can open blocks: an instance of a user block or a built-in one."""
    composites = document.get("composites") or {}
    for node in document.get("nodes") or []:
        kind = node.get("type") if isinstance(node, dict) else None
        spec = codegen.NODE_SPECS.get(kind) if isinstance(kind, str) else None
        if (isinstance(kind, str) and kind in composites) or (spec is not None and spec.category == "block"):
            return True
    return False


def _artifacts_context(graph: Graph, version: GraphVersion, error: str = "") -> dict:
    rows = version.artifacts.select_related("version").order_by("format", "opset")
    return {
        "graph": graph,
        "version": version,
        "artifacts": [artifacts.artifact_json(artifact) for artifact in rows],
        "artifact_formats": [(fmt, FORMAT_NAMES[fmt]) for fmt in FORMATS],
        "default_opset": DEFAULT_OPSET,
        "opset_range": (MIN_OPSET, MAX_OPSET),
        "artifact_error": error,
    }


@require_http_methods(["GET", "POST"])
def graph_artifacts(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    """The version's built exports (the page's panel); POST asks for one, built on a worker."""
    graph, _ = _graph(request, pk)
    version = _version(graph, number)
    error = ""
    if request.method == "POST":
        if not request.user.is_authenticated:
            raise PermissionDenied("Log in to build exports.")
        try:
            fmt = request.POST.get("format")
            # The form has one opset field for all its buttons: it is ONNX's alone.
            opset = request.POST.get("opset") if fmt == "onnx" else None
            artifact, send = artifacts.request_artifact(version, request.user, fmt, opset)
        except artifacts.ArtifactRefused as exc:
            error = exc.message
        else:
            if send:
                transaction.on_commit(lambda: send_export(artifact.pk))
        if not request.htmx:
            if error:
                messages.error(request, error)
            return redirect(f"{version.get_absolute_url()}#artifacts")
    context = _artifacts_context(graph, version, error)
    return TemplateResponse(request, "graphs/_artifacts.html", context, status=400 if error else 200)


def graph_artifact_download(request: HttpRequest, pk: int, number: int, artifact_id: int) -> HttpResponse:
    graph, _ = _graph(request, pk)
    version = _version(graph, number)
    artifact = get_object_or_404(
        ExportArtifact.objects.select_related("version__graph"), pk=artifact_id, version=version
    )
    stream = artifacts.open_file(artifact)
    if stream is None:
        raise Http404("This export is not built (any more): build it again from the version page.")
    return FileResponse(stream, as_attachment=True, filename=artifacts.download_filename(artifact))


def _diff_lines(text: str | None) -> list[tuple[str, str]]:
    if not text:
        return []
    kinds = {"+": "add", "-": "del", "@": "hunk"}
    lines = []
    for line in text.splitlines():
        kind = "file" if line.startswith(("+++", "---")) else kinds.get(line[:1], "ctx")
        lines.append((kind, line))
    return lines


def _number(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def _shown_changes(changes: dict) -> dict:
    """The lists of a diff as the page shows them, at most ``DIFF_PAGE_ITEMS`` each, and how many are left out."""
    nodes, edges = changes["nodes"], changes["edges"]
    lists = {
        "added": nodes["added"],
        "removed": nodes["removed"],
        "changed": list(nodes["changed"].items()),
        "moved": nodes["moved"],
        "edges_added": edges["added"],
        "edges_removed": edges["removed"],
    }
    shown = {name: items[:DIFF_PAGE_ITEMS] for name, items in lists.items()}
    shown["hidden"] = sum(max(0, len(items) - DIFF_PAGE_ITEMS) for items in lists.values())
    return shown


def graph_diff(request: HttpRequest, pk: int) -> HttpResponse:
    graph, access = _graph(request, pk)
    numbers = list(graph.versions.order_by("-number").values_list("number", "message"))
    head = graph.head.number if graph.head else None
    to_number = _number(request.GET.get("to")) or head
    from_number = _number(request.GET.get("from"))
    if from_number is None and to_number is not None:
        from_number = max(to_number - 1, 1)
    context = {"graph": graph, "access": access, "numbers": numbers, "from_number": from_number, "to_number": to_number}
    error = None
    if to_number is None or from_number is None:
        error = "This graph has no versions to compare yet."
    else:
        by_number = {
            v.number: v for v in graph.versions.filter(number__in=[from_number, to_number]).select_related("author")
        }
        missing = [n for n in (from_number, to_number) if n not in by_number]
        if missing:
            error = f"Version {missing[0]} does not exist; pick one from the lists."
        else:
            old, new = by_number[from_number], by_number[to_number]
            changes = version_diff.structural_diff(old, new)
            source_refused = version_diff.source_diff_refusal(request.user, old, new)
            source = None if source_refused else version_diff.generated_source_diff(old, new)
            source_lines = _diff_lines(source)
            context.update(
                old=old,
                new=new,
                changes=changes,
                shown=_shown_changes(changes),
                source_lines=source_lines[:DIFF_PAGE_SOURCE_LINES],
                source_lines_hidden=max(0, len(source_lines) - DIFF_PAGE_SOURCE_LINES),
                source_refused=source_refused,
                source_unavailable=source is None,
                api_diff_url=f"{reverse('api-graph-diff', args=[graph.pk])}?from={old.number}&to={new.number}",
                page_items=DIFF_PAGE_ITEMS,
            )
    context["error"] = error
    return _render(request, "graphs/graph_diff.html", context, partial="graphs/_diff_result.html")


def graph_canvas(request: HttpRequest, pk: int) -> HttpResponse:
    graph, access = _graph(request, pk)
    boot = {
        "graphId": graph.pk,
        "graphName": graph.name,
        "names": {
            "package": codegen.package_name(graph.name),
            "py": codegen.download_name(graph.name, "py"),
            "json": codegen.download_name(graph.name, "json"),
        },
        "headVersion": graph.head.number if graph.head else None,
        "canEdit": bool(access.edit),
        "csrfToken": get_token(request),
        "styleNonce": style_nonce(request),
        # The run panel's form starts from the server's own defaults (a dataset's too).
        "runDefaults": {**RUN_DEFAULTS, **DATASET_DEFAULTS},
        "urls": {
            "registry": reverse("api-registry"),
            "validate": reverse("api-validate"),
            "document": reverse("api-document"),
            "codegen": reverse("api-codegen"),
            "exportZip": reverse("api-export-zip"),
            "diagram": reverse("api-diagram"),
            "graph": reverse("api-graph-detail", args=[graph.pk]),
            "versions": reverse("api-graph-versions", args=[graph.pk]),
            "composites": reverse("api-composite-list"),
            "runs": reverse("api-run-list"),
            "runsWs": "/ws/runs/",
            "datasets": reverse("api-dataset-list"),
            "graphPage": graph.get_absolute_url(),
        },
    }
    context = {"graph": graph, "access": access, "boot": boot}
    return TemplateResponse(request, "graphs/graph_canvas.html", context)


# --- templates -------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _gallery_cards() -> tuple[dict, ...]:
    cards = []
    for summary in list_templates():
        validation = codegen.validate(load_template(summary["name"]))
        cards.append({**summary, "params_total": validation.params_total})
    return tuple(cards)


def _gallery() -> list[dict]:
    """Every built-in template with its parameter count (the templates ship with the code: validated once)."""
    return list(_gallery_cards())


def template_gallery(request: HttpRequest) -> HttpResponse:
    return TemplateResponse(request, "graphs/template_gallery.html", {"templates": _gallery()})


@login_required
@require_POST
def template_use(request: HttpRequest, name: str) -> HttpResponse:
    summary = next((card for card in _gallery() if card["name"] == name), None)
    if summary is None:
        raise Http404("There is no template with that name.")
    form = UseTemplateForm(request.POST, user=request.user)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect("template-gallery")
    try:
        graph = services.graph_from_template(
            request.user, name, name=form.cleaned_data["name"] or None, **_placement(form)
        )
    except services.ServiceError as exc:
        messages.error(request, str(exc))
        return redirect("template-gallery")
    messages.success(request, f"Created “{graph.name}” from the {summary['title']} template.")
    return redirect(graph)


# --- teams -----------------------------------------------------------------------------------------


@login_required
def team_list(request: HttpRequest) -> HttpResponse:
    form = TeamCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            team = services.create_team(request.user, form.cleaned_data["name"])
        except services.ServiceError as exc:
            form.add_error("name", str(exc))
        else:
            messages.success(request, f"Created the team “{team.name}”. Invite people from its page.")
            return redirect(team)
    memberships = (
        Membership.objects.filter(user=request.user)
        .select_related("team")
        .annotate(
            member_count=Count("team__memberships", distinct=True), graph_count=Count("team__graphs", distinct=True)
        )
        .order_by("team__name")
    )
    return TemplateResponse(request, "teams/team_list.html", {"form": form, "memberships": memberships})


def _invitation_context(request: HttpRequest, team: Team, new: int | None = None) -> dict:
    pending = team.invitations.filter(revoked=False, accepted_at__isnull=True, expires_at__gt=timezone.now())
    rows = [
        {"invitation": inv, "url": request.build_absolute_uri(reverse("invitation-accept", args=[inv.token]))}
        for inv in pending.select_related("created_by")
    ]
    return {"team": team, "invitations": rows, "new_invitation": new, "invite_form": InviteForm()}


@login_required
def team_detail(request: HttpRequest, slug: str) -> HttpResponse:
    team, access = _team(request, slug)
    members = team.memberships.select_related("user").order_by("user__username")
    context = {
        "team": team,
        "access": access,
        "members": members,
        "admin_count": sum(1 for m in members if m.role == Role.ADMIN),
        "my_role": team.role_of(request.user),
        "roles": Role.choices,
        "graphs": visible_graphs(request.user).filter(team=team).select_related("owner", "head")[:10],
        "blocks": team.composites.select_related("head")[:10],
        "activity": Activity.objects.filter(team=team)
        .filter(Q(graph__isnull=True) | Q(graph__in=visible_graphs(request.user)))
        .select_related("actor", "graph")[:10],
    }
    if access.admin:
        context.update(_invitation_context(request, team, _number(request.GET.get("new"))))
    return TemplateResponse(request, "teams/team_detail.html", context)


def _member_row(request: HttpRequest, team: Team, membership: Membership, error: str | None = None):
    forget_roles(request.user)
    context = {
        "team": team,
        "m": membership,
        "access": team_access(request.user, team),
        "roles": Role.choices,
        "row_error": error,
    }
    return TemplateResponse(request, "teams/_member_row.html", context)


@login_required
@require_POST
def team_role(request: HttpRequest, slug: str, user_id: int) -> HttpResponse:
    team, _ = _team(request, slug, need="admin")
    membership = _member(team, user_id)
    form = RoleForm(request.POST)
    error = None
    if not form.is_valid():
        error = "Pick viewer, editor or admin."
    else:
        try:
            services.set_role(team, request.user, membership.user, form.cleaned_data["role"])
        except services.ServiceError as exc:
            error = str(exc)
    membership.refresh_from_db()
    if request.htmx:
        return _member_row(request, team, membership, error)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"{membership.user.get_username()} is now {membership.get_role_display().lower()}.")
    return redirect(team)


@login_required
@require_POST
def team_remove(request: HttpRequest, slug: str, user_id: int) -> HttpResponse:
    team, _ = _team(request, slug, need="admin")
    membership = _member(team, user_id)
    try:
        services.remove_member(team, request.user, membership.user)
    except services.ServiceError as exc:
        if request.htmx:
            return _member_row(request, team, membership, str(exc))
        messages.error(request, str(exc))
        return redirect(team)
    if request.htmx:
        return HttpResponse("")  # the row swaps itself out
    messages.success(request, f"Removed {membership.user.get_username()} from {team.name}.")
    if membership.user_id == request.user.pk:
        return redirect("team-list")
    return redirect(team)


@login_required
@require_POST
def team_invite(request: HttpRequest, slug: str) -> HttpResponse:
    team, _ = _team(request, slug, need="admin")
    form = InviteForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Pick the role the invited person gets.")
        return redirect(team)
    try:
        invitation = services.invite(team, request.user, form.cleaned_data["role"])
    except services.ServiceError as exc:
        messages.error(request, str(exc))
        return redirect(team)
    if request.htmx:
        return TemplateResponse(request, "teams/_invitations.html", _invitation_context(request, team, invitation.pk))
    messages.success(request, "Invitation created: copy its link below and send it to the person you invite.")
    return redirect(f"{team.get_absolute_url()}?new={invitation.pk}#invitations")


@login_required
@require_POST
def team_invite_revoke(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    team, _ = _team(request, slug, need="admin")
    invitation = get_object_or_404(Invitation, team=team, pk=pk)
    services.revoke_invitation(team, request.user, invitation)
    if request.htmx:
        return TemplateResponse(request, "teams/_invitations.html", _invitation_context(request, team))
    messages.success(request, "Invitation revoked: its link no longer works.")
    return redirect(f"{team.get_absolute_url()}#invitations")


@login_required
@require_POST
def team_leave(request: HttpRequest, slug: str) -> HttpResponse:
    team, _ = _team(request, slug)
    try:
        services.leave_team(team, request.user)
    except services.ServiceError as exc:
        messages.error(request, str(exc))
        return go(request, team)
    messages.success(request, f"You left {team.name}.")
    return go(request, "team-list")


@login_required
@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    invitation = Invitation.objects.select_related("team", "created_by").filter(token=token).first()
    if invitation is None:
        raise Http404("This invitation link is not valid.")
    already = Membership.objects.filter(team=invitation.team, user=request.user).exists()
    if request.method == "POST" and invitation.usable and not already:
        try:
            services.accept_invitation(token, request.user)
        except services.ServiceError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Welcome to {invitation.team.name}!")
            return redirect(invitation.team)
    status = 200 if invitation.usable or already else 410
    context = {"invitation": invitation, "already": already}
    return TemplateResponse(request, "teams/invitation.html", context, status=status)


# --- composite block library ----------------------------------------------------------------------


@login_required
def composite_list(request: HttpRequest) -> HttpResponse:
    blocks = visible_composites(request.user).select_related("owner", "team", "head", "head__author")
    context = {
        "personal": [b for b in blocks if b.owner_id == request.user.pk],
        "team_blocks": [b for b in blocks if b.team_id is not None],
        "builtins": services.builtin_blocks(),
    }
    return TemplateResponse(request, "graphs/composite_list.html", context)


def _composite(request: HttpRequest, pk: int) -> tuple[CompositeBlock, Access]:
    block = CompositeBlock.objects.select_related("owner", "team", "head", "head__author").filter(pk=pk).first()
    access = composite_access(request.user, block) if block is not None else NO_ACCESS
    if not access:
        raise Http404("There is no block here, or it is not shared with you.")
    return block, access


@login_required
def composite_detail(request: HttpRequest, pk: int) -> HttpResponse:
    block, access = _composite(request, pk)
    definition = block.head.definition if block.head else {}
    form = None
    if access.edit:
        form = PublishCompositeForm(
            user=request.user,
            initial={
                "name": block.name,
                "description": block.description,
                "library": str(block.team_id or ""),
                "definition": json.dumps(definition, indent=2),
            },
        )
    context = {
        "composite": block,  # not "block": inside {% block %} that name is the template block itself
        "access": access,
        "versions": block.versions.select_related("author").order_by("-number")[:50],
        "definition": definition,
        "uses": sorted(block.head.composites) if block.head else [],
        "params": definition.get("params", []) if isinstance(definition, dict) else [],
        "form": form,
    }
    return TemplateResponse(request, "graphs/composite_detail.html", context)


@login_required
@require_POST
def composite_delete(request: HttpRequest, pk: int) -> HttpResponse:
    block, access = _composite(request, pk)
    if not access.admin:
        messages.error(request, "Only the block's owner or an admin of its team can delete it.")
        return go(request, block)
    library = f"the {block.team.name} library" if block.team else "your library"
    services.delete_composite(block, request.user)
    messages.success(request, f"Deleted the block “{block.name}” from {library}; graphs that use it keep their copies.")
    return go(request, "composite-list")


def builtin_block_detail(request: HttpRequest, name: str) -> HttpResponse:
    spec = next((node for node in services.builtin_blocks() if node["type"] == name), None)
    if spec is None:
        raise Http404("There is no built-in block with that name.")
    from codegen.blocks import library

    cls = getattr(library, name, None)
    source = inspect.getsource(cls) if inspect.isclass(cls) else None
    return TemplateResponse(request, "graphs/builtin_block.html", {"spec": spec, "source": source})


@login_required
@require_http_methods(["GET", "POST"])
def composite_publish(request: HttpRequest) -> HttpResponse:
    form = PublishCompositeForm(request.POST or None, user=request.user, initial=request.GET.dict() or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            result = services.publish_composite(
                request.user,
                name=data["name"],
                definition=data["definition"],
                team=data["library"],
                message=data["message"],
                description=data["description"],
            )
        except services.ServiceError as exc:
            form.add_error(None, str(exc))
        else:
            block = getattr(result, "block", result)
            number = block.head.number if block.head else 1
            messages.success(request, f"Published {block.name} version {number}.")
            return redirect(block)
    return TemplateResponse(request, "graphs/composite_publish.html", {"form": form})
