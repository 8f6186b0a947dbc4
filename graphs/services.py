"""Every change to graphs, versions, teams and composite blocks: the API and the pages both call these.

Conventions:

- Access comes from :mod:`graphs.permissions`. Something the user may not see raises ``Http404`` (so
  its existence does not leak); something visible but not theirs to change raises ``PermissionDenied``.
  Django and DRF both turn those into 404 and 403.
- :class:`ServiceError` carries one user-facing sentence (400); :class:`StaleVersion` is a save from a
  base that is no longer the head (409).
- A version is written only inside ``transaction.atomic()`` holding ``select_for_update()`` on the
  graph row (on SQLite, whose transactions here begin ``IMMEDIATE``, the write lock serialises them), so
  concurrent saves from the same base give exactly one new version and conflicts for the rest.
"""

from __future__ import annotations

import dataclasses
import math
import re
import unicodedata
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.text import slugify

import codegen
from codegen.document import load_document
from codegen.templates import load_template
from graphs.diff import diff_documents
from graphs.models import (
    Activity,
    CompositeBlock,
    CompositeVersion,
    Graph,
    GraphVersion,
    Invitation,
    Membership,
    Role,
    Tag,
    Team,
    Visibility,
)
from graphs.permissions import (
    Access,
    composite_access,
    forget_roles,
    graph_access,
    team_access,
)

INVITATION_LIFETIME = timedelta(days=7)
MAX_TAGS = 10
MAX_DEPTH = 64  # nesting of a stored document; graphs need about 6
MAX_LIBRARY_REFERENCES = 100
TAG_PATTERN = re.compile(r"^[\w][\w .+#-]*$")
BLOCK_NAME_PATTERN = re.compile(r"^[A-Z][A-Za-z0-9_]{0,63}$")
EMPTY_DOCUMENT = {"version": "0.2", "nodes": [], "edges": [], "inputs": [], "outputs": []}
# Errors a block may show inside a minimal test graph whose input has no shape: they depend on the input
# the block is given in a real graph, so publishing accepts them.
SHAPE_DEPENDENT = frozenset({"NEEDS_SHAPE", "RANK", "LAYOUT", "SHAPE", "DTYPE", "MERGE", "IMPOSSIBLE_OUTPUT", "BUDGET"})


class ServiceError(Exception):
    """A request that cannot be carried out, with one sentence saying why (HTTP 400)."""

    def __init__(self, message: str, *, diagnostics: list[dict] | None = None):
        super().__init__(message)
        self.message = message
        self.diagnostics = diagnostics


class StaleVersion(Exception):
    """A save edited from a version that is no longer the head (HTTP 409): nothing was written."""

    def __init__(self, head: GraphVersion, diff: dict, base: int | None = None):
        since = f"Version {base} is no longer the head" if base is not None else "The graph has changed"
        super().__init__(f"{since}: v{head.number} was saved since. Nothing was saved.")
        self.head = head
        self.diff = diff
        self.base = base


# --- input checks -------------------------------------------------------------------------------


def engine_limits() -> codegen.Limits:
    """The engine's limits, from ``settings.TORCHCANVAS_LIMITS`` (keys the engine does not know are skipped)."""
    known = {field.name for field in dataclasses.fields(codegen.Limits)}
    return codegen.Limits(**{key: value for key, value in settings.TORCHCANVAS_LIMITS.items() if key in known})


def _bad_characters(text: str, *, multiline: bool) -> str | None:
    for char in text:
        if "\ud800" <= char <= "\udfff":
            return "contains an unpaired surrogate (not valid Unicode)"
        if char == "\x00":
            return "contains a NUL character"
        if unicodedata.category(char) in ("Cc", "Cf") and not (multiline and char in "\n\t\r"):
            if char in "\u200d\u200c":  # joiners shape emoji and scripts; harmless
                continue
            return f"contains the control character U+{ord(char):04X}"
    return None


