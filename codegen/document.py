"""A graph document from text: JSON, or YAML read into the same JSON values (same schema, same PARSE errors).

YAML is read with PyYAML's safe loader only (no Python tags), and refused where it could hold what JSON cannot:
keys written twice, keys that are not strings (``on:`` is a boolean in YAML 1.1), dates, sets, binary, and
aliases that expand the document beyond its own size ("billion laughs").
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from .diagnostics import Diagnostic, GraphError

JSON = "json"
YAML = "yaml"
YAML_SUFFIXES = (".yaml", ".yml")
YAML_MEDIA_TYPES = ("application/yaml", "text/yaml", "application/x-yaml", "text/x-yaml")
# However short the text, aliases may repeat a part this many values' worth (a shared block of params).
_MIN_EXPANSION = 10_000
_JSON_TYPES = (str, int, float, bool, type(None))
# Python writes no integer of over 4,300 digits as text (json.dumps would fail when the document is stored);
# YAML's hex and octal integers are not checked against that limit when read, so they are here.
_MAX_INT_BITS = 14_000
_YAML_TYPE_NAMES = {"date": "a date", "datetime": "a date and time", "set": "a set", "bytes": "binary data"}

# libyaml refuses nesting over 1,000 levels itself; the pure-Python parser would recurse instead (caught below).
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    """The safe loader, refusing a key written twice in one mapping."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key_node, _ in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                    key = self.construct_object(key_node)
                    if key in seen:
                        raise yaml.constructor.ConstructorError(
                            None, None, f"the key {key!r} is written twice in one mapping", key_node.start_mark
                        )
                    seen.add(key)
        return super().construct_mapping(node, deep)


def syntax_of(name: str | None = None, content_type: str | None = None) -> str | None:
    """YAML when a file name ends in .yaml/.yml or a media type says YAML; None (detect from the text) otherwise."""
    if name and name.lower().endswith(YAML_SUFFIXES):
        return YAML
    if content_type and content_type.split(";")[0].strip().lower() in YAML_MEDIA_TYPES:
        return YAML
    return None


def load_document(data: str | bytes, syntax: str | None = None) -> Any:
    """The JSON value of a document, or :class:`GraphError` (PARSE) with one sentence saying where it is wrong.

    Without ``syntax``, text that opens with ``{`` or ``[`` is JSON (its errors stay JSON's) and anything else YAML.
    """
    if isinstance(data, (bytes, bytearray)):
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            raise _parse_error("the document is not UTF-8 text") from None
    if syntax is None:
        syntax = JSON if data.lstrip()[:1] in ("{", "[", "") else YAML
    return _load_yaml(data) if syntax == YAML else _load_json(data)


def _parse_error(message: str) -> GraphError:
    return GraphError([Diagnostic("PARSE", message)])


def _load_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise _parse_error(f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise _parse_error("the document is nested too deeply") from None
    except ValueError as exc:  # e.g. an integer over Python's 4,300-digit conversion limit
        raise _parse_error(f"invalid JSON: {str(exc)[:120]}") from None


def _load_yaml(text: str) -> Any:
    loader = _Loader(text)
    try:
        value = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise _parse_error(f"invalid YAML{where}: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise _parse_error(f"invalid YAML: {str(exc)[:120]}") from None
    except RecursionError:
        raise _parse_error("the document is nested too deeply") from None
    except ValueError as exc:  # an integer over Python's digit limit, an impossible date
        raise _parse_error(f"invalid YAML: {str(exc)[:120]}") from None
    finally:
        loader.dispose()
    try:
        _JSONValues(max(len(text), _MIN_EXPANSION)).check(value, "")
    except RecursionError:  # libyaml allows 1,000 levels, Python's stack about as many frames
        raise _parse_error("the document is nested too deeply") from None
    return value


class _JSONValues:
    """Checks that a loaded YAML value is JSON's: only JSON types and string keys, no cycles, bounded expansion.

    Aliases load as shared objects, so each container is sized once (memoized) however often it is referred to.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.sizes: dict[int, int] = {}
        self.open: set[int] = set()
        self.total = 0

    def check(self, value: Any, path: str) -> int:
        if isinstance(value, int) and value.bit_length() > _MAX_INT_BITS:
            raise _parse_error(f"{path or 'the document'} is a number too large to write as JSON")
        if isinstance(value, _JSON_TYPES):
            return self.grow(1)
        if not isinstance(value, (dict, list)):
            kind = _YAML_TYPE_NAMES.get(type(value).__name__, f"a YAML {type(value).__name__}")
            raise _parse_error(f"{path or 'the document'} is {kind}, which JSON cannot hold; quote it as a string")
        key = id(value)
        if key in self.sizes:
            return self.grow(self.sizes[key])
        if key in self.open:
            raise _parse_error(f"{path or 'the document'} contains itself through a YAML alias")
        self.open.add(key)
        size = self.grow(1)
        try:
            if isinstance(value, dict):
                for name, item in value.items():
                    if not isinstance(name, str):
                        raise _parse_error(
                            f"{path or 'the document'} has the key {name!r}, which is not a string; quote it"
                        )
                    size += self.check(item, f"{path}.{name}" if path else name)
            else:
                for index, item in enumerate(value):
                    size += self.check(item, f"{path}[{index}]")
        finally:
            self.open.discard(key)
        self.sizes[key] = size
        return size

    def grow(self, size: int) -> int:
        # The running total is the number of values once every alias is expanded.
        self.total += size
        if self.total > self.limit:
            raise _parse_error(
                f"the YAML aliases expand the document to over {self.limit:,} values; write the repeated parts out"
            )
        return size


def dump_json(document: Any) -> str:
    """A document as the JSON export writes it: indented, keys in the document's own order."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def dump_yaml(document: Any) -> str:
    """A document as block-style YAML, keys in the document's own order (as :func:`dump_json`)."""
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, default_flow_style=False, width=120)