def clean_text(value: Any, *, field: str, max_length: int, required: bool = False, multiline: bool = False) -> str:
    """A trimmed user string: no control or bidi-override characters, within ``max_length``."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ServiceError(f"{field}: expected text.")
    value = value.strip()
    if required and not value:
        raise ServiceError(f"{field}: may not be blank.")
    if len(value) > max_length:
        raise ServiceError(f"{field}: at most {max_length} characters (got {len(value)}).")
    problem = _bad_characters(value, multiline=multiline)
    if problem:
        raise ServiceError(f"{field}: {problem}.")
    return value


def clean_tags(tags: Iterable[Any]) -> list[str]:
    """Tag names, trimmed and lower-cased, de-duplicated; at most ``MAX_TAGS`` of at most 40 characters."""
    if isinstance(tags, str) or not isinstance(tags, Iterable):
        raise ServiceError("tags: expected a list of tag names.")
    cleaned: list[str] = []
    for tag in tags:
        name = clean_text(tag, field="tags", max_length=40, required=True).lower()
        if not TAG_PATTERN.match(name):
            raise ServiceError(f"tags: {name!r} may use letters, digits, spaces and . + # - _ only.")
        if name not in cleaned:
            cleaned.append(name)
    if len(cleaned) > MAX_TAGS:
        raise ServiceError(f"tags: at most {MAX_TAGS} tags (got {len(cleaned)}).")
    return cleaned


def check_json(value: Any, *, what: str = "The document") -> None:
    """Refuse JSON the database cannot store faithfully: NUL characters, unpaired surrogates, NaN and infinities
    (a file's text may hold them), deep nesting."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > MAX_DEPTH:
                raise ServiceError(f"{what} nests more than {MAX_DEPTH} levels deep.")
            for key in item if isinstance(item, dict) else ():
                if isinstance(key, str) and _json_string_problem(key):
                    raise ServiceError(f"{what}: a key {_json_string_problem(key)}.")
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
        elif isinstance(item, str) and _json_string_problem(item):
            raise ServiceError(f"{what}: a text value {_json_string_problem(item)}.")
        elif isinstance(item, float) and not math.isfinite(item):
            raise ServiceError(f"{what}: a number is {item}, which JSON cannot store; write a finite number.")


def _json_string_problem(text: str) -> str | None:
    if "\x00" in text:
        return "contains a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains an unpaired surrogate (not valid Unicode)"
    return None


def _choice(value: Any, choices: type, field: str) -> str:
    allowed = [c.value for c in choices]
    if value not in allowed:
        raise ServiceError(f"{field}: expected one of {', '.join(allowed)}.")
    return value


def _authenticated(user) -> None:
    if not getattr(user, "is_authenticated", False):
        raise PermissionDenied("Log in first.")


def require(access: Access, need: str, what: str, action: str) -> None:
    """``Http404`` when ``access`` cannot even view; ``PermissionDenied`` when it lacks ``need``."""
    if not access.view:
        raise Http404(f"No such {what}.")
    if not getattr(access, need):
        raise PermissionDenied(f"You may view this {what} but not {action}.")


def _log(actor, verb: str, summary: str, *, graph: Graph | None = None, team: Team | None = None) -> None:
    Activity.objects.create(actor=actor, verb=verb, summary=summary[:300], graph=graph, team=team)


# --- graph documents ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Prepared:
    """A document ready to store: library blocks embedded, validated, hashed."""

    document: dict
    content_hash: str
    valid: bool
    error_count: int
    warning_count: int
    params_total: int | None

    def summary(self) -> dict:
        return {
            "valid": self.valid,
            "error_count": self.error_count,
            "warning_count": self.warning_count,
            "params_total": self.params_total,
        }


def prepare_document(document: Any, user, *, resolve_library: bool = True) -> Prepared:
    """Check, embed library blocks into, parse, validate and hash a graph document.

    Documents the engine cannot parse (PARSE) or that are over the size caps (LIMIT) raise
    :class:`ServiceError` with the diagnostics; validation errors are allowed and summarised.
    """
    if not isinstance(document, dict):
        raise ServiceError("The document must be a JSON object with version, nodes, edges, inputs and outputs.")
    check_json(document)
    if resolve_library:
        document = _embed_library(document, user)
    limits = engine_limits()
    try:
        parsed = codegen.load_graph(document, limits=limits)
        result = codegen.validate(parsed, limits=limits)
        content_hash = codegen.graph_hash(document)
    except codegen.GraphError as error:
        diagnostics = [d.to_dict() for d in error.diagnostics]
        first = diagnostics[0]["message"] if diagnostics else "it is not a graph document"
        raise ServiceError(f"The graph cannot be saved: {first}", diagnostics=diagnostics) from None
    errors = len(result.errors)
    return Prepared(
        document=document,
        content_hash=content_hash,
        valid=result.ok,
        error_count=errors,
        warning_count=len(result.diagnostics) - errors,
        params_total=result.params_total,
    )


def _embed_library(document: dict, user) -> dict:
    """Resolve ``metadata.library`` references into ``composites`` (a copy; the input is left alone).

    ``{"MyBlock": {"block": 12, "version": 3}}`` embeds version 3 of block 12 as ``composites.MyBlock``,
    and the user blocks it uses under their own names; without ``version`` the block's current head is
    used and written back, so every stored version pins what it used. A block the saver cannot see is
    pinned only when the document already embeds exactly that definition and those it uses (someone
    else's block, carried along in a shared graph); otherwise it is treated exactly as a block that does
    not exist, so the answer never tells whether a hidden id exists. A reference to a block (or version)
    that does not exist (deleted since) is dropped when the document embeds a copy: the graph keeps its
    block; without a copy it is refused.
    """
    metadata = document.get("metadata")
    if not isinstance(metadata, dict) or "library" not in metadata:
        return document
    library = metadata["library"]
    if not isinstance(library, dict):
        raise ServiceError('metadata.library: expected an object like {"MyBlock": {"block": 12, "version": 3}}.')
    if len(library) > MAX_LIBRARY_REFERENCES:
        raise ServiceError(f"metadata.library: at most {MAX_LIBRARY_REFERENCES} blocks.")
    given = document.get("composites", {})
    if not isinstance(given, dict):
        raise ServiceError("composites: expected an object mapping block names to definitions.")
    composites = dict(given)
    pinned: dict[str, CompositeVersion] = {}
    for alias, ref in library.items():
        where = f"metadata.library.{alias}"
        if not (isinstance(alias, str) and BLOCK_NAME_PATTERN.match(alias)):
            raise ServiceError(f"{where}: block names are ASCII identifiers starting with a capital letter.")
        if not isinstance(ref, dict) or set(ref) - {"block", "version"}:
            raise ServiceError(f'{where}: expected {{"block": <id>, "version": <number>}}.')
        block_id, number = ref.get("block"), ref.get("version")
        if not _positive_int(block_id) or not (number is None or _positive_int(number)):
            raise ServiceError(f"{where}: block and version must be positive integers.")
        block = CompositeBlock.objects.select_related("team").filter(pk=block_id).first()
        version = None
        if block is not None:
            number = number or (block.head.number if block.head_id else None)
            version = block.versions.filter(number=number).first() if number else None
        if version is not None and not composite_access(user, block).view:
            carried = {alias: version.definition, **version.composites}
            if any(given.get(key) != value for key, value in carried.items()):
                version = None  # one the saver may not see answers exactly as one that does not exist
        if version is None:
            if isinstance(composites.get(alias), dict):
                continue  # deleted from its library (or hidden): the graph keeps its copy, now a block of its own
            raise ServiceError(
                f"{where}: block {block_id} version {ref.get('version') or 'head'} does not exist or is not shared "
                "with you."
            )
        composites[alias] = version.definition
        pinned[alias] = version
    # Inner blocks after every reference: one may name another reference's alias, whatever their order.
    for alias, version in pinned.items():
        for inner, definition in version.composites.items():
            if composites.setdefault(inner, definition) != definition:
                raise ServiceError(
                    f"metadata.library.{alias}: the block uses its own {inner}, which differs from this graph's "
                    f"{inner}; rename this graph's {inner} first."
                )
    resolved = {alias: {"block": version.block_id, "version": version.number} for alias, version in pinned.items()}
    metadata = {**metadata, "library": resolved} if resolved else {k: v for k, v in metadata.items() if k != "library"}
    return {**document, "metadata": metadata, "composites": composites}


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63


def _new_version(graph: Graph, user, prepared: Prepared, *, message: str, parent: GraphVersion | None) -> GraphVersion:
    """Append a version and move the head (the caller holds the graph's row lock)."""
    version = GraphVersion.objects.create(
        graph=graph,
        number=parent.number + 1 if parent else 1,
        parent=parent,
        author=user if getattr(user, "is_authenticated", False) else None,
        message=message,
        document=prepared.document,
        content_hash=prepared.content_hash,
        **prepared.summary(),
    )
    now = timezone.now()
    Graph.objects.filter(pk=graph.pk).update(head=version, updated_at=now)
    graph.head, graph.updated_at = version, now
    return version


def _copy_of(version: GraphVersion) -> Prepared:
    return Prepared(
        document=version.document,
        content_hash=version.content_hash,
        valid=version.valid,
        error_count=version.error_count,
        warning_count=version.warning_count,
        params_total=version.params_total,
    )


def _team_for_graph(user, team: Team | None, visibility: str) -> None:
    if team is not None:
        access = team_access(user, team)
        require(access, "edit", "team", "add graphs to it (editors and admins can)")
    if visibility == Visibility.TEAM and team is None:
        raise ServiceError("visibility: a team graph needs a team.")


# --- graphs -------------------------------------------------------------------------------------


def create_graph(
    user,
    *,
    name: str,
    document: dict,
    description: str = "",
    tags: Iterable[str] = (),
    team: Team | None = None,
    visibility: str = "private",
    message: str = "Created",
    forked_from: GraphVersion | None = None,
    _prepared: Prepared | None = None,
) -> Graph:
    """A new graph owned by ``user`` with its first version."""
    _authenticated(user)
    name = clean_text(name, field="name", max_length=120, required=True)
    description = clean_text(description, field="description", max_length=5000, multiline=True)
    tag_names = clean_tags(tags)
    visibility = _choice(visibility, Visibility, "visibility")
    message = clean_text(message, field="message", max_length=500)
    _team_for_graph(user, team, visibility)
    prepared = _prepared or prepare_document(document, user)
    with transaction.atomic():
        graph = Graph.objects.create(
            owner=user, name=name, description=description, team=team, visibility=visibility, forked_from=forked_from
        )
        _set_tags(graph, tag_names)
        _new_version(graph, user, prepared, message=message, parent=None)
        _log(user, "created", f"{user} created {name}", graph=graph, team=team)
    return graph


def _set_tags(graph: Graph, names: list[str]) -> None:
    graph.tags.set(tags_named(names))


def tags_named(names: list[str]) -> list[Tag]:
    """The tags of these (cleaned) names, in order, creating those that do not exist yet (runs share them)."""
    existing = {tag.name: tag for tag in Tag.objects.filter(name__in=names)}
    missing = [Tag(name=name) for name in names if name not in existing]
    if missing:
        Tag.objects.bulk_create(missing, ignore_conflicts=True)  # a concurrent save may create the same tag
        existing = {tag.name: tag for tag in Tag.objects.filter(name__in=names)}
    return [existing[name] for name in names]


def save_version(
    graph: Graph, user, document: dict, *, base: int | None, message: str = ""
) -> tuple[GraphVersion, bool]:
    """Save ``document`` as the next version of ``graph``: ``(version, created)``.

    Identical to the head: ``(head, False)``, nothing written. ``base`` (the version the edit started
    from) older than the head: :class:`StaleVersion` with the head and the diff base → head. ``None``
    skips that check (for callers that just read the head in the same request).
    """
    require(graph_access(user, graph), "edit", "graph", "save versions of it")
    message = clean_text(message, field="message", max_length=500)
    if base is not None and not _positive_int(base):
        raise ServiceError("base: expected the number of the version the edit started from.")
    prepared = prepare_document(document, user)  # outside the lock: validation is the slow part
    with transaction.atomic():
        locked = Graph.objects.select_for_update().filter(pk=graph.pk).first()
        if locked is None:
            raise Http404("No such graph.")
        require(graph_access(user, locked), "edit", "graph", "save versions of it")
        head = GraphVersion.objects.filter(pk=locked.head_id).first()
        if head is not None and head.content_hash == prepared.content_hash:
            return head, False
        if base is not None and head is not None and base != head.number:
            if base > head.number:
                raise ServiceError(f"base: version {base} does not exist; the head is version {head.number}.")
            base_version = locked.versions.get(number=base)
            raise StaleVersion(head, diff_documents(base_version.document, head.document), base)
        version = _new_version(locked, user, prepared, message=message, parent=head)
        _log(user, "saved", f"{user} saved {locked.name} v{version.number}", graph=locked, team=locked.team)
    graph.head, graph.updated_at = locked.head, locked.updated_at
    return version, True


def restore_version(graph: Graph, user, number: int, *, message: str = "") -> tuple[GraphVersion, bool]:
    """A new head copying version ``number``: ``(version, created)``.

    When the head already has that content (restored by someone else a moment ago, say): ``(head, False)``,
    decided under the graph's row lock, so of simultaneous restores exactly one says it created the version.
    """
    require(graph_access(user, graph), "edit", "graph", "restore its versions")
    message = clean_text(message, field="message", max_length=500) or f"Restored v{number}"
    with transaction.atomic():
        locked = Graph.objects.select_for_update().filter(pk=graph.pk).first()
        if locked is None:
            raise Http404("No such graph.")
        source = locked.versions.filter(number=number).first() if _positive_int(number) else None
        if source is None:
            raise Http404(f"Version {number} does not exist.")
        head = GraphVersion.objects.filter(pk=locked.head_id).first()
        if head is not None and head.content_hash == source.content_hash:
            return head, False
        version = _new_version(locked, user, _copy_of(source), message=message, parent=head)
        _log(user, "restored", f"{user} restored {locked.name} v{number} as v{version.number}", graph=locked)
    graph.head, graph.updated_at = locked.head, locked.updated_at
    return version, True


FORK_SUFFIX = re.compile(r" \(fork(?: \d+)?\)$")


def fork_name(graph: Graph, user) -> str:
    """ "<name> (fork)" for a fork of ``graph`` by ``user``; "(fork 2)", "(fork 3)"… when ``user`` already has one.

    The suffix never stacks: a fork of "MiniCNN (fork)" is again "MiniCNN (fork …)", not "MiniCNN (fork) (fork)".
    """
    base = FORK_SUFFIX.sub("", graph.name)
    taken = set(Graph.objects.filter(owner=user, name__startswith=base[:100]).values_list("name", flat=True))
    number = 1
    while True:
        suffix = f" (fork {number})" if number > 1 else " (fork)"
        name = base[: 120 - len(suffix)] + suffix  # a long base name is cut, keeping the suffix
        if name not in taken:
            return name
        number += 1


def fork_graph(
    graph: Graph,
    user,
    *,
    version: int | None = None,
    name: str | None = None,
    team: Team | None = None,
    visibility: str = "private",
) -> Graph:
    """A copy of one version (the head by default) as a new graph of ``user``'s, remembering its origin."""
    _authenticated(user)
    require(graph_access(user, graph), "view", "graph", "fork it")
    if version is None:
        source = GraphVersion.objects.filter(pk=graph.head_id).first()
    else:
        source = graph.versions.filter(number=version).first() if _positive_int(version) else None
    if source is None:
        raise Http404(f"Version {version} does not exist.")
    name = name if name is not None else fork_name(graph, user)
    return create_graph(
        user,
        name=name,
        document=source.document,
        description=graph.description,
        tags=list(graph.tags.values_list("name", flat=True)),
        team=team,
        visibility=visibility,
        message=f"Forked from {graph.name} v{source.number}"[:500],
        forked_from=source,
        _prepared=_copy_of(source),
    )


UPDATABLE = {"name": "edit", "description": "edit", "tags": "edit", "visibility": "admin", "team": "admin"}


def update_graph(graph: Graph, user, **fields: Any) -> Graph:
    """Rename, describe, tag (editors); change visibility or team (the owner or a team admin)."""
    unknown = sorted(set(fields) - set(UPDATABLE))
    if unknown:
        raise ServiceError(f"Unknown field(s): {', '.join(unknown)}.")
    access = graph_access(user, graph)
    for key in fields:
        what = "rename or retag it" if UPDATABLE[key] == "edit" else "change its visibility or team"
        require(access, UPDATABLE[key], "graph", what)
    changes: dict[str, Any] = {}
    if "name" in fields:
        changes["name"] = clean_text(fields["name"], field="name", max_length=120, required=True)
    if "description" in fields:
        changes["description"] = clean_text(fields["description"], field="description", max_length=5000, multiline=True)
    if "visibility" in fields:
        changes["visibility"] = _choice(fields["visibility"], Visibility, "visibility")
    if "team" in fields:
        changes["team"] = fields["team"]
    tags = clean_tags(fields["tags"]) if "tags" in fields else None
    team = changes.get("team", graph.team)
    if "team" in changes and team is not None and team.pk != graph.team_id:
        _team_for_graph(user, team, changes.get("visibility", graph.visibility))
    elif changes.get("visibility", graph.visibility) == Visibility.TEAM and team is None:
        raise ServiceError("visibility: a team graph needs a team.")
    with transaction.atomic():
        for key, value in changes.items():
            setattr(graph, key, value)
        graph.updated_at = timezone.now()
        graph.save(update_fields=[*changes, "updated_at"])
        if tags is not None:
            _set_tags(graph, tags)
        if changes or tags is not None:
            _log(user, "updated", f"{user} updated {graph.name}", graph=graph, team=graph.team)
    return graph


def delete_graph(graph: Graph, user) -> None:
    """Delete a graph and its history (the owner or a team admin)."""
    require(graph_access(user, graph), "admin", "graph", "delete it")
    with transaction.atomic():
        # The head points at a version (PROTECT); let go of it so the versions can cascade.
        Graph.objects.filter(pk=graph.pk).update(head=None)
        graph.delete()
        if graph.team_id:
            _log(user, "deleted", f"{user} deleted {graph.name}", team=Team.objects.filter(pk=graph.team_id).first())


# A line only Python starts that way: an upload of model code rather than of the graph made from it.
_PYTHON_SOURCE = re.compile(r"^(import \w|from [\w.]+ import |class \w+\s*[(:]|def \w+\s*\()", re.MULTILINE)
PYTHON_UPLOAD = (
    "This is Python source, not a graph document. The server never runs uploaded code: turn your model into a "
    "graph on your machine with `python -m codegen import your_module:build_model --input-shape 3,224,224 "
    "--out graph.json` and upload graph.json (or add `--push URL --token TOKEN` to that command)."
)


def import_graph(
    user,
    raw: str | bytes | dict,
    *,
    name: str | None = None,
    team: Team | None = None,
    visibility: str = "private",
    syntax: str | None = None,
) -> Graph:
    """A new graph from a seed-format graph file, JSON or YAML (its ``metadata`` gives name, description and tags).

    ``syntax`` is ``codegen.document.YAML`` when the file's name or type says YAML; otherwise the text decides.
    """
    _authenticated(user)
    limit = settings.TORCHCANVAS_LIMITS["max_body_bytes"]
    if isinstance(raw, (bytes, bytearray)):
        if len(raw) > limit:
            raise ServiceError(f"The file is {len(raw)} bytes; the limit is {limit} bytes.")
        try:
            raw = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ServiceError("The file is not UTF-8 text.") from None
    if isinstance(raw, str):
        if len(raw) > limit:
            raise ServiceError(f"The file is over the limit of {limit} bytes.")
        if _PYTHON_SOURCE.search(raw):  # never a graph document: JSON and YAML indent what follows a line's start
            raise ServiceError(PYTHON_UPLOAD)
        try:
            document = load_document(raw, syntax)
        except codegen.GraphError as exc:
            diagnostics = [d.to_dict() for d in exc.diagnostics]
            raise ServiceError(
                f"The file cannot be read: {exc.diagnostics[0].message}.", diagnostics=diagnostics
            ) from None
    else:
        document = raw
    if not isinstance(document, dict):
        raise ServiceError("The file must hold one JSON object: a graph with version, nodes, edges, inputs, outputs.")
    metadata = document.get("metadata") if isinstance(document.get("metadata"), dict) else {}
    title = name or (metadata.get("name") if isinstance(metadata.get("name"), str) else "") or "Imported graph"
    description = metadata.get("description") if isinstance(metadata.get("description"), str) else ""
    tags = _tags_if_clean(metadata.get("tags"))
    return create_graph(
        user,
        name=title.strip()[:120] or "Imported graph",
        document=document,
        description=description[:5000],
        tags=tags,
        team=team,
        visibility=visibility,
        message="Imported",
    )


def _tags_if_clean(tags: Any) -> list[str]:
    """Tags from a file's metadata when they are usable; a file's odd tags never block its import."""
    if not isinstance(tags, list):
        return []
    try:
        return clean_tags([t for t in tags if isinstance(t, str)][:MAX_TAGS])
    except ServiceError:
        return []


def graph_from_template(
    user, template: str, *, name: str | None = None, team: Team | None = None, visibility: str = "private"
) -> Graph:
    """A new graph from one of the engine's built-in templates."""
    _authenticated(user)
    try:
        document = load_template(template)
    except KeyError as exc:
        raise ServiceError(str(exc.args[0]).capitalize() + ".") from None
    metadata = document.get("metadata") or {}
    return create_graph(
        user,
        name=name or metadata.get("name") or template,
        document=document,
        description=metadata.get("description", ""),
        tags=_tags_if_clean(metadata.get("tags")),
        team=team,
        visibility=visibility,
        message=f"From the {template} template",
    )


# --- teams --------------------------------------------------------------------------------------


def create_team(user, name: str) -> Team:
    """A new team with ``user`` as its admin; the slug comes from the name and is unique."""
    _authenticated(user)
    name = clean_text(name, field="name", max_length=80, required=True)
    base = slugify(name)[:70].strip("-") or "team"
    for attempt in range(1, 1000):
        slug = base if attempt == 1 else f"{base}-{attempt}"
        if Team.objects.filter(slug=slug).exists():
            continue
        try:
            with transaction.atomic():
                team = Team.objects.create(name=name, slug=slug)
                Membership.objects.create(team=team, user=user, role=Role.ADMIN)
                _log(user, "created team", f"{user} created the team {name}", team=team)
        except IntegrityError:  # someone took the slug between the check and the insert
            continue
        forget_roles(user)
        return team
    raise ServiceError("name: too many teams share this name; choose another.")


def invite(team: Team, by, role: str) -> Invitation:
    """An invitation link (single use, valid for ``INVITATION_LIFETIME``); admins only."""
    require(team_access(by, team), "admin", "team", "invite people (admins can)")
    role = _choice(role, Role, "role")
    invitation = Invitation.objects.create(
        team=team, role=role, created_by=by, expires_at=timezone.now() + INVITATION_LIFETIME
    )
    _log(by, "invited", f"{by} created an invitation to {team.name} as {role}", team=team)
    return invitation


def revoke_invitation(team: Team, by, invitation: Invitation) -> None:
    """Make an unused invitation unusable; admins only."""
    require(team_access(by, team), "admin", "team", "revoke invitations (admins can)")
    if invitation.team_id != team.pk:
        raise Http404("No such invitation.")
    Invitation.objects.filter(pk=invitation.pk).update(revoked=True)
    invitation.revoked = True


def accept_invitation(token: str, user) -> Membership:
    """Join the invitation's team with its role; a member already keeps their membership as it is."""
    _authenticated(user)
    if not isinstance(token, str) or not token or len(token) > 64:
        raise Http404("No such invitation.")
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().select_related("team").filter(token=token).first()
        if invitation is None or invitation.revoked:
            raise Http404("No such invitation.")
        existing = Membership.objects.filter(team=invitation.team, user=user).first()
        if existing is not None:
            return existing
        if invitation.accepted_at is not None:
            raise ServiceError("This invitation has already been used; ask for a new one.")
        if invitation.expires_at <= timezone.now():
            raise ServiceError("This invitation has expired; ask for a new one.")
        membership = Membership.objects.create(team=invitation.team, user=user, role=invitation.role)
        invitation.accepted_by, invitation.accepted_at = user, timezone.now()
        invitation.save(update_fields=["accepted_by", "accepted_at"])
        _log(user, "joined", f"{user} joined {invitation.team.name} as {invitation.role}", team=invitation.team)
    forget_roles(user)
    return membership


def _locked_memberships(team: Team) -> dict[int, Membership]:
    """Every membership of ``team``, locked for the rest of the transaction (the last-admin rule needs all)."""
    return {m.user_id: m for m in Membership.objects.select_for_update().filter(team=team).order_by("pk")}


def _check_not_last_admin(memberships: dict[int, Membership], member_id: int, team: Team, action: str) -> None:
    target = memberships[member_id]
    admins = [m for m in memberships.values() if m.role == Role.ADMIN]
    if target.role == Role.ADMIN and len(admins) == 1:
        raise ServiceError(f"{team.name} needs an admin: make another member admin before {action}.")


def leave_team(team: Team, user) -> None:
    """Leave ``team``; its last admin cannot (a team is never headless)."""
    _authenticated(user)
    with transaction.atomic():
        memberships = _locked_memberships(team)
        if user.pk not in memberships:
            raise Http404("No such team.")
        _check_not_last_admin(memberships, user.pk, team, "leaving")
        memberships[user.pk].delete()
        _log(user, "left", f"{user} left {team.name}", team=team)
    forget_roles(user)


def remove_member(team: Team, by, member) -> None:
    """Remove ``member`` (admins; anyone may remove themselves, which is leaving)."""
    if by.pk == member.pk:
        return leave_team(team, by)
    require(team_access(by, team), "admin", "team", "remove members (admins can)")
    with transaction.atomic():
        memberships = _locked_memberships(team)
        if member.pk not in memberships:
            raise Http404(f"{member} is not a member of {team.name}.")
        _check_not_last_admin(memberships, member.pk, team, "removing its last one")
        memberships[member.pk].delete()
        _log(by, "removed", f"{by} removed {member} from {team.name}", team=team)
    forget_roles(member)


def set_role(team: Team, by, member, role: str) -> Membership:
    """Change a member's role (admins); the last admin cannot be demoted."""
    require(team_access(by, team), "admin", "team", "change roles (admins can)")
    role = _choice(role, Role, "role")
    with transaction.atomic():
        memberships = _locked_memberships(team)
        if member.pk not in memberships:
            raise Http404(f"{member} is not a member of {team.name}.")
        membership = memberships[member.pk]
        if membership.role != role:
            if role != Role.ADMIN:
                _check_not_last_admin(memberships, member.pk, team, "demoting its last one")
            membership.role = role
            membership.save(update_fields=["role"])
            _log(by, "changed role", f"{by} made {member} {role} of {team.name}", team=team)
    forget_roles(by)
    forget_roles(member)
    return membership


# --- composite blocks ---------------------------------------------------------------------------


def builtin_blocks() -> list[dict]:
    """The engine's built-in blocks (SEBlock, ResidualBlock, …) as the registry describes them."""
    return [node for node in codegen.registry_json()["nodes"] if node.get("composite")]


def check_block_definition(name: str, definition: Any, composites: Any) -> None:
    """Validate a block definition by using it once in a minimal graph; shape-dependent errors pass.

    ``composites`` are the user blocks it uses, directly or through each other, by the type name used
    inside; they are validated with it, and each must be used.
    """
    if not isinstance(definition, dict):
        raise ServiceError("definition: expected an object with params, nodes, edges, inputs and outputs.")
    check_json(definition, what="The definition")
    _check_inner_blocks(name, composites)
    probe = _probe_graph(name, definition)
    probe["composites"] = {**composites, name: definition}
    limits = engine_limits()
    try:
        parsed = codegen.load_graph(probe, limits=limits)
    except codegen.GraphError as error:
        diagnostics = [d.to_dict() for d in error.diagnostics]
        raise ServiceError(
            f"The block cannot be published: {diagnostics[0]['message'] if diagnostics else 'bad definition'}",
            diagnostics=diagnostics,
        ) from None
    fatal = [d.to_dict() for d in codegen.validate(parsed, limits=limits).errors if d.code not in SHAPE_DEPENDENT]
    if fatal:
        raise ServiceError(f"The block cannot be published: {fatal[0]['message']}", diagnostics=fatal)
    unused = sorted(set(composites) - _blocks_used(definition, composites))
    if unused:
        raise ServiceError(f"composites.{unused[0]} is not used by the block.")


def _probe_graph(name: str, definition: dict) -> dict:
    """One instance of the block, fed by an Input per port (named when there are several) and with each
    of its outputs read, so that only what is wrong with the block itself is reported."""
    listed = definition.get("inputs")
    ports = [p for p in listed if isinstance(p, str)] if isinstance(listed, list) else []
    count = len(definition["outputs"]) if isinstance(definition.get("outputs"), list) else 1
    inputs = ["input"] if len(ports) <= 1 else [f"input_{k}" for k in range(len(ports))]
    nodes = [{"id": i, "type": "Input"} for i in inputs] + [{"id": "block", "type": name}]
    edges = [["input", "block"]] if len(ports) == 1 else [[i, "block", port] for i, port in zip(inputs, ports)]
    outputs = ["block"]
    if count > 1:  # a model returns single tensors: read each output through an Identity
        outputs = [f"output_{k}" for k in range(count)]
        nodes += [{"id": o, "type": "Identity"} for o in outputs]
        edges += [[f"block:{k}", o] for k, o in enumerate(outputs)]
    return {"version": "0.2", "nodes": nodes, "edges": edges, "inputs": inputs, "outputs": outputs}


def _check_inner_blocks(name: str, composites: Any) -> None:
    if not isinstance(composites, dict):
        raise ServiceError("composites: expected an object mapping block names to definitions.")
    for key, inner in composites.items():
        where = f"composites.{key}"
        if not (isinstance(key, str) and BLOCK_NAME_PATTERN.fullmatch(key)):
            raise ServiceError(f"{where}: block names are ASCII identifiers starting with a capital letter.")
        if key in codegen.NODE_SPECS:
            raise ServiceError(f"{where}: {key} is a built-in node type; rename the inner block.")
        if key == name:
            raise ServiceError(f"{where}: that is the name of the block itself; rename the inner block.")
        if not isinstance(inner, dict):
            raise ServiceError(f"{where}: expected an object with params, nodes, edges, inputs and outputs.")
        check_json(inner, what=where)


def _blocks_used(definition: Any, composites: dict) -> set[str]:
    """The names in ``composites`` that ``definition`` uses as node types, directly or through each other."""
    used: set[str] = set()
    pending = [definition]
    while pending:
        body = pending.pop()
        nodes = body.get("nodes") if isinstance(body, dict) else None
        for node in nodes if isinstance(nodes, list) else []:
            node_type = node.get("type") if isinstance(node, dict) else None
            if isinstance(node_type, str) and node_type in composites and node_type not in used:
                used.add(node_type)
                pending.append(composites[node_type])
    return used


def _block_hash(definition: dict, composites: dict) -> str:
    """The content hash of a block version; without inner blocks, that of the definition alone (as always)."""
    return codegen.graph_hash({"definition": definition, "composites": composites} if composites else definition)


def publish_composite(user, **fields: Any) -> CompositeVersion:
    """Publish a block or its next version (the arguments of :func:`publish_composite_version`)."""
    return publish_composite_version(user, **fields)[0]


def publish_composite_version(
    user,
    *,
    name: str,
    definition: dict,
    composites: dict | None = None,
    team: Team | None = None,
    message: str = "",
    description: str = "",
) -> tuple[CompositeVersion, bool]:
    """:func:`publish_composite`, also saying whether a version was created (``False``: same as the head).

    ``composites``: the user blocks the definition uses (see :func:`check_block_definition`). ``None``
    keeps those of the head that the definition still uses, so a definition edited alone stays whole.
    """
    _authenticated(user)
    if not isinstance(name, str) or not BLOCK_NAME_PATTERN.match(name):
        raise ServiceError("name: a block name is an ASCII identifier starting with a capital letter, e.g. ConvBNReLU.")
    if name in codegen.NODE_SPECS:
        raise ServiceError(f"name: {name} is a built-in node type; choose another name.")
    if team is not None:
        require(team_access(user, team), "edit", "team", "publish blocks to it (editors and admins can)")
    message = clean_text(message, field="message", max_length=500)
    description = clean_text(description, field="description", max_length=5000, multiline=True)
    where = {"team": team} if team is not None else {"owner": user}
    if composites is None:
        # Read outside the lock: like the definition, a publish replaces the head's content as a whole.
        current = CompositeBlock.objects.filter(name=name, **where).select_related("head").first()
        previous = current.head.composites if current is not None and current.head is not None else {}
        used = _blocks_used(definition, previous)
        composites = {key: inner for key, inner in previous.items() if key in used}
    check_block_definition(name, definition, composites)
    content_hash = _block_hash(definition, composites)
    with transaction.atomic():
        block, _ = CompositeBlock.objects.get_or_create(
            name=name, **where, defaults={"created_by": user, "description": description}
        )
        block = CompositeBlock.objects.select_for_update().get(pk=block.pk)
        head = CompositeVersion.objects.filter(pk=block.head_id).first()
        if head is not None and head.content_hash == content_hash:
            return head, False
        version = CompositeVersion.objects.create(
            block=block,
            number=head.number + 1 if head else 1,
            definition=definition,
            composites=composites,
            content_hash=content_hash,
            author=user,
            message=message,
        )
        block.head, block.updated_at = version, timezone.now()
        fields = ["head", "updated_at"]
        if description:
            block.description = description
            fields.append("description")
        block.save(update_fields=fields)
        _log(user, "published", f"{user} published {name} v{version.number}", team=team)
    return version, True


def delete_composite(block: CompositeBlock, user) -> None:
    """Delete a block from its library (its owner, or a team admin). Graphs keep their embedded copies."""
    require(composite_access(user, block), "admin", "block", "delete it")
    with transaction.atomic():
        CompositeBlock.objects.filter(pk=block.pk).update(head=None)
        block.delete()
